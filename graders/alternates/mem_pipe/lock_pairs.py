"""Style: no Condition: every waiting thread parks on a private, already-held threading.Lock (a lock pair: the state lock plus its own parking lock) and a waker releases the parking locks of those it wakes."""

import threading


class MemPipe:
    def __init__(self):
        self._mu = threading.Lock()
        self._parked = []            # parking locks of the threads asleep, any side
        self._writing = False        # a write owns the turn
        self._offer = memoryview(b"")
        self._wclosed = False
        self._err = None
        self._rclosed = False

    def _park(self):
        """Called with _mu held; sleeps until woken, returns with _mu held again."""
        me = threading.Lock()
        me.acquire()
        self._parked.append(me)
        self._mu.release()
        try:
            me.acquire()             # sleeps in the kernel until a waker releases it
        finally:
            self._mu.acquire()

    def _wake_all(self):
        parked, self._parked = self._parked, []
        for lock in parked:
            lock.release()

    def write(self, data: bytes) -> int:
        with self._mu:
            while self._writing and not self._rclosed:
                self._park()
            if self._rclosed:
                raise BrokenPipeError("MemPipe: the reader closed")
            self._writing = True
            try:
                self._offer = memoryview(data)
                self._wake_all()
                while len(self._offer) and not self._rclosed:
                    self._park()
                if len(self._offer):
                    raise BrokenPipeError("MemPipe: the reader closed")
                return len(data)
            finally:
                self._offer = memoryview(b"")
                self._writing = False
                self._wake_all()

    def close(self) -> None:
        with self._mu:
            self._wclosed = True
            self._wake_all()

    def close_with_error(self, exc: BaseException) -> None:
        with self._mu:
            self._err = exc
            self._wclosed = True
            self._wake_all()

    def read(self, n: int) -> bytes:
        with self._mu:
            while not len(self._offer) and not self._wclosed:
                self._park()
            if len(self._offer):
                chunk = bytes(self._offer[:n])
                self._offer = self._offer[n:]
                if not len(self._offer):
                    self._wake_all()
                return chunk
            if self._err is not None:
                raise self._err
            return b""

    def close_reader(self) -> None:
        with self._mu:
            self._rclosed = True
            self._wake_all()
