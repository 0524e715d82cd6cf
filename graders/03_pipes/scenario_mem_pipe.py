"""Scenario for mem_pipe: grader threads call the student's MemPipe in an order the grader forces.

Every call of the student's code runs in a thread of its own (Call), so this thread never blocks in
it and every wait for a call has a deadline. Between two moves, step() reports to the test and waits
at the gate, a FIFO the test holds open, while the test looks at this process from outside: it waits
until every thread sleeps and stays asleep (a call that blocks has then reached its wait; one that
returns has returned), then reads each thread's state, CPU time and wake-ups, the open fds and the
threads. So "the writer still waits after the first read" is a fact of the kernel, not a race that
a fast or a slow machine decides. Only data comes back; test_mem_pipe.py judges it.
"""

import os
import random
import sys
import threading
import traceback

from graders.harness.scenario import Fail

CALL_DEADLINE = 1.0    # s for a call that a right pipe lets return at once (it takes microseconds)
SHORT_DEADLINE = 0.25  # once a call has missed its deadline: a broken pipe must not cost a second per call
MAX_READS = 20000      # reads of one stream (a read may return a single byte)


class _GraderError(Exception):
    """An error class of the grader's own: close_with_error must hand over the object, not its kind."""


ERRORS = (ConnectionResetError, TimeoutError, ValueError, _GraderError)


class Run:
    """What the scenario shares between its moves: the gate, the deadlines, the grader's threads."""

    def __init__(self, ctx, gate: str, student):
        self.ctx = ctx
        self.student = student
        self.mine = os.path.abspath(getattr(student, "__file__", "") or "")
        fd = os.open(os.path.join(ctx.tmp, gate), os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        self.gate = fd
        self.missed = 0
        self.tids: list[int] = []          # every grader thread ever started
        self.sentinel = None               # tid of the read that waits from the start to the end

    def deadline(self) -> float:
        return SHORT_DEADLINE if self.missed else CALL_DEADLINE

    def step(self, name: str, waiting=(), measure=(), held=(), **extra) -> None:
        """Tell the test where we are, then wait until it has looked and opens the gate. `held`: calls the
        grader itself holds (Hold), asleep in a wait of the grader's."""
        self.ctx.event("step", at=name, tids=list(self.tids), sentinel=self.sentinel,
                       waiting={c.label: c.tid for c in waiting}, measure=[c.label for c in measure],
                       held=[c.label for c in held], **extra)
        if os.read(self.gate, 1) != b"g":
            raise Fail("the grader stopped the scenario")

    def where(self, tb) -> str:
        where = ""
        for frame in traceback.extract_tb(tb):
            if os.path.abspath(frame.filename) == self.mine:
                where = f"{os.path.basename(self.mine)} line {frame.lineno}, in {frame.name}"
        return where

    def describe(self, exc: BaseException) -> dict:
        return {"type": type(exc).__name__, "text": str(exc)[:200], "where": self.where(exc.__traceback__),
                "broken_pipe": isinstance(exc, BrokenPipeError), "todo": isinstance(exc, NotImplementedError)}


class Hold:
    """A brake on one grader thread: while armed, the thread stops at the next line of Python it runs (a
    trace function of that thread only, set before it calls the student's code). A thread asleep in a
    wait runs no line; once woken, it stops *before* it can take any lock again, until released. So
    "who gets the lock first when a write's bytes are used up" is decided by the grader, not the OS."""

    def __init__(self):
        self.armed = False
        self.release = threading.Event()
        self.stopped = threading.Event()

    def trace(self, frame, event, arg):
        if self.armed:
            self.stopped.set()
            self.release.wait(2.0)   # deadline: a grader bug must not hang the thread
        return self.trace

    def let_go(self) -> None:
        self.armed = False
        self.release.set()


class Call:
    """One call of the student's code, in a grader thread of its own."""

    def __init__(self, run: Run, label: str, what: str, fn, *args, hold: Hold | None = None):
        self.run, self.label, self.what = run, label, what
        self.done = threading.Event()
        self.value = None
        self.exc = None
        self.hold = hold
        self.thread = threading.Thread(target=self._body, args=(fn, args), name=f"grader:{label}", daemon=True)
        self.thread.start()
        self.tid = self.thread.native_id
        run.tids.append(self.tid)

    def _body(self, fn, args) -> None:
        if self.hold is not None:
            sys.settrace(self.hold.trace)
        try:
            self.value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - whatever left the student's code is reported
            self.exc = exc
        finally:
            self.done.set()

    def finish(self) -> bool:
        """Wait for the call to end, until the deadline; False when it still runs."""
        if self.done.wait(self.run.deadline()):
            return True
        self.run.missed += 1
        return False

    def outcome(self, finish: bool = True) -> dict:
        """{'call', 'state': 'returned' | 'raised' | 'waiting', 'value' or the exception's description}."""
        if finish:
            self.finish()
        report = {"call": self.what}
        if not self.done.is_set():
            report["state"] = "waiting"
        elif self.exc is not None:
            report.update(state="raised", **self.run.describe(self.exc))
        else:
            report.update(state="returned", value=_data(self.value))
        return report


def _data(value):
    """A return value as it can cross the result pipe: bytes and ints as they are, anything else described."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, bool) or value is None:
        return {"other": repr(value)}
    if isinstance(value, int):
        return value
    return {"other": f"{type(value).__name__} {value!r:.80}"}


def _read_stream(p, want: int, sizes: list[int], until_eof: bool = False, reads=None) -> dict:
    """Read until `want` bytes came (or, with until_eof, until read returns b'' or raises), the read
    sizes cycling through `sizes`. Runs in a grader thread: returns {'reads': [(n, what read(n) returned)]}.
    `reads` is the list it appends to, so that the reads so far can be reported when one never returns."""
    reads = [] if reads is None else reads
    got, i = 0, 0
    while (until_eof or got < want) and i < MAX_READS:
        n = sizes[i % len(sizes)]
        i += 1
        try:
            chunk = p.read(n)
        except BaseException as exc:  # noqa: BLE001 - end of this stream; reported with the reads so far
            return {"reads": reads, "raised": exc}
        if not isinstance(chunk, (bytes, bytearray)):
            reads.append((n, _data(chunk)))
            break
        reads.append((n, bytes(chunk)))
        if not chunk:
            break
        got += len(chunk)
    return {"reads": reads}


class Stream(Call):
    """_read_stream in a grader thread: the reads so far are reported too when one never returns."""

    def __init__(self, run: Run, label: str, what: str, p, want: int, sizes: list[int], until_eof: bool = False):
        self.reads: list = []
        super().__init__(run, label, what, _read_stream, p, want, sizes, until_eof, self.reads)

    def outcome(self, expected=None) -> dict:
        """{'call', 'state', 'reads': [(n, chunk)...]}; with `expected`, whether the exception that ended the
        stream is that very object ('same_error')."""
        report = super().outcome()
        report["reads"] = list(self.reads)
        report.pop("value", None)
        if report["state"] == "returned" and "raised" in self.value:
            report["raised"] = self.run.describe(self.value["raised"])
            report["same_error"] = self.value["raised"] is expected
        return report


def _guard(body):
    """Run one phase: a constructor that raises, or a value the grader cannot use, ends only that phase."""
    def phase(run: Run, rnd: random.Random) -> dict:
        try:
            return body(run, rnd)
        except NotImplementedError as exc:
            return {"todo": run.describe(exc)}
        except Fail:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the tests of this phase
            return {"crashed": run.describe(exc)}
    return phase


def _sizes(rnd: random.Random, low: int, high: int, count: int = 7) -> list[int]:
    return [rnd.randint(low, high) for _ in range(count)]


@_guard
def made(run, rnd):
    p = run.student.MemPipe()
    run.step("made")
    return {"made": type(p).__name__}


@_guard
def sync(run, rnd):
    """One write, read in pieces: does it return only once the last byte is taken?"""
    data = rnd.randbytes(rnd.randint(1500, 4000))
    p = run.student.MemPipe()
    w = Call(run, "writer", f"p.write(<{len(data)} bytes>)", p.write, data)
    run.step("sync:write-waits", waiting=[w], measure=[w])
    report = {"data": data, "returned_early": [w.done.is_set()], "reads": []}
    got = 0
    while got < len(data) and len(report["reads"]) < 3:
        n = rnd.randint(1, min(len(data) - got - 1, 1200)) if len(data) - got > 1 else 1
        r = Call(run, f"read-{len(report['reads'])}", f"p.read({n})", p.read, n)
        out = r.outcome()
        report["reads"].append(dict(out, n=n))
        if out["state"] != "returned" or not isinstance(out["value"], bytes) or not out["value"]:
            break
        got += len(out["value"])
        if got < len(data):
            run.step(f"sync:after-read-{len(report['reads'])}", waiting=[w])
            report["returned_early"].append(w.done.is_set())
    else:
        if got < len(data):
            rest = Stream(run, "reader", "p.read(...) until every byte is read", p,
                        len(data) - got, _sizes(rnd, 1, 900))
            report["rest"] = rest.outcome()
    report["write"] = w.outcome()
    return report


@_guard
def read_first(run, rnd):
    """A read that comes before any write: it waits, then gets the write's bytes."""
    n = rnd.randint(64, 512)
    data = rnd.randbytes(rnd.randint(n // 2, n))
    p = run.student.MemPipe()
    r = Call(run, "reader", f"p.read({n})", p.read, n)
    run.step("read_first:read-waits", waiting=[r], measure=[r])
    report = {"n": n, "data": data, "returned_early": r.done.is_set()}
    if report["returned_early"]:
        report["early"] = r.outcome(finish=False)
        return report
    w = Call(run, "writer", f"p.write(<{len(data)} bytes>)", p.write, data)
    report["read"] = r.outcome()
    got = report["read"].get("value")
    if report["read"]["state"] == "returned" and isinstance(got, bytes) and 0 < len(got) < len(data):
        rest = Stream(run, "reader-2", "p.read(...) for the rest of the write", p,
                    len(data) - len(got), _sizes(rnd, 1, 300))
        report["rest"] = rest.outcome()
    report["write"] = w.outcome()
    return report


@_guard
def turns(run, rnd):
    """Three writers at once, the first one read in part before the others arrive."""
    blobs = [rnd.randbytes(rnd.randint(300, 1500)) for _ in range(3)]
    p = run.student.MemPipe()
    w1 = Call(run, "writer-1", f"p.write(<{len(blobs[0])} bytes>) (writer 1)", p.write, blobs[0])
    run.step("turns:writer-1-offers", waiting=[w1])
    k = rnd.randint(1, len(blobs[0]) - 1)
    first = Call(run, "read-first", f"p.read({k})", p.read, k).outcome()
    report = {"blobs": blobs, "first": dict(first, n=k)}
    w2 = Call(run, "writer-2", f"p.write(<{len(blobs[1])} bytes>) (writer 2)", p.write, blobs[1])
    run.step("turns:writer-2-waits", waiting=[w1, w2], measure=[w2])
    w3 = Call(run, "writer-3", f"p.write(<{len(blobs[2])} bytes>) (writer 3)", p.write, blobs[2])
    run.step("turns:writer-3-waits", waiting=[w1, w2, w3])
    got = len(first["value"]) if first["state"] == "returned" and isinstance(first.get("value"), bytes) else 0
    rest = Stream(run, "reader", "p.read(...) until the three writes are read", p,
                sum(map(len, blobs)) - got, _sizes(rnd, 1, 200))
    report["rest"] = rest.outcome()
    report["writes"] = [w.outcome() for w in (w1, w2, w3)]
    return report


@_guard
def readers(run, rnd):
    """Two reads wait before one write that is longer than both together."""
    n1, n2 = rnd.randint(50, 400), rnd.randint(50, 400)
    data = rnd.randbytes(n1 + n2 + rnd.randint(1, 400))
    p = run.student.MemPipe()
    r1 = Call(run, "reader-1", f"p.read({n1}) (reader 1)", p.read, n1)
    run.step("readers:reader-1-waits", waiting=[r1])
    r2 = Call(run, "reader-2", f"p.read({n2}) (reader 2)", p.read, n2)
    run.step("readers:reader-2-waits", waiting=[r1, r2])
    report = {"data": data, "n": [n1, n2], "returned_early": [r1.done.is_set(), r2.done.is_set()]}
    w = Call(run, "writer", f"p.write(<{len(data)} bytes>)", p.write, data)
    report["reads"] = [r1.outcome(), r2.outcome()]
    got = sum(len(o["value"]) for o in report["reads"] if o["state"] == "returned" and isinstance(o["value"], bytes))
    if got < len(data) and all(o["state"] == "returned" for o in report["reads"]):
        rest = Stream(run, "reader-3", "p.read(...) for the rest of the write", p, len(data) - got,
                    _sizes(rnd, 1, 400))
        report["rest"] = rest.outcome()
    report["write"] = w.outcome()
    return report


def _write_then(p, data, exc, close_with_error: bool):
    """The writer's side in one grader thread: write, then close (or close_with_error)."""
    written = p.write(data)
    if close_with_error:
        p.close_with_error(exc)
    else:
        p.close()
    return written


@_guard
def eof(run, rnd):
    """close(): a waiting read wakes with b''; after data, b'' once the data is read; again and again."""
    n = rnd.randint(1, 300)
    p = run.student.MemPipe()
    r = Call(run, "reader", f"p.read({n})", p.read, n)
    run.step("eof:read-waits", waiting=[r])
    report = {"returned_early": r.done.is_set()}
    report["close"] = Call(run, "closer", "p.close()", p.close).outcome()
    report["read"] = r.outcome()
    report["again"] = Call(run, "reader-again", f"p.read({n}) after end-of-file", p.read, n).outcome()
    data = rnd.randbytes(rnd.randint(200, 2000))
    q = run.student.MemPipe()
    w = Call(run, "writer", f"q.write(<{len(data)} bytes>) then q.close()", _write_then, q, data, None, False)
    stream = Stream(run, "reader-2", "q.read(...) until it returns b''", q, len(data),
                  _sizes(rnd, 1, 700), True)
    report["data"] = data
    report["stream"] = stream.outcome()
    report["write"] = w.outcome()
    report["after"] = Call(run, "reader-3", "q.read(100) after end-of-file", q.read, 100).outcome()
    return report


@_guard
def error(run, rnd):
    """close_with_error(exc): a waiting read raises exc; after data, exc once the data is read."""
    n = rnd.randint(1, 300)
    kinds = rnd.sample(ERRORS, 2)
    errors = [kind(f"grader error {rnd.randint(1000, 9999)}") for kind in kinds]
    p = run.student.MemPipe()
    r = Call(run, "reader", f"p.read({n})", p.read, n)
    run.step("error:read-waits", waiting=[r])
    report = {"returned_early": r.done.is_set(), "errors": [_exc_text(e) for e in errors]}
    shown = f"p.close_with_error({_exc_text(errors[0])})"
    report["close"] = Call(run, "closer", shown, p.close_with_error, errors[0]).outcome()
    report["read"] = _same(r.outcome(), r, errors[0])
    again = Call(run, "reader-again", f"p.read({n}) once more", p.read, n)
    report["again"] = _same(again.outcome(), again, errors[0])
    data = rnd.randbytes(rnd.randint(200, 2000))
    q = run.student.MemPipe()
    w = Call(run, "writer", f"q.write(<{len(data)} bytes>) then q.close_with_error({_exc_text(errors[1])})",
             _write_then, q, data, errors[1], True)
    stream = Stream(run, "reader-2", "q.read(...) until it raises", q, len(data),
                  _sizes(rnd, 1, 700), True)
    report["data"] = data
    report["stream"] = stream.outcome(errors[1])
    report["write"] = w.outcome()
    return report


def _exc_text(exc) -> str:
    return f"{type(exc).__name__}({str(exc)!r})"


def _same(report: dict, call: Call, expected) -> dict:
    if report["state"] == "raised":
        report["same_error"] = call.exc is expected
    return report


@_guard
def epipe(run, rnd):
    """close_reader(): the write handing over, the one waiting for its turn, and a later one raise."""
    d1, d2, d3 = (rnd.randbytes(rnd.randint(100, 1500)) for _ in range(3))
    p = run.student.MemPipe()
    w1 = Call(run, "writer-1", f"p.write(<{len(d1)} bytes>) (writer 1)", p.write, d1)
    run.step("epipe:writer-1-offers", waiting=[w1])
    report = {}
    if rnd.random() < 0.5:
        k = rnd.randint(1, len(d1) - 1)
        report["partly_read"] = Call(run, "read-part", f"p.read({k})", p.read, k).outcome()
    w2 = Call(run, "writer-2", f"p.write(<{len(d2)} bytes>) (writer 2)", p.write, d2)
    run.step("epipe:writer-2-waits", waiting=[w1, w2])
    report["returned_early"] = [w1.done.is_set(), w2.done.is_set()]
    report["close"] = Call(run, "closer", "p.close_reader()", p.close_reader).outcome()
    report["writes"] = [w1.outcome(), w2.outcome()]
    report["later"] = Call(run, "writer-3", f"p.write(<{len(d3)} bytes>) after close_reader()",
                           p.write, d3).outcome()
    return report


@_guard
def big(run, rnd):
    """A write longer than PIPE_BUF (4096), half read, then a second writer; when the first write's bytes
    run out of what one read can take, its thread is held (Hold) before it can take the lock again, so a
    pipe that gives up the turn in the middle of a write lets the second writer in, every time."""
    a = rnd.randbytes(rnd.randint(9000, 14000))
    b = rnd.randbytes(rnd.randint(5000, 9000))
    p = run.student.MemPipe()
    hold = Hold()
    w1 = Call(run, "writer-1", f"p.write(<{len(a)} bytes>) (writer 1)", p.write, a, hold=hold)
    run.step("big:writer-1-offers", waiting=[w1])
    k = rnd.randint(1, 3000)
    first = Call(run, "read-first", f"p.read({k})", p.read, k).outcome()
    report = {"blobs": [a, b], "first": dict(first, n=k)}
    w2 = Call(run, "writer-2", f"p.write(<{len(b)} bytes>) (writer 2)", p.write, b)
    run.step("big:writer-2-waits", waiting=[w1, w2])
    hold.armed = True
    n = len(a)
    second = Call(run, "read-second", f"p.read({n})", p.read, n).outcome()
    report["second"] = dict(second, n=n)
    run.step("big:writer-1-held", waiting=[w1, w2], held=[w1])
    hold.let_go()
    got = sum(len(o["value"]) for o in (first, second)
              if o["state"] == "returned" and isinstance(o.get("value"), bytes))
    rest = Stream(run, "reader", "p.read(...) until both writes are read", p, len(a) + len(b) - got,
                  _sizes(rnd, 500, 5000))
    report["rest"] = rest.outcome()
    report["writes"] = [w1.outcome(), w2.outcome()]
    return report


@_guard
def two(run, rnd):
    """Two pipes: a write on p1 that nobody reads must not hold up a write and a read on p2."""
    a, b = rnd.randbytes(rnd.randint(100, 1500)), rnd.randbytes(rnd.randint(100, 1500))
    p1, p2 = run.student.MemPipe(), run.student.MemPipe()
    w1 = Call(run, "writer-1", f"p1.write(<{len(a)} bytes>)", p1.write, a)
    run.step("two:p1-write-waits", waiting=[w1])
    w2 = Call(run, "writer-2", f"p2.write(<{len(b)} bytes>)", p2.write, b)
    r2 = Stream(run, "reader-2", "p2.read(...) until p2's write is read", p2, len(b), _sizes(rnd, 100, 2000))
    report = {"a": a, "b": b, "read2": r2.outcome(), "write2": w2.outcome()}
    r1 = Stream(run, "reader-1", "p1.read(...) until p1's write is read", p1, len(a), _sizes(rnd, 100, 2000))
    report["read1"] = r1.outcome()
    report["write1"] = w1.outcome()
    return report


@_guard
def close_mid(run, rnd):
    """close() while a write is half read: the rest of the write is still read, then b''."""
    data = rnd.randbytes(rnd.randint(200, 2000))
    p = run.student.MemPipe()
    w = Call(run, "writer", f"p.write(<{len(data)} bytes>)", p.write, data)
    run.step("close_mid:write-offers", waiting=[w])
    k = rnd.randint(1, len(data) - 1)
    first = Call(run, "read-first", f"p.read({k})", p.read, k).outcome()
    report = {"data": data, "first": dict(first, n=k)}
    report["close"] = Call(run, "closer", "p.close()", p.close).outcome()
    run.step("close_mid:closed", waiting=[w])
    got = len(first["value"]) if first["state"] == "returned" and isinstance(first.get("value"), bytes) else 0
    rest = Stream(run, "reader", "p.read(...) until it returns b''", p, len(data) - got, _sizes(rnd, 1, 700), True)
    report["rest"] = rest.outcome()
    report["write"] = w.outcome()
    return report


@_guard
def short(run, rnd):
    """Two reads wait, one write shorter than either: one read gets it all, the other waits on (no b'')."""
    n1, n2 = rnd.randint(50, 400), rnd.randint(50, 400)
    data = rnd.randbytes(rnd.randint(1, min(n1, n2) - 1))
    p = run.student.MemPipe()
    r1 = Call(run, "reader-1", f"p.read({n1}) (reader 1)", p.read, n1)
    run.step("short:reader-1-waits", waiting=[r1])
    r2 = Call(run, "reader-2", f"p.read({n2}) (reader 2)", p.read, n2)
    run.step("short:reader-2-waits", waiting=[r1, r2])
    report = {"data": data, "n": [n1, n2]}
    report["write"] = Call(run, "writer", f"p.write(<{len(data)} bytes>)", p.write, data).outcome()
    run.step("short:written", waiting=[r1, r2])
    report["done_before_close"] = [r1.done.is_set(), r2.done.is_set()]
    report["close"] = Call(run, "closer", "p.close()", p.close).outcome()
    report["reads"] = [r1.outcome(), r2.outcome()]
    return report


PHASES = (("made", made), ("sync", sync), ("read_first", read_first), ("turns", turns), ("readers", readers),
          ("eof", eof), ("error", error), ("epipe", epipe), ("big", big), ("two", two), ("close_mid", close_mid),
          ("short", short))


def pipes(student, ctx, seed: int, gate: str):
    """Every phase in turn, each with fresh pipes; the test watches at each step()."""
    rnd = random.Random(seed)
    run = Run(ctx, gate, student)
    # Two grader threads that wait for ever, one without a timeout and one with: the test reads how they sleep
    # (/proc/PID/task/TID/syscall) and so learns whether it can tell a timed wait from an untimed one here.
    never = threading.Event()
    calibrate = {}
    for kind, timeout in (("untimed", None), ("timed", 3600.0)):
        t = threading.Thread(target=never.wait, args=(timeout,), name=f"grader:{kind}-wait", daemon=True)
        t.start()
        calibrate[kind] = t.native_id
        run.tids.append(t.native_id)
    run.step("start", calibrate=calibrate)
    report = {}
    sentinel = None
    for name, phase in PHASES:
        report[name] = phase(run, rnd)
        if name == "made" and "made" in report["made"]:
            # A read on a pipe nobody writes to, waiting from here to the end: the test counts its wake-ups
            # over the whole run (at least 1.2 s), so a wait that wakes up on its own once a second shows.
            try:
                s = run.student.MemPipe()
                sentinel = (s, Call(run, "sentinel", "p.read(10) on a pipe nobody writes to", s.read, 10))
                run.sentinel = sentinel[1].tid
            except Exception:  # noqa: BLE001 - MemPipe() itself is judged by the phases
                sentinel = None
    if sentinel is not None:
        run.step("sentinel:end", waiting=[sentinel[1]])
        report["sentinel"] = {"returned_early": sentinel[1].done.is_set()}
        try:
            sentinel[0].close()
        except Exception:  # noqa: BLE001
            pass
    never.set()
    ctx.event("step", at="done", tids=list(run.tids), waiting={}, measure=[])
    return report
