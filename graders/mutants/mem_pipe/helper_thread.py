"""Bug: MemPipe() starts a dispatcher thread (Go-style: a goroutine that hands the queued writes to the readers one at a time), breaking 'MemPipe() makes an open, empty pipe ...: it opens no file descriptor and starts no thread'."""

import collections
import threading


class MemPipe:
    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._pending = collections.deque()   # writes waiting for their turn
        self._current = None
        self._offer = memoryview(b"")
        self._wclosed = False
        self._err = None
        self._rclosed = False
        self._dispatcher = threading.Thread(target=self._dispatch, name="mempipe-dispatch", daemon=True)
        self._dispatcher.start()

    def _dispatch(self):
        with self._cond:
            while True:
                while not self._pending and not self._rclosed:
                    self._cond.wait()
                if self._rclosed:
                    for item in self._pending:
                        item["error"] = BrokenPipeError("MemPipe: read end closed")
                        item["done"] = True
                    self._pending.clear()
                    self._cond.notify_all()
                    return
                item = self._pending.popleft()
                self._current = item
                self._offer = item["view"]
                self._cond.notify_all()
                while len(self._offer) and not self._rclosed:
                    self._cond.wait()
                if len(self._offer):
                    self._offer = memoryview(b"")
                    item["error"] = BrokenPipeError("MemPipe: read end closed")
                item["done"] = True
                self._current = None
                self._cond.notify_all()

    def write(self, data: bytes) -> int:
        item = {"view": memoryview(data), "done": False, "error": None}
        with self._cond:
            if self._rclosed:
                raise BrokenPipeError("MemPipe: read end closed")
            self._pending.append(item)
            self._cond.notify_all()
            while not item["done"]:
                self._cond.wait()
            if item["error"] is not None:
                raise item["error"]
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
