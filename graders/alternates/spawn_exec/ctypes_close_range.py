"""Correct alternate, style: close the fds with libc's close_range(2) called through ctypes."""

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_close_range = getattr(_libc, "close_range", None)


def _close_from_3():
    if _close_range is not None:
        _close_range.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_int]
        if _close_range(3, 0xFFFFFFFF, 0) == 0:
            return
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def spawn(argv: list[str], preexec_fn=None) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            if preexec_fn is not None:
                preexec_fn()
            _close_from_3()
            os.execvp(argv[0], argv)
        except FileNotFoundError:
            os._exit(127)
        except BaseException:  # noqa: BLE001
            os._exit(126)
        os._exit(126)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
