"""Correct alternate, style: os.waitid (siginfo) instead of os.waitpid, pid sent as a text line."""

import ctypes
import os

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(*args):
    if _libc.prctl(*args, *([0] * (5 - len(args)))) == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _reap(pid):
    info = os.waitid(os.P_PID, pid, os.WEXITED)
    if info.si_code == os.CLD_EXITED:
        return info.si_status
    return -info.si_status          # killed by a signal (cannot happen with os._exit)


def adopt_orphan(work) -> dict:
    was = ctypes.c_int(0)
    _prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(was))
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        rfd, wfd = os.pipe()
        try:
            middle = os.fork()
        except BaseException:
            os.close(rfd)
            os.close(wfd)
            raise
        if middle == 0:                                   # the middle child
            try:
                os.close(rfd)
                gpid = os.fork()
                if gpid == 0:                             # the grandchild
                    try:
                        os.close(wfd)
                        os._exit(work())
                    except BaseException:
                        os._exit(255)
                os.write(wfd, b"%d\n" % gpid)
            finally:
                os._exit(0)
        os.close(wfd)
        with os.fdopen(rfd, "rb") as reader:
            line = reader.readline()
        _reap(middle)                                     # now the grandchild is ours
        gpid = int(line)
        with open("/proc/%d/stat" % gpid, "rb") as f:
            stat = f.read()
        ppid_after = int(stat[stat.rindex(b")") + 2:].split()[1])
        status = _reap(gpid)
        return {"pid": gpid, "ppid_before": middle, "ppid_after": ppid_after, "status": status}
    finally:
        _prctl(PR_SET_CHILD_SUBREAPER, was.value)
