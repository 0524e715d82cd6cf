"""Style: one Condition and no second lock: writers take numbered tickets (a ticket lock), and the write whose number is served owns the offer; close_reader() wakes every waiter at once."""

import threading


class MemPipe:
    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0
        self._offer = b""
        self._pos = 0
        self._wclosed = False
        self._err = None
        self._rclosed = False

    def write(self, data: bytes) -> int:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            try:
                while self._serving != ticket and not self._rclosed:
                    self._cond.wait()
                if self._rclosed:
                    raise BrokenPipeError("MemPipe: the reader closed")
                self._offer, self._pos = data, 0
                self._cond.notify_all()
                while self._pos < len(self._offer) and not self._rclosed:
                    self._cond.wait()
                if self._pos < len(self._offer):
                    raise BrokenPipeError("MemPipe: the reader closed")
                return len(data)
            finally:
                if self._serving == ticket:
                    self._offer, self._pos = b"", 0
                    self._serving += 1
                    self._cond.notify_all()
                elif self._rclosed:
                    pass  # never served: the reader closed before our turn
                # (every ticket before ours is served or raised, so serving reaches ours in order)

    def close(self) -> None:
        with self._cond:
            self._wclosed = True
            self._cond.notify_all()

    def close_with_error(self, exc: BaseException) -> None:
        with self._cond:
            self._err = exc
            self._wclosed = True
            self._cond.notify_all()

    def read(self, n: int) -> bytes:
        with self._cond:
            while self._pos >= len(self._offer) and not self._wclosed:
                self._cond.wait()
            if self._pos < len(self._offer):
                end = min(self._pos + n, len(self._offer))
                chunk = bytes(self._offer[self._pos:end])
                self._pos = end
                if self._pos == len(self._offer):
                    self._cond.notify_all()
                return chunk
            if self._err is not None:
                raise self._err
            return b""

    def close_reader(self) -> None:
        with self._cond:
            self._rclosed = True
            self._cond.notify_all()
