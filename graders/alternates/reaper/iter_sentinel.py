"""Style: a generator of exited children consumed by dict.update; waitpid calls come from iter(callable, sentinel)."""

import functools
import os
import signal

_NONE_LEFT = (0, 0)


def _poll():
    try:
        return os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return _NONE_LEFT


def _exited():
    for pid, status in iter(_poll, _NONE_LEFT):
        yield pid, os.waitstatus_to_exitcode(status)


def _handle(table, signum, frame):
    table.update(_exited())


def install_reaper() -> dict[int, int]:
    table: dict[int, int] = {}
    signal.signal(signal.SIGCHLD, functools.partial(_handle, table))
    return table
