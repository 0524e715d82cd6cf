"""Style: the C library through ctypes (CORRECT): pthread_sigmask and sigtimedwait of libc, with a
sigset_t built by sigemptyset/sigaddset and a 128-byte siginfo_t read by offset
(x86_64/aarch64 Linux: si_signo at 0, si_pid at 16, si_uid at 20, si_value.sival_int at 24)."""

import ctypes
import errno
import os
import signal
import time

_libc = ctypes.CDLL(None, use_errno=True)
_SigSet = ctypes.c_ulong * (1024 // (8 * ctypes.sizeof(ctypes.c_ulong)))


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc.sigtimedwait.argtypes = [ctypes.POINTER(_SigSet), ctypes.c_char_p, ctypes.POINTER(_Timespec)]
_libc.pthread_sigmask.argtypes = [ctypes.c_int, ctypes.POINTER(_SigSet), ctypes.POINTER(_SigSet)]


def _sigset(signals):
    s = _SigSet()
    _libc.sigemptyset(ctypes.byref(s))
    for n in signals:
        if _libc.sigaddset(ctypes.byref(s), int(n)) != 0:
            raise OSError(ctypes.get_errno(), f"sigaddset {n}")
    return s


def _members(s):
    out = set()
    for n in range(1, signal.NSIG):
        if _libc.sigismember(ctypes.byref(s), n) == 1:
            try:
                out.add(signal.Signals(n))
            except ValueError:
                out.add(n)
    return out


def _sigmask(how, signals):
    new, old = _sigset(signals), _SigSet()
    err = _libc.pthread_sigmask(how, new, old)
    if err:
        raise OSError(err, os.strerror(err))
    return _members(old)


def block(signals) -> set:
    """Block `signals` in the calling thread (nothing else changes); return the previous mask."""
    return _sigmask(signal.SIG_BLOCK, signals)


def _take(sigset, timeout):
    """One libc sigtimedwait: (signum, pid, value) or None when the time is up."""
    deadline = time.monotonic() + timeout
    buf = ctypes.create_string_buffer(128)
    while True:
        left = max(0.0, deadline - time.monotonic())
        ts = _Timespec(int(left), int((left - int(left)) * 1e9))
        n = _libc.sigtimedwait(sigset, buf, ctypes.byref(ts))
        if n > 0:
            raw = buf.raw
            pid = int.from_bytes(raw[16:20], "little", signed=True)
            value = int.from_bytes(raw[24:28], "little", signed=True)
            return (n, pid, value)
        e = ctypes.get_errno()
        if e == errno.EAGAIN:
            return None
        if e != errno.EINTR:
            raise OSError(e, os.strerror(e))


def drain(signals, timeout: float) -> list[tuple[int, int, int]]:
    """Take every pending signal of `signals` (waiting up to `timeout` s for the first one)."""
    sigset = _sigset(signals)
    taken = []
    got = _take(sigset, timeout)
    while got is not None:
        taken.append(got)
        got = _take(sigset, 0)
    return taken


def restore(mask) -> None:
    """Make the calling thread's blocked mask exactly `mask` again."""
    _sigmask(signal.SIG_SETMASK, mask)


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
