"""Does not catch ChildProcessError when no child is left.

After the last child is reaped, waitpid(-1, WNOHANG) raises ChildProcessError
(ECHILD), which escapes the handler into whatever the program was running.
"""

import os
import signal


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def on_sigchld(signum, frame):
        while True:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            reaped[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
