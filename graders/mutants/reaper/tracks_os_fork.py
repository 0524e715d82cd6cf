"""Waits only for children os.fork made (an at-fork hook notes them): subprocess/posix_spawn children stay zombies.

The handler calls waitpid(pid, WNOHANG) for each pid it knows, instead of
waitpid(-1, WNOHANG): subprocess.Popen and os.posix_spawn do not run
os.register_at_fork hooks, so their children are never known, never reaped,
never recorded.
"""

import os
import signal


def _children():
    pids = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return pids


def install_reaper() -> dict[int, int]:
    reaped: dict[int, int] = {}
    known: set[int] = set()

    def note_children():
        known.update(_children())

    os.register_at_fork(after_in_parent=note_children)

    def on_sigchld(signum, frame):
        for pid in sorted(known):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                known.discard(pid)
                continue
            if got == pid:
                known.discard(pid)
                reaped[pid] = os.waitstatus_to_exitcode(status)

    signal.signal(signal.SIGCHLD, on_sigchld)
    return reaped
