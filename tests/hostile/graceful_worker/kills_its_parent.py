"""Hostile: a worker that kills its parent and then goes on writing."""
import os
import signal
import sys
import time

os.kill(os.getppid(), signal.SIGKILL)
with open(sys.argv[1], "a") as out:
    print("ready", flush=True)
    while True:
        out.write("rec\n")
        out.flush()
        time.sleep(0.005)
