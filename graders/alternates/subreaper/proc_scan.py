"""Correct alternate, style: no pipe, find the adopted orphan by scanning /proc."""

import ctypes
import os

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _children_of(parent):
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(")") + 2:].split()[1])
        if ppid == parent:
            found[int(name)] = ppid
    return found


def adopt_orphan(work) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    flag = ctypes.c_int()
    if libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    try:
        me = os.getpid()
        mine_before = set(_children_of(me))
        middle = os.fork()
        if middle == 0:
            try:
                if os.fork() == 0:
                    try:
                        os._exit(work())
                    finally:
                        os._exit(1)
            finally:
                os._exit(0)
        os.waitpid(middle, 0)
        adopted = {p: pp for p, pp in _children_of(me).items() if p not in mine_before}
        (grandchild, ppid_after), = adopted.items()
        _, st = os.waitpid(grandchild, 0)
        return {"pid": grandchild, "ppid_before": middle, "ppid_after": ppid_after,
                "status": os.waitstatus_to_exitcode(st)}
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, flag.value, 0, 0, 0)
