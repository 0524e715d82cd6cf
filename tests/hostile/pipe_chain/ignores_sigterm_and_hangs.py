"""Hostile: ignores SIGTERM, stops its own children's SIGTERM too, and never returns."""
import os
import signal
import time


def run_pipeline(commands, input=b""):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        os.kill(os.getpid(), signal.SIGSTOP)  # a stopped child: SIGCONT must come before SIGTERM
        os._exit(0)
    while True:
        time.sleep(1)
