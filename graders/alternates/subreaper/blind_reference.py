"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/subreaper/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import ctypes
import os
import sys  # noqa: F401

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _ppid_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    return int(data[data.rindex(")") + 2:].split()[1])


def adopt_orphan(work) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    old = ctypes.c_int()
    if libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(old), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    try:
        r, w = os.pipe()
        try:
            middle = os.fork()
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        if middle == 0:
            try:
                os.close(r)
                grandchild = os.fork()
                if grandchild == 0:
                    try:
                        os.close(w)
                        os._exit(work())
                    finally:
                        os._exit(1)
                os.write(w, str(grandchild).encode())
            finally:
                os._exit(0)
        os.close(w)
        data = b""
        while True:
            chunk = os.read(r, 64)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(middle, 0)
        grandchild = int(data)
        ppid_after = _ppid_of(grandchild)
        _, status = os.waitpid(grandchild, 0)
        return {"pid": grandchild, "ppid_before": middle, "ppid_after": ppid_after,
                "status": os.waitstatus_to_exitcode(status)}
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, old.value, 0, 0, 0)
