"""Correct alternate, style: pidfds (os.pidfd_open + poll + os.waitid(P_PIDFD))."""

import ctypes
import os
import select
import struct

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _check(libc, rc):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _reap_pidfd(fd):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not poller.poll():
        pass
    info = os.waitid(os.P_PIDFD, fd, os.WEXITED)
    return info.si_status if info.si_code == os.CLD_EXITED else 128 + info.si_status


def adopt_orphan(work) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    before = ctypes.c_int()
    _check(libc, libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(before), 0, 0, 0))
    _check(libc, libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
    fds = []
    try:
        r, w = os.pipe()
        fds += [r, w]
        middle = os.fork()
        if middle == 0:
            try:
                grandchild = os.fork()
                if grandchild == 0:
                    try:
                        os._exit(work())
                    finally:
                        os._exit(1)
                os.write(w, struct.pack("=i", grandchild))
            finally:
                os._exit(0)
        mfd = os.pidfd_open(middle)
        fds.append(mfd)
        raw = b""
        while len(raw) < 4:
            chunk = os.read(r, 4 - len(raw))
            if not chunk:
                break
            raw += chunk
        _reap_pidfd(mfd)
        (grandchild,) = struct.unpack("=i", raw)
        gfd = os.pidfd_open(grandchild)
        fds.append(gfd)
        with open(f"/proc/{grandchild}/stat") as f:
            ppid_after = int(f.read().rpartition(")")[2].split()[1])
        status = _reap_pidfd(gfd)
        return {"pid": grandchild, "ppid_before": middle, "ppid_after": ppid_after,
                "status": status}
    finally:
        for fd in fds:
            os.close(fd)
        _check(libc, libc.prctl(PR_SET_CHILD_SUBREAPER, before.value, 0, 0, 0))
