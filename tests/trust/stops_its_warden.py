"""Hostile (reaper): a correct reaper that also leaves a daemon running, and freezes its warden with
SIGSTOP so the grader never hears that the scenario process ended (and gives up looking for leftovers).
The grader wakes a stopped warden and fails the test: nothing of it may be left running.
"""

import os
import signal


def _correct_install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}

    def on_sigchld(signum, frame):
        # Standard signals do not queue: while one SIGCHLD is pending, more
        # exits only set the same bit again. One call of this handler may
        # therefore stand for many dead children, so collect them all.
        while True:
            try:
                # WNOHANG: never wait for a child that is still running.
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return  # ECHILD: no children left at all
            if pid == 0:
                return  # children exist, but none of them has exited
            reaped[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped



def install_reaper():
    import time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(30)
        os._exit(0)
    os.wait()
    os.kill(os.getppid(), signal.SIGSTOP)
    return _correct_install_reaper()

