"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/notify/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import collections
import os
import signal
import threading


def _nothing(signum, frame):
    pass


class Notifier:
    def __init__(self, signums):
        self._sigs = [signal.Signals(s) for s in signums]
        self._mine = {int(s) for s in self._sigs}
        self._cond = threading.Condition()
        self._queue = collections.deque()
        self._old = {s: signal.getsignal(s) for s in self._sigs}
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        self._thread = threading.Thread(target=self._pump, name="notifier", daemon=True)
        self._thread.start()
        self._old_fd = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        for s in self._sigs:
            signal.signal(s, _nothing)

    def _pump(self):
        while True:
            data = os.read(self._r, 512)
            if not data:
                return
            with self._cond:
                for b in data:
                    if b == 0:
                        return
                    if b in self._mine:
                        self._queue.append(signal.Signals(b))
                        self._cond.notify_all()

    def get(self, timeout=None):
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue, timeout):
                return None
            return self._queue.popleft()

    def drain(self):
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
            return out

    def stop(self):
        for s in self._sigs:
            signal.signal(s, self._old[s])
        signal.set_wakeup_fd(self._old_fd)
        os.write(self._w, b"\0")
        self._thread.join()
        os.close(self._r)
        os.close(self._w)
