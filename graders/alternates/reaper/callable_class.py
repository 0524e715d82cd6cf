"""Style: an object with __call__ that owns the dict; it is installed as the handler itself."""

import os
import signal


class _Reaper:
    __slots__ = ("table",)

    def __init__(self) -> None:
        self.table: dict[int, int] = {}

    def _one(self):
        """(pid, code) for one exited child, or None when nobody (else) has exited."""
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0:
            return None
        return pid, os.waitstatus_to_exitcode(status)

    def __call__(self, signum, frame) -> None:
        while (got := self._one()) is not None:
            pid, code = got
            self.table[pid] = code


def install_reaper() -> dict[int, int]:
    reaper = _Reaper()
    signal.signal(signal.SIGCHLD, reaper)
    return reaper.table
