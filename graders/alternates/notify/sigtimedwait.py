"""Style: pthread_sigmask + signal.sigtimedwait in a thread, with a long timeout (an hour: it only bounds the wait, it is no poll) and a stop Event checked on every return; a collections.deque with a Semaphore counting the queued signals."""

import collections
import signal
import threading


def _swallow(signum, frame):
    pass


class Notifier:
    def __init__(self, signums):
        self._sigs = list(dict.fromkeys(signal.Signals(s) for s in signums))
        self._dq = collections.deque()
        self._count = threading.Semaphore(0)
        self._mu = threading.Lock()
        self._done = threading.Event()
        self._prev = {s: signal.getsignal(s) for s in self._sigs}
        for s in self._sigs:
            signal.signal(s, _swallow)
        self._prev_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self._sigs)
        self._t = threading.Thread(target=self._take, name="sigtimedwait", daemon=True)
        self._t.start()

    def _take(self):
        while not self._done.is_set():
            info = signal.sigtimedwait(self._sigs, 3600.0)
            if info is None or self._done.is_set():
                continue
            with self._mu:
                self._dq.append(signal.Signals(info.si_signo))
            self._count.release()

    def get(self, timeout=None):
        if timeout is None:
            self._count.acquire()
        else:
            if not self._count.acquire(timeout=max(0.0, timeout)):
                return None
        with self._mu:
            return self._dq.popleft()

    def drain(self):
        out = []
        while self._count.acquire(blocking=False):
            with self._mu:
                out.append(self._dq.popleft())
        return out

    def stop(self):
        self._done.set()
        signal.pthread_kill(self._t.ident, self._sigs[0])
        self._t.join()
        for s in self._sigs:
            signal.signal(s, self._prev[s])
        signal.pthread_sigmask(signal.SIG_SETMASK, self._prev_mask)
