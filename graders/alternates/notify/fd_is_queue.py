"""Style: no thread at all: the wakeup-fd pipe is the queue. CPython's C handler writes each signal's number into it at delivery, in any thread; get() sleeps in poll() on the read end and reads one byte; drain() reads what is there without blocking; bytes of signals that are not listed are skipped."""

import errno
import os
import select
import signal
import time


def _noop(signum, frame):
    pass


class Notifier:
    def __init__(self, signums):
        self._mine = {int(s) for s in signums}
        self._saved = {int(s): signal.getsignal(s) for s in signums}
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._prev_fd = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        for s in self._saved:
            signal.signal(s, _noop)

    def _take_one(self):
        """One listed signal from the pipe, or None when the pipe is empty."""
        while True:
            try:
                b = os.read(self._r, 1)
            except BlockingIOError:
                return None
            if not b:
                return None
            if b[0] in self._mine:
                return signal.Signals(b[0])

    def get(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self._r, select.POLLIN)
        while True:
            got = self._take_one()
            if got is not None:
                return got
            if deadline is None:
                wait_ms = None
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                wait_ms = max(1, int(left * 1000 + 0.999))
            try:
                poller.poll(wait_ms)
            except OSError as e:
                if e.errno != errno.EINTR:
                    raise

    def drain(self):
        out = []
        while True:
            got = self._take_one()
            if got is None:
                return out
            out.append(got)

    def stop(self):
        for s, old in self._saved.items():
            signal.signal(s, old)
        signal.set_wakeup_fd(self._prev_fd)
        os.close(self._r)
        os.close(self._w)
