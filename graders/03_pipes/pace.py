"""Pipeline commands for the pipe_chain grader that force a schedule on the caller of run_pipeline.

    python -I -S pace.py MODE

refill   A reader that pauses. Wait until the pipe on stdin is full (no room for one more page),
         read 4096 bytes, wait until the writer has filled the room again, then copy stdin to
         stdout. The writer's first write after the pause finds room for one or two pages only:
         os.write() returns fewer bytes than it was given, and the caller must write the rest.
pieces   Write "piece 1\\n", wait until the reader has taken every byte of it out of the pipe, then
         write "piece 2\\n", and so on up to 3: the caller's reads see the output in pieces.

"Full" and "taken" are read from the OS, never guessed: a pipe has room for a write exactly when
poll() says POLLOUT on a write end of it (this command opens one through /proc/self/fd/0), and
FIONREAD on the write end of stdout counts the bytes the reader has not taken yet (the 1 ms
sleeps only space out the looks; no decision depends on a clock).
"""

import array
import fcntl
import os
import select
import signal
import sys
import termios
import time

POLL = 0.001


def pipe_has_room(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return bool(poller.poll(0))


def unread(fd: int) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def reader_gone(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, 0)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def copy(data: bytes = b"") -> None:
    while True:
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]
        data = os.read(0, 65536)
        if not data:
            return


def wait_until(predicate) -> None:
    while not predicate():
        time.sleep(POLL)


signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # die of SIGPIPE like any command, not of EPIPE
mode = sys.argv[1]
if mode == "refill":
    writer = os.open("/proc/self/fd/0", os.O_WRONLY | os.O_NONBLOCK)   # only to ask poll()
    wait_until(lambda: not pipe_has_room(writer))
    first = b""
    while len(first) < 4096:
        first += os.read(0, 4096 - len(first))
    wait_until(lambda: not pipe_has_room(writer))
    os.close(writer)
    copy(first)
elif mode == "pieces":
    for n in range(1, 4):
        os.write(1, f"piece {n}\n".encode())
        wait_until(lambda: unread(1) == 0 or reader_gone(1))
else:
    sys.exit(f"pace.py: unknown mode {mode!r}")
