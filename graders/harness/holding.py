"""What a test holds from outside the sandbox to force a schedule: FIFO gates, and processes held at their exit.

A scenario waits at a gate (`graders.harness.scenario.pass_gate`) until the test has looked at /proc and lets go.
A process seized with `ExitHold` stops at the very start of its exit, its memory and files still there and its
parent's waitpid still asleep, until the test releases it.
"""

import ctypes
import errno
import fcntl
import os
import select
import struct
import termios
import time

from graders.harness import osinspect

POLL = 0.002
LOOK_INTERVAL = 0.003    # s between two looks at /proc
QUIET_LOOKS = 3          # identical looks in a row, all threads asleep: >= 6 ms, more than the GIL's 5 ms interval


def settle(pid: int, timeout: float) -> tuple[dict, bool]:
    """Wait until process PID is quiet: every thread asleep (S), nothing changing over QUIET_LOOKS looks in a
    row (CPU time, context switches). Returns (the last osinspect.task_samples, whether it fell quiet within
    TIMEOUT seconds); a process that is gone counts as quiet."""
    end = time.monotonic() + timeout
    last, same = None, 0
    while True:
        snap = osinspect.task_samples(pid)
        asleep = bool(snap) and all(state == "S" for state, _, _ in snap.values())
        same = same + 1 if asleep and snap == last else (1 if asleep else 0)
        if same >= QUIET_LOOKS or not snap:
            return snap, True
        if time.monotonic() >= end:
            return snap, False
        last = snap
        time.sleep(LOOK_INTERVAL)


class Gate:
    """A FIFO the test holds open read-write: a reader blocks until release() (then end-of-file)."""

    def __init__(self, directory: str, name: str):
        self.path = os.path.join(directory, name)
        os.mkfifo(self.path)
        self.target = os.path.realpath(self.path)   # what /proc/PID/fd/N shows for it
        self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)

    def write(self, data: bytes, deadline: float) -> bool:
        """Write all of DATA, as fast as a reader takes it; False if the (monotonic) deadline passed first."""
        view = memoryview(data)
        poller = select.poll()
        if self.fd is not None:
            poller.register(self.fd, select.POLLOUT)
        while view and self.fd is not None:
            try:
                view = view[os.write(self.fd, view):]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            poller.poll(min(left, 0.05) * 1000)
        return not view

    def unread(self) -> int:
        """Bytes written into the FIFO that nobody has read yet."""
        if self.fd is None:
            return 0
        return struct.unpack("i", fcntl.ioctl(self.fd, termios.FIONREAD, b"\0" * 4))[0]

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


PTRACE_CONT, PTRACE_DETACH = 7, 17
PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_GETEVENTMSG = 0x4206, 0x4207, 0x4201
PTRACE_O_TRACEEXIT, PTRACE_O_EXITKILL = 0x40, 0x100000
PTRACE_EVENT_EXIT = 6
WALL = 0x40000000        # __WALL: wait for a tracee whatever its kind
_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def _ptrace(request: int, pid: int, addr: int = 0, data: int = 0) -> int:
    if _libc.ptrace(request, pid, addr, data) == -1:
        return ctypes.get_errno() or errno.EPERM
    return 0


class ExitHold:
    """Seized with PTRACE_O_TRACEEXIT, a process stops at the very start of its exit (before its memory and
    files are released): it runs no more code and is no zombie yet, so its parent's waitpid(pid, 0) sleeps on.
    The event's message is the wait status it exits with. A SIGKILL ends it with no stop: the tracer's waitpid
    then reports that status. Nothing else changes for the process (PTRACE_SEIZE does not stop it; exec does
    not trap). The tracer must be allowed to trace it (root, or the same user with a dumpable process that is a
    descendant of the tracer where Yama's ptrace_scope is 1)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.error = _ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)
        self.attached = self.error == 0
        self.held = False
        self.status: int | None = None   # the wait status it exits (or was killed) with

    def poll(self) -> bool:
        """True once the process is held at its exit or gone; any other stop is passed on at once."""
        while self.attached and not self.held:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG | WALL)
            except ChildProcessError:
                self.attached = False
                return True
            if pid == 0:
                return False
            if not os.WIFSTOPPED(status):       # gone without an exit stop (SIGKILL)
                self.status = status
                self.attached = False
                return True
            if status >> 16 == PTRACE_EVENT_EXIT:
                message = ctypes.c_ulong()
                if _ptrace(PTRACE_GETEVENTMSG, self.pid, 0, ctypes.addressof(message)) == 0:
                    self.status = message.value
                self.held = True
            else:                               # a signal on its way in: deliver it as it was
                _ptrace(PTRACE_CONT, self.pid, 0, os.WSTOPSIG(status) if status >> 16 == 0 else 0)
        return True

    def release(self) -> None:
        if not self.attached:
            return
        self.attached = False
        if self.held:
            _ptrace(PTRACE_DETACH, self.pid)
            return
        # Still running (it never reached its exit): stop it for a moment, then let it go.
        if _ptrace(PTRACE_INTERRUPT, self.pid) != 0:
            return
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG | WALL)
            except ChildProcessError:
                return
            if pid and os.WIFSTOPPED(status):
                _ptrace(PTRACE_DETACH, self.pid, 0, os.WSTOPSIG(status) if status >> 16 == 0 else 0)
                return
            if pid:
                return
            time.sleep(POLL)
