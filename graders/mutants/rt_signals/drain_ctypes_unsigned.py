"""Bug: drain (libc sigtimedwait through ctypes) reads sival_int at offset 24 as an unsigned int, so a negative value sent with sigqueue comes back as 2**32 + value (breaks 'value is the int the sender passed to sigqueue (si_value.sival_int)')."""

import ctypes
import errno
import time
import os
import signal


def block(signals) -> set:
    """Block `signals` in the calling thread (nothing else changes); return the previous mask."""
    return signal.pthread_sigmask(signal.SIG_BLOCK, signals)


_libc = ctypes.CDLL(None, use_errno=True)
_SigSet = ctypes.c_ulong * 16


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _take(sigset, timeout):
    buf = ctypes.create_string_buffer(128)
    deadline = time.monotonic() + timeout
    while True:
        left = max(0.0, deadline - time.monotonic())
        ts = _Timespec(int(left), int((left - int(left)) * 1e9))
        n = _libc.sigtimedwait(ctypes.byref(sigset), buf, ctypes.byref(ts))
        if n > 0:
            raw = buf.raw
            pid = int.from_bytes(raw[16:20], "little")
            value = int.from_bytes(raw[24:28], "little")
            return (n, pid, value)
        if ctypes.get_errno() == errno.EAGAIN:
            return None
        if ctypes.get_errno() != errno.EINTR:
            raise OSError(ctypes.get_errno(), "sigtimedwait")


def drain(signals, timeout: float) -> list[tuple[int, int, int]]:
    """Take every pending signal of `signals` (waiting up to `timeout` s for the first one)."""
    sigset = _SigSet()
    _libc.sigemptyset(ctypes.byref(sigset))
    for s in signals:
        _libc.sigaddset(ctypes.byref(sigset), int(s))
    taken = []
    got = _take(sigset, timeout)
    while got is not None:
        taken.append(got)
        got = _take(sigset, 0)
    return taken


def restore(mask) -> None:
    """Make the calling thread's blocked mask exactly `mask` again."""
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


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
