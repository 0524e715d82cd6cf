"""Bug: built on os.pipe(): MemPipe() opens two file descriptors and write returns once its bytes are in the kernel's buffer, breaking 'MemPipe() ... opens no file descriptor' and 'It blocks until readers have taken every byte'."""

import os
import threading


class MemPipe:
    def __init__(self):
        self._r, self._w = os.pipe()
        self._wlock = threading.Lock()   # one write at a time: never interleave
        self._err = None
        self._state = threading.Lock()

    def write(self, data: bytes) -> int:
        with self._wlock:
            view = memoryview(data)
            while len(view):
                try:
                    done = os.write(self._w, view)
                except OSError as e:
                    raise BrokenPipeError("MemPipe: read end closed") from e
                view = view[done:]
            return len(data)

    def close(self) -> None:
        with self._state:
            if self._w >= 0:
                os.close(self._w)
                self._w = -1

    def close_with_error(self, exc: BaseException) -> None:
        with self._state:
            self._err = exc
        self.close()

    def read(self, n: int) -> bytes:
        data = os.read(self._r, n)
        if not data and self._err is not None:
            raise self._err
        return data

    def close_reader(self) -> None:
        with self._state:
            os.close(self._r)
            self._r = -1
