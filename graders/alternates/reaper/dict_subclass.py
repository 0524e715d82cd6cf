"""Style: a dict subclass whose bound method is the SIGCHLD handler; recursion-free do/while on os.wait4."""

import os
import signal


class ReapedDict(dict):
    """pid -> return code; its bound method reap() is the SIGCHLD handler."""

    def reap(self, signum, frame):
        more = True
        while more:
            try:
                pid, status, _ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            more = pid > 0
            if more:
                self[pid] = os.waitstatus_to_exitcode(status)


def install_reaper() -> dict[int, int]:
    reaped = ReapedDict()
    signal.signal(signal.SIGCHLD, reaped.reap)
    return reaped
