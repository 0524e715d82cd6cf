"""Style: signalfd through ctypes (CORRECT). drain opens a non-blocking signalfd for `signals`,
poll()s it for up to `timeout` seconds when nothing is pending yet, then reads one 128-byte
signalfd_siginfo at a time until EAGAIN (ssi_signo at 0, ssi_pid at 12, ssi_int at 44), and
closes it. block/restore use signal.pthread_sigmask (restore as SIG_UNBLOCK + SIG_BLOCK)."""

import ctypes
import os
import select
import signal

_libc = ctypes.CDLL(None, use_errno=True)
_SigSet = ctypes.c_ulong * (1024 // (8 * ctypes.sizeof(ctypes.c_ulong)))
SFD_NONBLOCK = os.O_NONBLOCK
SFD_CLOEXEC = 0o2000000


def block(signals) -> set:
    """Block `signals` in the calling thread (nothing else changes); return the previous mask."""
    return signal.pthread_sigmask(signal.SIG_BLOCK, signals)


def _signalfd(signals):
    s = _SigSet()
    _libc.sigemptyset(ctypes.byref(s))
    for n in signals:
        _libc.sigaddset(ctypes.byref(s), int(n))
    fd = _libc.signalfd(-1, ctypes.byref(s), SFD_NONBLOCK | SFD_CLOEXEC)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def drain(signals, timeout: float) -> list[tuple[int, int, int]]:
    """Take every pending signal of `signals` (waiting up to `timeout` s for the first one)."""
    fd = _signalfd(signals)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        if not p.poll(max(0, int(timeout * 1000))):
            return []
        taken = []
        while True:
            try:
                rec = os.read(fd, 128)
            except BlockingIOError:
                return taken
            signo = int.from_bytes(rec[0:4], "little")
            pid = int.from_bytes(rec[12:16], "little")
            value = int.from_bytes(rec[44:48], "little", signed=True)
            taken.append((signo, pid, value))
    finally:
        os.close(fd)


def restore(mask) -> None:
    """Make the calling thread's blocked mask exactly `mask` again."""
    now = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(now) - set(mask))
    signal.pthread_sigmask(signal.SIG_BLOCK, mask)


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
