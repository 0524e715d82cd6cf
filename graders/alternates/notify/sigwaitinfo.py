"""Style: pthread_sigmask + signal.sigwaitinfo in a thread (signalfd-like: the signals stay pending in the kernel until taken), a list under a Condition; stop() wakes the thread with a thread-directed signal (pthread_kill) and a flag."""

import signal
import threading


class Notifier:
    def __init__(self, signums):
        self._sigs = [signal.Signals(s) for s in signums]
        self._items = []
        self._cond = threading.Condition(threading.Lock())
        self._quit = False
        self._saved = [(s, signal.getsignal(s)) for s in self._sigs]
        for s, old in self._saved:
            if old is signal.SIG_IGN or old == signal.SIG_IGN:
                signal.signal(s, signal.SIG_DFL)   # blocked, SIG_DFL keeps it pending; SIG_IGN would drop it
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, self._sigs)
        self._worker = threading.Thread(target=self._run, name="sigwaitinfo", daemon=True)
        self._worker.start()

    def _run(self):
        while True:
            info = signal.sigwaitinfo(self._sigs)
            with self._cond:
                if self._quit:
                    return
                self._items.append(signal.Signals(info.si_signo))
                self._cond.notify_all()

    def get(self, timeout=None):
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, timeout):
                return None
            return self._items.pop(0)

    def drain(self):
        with self._cond:
            out, self._items = self._items, []
            return out

    def stop(self):
        with self._cond:
            self._quit = True
        signal.pthread_kill(self._worker.ident, self._sigs[0])
        self._worker.join()
        for s, old in self._saved:
            signal.signal(s, old)
        signal.pthread_sigmask(signal.SIG_SETMASK, self._mask)
