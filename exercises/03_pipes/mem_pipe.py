"""An in-memory pipe between threads, like Go's io.Pipe (内存管道): no kernel object, no buffer.

Read exercises/03_pipes/README.md first. Grade with `nox -s grade -- mem_pipe`.

    p = MemPipe()
    p.write(data) -> int     # writer side
    p.close()                # writer side: no more data, the readers get end-of-file
    p.close_with_error(exc)  # writer side: no more data, the readers get exc
    p.read(n) -> bytes       # reader side
    p.close_reader()         # reader side: no more reading, the writers get BrokenPipeError

Any number of threads of one process may call these methods at the same time.

The pipe
- MemPipe() makes an open, empty pipe in the memory of the process: it opens no file descriptor
  and starts no thread.

Writing
- write(data) takes non-empty bytes and offers them to the readers. It blocks until readers have
  taken every byte, then returns len(data). It is synchronous: the pipe has no buffer; while a
  write waits, its bytes are the only data the pipe offers, and when it returns, every byte of it
  has been returned by some read.
- Writes never interleave: when several threads write at once, the bytes of one write reach the
  readers together, before any byte of another write (a write waits for its turn until the write
  before it has been read to the end).

Reading
- read(n), n >= 1, blocks until a writer offers data, then returns between 1 and n bytes of it
  (never b"" while data is offered). What it does not take stays offered: the following reads
  return the rest of the write, in order.

Closing
- close(): once every byte written before it has been read, read returns b"" (end-of-file), at
  once and on every later call; a read already waiting wakes up and returns b"".
- close_with_error(exc): the same, except that read raises exc (that very exception object)
  instead of returning b"".
- close_reader(): every write raises BrokenPipeError (the in-memory EPIPE): the writes already
  waiting, whether to hand over their bytes or for their turn, and every later one.

Waiting
- A call that waits (a read with nothing offered, a write with no reader or waiting for its turn)
  sleeps until another call wakes it: it uses no CPU time and does not wake up on its own (no busy
  loop, no polling with a timeout).
- No wake-up is lost, whatever order the threads come in: a read that waits before the write
  arrives, several reads waiting for one write, several writes waiting for one reader, a close()
  or close_reader() while others wait.
"""

import threading  # noqa: F401 - you will need threading.Lock and threading.Condition


class MemPipe:
    def __init__(self):
        # TODO: the state both sides share, under one lock: what the current write still offers,
        #       whether the writer closed (and with which error), whether the reader closed.
        # TODO: a threading.Condition on that lock, for every thread that must wait for a change,
        #       and a way to give one write at a time its turn.
        raise NotImplementedError("MemPipe: see the TODOs in exercises/03_pipes/mem_pipe.py")

    def write(self, data: bytes) -> int:
        # TODO: wait for your turn; raise BrokenPipeError if the reader is closed; offer `data`
        #       (no copy needed: a memoryview), wake the readers, and wait until every byte is taken
        #       or the reader closes. Every wait re-checks its condition in a `while` loop.
        raise NotImplementedError("MemPipe.write: see the TODOs in exercises/03_pipes/mem_pipe.py")

    def close(self) -> None:
        # TODO: the writer is done: readers get b"" once the data offered before is taken.
        raise NotImplementedError("MemPipe.close: see the TODOs in exercises/03_pipes/mem_pipe.py")

    def close_with_error(self, exc: BaseException) -> None:
        # TODO: like close(), but read raises exc instead of returning b"".
        raise NotImplementedError("MemPipe.close_with_error: see the TODOs in exercises/03_pipes/mem_pipe.py")

    def read(self, n: int) -> bytes:
        # TODO: wait until data is offered or the writer closed; take at most n bytes of the offer
        #       (the rest stays offered), and wake the writer when its last byte is taken.
        raise NotImplementedError("MemPipe.read: see the TODOs in exercises/03_pipes/mem_pipe.py")

    def close_reader(self) -> None:
        # TODO: the reader is done: wake every waiting writer; they and later writes raise
        #       BrokenPipeError.
        raise NotImplementedError("MemPipe.close_reader: see the TODOs in exercises/03_pipes/mem_pipe.py")
