"""Reaps from a background thread that polls waitpid instead of a SIGCHLD handler."""

import os
import threading
import time


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def poll():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid:
                reaped[pid] = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.001)

    threading.Thread(target=poll, daemon=True).start()
    return reaped
