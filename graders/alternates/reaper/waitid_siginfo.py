"""Style: os.waitid(P_ALL, WEXITED|WNOHANG), decoding si_code (CLD_EXITED vs CLD_KILLED/CLD_DUMPED)."""

import os
import signal


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def handler(signum, frame):
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                return
            if info is None:
                return
            if info.si_code == os.CLD_EXITED:
                reaped[info.si_pid] = info.si_status
            else:  # CLD_KILLED or CLD_DUMPED
                reaped[info.si_pid] = -info.si_status

    signal.signal(signal.SIGCHLD, handler)
    return reaped
