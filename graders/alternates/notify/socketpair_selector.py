"""Style: set_wakeup_fd on a non-blocking socketpair, a thread that waits in a selectors.DefaultSelector on that socket and on a stop pipe, and a list under a Condition."""

import os
import selectors
import signal
import socket
import threading


def _caught(signum, frame):
    pass


class Notifier:
    def __init__(self, signums):
        self._signums = tuple(signal.Signals(s) for s in signums)
        self._wanted = frozenset(int(s) for s in self._signums)
        self._before = {s: signal.getsignal(s) for s in self._signums}
        self._cv = threading.Condition()
        self._pending = []
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._stop_r, self._stop_w = os.pipe()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._rsock, selectors.EVENT_READ, "signals")
        self._sel.register(self._stop_r, selectors.EVENT_READ, "stop")
        self._thread = threading.Thread(target=self._serve, name="notify-selector", daemon=True)
        self._thread.start()
        self._before_fd = signal.set_wakeup_fd(self._wsock.fileno(), warn_on_full_buffer=False)
        for s in self._signums:
            signal.signal(s, _caught)

    def _serve(self):
        while True:
            for key, _ in self._sel.select():
                if key.data == "stop":
                    return
                try:
                    data = self._rsock.recv(256)
                except BlockingIOError:
                    continue
                mine = [signal.Signals(b) for b in data if b in self._wanted]
                if mine:
                    with self._cv:
                        self._pending.extend(mine)
                        self._cv.notify_all()

    def get(self, timeout=None):
        with self._cv:
            if not self._cv.wait_for(lambda: self._pending, timeout):
                return None
            return self._pending.pop(0)

    def drain(self):
        with self._cv:
            out = self._pending[:]
            del self._pending[:]
            return out

    def stop(self):
        for s, old in self._before.items():
            signal.signal(s, old)
        signal.set_wakeup_fd(self._before_fd)
        os.write(self._stop_w, b"x")
        self._thread.join()
        self._sel.close()
        self._rsock.close()
        self._wsock.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
