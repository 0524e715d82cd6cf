"""Installs a SIGCHLD handler that only wakes a background reaper thread: a thread the contract forbids.

The handler itself reaps nothing; the thread it wakes calls waitpid in a loop.
"""

import os
import signal
import threading


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}
    wake = threading.Event()

    def reaper_thread():
        while True:
            wake.wait(0.05)
            wake.clear()
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                reaped[pid] = os.waitstatus_to_exitcode(status)

    def handler(signum, frame):
        wake.set()  # keep the handler tiny

    signal.signal(signal.SIGCHLD, handler)
    threading.Thread(target=reaper_thread, daemon=True).start()
    return reaped
