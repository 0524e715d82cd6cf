"""Style: counting semaphores and 'passing the baton': a token in _avail means 'something for one reader' (bytes or end-of-file), each reader that leaves something passes the token on; _done wakes the writer; a Semaphore(1) is the write turn."""

import threading


class MemPipe:
    def __init__(self):
        self._mu = threading.Lock()
        self._turn = threading.Semaphore(1)
        self._avail = threading.Semaphore(0)
        self._done = threading.Semaphore(0)
        self._offer = memoryview(b"")
        self._writer_waits = False
        self._wclosed = False
        self._eof_token = False
        self._err = None
        self._rclosed = False

    def write(self, data: bytes) -> int:
        self._turn.acquire()
        try:
            with self._mu:
                if self._rclosed:
                    raise BrokenPipeError("MemPipe: the reader closed")
                self._offer = memoryview(data)
                self._writer_waits = True
                self._avail.release()           # one token: a reader may take bytes
            self._done.acquire()                # taken to the last byte, or the reader closed
            with self._mu:
                self._writer_waits = False
                if len(self._offer):
                    self._offer = memoryview(b"")
                    raise BrokenPipeError("MemPipe: the reader closed")
                return len(data)
        finally:
            self._turn.release()

    def _eof_locked(self):
        if not self._eof_token:
            self._eof_token = True
            self._avail.release()

    def close(self) -> None:
        with self._mu:
            self._wclosed = True
            if not len(self._offer):
                self._eof_locked()

    def close_with_error(self, exc: BaseException) -> None:
        with self._mu:
            self._err = exc
        self.close()

    def read(self, n: int) -> bytes:
        while True:
            self._avail.acquire()               # sleeps until there is a token
            with self._mu:
                if len(self._offer):
                    chunk = bytes(self._offer[:n])
                    self._offer = self._offer[n:]
                    if len(self._offer):
                        self._avail.release()   # the rest: pass the baton to the next reader
                    else:
                        self._done.release()    # the writer may return
                        if self._wclosed:
                            self._eof_locked()
                    return chunk
                if self._wclosed:
                    self._avail.release()       # end-of-file stays: pass it on
                    if self._err is not None:
                        raise self._err
                    return b""
                # a stale token (an offer withdrawn by close_reader): wait again

    def close_reader(self) -> None:
        with self._mu:
            self._rclosed = True
            if self._writer_waits and len(self._offer):
                self._done.release()
