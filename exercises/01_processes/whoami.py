"""Fork a child that tells its parent who it is: pid and ppid (进程标识).

Read exercises/01_processes/README.md first. Grade with `nox -s grade -- whoami`.

Every process has a number of its own, its pid, and knows the pid of the process that
made it, its ppid: both sit in the kernel's record of the process (进程描述符) and show in
/proc/PID/stat. os.fork() makes a copy of the calling process; the copy (the child) gets a
new pid, and its parent is the caller.

Contract
--------
report_ids(gate: int) -> dict

`gate` is a file descriptor open for reading in the caller (the read end of a pipe or a
FIFO). The caller uses it to hold the child for a moment: someone else holds the write end.

* Forks exactly one child with os.fork(). The child is a copy of the caller (the same
  program, with the same arguments), and the caller is its parent.
* The child first reads `gate` (inherited across the fork) until end-of-file (os.read
  returns b""), keeping every byte it read, in order: that is the token. The token may
  arrive in several pieces; it may hold any bytes (NUL, newlines, bytes that are not
  UTF-8, blanks at either end) and be longer than a pipe holds (hundreds of KiB).
* Then the child learns its own pid and its parent's pid from the kernel (os.getpid(),
  os.getppid()), and sends both, with the token, to the parent through a pipe made with
  os.pipe() before the fork.
* Then the child ends at once with os._exit(0): it never returns, nor raises an
  exception, into the caller's code.
* The parent reads the child's report until end-of-file, then waits for the child to end
  with os.waitpid(pid, 0), so that no zombie is left when report_ids returns. It waits
  for that child only: the caller may have other children, which report_ids leaves alone.
* The parent closes every file descriptor report_ids opened (both ends of the pipe) and
  leaves `gate` open: it belongs to the caller.
* Returns a dict with exactly these keys:
    "child_pid":  the child's pid, as the child reported it (int)
    "child_ppid": the child's parent's pid, as the child reported it (int)
    "parent_pid": the pid of the process that called report_ids (int)
    "token":      the bytes the child read from `gate` (bytes)

Example
-------
    r, w = os.pipe()
    os.write(w, b"hello")
    os.close(w)                  # end-of-file after b"hello": the child goes through at once
    ids = report_ids(r)
    ids["child_ppid"] == ids["parent_pid"] == os.getpid()
    ids["child_pid"] != os.getpid()
    ids["token"] == b"hello"
"""

import os  # noqa: F401  (os.pipe, os.fork, os.read, os.write, os.getpid, os.getppid, os.waitpid, os._exit)


def report_ids(gate: int) -> dict:
    # TODO: make a pipe with os.pipe(), then fork.
    # TODO: in the child: read `gate` until os.read returns b"" (the token); learn your own
    #       pid and your parent's pid; write them and the token into the pipe (any format you
    #       can decode again that keeps every byte: e.g. json with the token in hex, or repr);
    #       end with os._exit(0), whatever happens.
    # TODO: in the parent: close the end you do not use, read the report until end-of-file,
    #       reap the child with os.waitpid, close the rest, and return the dict.
    raise NotImplementedError("report_ids: see the TODOs in exercises/01_processes/whoami.py")
