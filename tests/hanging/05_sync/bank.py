"""A submission that hangs at import (bench: the every-exercise-hangs budget)."""
import time

while True:
    time.sleep(0.1)
