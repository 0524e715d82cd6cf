"""Calls waitpid once per SIGCHLD, as if every exit sent its own signal.

Standard signals do not queue: when many children exit at the same moment
the handler runs only a few times, and the other children stay zombies.
"""

import os
import signal


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def on_sigchld(signum, frame):
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            reaped[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
