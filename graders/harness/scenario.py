"""What scenario code (graders/NN_topic/scenario_<id>.py) imports: it runs beside the student's code."""

import os
import select
import signal
import time


class Fail(Exception):
    """Raise with a sentence for the student: the test fails with exactly that sentence."""


def wait_until(predicate, timeout: float, interval: float = 0.005):
    """Poll `predicate` until it returns something truthy or `timeout` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def open_gate(path: str) -> int:
    """Open the FIFO at PATH for reading without waiting for a writer, then make it blocking: a read sleeps
    while the test holds the FIFO's other end and gives end-of-file once it lets go (at once if it already has)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    return fd


def pass_gate(path: str, timeout: float | None = None) -> bool:
    """Wait at the FIFO gate at PATH until the test lets go of it (end-of-file): True; False when TIMEOUT
    seconds passed first (None: no deadline of its own, the test's timeout ends the scenario)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                if not os.read(fd, 64):
                    return True       # no writer left: the test has let us through (perhaps before we came)
            except BlockingIOError:
                pass                  # the test still holds its end
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return False
            select.select([fd], [], [], left)
    finally:
        os.close(fd)


def other_children(code: int = 0) -> tuple[int, int]:
    """Two children of the calling process that the student's code did not fork, for a contract that says it
    waits for its own child only: one asleep (until end_other_children), one a zombie with exit status CODE
    (exited, not reaped: waitid with WNOWAIT saw it)."""
    asleep = os.fork()
    if asleep == 0:
        try:
            while True:
                signal.pause()
        finally:
            os._exit(0)
    zombie = os.fork()
    if zombie == 0:
        os._exit(code)
    os.waitid(os.P_PID, zombie, os.WEXITED | os.WNOWAIT)
    return asleep, zombie


def end_other_children(asleep: int, zombie: int) -> None:
    """Kill and reap what other_children made (one the student's code reaped already is left alone)."""
    try:
        os.kill(asleep, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in (asleep, zombie):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
