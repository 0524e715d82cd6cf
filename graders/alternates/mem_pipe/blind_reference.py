"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/mem_pipe/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import threading


class MemPipe:
    def __init__(self):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._turn = threading.Lock()
        self._offer = memoryview(b"")
        self._wclosed = False
        self._err = None
        self._rclosed = False

    def write(self, data: bytes) -> int:
        with self._turn:
            with self._cond:
                if self._rclosed:
                    raise BrokenPipeError("MemPipe: read end closed")
                self._offer = memoryview(data)
                self._cond.notify_all()
                while len(self._offer) and not self._rclosed:
                    self._cond.wait()
                if len(self._offer):
                    self._offer = memoryview(b"")
                    raise BrokenPipeError("MemPipe: read end closed")
                return len(data)

    def close(self) -> None:
        with self._cond:
            self._wclosed = True
            self._cond.notify_all()

    def close_with_error(self, exc: BaseException) -> None:
        with self._cond:
            self._wclosed = True
            self._err = exc
            self._cond.notify_all()

    def read(self, n: int) -> bytes:
        with self._cond:
            while not len(self._offer) and not self._wclosed:
                self._cond.wait()
            if len(self._offer):
                chunk = bytes(self._offer[:n])
                self._offer = self._offer[n:]
                if not len(self._offer):
                    self._cond.notify_all()
                return chunk
            if self._err is not None:
                raise self._err
            return b""

    def close_reader(self) -> None:
        with self._cond:
            self._rclosed = True
            self._cond.notify_all()
