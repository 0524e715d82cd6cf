"""rt_signals: count signals the way the kernel keeps them: standard ones merge, real-time ones queue.

A standard signal (1-31, such as SIGUSR1) is one pending bit: sent 10 times while it is blocked,
it is pending once. A real-time signal (SIGRTMIN..SIGRTMAX) has a queue: sent 10 times while it
is blocked, it is pending 10 times, in the order sent, each with the value its sender passed to
sigqueue. A Python handler cannot show the difference (CPython runs it once per signal number,
however many arrived), so here the signals stay blocked while they arrive and are then taken
one at a time with signal.sigtimedwait.

Write three functions. Each works on the signal mask of the calling thread.

block(signals) -> set
    Add `signals`, and only them, to the blocked mask: what was blocked before stays blocked.
    Return the mask as it was before the call, as a set of signal numbers (the form
    signal.pthread_sigmask returns).

drain(signals, timeout) -> list[tuple[int, int, int]]
    If none of `signals` is pending, wait at most `timeout` seconds for one to arrive (return []
    if none comes). Then take every pending one of `signals`, one at a time, without waiting any
    more, until none is left, and return what was taken as (signum, pid, value) tuples:
    - pid is the sender's process id (si_pid);
    - value is the int the sender passed to sigqueue (si_value.sival_int). Python's
      struct_siginfo has no si_value field, but on Linux its si_status field reads the same
      bytes of the kernel's siginfo, so for a queued signal si_status is the value.
    The list is in the order the kernel hands the signals out: the lowest signal number first,
    and the instances of one real-time signal in the order they were sent.
    Take only signals of `signals`: any other pending signal stays pending.
    Leave the blocked mask as it is.

restore(mask) -> None
    Make the blocked mask exactly `mask` again (a set such as block returned).

So, after block([SIGUSR1, SIGRTMIN]) and 10 x SIGUSR1 and 10 x SIGRTMIN sent with sigqueue,
drain returns 11 tuples: SIGUSR1 once (with the pid and value of the first one sent: the
kernel dropped the other 9), then SIGRTMIN 10 times, with the 10 values in the order sent.

The grader sends the signals from outside your process, only once /proc/PID/status shows them
blocked (SigBlk), and checks there that they are pending (ShdPnd, SigQ) before drain, that
nothing of `signals` is left pending after it, and that SigBlk is exactly `mask` after restore
(called after a second, nested block, with the mask the first one returned). While drain waits,
the grader stops your process (SIGSTOP), sends several signals and lets it go on (SIGCONT):
drain must return them all. Python's signal.sigtimedwait goes on waiting by itself after such a
stop; sigtimedwait in C fails with EINTR, to be called again. After a drain that timed out, the
grader sends one more signal: the next drain must return it (nothing of yours may still be
waiting). Try it by hand: `python rt_signals.py` (see the README).
"""

import os
import signal


def block(signals) -> set:
    """Block `signals` in the calling thread (nothing else changes); return the previous mask."""
    # TODO: one call of signal.pthread_sigmask does it; think about which `how` adds to the mask.
    raise NotImplementedError


def drain(signals, timeout: float) -> list[tuple[int, int, int]]:
    """Take every pending signal of `signals` (waiting up to `timeout` s for the first one).

    Returns [(signum, pid, value), ...] in the order they were taken."""
    # TODO: signal.sigtimedwait(signals, timeout) returns a struct_siginfo, or None when the
    # time is up with nothing pending. How many times must you call it, and with what timeout
    # after the first one?
    raise NotImplementedError


def restore(mask) -> None:
    """Make the calling thread's blocked mask exactly `mask` again."""
    # TODO: set the mask back, whatever block() added and whatever was blocked before it.
    raise NotImplementedError


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
