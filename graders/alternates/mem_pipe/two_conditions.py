"""Style: two Conditions on one Lock, one per side (readers wait on _can_read, writers on _can_write), and a 'writing' flag for the turn instead of a second lock."""

import threading


class MemPipe:
    def __init__(self):
        lock = threading.Lock()
        self._can_read = threading.Condition(lock)
        self._can_write = threading.Condition(lock)
        self._lock = lock
        self._writing = False
        self._offer = memoryview(b"")
        self._wclosed = False
        self._err = None
        self._rclosed = False

    def write(self, data: bytes) -> int:
        with self._lock:
            while self._writing and not self._rclosed:
                self._can_write.wait()
            if self._rclosed:
                raise BrokenPipeError("MemPipe: the reader closed")
            self._writing = True
            try:
                self._offer = memoryview(data)
                self._can_read.notify_all()
                while len(self._offer) and not self._rclosed:
                    self._can_write.wait()
                if len(self._offer):
                    raise BrokenPipeError("MemPipe: the reader closed")
                return len(data)
            finally:
                self._offer = memoryview(b"")
                self._writing = False
                self._can_write.notify_all()

    def close(self) -> None:
        with self._lock:
            self._wclosed = True
            self._can_read.notify_all()

    def close_with_error(self, exc: BaseException) -> None:
        with self._lock:
            self._err = exc
            self._wclosed = True
            self._can_read.notify_all()

    def read(self, n: int) -> bytes:
        with self._lock:
            while not len(self._offer) and not self._wclosed:
                self._can_read.wait()
            if len(self._offer):
                chunk = bytes(self._offer[:n])
                self._offer = self._offer[n:]
                if not len(self._offer):
                    self._can_write.notify_all()
                return chunk
            if self._err is not None:
                raise self._err
            return b""

    def close_reader(self) -> None:
        with self._lock:
            self._rclosed = True
            self._can_write.notify_all()
