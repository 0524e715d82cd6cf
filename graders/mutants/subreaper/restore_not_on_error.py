"""Bug: Restores the flag only on the success path (no finally), so when something fails after the flag was set (e.g. fork raises EAGAIN) the caller stays a subreaper, breaking 'It leaves the subreaper setting as it found it' (shows only when a later step fails)."""

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
    libc.prctl(PR_SET_CHILD_SUBREAPER, old.value, 0, 0, 0)
    return {"pid": grandchild, "ppid_before": middle, "ppid_after": ppid_after,
            "status": os.waitstatus_to_exitcode(status)}
