"""Records 128+N for a child killed by signal N (the shell's $?), not -N."""

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
            if os.WIFSIGNALED(status):
                reaped[pid] = 128 + os.WTERMSIG(status)
            else:
                reaped[pid] = os.WEXITSTATUS(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
