"""Correct alternate, style: a context manager for the flag, prctl through libc.syscall."""

import contextlib
import ctypes
import os
import platform

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

_LIBC = ctypes.CDLL(None, use_errno=True)
_SYS_PRCTL = {"x86_64": 157, "aarch64": 167}.get(platform.machine())


def _prctl(option, arg2):
    if _SYS_PRCTL is not None:
        rc = _LIBC.syscall(_SYS_PRCTL, option, arg2, 0, 0, 0)
    else:
        rc = _LIBC.prctl(option, arg2, 0, 0, 0)
    if rc == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def _subreaper():
    saved = ctypes.c_int()
    _prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(saved))
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        yield
    finally:
        _prctl(PR_SET_CHILD_SUBREAPER, saved.value)


def adopt_orphan(work) -> dict:
    with _subreaper():
        r, w = os.pipe2(os.O_CLOEXEC)
        with open(r, "rb") as rf, open(w, "wb", buffering=0) as wf:
            middle = os.fork()
            if middle == 0:
                try:
                    child = os.fork()
                    if child == 0:
                        try:
                            os._exit(work())
                        finally:
                            os._exit(1)
                    wf.write(str(child).encode())
                finally:
                    os._exit(0)
            wf.close()
            grandchild = int(rf.read())
        os.waitpid(middle, 0)
        with open(f"/proc/{grandchild}/stat") as f:
            ppid_after = int(f.read().rsplit(")", 1)[1].split()[1])
        _, st = os.waitpid(grandchild, 0)
        return {"pid": grandchild, "ppid_before": middle, "ppid_after": ppid_after,
                "status": os.waitstatus_to_exitcode(st)}
