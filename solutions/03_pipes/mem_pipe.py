"""An in-memory pipe between threads, like Go's io.Pipe (内存管道): no kernel object, no buffer.

    p = MemPipe()
    p.write(data) -> int     # writer side: blocks until readers have taken every byte
    p.close()                # writer side: no more data (readers get end-of-file)
    p.close_with_error(exc)  # writer side: no more data, and readers get exc
    p.read(n) -> bytes       # reader side: blocks until a writer offers data
    p.close_reader()         # reader side: no more reading (writers get BrokenPipeError)

The pipe holds no bytes of its own. A write *offers* its data (a view of the caller's bytes, not a
copy) and sleeps until readers have taken all of it; a read takes up to n bytes of the offer. So
when write returns, every byte has been read: the two threads met, as with Go's io.Pipe, and unlike
an OS pipe, whose 64 KiB buffer lets a writer run ahead of its reader.

Every wait is a Condition wait: the thread sleeps in the kernel (a futex) and uses no CPU until
another call changes the state and notifies. Each wait is in a `while` loop that re-checks its
condition under the lock, so a wake-up meant for another thread, or one that came before the wait,
is never taken for the event itself, and none is lost.
"""

import threading


class MemPipe:
    def __init__(self):
        self._lock = threading.Lock()
        # One condition for every state change; notify_all wakes readers and writers alike, and
        # each re-checks what it waits for. (notify() would wake one waiter, perhaps the wrong one.)
        self._changed = threading.Condition(self._lock)
        # One write at a time: a write holds its turn from its first byte to its last, so the
        # bytes of two writes never interleave (Go's io.Pipe has the same lock, wrMu).
        self._turn = threading.Lock()
        self._offer = memoryview(b"")   # what the current write still offers; empty: nothing
        self._eof = False               # the writer closed: end-of-file once the offer is read
        self._error = None              # ... or this exception, raised by read
        self._reader_closed = False

    # -- the writer's side ------------------------------------------------------------------

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        # Waiting for the turn is a Lock.acquire(): asleep in the kernel too, no CPU. The writer
        # holding the turn wakes (close_reader notifies it), raises, and leaves the turn to the next.
        with self._turn, self._changed:
            if self._reader_closed:
                raise BrokenPipeError("write to a MemPipe whose reader is closed")
            self._offer = view
            self._changed.notify_all()            # readers waiting for data: here it is
            while self._offer and not self._reader_closed:
                self._changed.wait()              # until the last byte is taken
            if self._offer:                       # the reader went away before taking it all
                self._offer = memoryview(b"")
                raise BrokenPipeError("the reader of the MemPipe closed before taking every byte")
        return len(view)

    def close(self) -> None:
        self.close_with_error(None)

    def close_with_error(self, exc: BaseException | None) -> None:
        with self._changed:
            self._eof = True
            self._error = exc
            self._changed.notify_all()            # readers waiting: end-of-file (or exc) now

    # -- the reader's side ------------------------------------------------------------------

    def read(self, n: int) -> bytes:
        if n < 1:
            raise ValueError("read(n) needs n >= 1")
        with self._changed:
            while True:
                if self._offer:                   # data before end-of-file, always
                    taken, self._offer = self._offer[:n], self._offer[n:]
                    if not self._offer:
                        self._changed.notify_all()    # the writer's last byte is taken: it may return
                    return bytes(taken)
                if self._eof:
                    if self._error is not None:
                        raise self._error
                    return b""
                self._changed.wait()

    def close_reader(self) -> None:
        with self._changed:
            self._reader_closed = True
            self._changed.notify_all()            # writers waiting for a reader: BrokenPipeError
