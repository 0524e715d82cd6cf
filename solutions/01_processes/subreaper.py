"""Adopt an orphan: become a child subreaper, orphan a grandchild, and reap it yourself.

adopt_orphan(work) makes the caller a child subreaper, forks a middle child that forks the
grandchild (which runs work()) and exits at once, so that the grandchild is orphaned and
re-parented to the caller; the caller reaps both and returns what it saw of the grandchild:
its pid, its parent before and after the orphaning, and its exit status. The subreaper
setting is put back as it was found.
"""

import ctypes
import os

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

# The C library this interpreter already uses. use_errno=True makes ctypes save errno right
# after each call, where ctypes.get_errno() finds it (Python's own calls could change errno).
_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, arg2) -> None:
    """prctl(option, arg2, 0, 0, 0); a C function reports failure by returning -1, not by
    raising: turn that into OSError with the errno it set."""
    if _libc.prctl(option, arg2, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def get_subreaper() -> int:
    """1 if this process is a child subreaper, else 0 (the kernel writes it into our int)."""
    flag = ctypes.c_int(0)
    # byref passes a pointer. (A plain Python int, such as ctypes.addressof(flag), would be
    # passed as a 32-bit C int without argtypes: the address would be cut in half.)
    _prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag))
    return flag.value


def set_subreaper(value: int) -> None:
    _prctl(PR_SET_CHILD_SUBREAPER, value)


def ppid_of(pid: int) -> int:
    """The parent of `pid` as the kernel shows it: the 4th field of /proc/<pid>/stat. The name
    (2nd field) sits in parentheses and may contain spaces, so split after the last ')'."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[1])


def adopt_orphan(work) -> dict:
    found = get_subreaper()
    # The flag must be set before the middle child can exit: the kernel picks the orphan's new
    # parent at the moment its parent exits. It is a flag of this process only: fork does not
    # copy it into children, so it must be set here, in the caller.
    set_subreaper(1)
    try:
        r, w = os.pipe()
        try:
            middle = os.fork()
        except OSError:                          # no process started: close the pipe, let the error go on
            os.close(r)
            os.close(w)
            raise
        if middle == 0:                          # the middle child
            code = 1
            try:
                os.close(r)
                grandchild = os.fork()
                if grandchild == 0:              # the grandchild
                    status = 1
                    try:
                        os.close(w)
                        status = work()
                    finally:
                        os._exit(status)         # never return into the caller's code
                os.write(w, str(grandchild).encode())
                code = 0
            finally:
                os._exit(code)                   # exit at once: the grandchild is an orphan now
        # The caller.
        os.close(w)
        with os.fdopen(r, "rb") as pipe:
            grandchild = int(pipe.read())        # EOF once the middle child has exited
        os.waitpid(middle, 0)                    # reap the middle child: no zombie left
        # The middle child has exited, so the kernel has already re-parented the grandchild:
        # to us, the nearest subreaper among its ancestors. It is our child now, alive or a
        # zombie, and stays in /proc until we reap it.
        adopted_by = ppid_of(grandchild)
        _, status = os.waitpid(grandchild, 0)    # legal only because it is our child now
        return {
            "pid": grandchild,
            "ppid_before": middle,               # its parent when it was born
            "ppid_after": adopted_by,
            "status": os.waitstatus_to_exitcode(status),
        }
    finally:
        set_subreaper(found)                     # leave the setting as we found it
