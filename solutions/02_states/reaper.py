"""Reap zombies from a SIGCHLD handler.

install_reaper() installs a SIGCHLD handler that reaps every child of this
process as soon as it has exited, without ever blocking, and returns the dict
the handler fills: pid -> return code (the exit status, or -N when signal N
killed the child, as subprocess reports it).
"""

import os
import signal


def install_reaper() -> dict[int, int]:
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
