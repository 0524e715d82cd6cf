"""Style: Go's channels, imitated with queue.Queue(maxsize=1): a write puts its offer in one queue and waits for an ack in another; a reader puts the rest of an offer back; end-of-file is a sentinel each reader puts back for the next."""

import queue
import threading

_EOF = object()
_DONE = object()
_BROKEN = object()


class MemPipe:
    def __init__(self):
        self._mu = threading.Lock()
        self._turn = threading.Lock()
        self._offers = queue.Queue(maxsize=1)
        self._acks = queue.Queue(maxsize=1)
        self._outstanding = False
        self._wclosed = False
        self._err = None
        self._rclosed = False

    def write(self, data: bytes) -> int:
        with self._turn:
            with self._mu:
                if self._rclosed:
                    raise BrokenPipeError("MemPipe: the reader closed")
                if self._wclosed:
                    raise ValueError("MemPipe: write after close")
                self._outstanding = True
                self._offers.put_nowait(memoryview(data))
            if self._acks.get() is _BROKEN:
                raise BrokenPipeError("MemPipe: the reader closed")
            return len(data)

    def _close(self, exc):
        with self._mu:
            if self._wclosed:
                return
            self._err = exc
            self._wclosed = True
            if not self._outstanding:
                self._offers.put_nowait(_EOF)

    def close(self) -> None:
        self._close(None)

    def close_with_error(self, exc: BaseException) -> None:
        self._close(exc)

    def read(self, n: int) -> bytes:
        item = self._offers.get()
        with self._mu:
            if item is _EOF:
                self._offers.put_nowait(_EOF)
                if self._err is not None:
                    raise self._err
                return b""
            chunk = bytes(item[:n])
            rest = item[n:]
            if self._rclosed:
                return chunk            # the writer was already told; nothing to give back
            if len(rest):
                self._offers.put_nowait(rest)
            else:
                self._outstanding = False
                self._acks.put_nowait(_DONE)
                if self._wclosed:
                    self._offers.put_nowait(_EOF)
            return chunk

    def close_reader(self) -> None:
        with self._mu:
            if self._rclosed:
                return
            self._rclosed = True
            if self._outstanding:
                self._outstanding = False
                try:
                    self._offers.get_nowait()   # withdraw the offer
                except queue.Empty:
                    pass                        # a reader holds it; it will see _rclosed
                self._acks.put_nowait(_BROKEN)
