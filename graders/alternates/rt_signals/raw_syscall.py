"""Style: raw Linux system calls through ctypes' syscall() (CORRECT, x86_64 numbers):
rt_sigprocmask (14) with the kernel's 8-byte sigset (bit n-1 for signal n) and rt_sigtimedwait
(128) with a kernel siginfo (si_pid at 16, sival_int at 24)."""

import ctypes
import errno
import os
import signal
import time

_libc = ctypes.CDLL(None, use_errno=True)
SYS_rt_sigprocmask = 14
SYS_rt_sigtimedwait = 128


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _bits(signals):
    v = 0
    for n in signals:
        v |= 1 << (int(n) - 1)
    return ctypes.c_uint64(v)


def _set(v):
    out = set()
    for n in range(1, 65):
        if v >> (n - 1) & 1:
            try:
                out.add(signal.Signals(n))
            except ValueError:
                out.add(n)
    return out


def _sigprocmask(how, signals):
    new, old = _bits(signals), ctypes.c_uint64()
    if _libc.syscall(ctypes.c_long(SYS_rt_sigprocmask), ctypes.c_long(how), ctypes.byref(new),
                     ctypes.byref(old), ctypes.c_long(8)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return _set(old.value)


def block(signals) -> set:
    """Block `signals` in the calling thread (nothing else changes); return the previous mask."""
    return _sigprocmask(signal.SIG_BLOCK, signals)


def _take(which, timeout):
    buf = ctypes.create_string_buffer(128)
    deadline = time.monotonic() + timeout
    while True:
        seconds = max(0.0, deadline - time.monotonic())
        ts = _Timespec(int(seconds), int((seconds - int(seconds)) * 1e9))
        n = _libc.syscall(ctypes.c_long(SYS_rt_sigtimedwait), ctypes.byref(which), buf,
                          ctypes.byref(ts), ctypes.c_long(8))
        if n > 0:
            raw = buf.raw
            return (n, int.from_bytes(raw[16:20], "little", signed=True),
                    int.from_bytes(raw[24:28], "little", signed=True))
        e = ctypes.get_errno()
        if e == errno.EAGAIN:
            return None
        if e != errno.EINTR:
            raise OSError(e, os.strerror(e))


def drain(signals, timeout: float) -> list[tuple[int, int, int]]:
    """Take every pending signal of `signals` (waiting up to `timeout` s for the first one)."""
    which = _bits(signals)
    taken = []
    got = _take(which, timeout)
    while got is not None:
        taken.append(got)
        got = _take(which, 0)
    return taken


def restore(mask) -> None:
    """Make the calling thread's blocked mask exactly `mask` again."""
    _sigprocmask(signal.SIG_SETMASK, mask)


if __name__ == "__main__":
    # Try it by hand: this blocks SIGUSR1 and SIGRTMIN+1, waits for Enter, then drains them.
    me = os.getpid()
    wanted = [signal.SIGUSR1, signal.SIGRTMIN + 1]
    previous = block(wanted)
    print(f"pid {me}: SIGUSR1 and SIGRTMIN+1 are blocked. In another terminal (bash):")
    print(f"  for i in 1 2 3; do kill -USR1 {me}; kill -s RTMIN+1 {me}; done")
    print(f"  grep -E 'Sig(Q|Pnd|Blk)|ShdPnd' /proc/{me}/status")
    input("then press Enter here to drain them... ")
    for signum, pid, value in drain(wanted, 0):
        name = f"SIGRTMIN+{signum - signal.SIGRTMIN}" if signum >= signal.SIGRTMIN else signal.Signals(signum).name
        print(f"{name} from pid {pid}, value {value}")
    restore(previous)
