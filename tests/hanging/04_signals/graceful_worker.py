"""A worker that hangs before it is ready (bench: the every-exercise-hangs budget)."""
import time

while True:
    time.sleep(0.1)
