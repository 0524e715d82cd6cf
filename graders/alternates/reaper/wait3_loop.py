"""Style: os.wait3(WNOHANG) in an itertools.count() loop left by break; decodes with WIFSIGNALED/WTERMSIG."""

import itertools
import os
import signal


def _code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def handler(signum, frame):
        for _ in itertools.count():
            try:
                pid, status, _rusage = os.wait3(os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
            reaped[pid] = _code(status)

    signal.signal(signal.SIGCHLD, handler)
    return reaped
