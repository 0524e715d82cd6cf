"""Route signals into a queue, as Go's signal.Notify does, and put everything back on stop().

    n = Notifier([signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP])   # in the main thread
    n.get(timeout=None) -> int | None     # any thread: the oldest queued signal (None: timed out)
    n.drain() -> list[int]                # any thread: every queued signal, oldest first
    n.stop()                              # in the main thread: everything as it was before

How a signal reaches the queue here, without the main thread:

    kill ──▶ kernel ──▶ CPython's C handler, in whichever thread the kernel picked
                          │ writes the signal number, one byte, to the wakeup fd
                          ▼
                        pipe ──▶ the notifier's thread: os.read ──▶ queue ──▶ get() / drain()

A Python-level handler (signal.signal(s, f)) runs only in the main thread, between two bytecodes:
while the main thread is blocked in a system call with the signal blocked, or busy in a long C call,
f does not run, and several signals that came meanwhile are handed to Python handlers by signal
number, not in the order they came. CPython's own C handler runs at once, in any thread, and when a
wakeup fd is set (signal.set_wakeup_fd) it writes one byte per signal into it, in delivery order.
So the Python handler installed here does nothing: its only use is to make CPython install its C
handler. (Go's runtime works the same way: its signal handler only records the signal; a goroutine
of the os/signal package sends it on to the channels given to Notify.)
"""

import collections
import os
import signal
import threading

_STOP = 0   # the byte stop() writes to wake the notifier's thread: no signal has number 0


def _route(signum, frame):
    """The Python-level handler: nothing to do, the C handler has already written the byte."""


class Notifier:
    def __init__(self, signums):
        self._signums = [int(s) for s in dict.fromkeys(signums)]
        self._queue = collections.deque()
        self._ready = threading.Condition()
        # The pipe CPython's C handler writes to. Its write end must be non-blocking: a handler must
        # never block (a full pipe loses the byte and Python prints a warning instead).
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        # What we change, so that stop() can put it back: each disposition, and the wakeup fd.
        # (Both calls work only in the main thread: they raise ValueError elsewhere.)
        self._previous = {s: signal.getsignal(s) for s in self._signums}
        self._old_wakeup = signal.set_wakeup_fd(self._w)
        self._thread = threading.Thread(target=self._pump, name="notifier", daemon=True)
        self._thread.start()
        # Last, route the signals: from here on each one writes its byte into the pipe.
        for s in self._signums:
            signal.signal(s, _route)

    def _pump(self) -> None:
        """The notifier's thread: bytes from the wakeup fd into the queue, in the order they came."""
        while True:
            data = os.read(self._r, 512)   # sleeps in the kernel until a byte arrives
            if not data:
                return
            for signum in data:
                if signum == _STOP:
                    return
                # The C handler writes a byte for *every* signal with a Python handler, also for
                # signals that are not ours (SIGINT, a handler someone else installed): skip those.
                if signum in self._signums:
                    with self._ready:
                        self._queue.append(signum)
                        self._ready.notify()

    def get(self, timeout: float | None = None) -> int | None:
        with self._ready:
            # wait_for re-checks the queue under the lock, and sleeps in between: no CPU, no polling.
            if not self._ready.wait_for(lambda: self._queue, timeout):
                return None
            return signal.Signals(self._queue.popleft())

    def drain(self) -> list[int]:
        with self._ready:
            taken = [signal.Signals(s) for s in self._queue]
            self._queue.clear()
            return taken

    def stop(self) -> None:
        # Dispositions first: from here on, our signals reach their previous handlers again.
        for s, previous in self._previous.items():
            signal.signal(s, previous)
        signal.set_wakeup_fd(self._old_wakeup)
        # Then end our thread (before returning, as Go's signal.Stop promises) and close our fds.
        os.write(self._w, bytes([_STOP]))
        self._thread.join()
        os.close(self._r)
        os.close(self._w)
