"""Keeps looping when waitpid returns (0, 0), so the handler spins.

While a sibling is still running the handler never returns: the main thread
spins inside it until the sibling exits.
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
                continue
            reaped[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
