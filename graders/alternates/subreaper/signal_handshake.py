"""Correct alternate, style: a signal handshake instead of a pipe (sigwaitinfo's si_pid)."""

import ctypes
import os
import signal

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def adopt_orphan(work) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    old = ctypes.c_int()
    for args in ((PR_GET_CHILD_SUBREAPER, ctypes.byref(old)), (PR_SET_CHILD_SUBREAPER, 1)):
        if libc.prctl(*args, 0, 0, 0) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    caller = os.getpid()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        middle = os.fork()
        if middle == 0:
            try:
                if os.fork() == 0:
                    try:
                        os.kill(caller, signal.SIGUSR1)
                        os._exit(work())
                    finally:
                        os._exit(1)
            finally:
                os._exit(0)
        while True:                               # a SIGUSR1 from our grandchild, nobody else
            info = signal.sigwaitinfo({signal.SIGUSR1})
            try:
                if int(_stat(info.si_pid)[1]) in (middle, caller):
                    break
            except (OSError, ValueError):
                pass
        grandchild = info.si_pid
        os.waitpid(middle, 0)
        ppid_after = int(_stat(grandchild)[1])
        _, st = os.waitpid(grandchild, 0)
        return {"pid": grandchild, "ppid_before": middle, "ppid_after": ppid_after,
                "status": os.waitstatus_to_exitcode(st)}
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        libc.prctl(PR_SET_CHILD_SUBREAPER, old.value, 0, 0, 0)
