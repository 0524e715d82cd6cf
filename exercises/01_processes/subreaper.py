"""Adopt an orphan: become a child subreaper, orphan a grandchild, and reap it yourself (孤儿进程).

Read exercises/01_processes/README.md first. Grade with `nox -s grade -- subreaper`.

Every process has a parent, and its ppid says which (进程标识). When a parent exits before its
child, the child is an orphan, and the kernel gives it a new parent at once: the nearest
ancestor that has declared itself a *child subreaper*, or PID 1 when there is none. A process
declares itself one with the Linux system call prctl(PR_SET_CHILD_SUBREAPER, 1). Python's os
module has no prctl, so call the C library's through ctypes:

    libc = ctypes.CDLL(None, use_errno=True)       # the C library this interpreter uses
    libc.prctl(36, 1, 0, 0, 0)                     # 36 = PR_SET_CHILD_SUBREAPER; 0 or -1
    ctypes.get_errno()                             # the errno of that call, when it returned -1

Contract
--------
adopt_orphan(work) -> dict

`work` is a function that takes no argument and returns an int from 0 to 255 (or raises).

* Before it starts any process, the caller makes itself a child subreaper:
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), through ctypes.
* prctl returns 0 when it succeeds and -1 when it fails. When it fails, adopt_orphan raises
  OSError(errno, os.strerror(errno)) with the errno that prctl set (ctypes.get_errno(), which
  needs use_errno=True), and starts no process.
* It forks a child with os.fork(), the *middle* child. The middle child forks the *grandchild*
  (os.fork() again), then exits at once with os._exit(0), without waiting for it: the
  grandchild is now an orphan, and the kernel re-parents it to the caller, the subreaper (not
  to PID 1).
* The grandchild calls work() once and ends with os._exit(work()): its exit status is the
  value work() returned. Neither the middle child nor the grandchild ever returns, nor raises
  an exception, out of adopt_orphan (into the code that called it), not even when work()
  raises.
* The caller reaps both with os.waitpid: the middle child, and the grandchild, which is now its
  own child (os.waitpid on the grandchild's pid). It waits for no other process: a child the
  caller already had, running or a zombie, is left as it was. When adopt_orphan returns (or
  raises), no process it started is left, not even a zombie.
* It returns a dict with exactly these keys (all ints):
    "pid":          the grandchild's pid;
    "ppid_before":  the grandchild's parent when it was born: the middle child's pid, as
                    os.fork() returned it to the caller (os.getppid() in the grandchild may
                    already name its new parent: the middle child may exit before the
                    grandchild runs);
    "ppid_after":   the grandchild's parent as the kernel shows it (the 4th field of
                    /proc/<pid>/stat; the 2nd, the name in parentheses, may itself contain
                    blanks and parentheses), read after the caller has reaped the middle
                    child and before it reaps the grandchild: the caller's own pid;
    "status":       the grandchild's exit status, 0..255 (os.waitstatus_to_exitcode).
* It leaves the subreaper setting as it found it: it reads it first with
  prctl(PR_GET_CHILD_SUBREAPER, address of a C int, 0, 0, 0) (37: the kernel stores 0 or 1 in
  that int), and sets that value back before it returns, and also when it raises (when a fork
  fails, say). A caller that already was a subreaper stays one.
* adopt_orphan leaves no new file descriptor open, whether it returns or raises.

Example
-------
    info = adopt_orphan(lambda: 7)
    info["ppid_before"] != os.getpid()         # born as the middle child's child
    info["ppid_after"] == os.getpid()          # adopted by the caller, the subreaper
    info["status"] == 7
"""

import ctypes  # noqa: F401  (ctypes.CDLL, ctypes.get_errno, ctypes.c_int, ctypes.byref)
import os  # noqa: F401  (os.fork, os.pipe, os.waitpid, os._exit, os.waitstatus_to_exitcode)

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


def adopt_orphan(work) -> dict:
    # TODO: read the current subreaper setting (PR_GET_CHILD_SUBREAPER), then set it to 1
    #       (PR_SET_CHILD_SUBREAPER); a result of -1 means failure: raise OSError with the errno.
    # TODO: make a pipe (close it again if the fork fails), then fork the middle child. In the
    #       middle child: fork the grandchild, send its pid to the caller through the pipe, and
    #       end with os._exit(0), whatever happens. In the grandchild: os._exit(work()), whatever
    #       happens (work() may raise).
    # TODO: in the caller: read the grandchild's pid, close the pipe, reap the middle child, then
    #       read the grandchild's parent from /proc/<pid>/stat, and reap the grandchild.
    # TODO: put the subreaper setting back as you found it (also when something failed), and
    #       return the dict.
    raise NotImplementedError("adopt_orphan: see the TODOs in exercises/01_processes/subreaper.py")
