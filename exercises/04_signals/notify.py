"""Route signals into a queue, as Go's signal.Notify does, and put everything back on stop().

Read exercises/04_signals/README.md first. Grade with `nox -s grade -- notify`.

    n = Notifier([signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP])   # in the main thread
    n.get(timeout=None) -> int | None     # in any thread
    n.drain() -> list[int]                # in any thread
    n.stop()                              # in the main thread

Arguments
- signums: distinct numbers of signals that can be caught (not SIGKILL, not SIGSTOP).
  Notifier(...) and stop() are called in the main thread (Python lets only the main thread change
  what a signal does); get() and drain() in any thread.

What the queue gets
- From the moment Notifier(...) returns until stop(), every listed signal the kernel delivers to the
  process is queued, and nothing else happens to it: it no longer reaches its previous disposition
  (a handler installed before does not run, SIG_DFL does not end the process).
- The queue keeps the order in which the kernel delivered the signals. Distinct signals each
  arrive; a signal that arrives again after get() or drain() took it is queued again. (Two of one
  standard signal sent while the first is still pending in the kernel merge into one: that is the
  kernel's doing, and nothing here asks for both.)
- Only listed signals are queued. Every other signal keeps its disposition (its handler still runs,
  SIG_IGN still ignores it), and no signal that is not listed is blocked or unblocked.
- The queue is fed without the main thread: while the main thread is blocked in a system call with
  the listed signals blocked in its own signal mask, a get() in another thread still returns each
  signal as it arrives. (A Python-level handler runs only in the main thread, between bytecodes: it
  cannot be the way signals reach the queue.)

Taking from the queue
- get(timeout=None) removes and returns the oldest queued signal number (an int, or a
  signal.Signals). When none is queued it waits until one arrives, or, with a timeout, returns None
  once `timeout` seconds have passed. A get() that waits sleeps: it uses no CPU time and does not
  wake up on its own (no polling).
- drain() removes and returns every queued signal number, oldest first, at once, without waiting
  ([] when none is queued).

Stopping
- stop() puts back exactly what Notifier(...) changed, before it returns: each listed signal's
  previous disposition (the very handler object, SIG_IGN or SIG_DFL), the main thread's signal
  mask, and the wakeup fd (signal.set_wakeup_fd); every thread the Notifier started has ended and
  every file descriptor it opened is closed. After stop(), a listed signal reaches its previous
  disposition again.
"""

import signal  # noqa: F401 - signal.signal, getsignal, set_wakeup_fd (or pthread_sigmask, sigwait)
import threading  # noqa: F401 - a thread of your own, and a Condition for the queue


class Notifier:
    def __init__(self, signums):
        # TODO: remember what you are about to change (each signal's disposition, ...), so that
        #       stop() can put it back exactly.
        # TODO: make every listed signal reach a queue without the main thread: either CPython's
        #       C handler writing into a wakeup fd that a thread of yours reads, or the signals
        #       blocked and taken by a thread of yours with signal.sigwait.
        raise NotImplementedError("Notifier: see the TODOs in exercises/04_signals/notify.py")

    def get(self, timeout: float | None = None) -> int | None:
        # TODO: the oldest queued signal; wait (asleep, on a Condition) until there is one, or
        #       until the timeout has passed (then None).
        raise NotImplementedError("Notifier.get: see the TODOs in exercises/04_signals/notify.py")

    def drain(self) -> list[int]:
        # TODO: every queued signal, oldest first, at once.
        raise NotImplementedError("Notifier.drain: see the TODOs in exercises/04_signals/notify.py")

    def stop(self) -> None:
        # TODO: put back every disposition (and whatever else you changed), end your thread and
        #       close your file descriptors before returning.
        raise NotImplementedError("Notifier.stop: see the TODOs in exercises/04_signals/notify.py")
