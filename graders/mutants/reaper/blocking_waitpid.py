"""Loops on waitpid(-1, 0) without WNOHANG, so the handler blocks.

With a sibling still running, waitpid waits for it: the main thread is stuck
inside the handler until that sibling exits.
"""

import os
import signal


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def on_sigchld(signum, frame):
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return
            reaped[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
