"""Records the raw wait status instead of the return code.

A child that calls os._exit(5) has raw status 5 << 8 == 1280; one killed by
SIGTERM has raw status 15 instead of -15.
"""

import os
import signal


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def on_sigchld(signum, frame):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            reaped[pid] = status

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
