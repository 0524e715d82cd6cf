"""Hostile: starts hundreds of children that never exit (a fork bomb held by the process budget)."""
import os
import time


def run_pipeline(commands, input=b""):
    for _ in range(600):
        if os.fork() == 0:
            time.sleep(1000)
            os._exit(0)
    time.sleep(1000)
