"""The child for the coprocess grader: it answers every line it reads with one line, on a schedule.

    python -I -S coprocess_child.py STATE END MODE [ARG...]

The answer to the n-th line q it reads (n from 1) is f"{n}:{q reversed}", UTF-8, plus '~' padding
in flood mode. It reads with os.read and writes with os.write (no Python buffering), so
what reaches the pipe, and when, is decided here:

now        answer each line at once, in one write
pieces     answer each line at once; every odd-numbered answer in two writes, cut inside a UTF-8
           character, the second only once the reader has taken the first out of the pipe
           (FIONREAD on fd 1 is 0) or has gone
batch N    hold the answers until N lines are read (or end-of-file), then write them all in one write
flood P L E  answer each line at once, padded with P '~' (L '~' when n % E == 1: lines longer than a pipe)
gate G     answer the first line, then wait at the FIFO G until the grader closes it; then as `now`
die K S    answer K lines, then exit with status S at once, without reading what is left
quit K G   answer K lines, close its stdout, wait at the FIFO G until the grader closes it, then exit 0
           without reading what is left

END says how it ends after end-of-file: "0" exit 0, "exit:S" exit with status S, "kill:S" kill
itself with signal S. STATE is a file it rewrites after every read with "READ EOF"
(lines read so far, 1 once end-of-file was seen): when a conversation is stuck, the grader reads it
to say how far the child got. It decides nothing.
"""

import array
import fcntl
import os
import select
import signal
import sys
import termios
import time

signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # a child that writes to nobody dies of SIGPIPE, as any command
STATE, END, MODE, ARGS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
state_fd = os.open(STATE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
read_count = 0
os.write(state_fd, b"00000000 0")


def note(eof: int) -> None:
    os.pwrite(state_fd, f"{read_count:08d} {eof}".encode(), 0)   # same length every time: never half-written


def lines():
    """Each complete line read from fd 0, as str without its newline; the end at end-of-file."""
    global read_count
    pending = b""
    while True:
        chunk = os.read(0, 4096)
        if not chunk:
            note(1)
            return
        pending += chunk
        *complete, pending = pending.split(b"\n")
        read_count += len(complete)
        note(0)
        yield from (line.decode("utf-8") for line in complete)


def write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def unread(fd: int) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def reader_gone(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, 0)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def answer(n: int, question: str, pad: int = 0) -> bytes:
    return (f"{n}:{question[::-1]}" + "~" * pad + "\n").encode()


def padding(n: int, args: list[str]) -> int:
    pad, long, every = (int(arg) for arg in args)
    return long if n % every == 1 else pad


def in_two(data: bytes) -> None:
    """Write data in two pieces, cut inside its first multi-byte character; the second piece only once
    the first has been read (the 1 ms sleeps only space out the looks at FIONREAD)."""
    cut = next((i + 1 for i, byte in enumerate(data) if byte >= 0xC0), len(data) // 2)
    write(data[:cut])
    while unread(1) and not reader_gone(1):
        time.sleep(0.001)
    write(data[cut:])


def gate(path: str) -> None:
    """Wait until the grader closes the FIFO it holds open (end-of-file)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    os.read(fd, 1)
    os.close(fd)


n = 0
if MODE == "batch":
    size, held = int(ARGS[0]), []
    for question in lines():
        n += 1
        held.append(answer(n, question))
        if len(held) == size:
            write(b"".join(held))
            held = []
    write(b"".join(held))
elif MODE == "die":
    keep, status = int(ARGS[0]), int(ARGS[1])
    for question in lines():
        n += 1
        write(answer(n, question))
        if n == keep:
            break
    os._exit(status)
elif MODE == "quit":
    keep = int(ARGS[0])
    for question in lines():
        n += 1
        write(answer(n, question))
        if n == keep:
            break
    os.close(1)
    gate(ARGS[1])
    os._exit(0)
else:
    for question in lines():
        n += 1
        data = answer(n, question, padding(n, ARGS) if MODE == "flood" else 0)
        if MODE == "pieces" and n % 2:
            in_two(data)
        else:
            write(data)
        if MODE == "gate" and n == 1:
            gate(ARGS[0])
how, _, number = END.partition(":")
if how == "exit":
    sys.exit(int(number))
if how == "kill":
    signal.signal(int(number), signal.SIG_DFL)
    os.kill(os.getpid(), int(number))
sys.exit(0)
