"""Style: sigwait thread: the listed signals blocked in the main thread before our thread starts (it inherits the mask), a no-op handler so that none is discarded or fatal, signal.sigwait in the thread, and a queue.SimpleQueue (get(timeout) is one timed lock wait, not a poll)."""

import queue
import signal
import threading


def _nothing(signum, frame):
    pass


class Notifier:
    def __init__(self, signums):
        self._sigs = frozenset(signal.Signals(s) for s in signums)
        self._queue = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._old = {s: signal.getsignal(s) for s in self._sigs}
        for s in self._sigs:
            signal.signal(s, _nothing)
        self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self._sigs)
        self._thread = threading.Thread(target=self._loop, name="notify-sigwait", daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            s = signal.sigwait(self._sigs)
            if self._stopping.is_set():
                return
            self._queue.put(signal.Signals(s))

    def get(self, timeout=None):
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self):
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def stop(self):
        self._stopping.set()
        signal.pthread_kill(self._thread.ident, next(iter(self._sigs)))
        self._thread.join()
        for s, old in self._old.items():
            signal.signal(s, old)
        signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
