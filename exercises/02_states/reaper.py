"""Reap zombies from a SIGCHLD handler.

When a child process exits, the kernel keeps a small record of it (its pid,
its exit status, some accounting) until the parent collects it with a wait
call. Until then the child is a zombie: state Z in /proc/PID/stat. The kernel
also sends the parent SIGCHLD. Read exercises/02_states/README.md first.

Contract
--------
install_reaper() -> dict[int, int]

* Installs a handler for SIGCHLD with signal.signal (a Python function: not
  SIG_IGN, not SIG_DFL, and not a thread that polls in the background; no
  thread may be started).
* Returns a new dict (every call returns a dict of its own), initially
  empty, and keeps filling that very dict (not a copy) from the handler:
  for every child of this process that has exited, child pid -> return
  code, where the return code is the child's exit status (0..255), or -N
  when signal N killed it (the convention of subprocess).
* Every child is reaped as soon as it has exited: once the handler has run
  for its SIGCHLD, the child is no longer a zombie.
* This must hold when:
  - many children exit at the same moment: the kernel does not queue
    standard signals, so one run of the handler may stand for many exits;
  - other children are still running: the handler must never block waiting
    for them, and must not record a child that has not exited;
  - no child is left at all (the last one was reaped, or SIGCHLD arrives with
    no children): no exception may escape the handler into the program.

Example
-------
    reaped = install_reaper()
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    ...                      # a moment later, with no wait call of ours:
    reaped[pid] == 3         # and pid is no longer a zombie
"""

import os  # noqa: F401  (you will need os.waitpid and friends)
import signal  # noqa: F401


def install_reaper() -> dict[int, int]:
    # TODO: create the dict, define a handler that reaps every child that has
    # exited (without blocking) and records its return code, install it for
    # SIGCHLD, and return the dict.
    raise NotImplementedError("install_reaper")
