"""Style: sigpending-driven loop with sigwaitinfo (CORRECT)."""

import os
import signal


def block(signals) -> set:
    """Block `signals` in the calling thread (nothing else changes); return the previous mask."""
    return signal.pthread_sigmask(signal.SIG_BLOCK, signals)


def _entry(info):
    return (info.si_signo, info.si_pid, info.si_status)


def drain(signals, timeout: float) -> list[tuple[int, int, int]]:
    """Take every pending signal of `signals` (waiting up to `timeout` s for the first one)."""
    wanted = set(signals)
    taken = []
    if not wanted & signal.sigpending():
        info = signal.sigtimedwait(wanted, timeout)
        if info is None:
            return []
        taken.append(_entry(info))
    while wanted & signal.sigpending():
        taken.append(_entry(signal.sigwaitinfo(wanted)))
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
