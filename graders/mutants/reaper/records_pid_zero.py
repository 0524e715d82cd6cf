"""Records waitpid's (0, 0) answer as if pid 0 were a child that exited.

With a child still running, waitpid(-1, WNOHANG) returns (0, 0): the loop
stops, but only after putting 0 -> 0 into the dict.
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
            reaped[pid] = os.waitstatus_to_exitcode(status)
            if pid == 0:
                return

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
