"""Hostile: a worker that ignores SIGTERM and SIGINT and writes forever."""
import signal
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
with open(sys.argv[1], "a") as out:
    print("ready", flush=True)
    n = 0
    while True:
        out.write(f"rec {n} x\n")
        out.flush()
        n += 1
        time.sleep(0.005)
