"""Scenarios for fifo_log: they run beside the student's collect and log_records in the sandbox.

The test plays the other end of every FIFO from outside (pytest's side): it writes the records
collect reads, and reads the records log_records writes. Before and after every call the scenario
stops at a handshake (a `step` event, then one byte on the control FIFO the test holds), so that
the test can look at /proc while nothing moves. Only data comes back; test_fifo_log.py judges it.

Phases (the test may start a launch at any of them, after one that got stuck):
  collect      collect(path): the test writes the records
  interrupted_open  collect(path); the grader's SIGUSR1 handler raises Interrupted while it waits in open()
  interrupted  collect(path) while the grader's SIGUSR1 handler raises Interrupted in it (it reads)
  paced        log_records(path, a generator): before it yields record i, the generator reports
               `asked` and waits for the test's byte (the test first fills the FIFO to the brim)
  too_long     log_records(path, [record, a record longer than PIPE_BUF (in UTF-8, fewer characters), record])
  gone         log_records(path, [record]) where nothing is at path (the reader has gone)
  many         WRITERS forked processes call log_records(path, their records) at the same moment
"""

import json
import os
import random
import signal
import traceback

from graders.harness.scenario import Fail

LETTERS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Interrupted(Exception):
    """What the grader's SIGUSR1 handler raises inside collect (phase `interrupted`)."""


def record(tag: str, size: int, seed: int) -> bytes:
    """A record of exactly `size` bytes (newline included) that names itself: b'<tag> <size> <letters>\\n'."""
    head = f"{tag} {size:04d} ".encode()
    body = bytes(random.Random(f"{seed}/{tag}").choices(LETTERS, k=max(0, size - len(head) - 1)))
    return (head + body)[:size - 1] + b"\n"


# Records a log must pass on unchanged: white space and a CR at the end, a CR inside, UTF-8 (U+2028 too).
HARD = ["p{i:02d} ends with spaces and a tab \t  \n", "p{i:02d} ends with a space and a CR \r\n",
        "p{i:02d} cr\r inside 记录\u2028日志\n"]


def paced_records(seed: int, count: int) -> list[bytes]:
    """count drawn records (one of exactly PIPE_BUF bytes), then the HARD ones, all shuffled."""
    rng = random.Random(seed)
    sizes = [rng.randint(64, 4096) for _ in range(count - 1)] + [4096] + [0] * len(HARD)
    rng.shuffle(sizes)
    hard = iter(HARD)
    return [record(f"p{i:02d}", size, seed) if size else next(hard).format(i=i).encode()
            for i, size in enumerate(sizes)]


def long_record(tag: str, size: int) -> bytes:
    """A UTF-8 record of exactly `size` bytes, most of them 3-byte characters: far fewer characters than bytes."""
    head = f"{tag} {size:04d} ".encode()
    wide = "记录日志".encode() * size
    body = wide[:(size - len(head) - 1) // 3 * 3]
    return head + body + b"-" * (size - len(head) - 1 - len(body)) + b"\n"


def too_long_records(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [record("t00", rng.randint(64, 2048), seed), long_record("t01", rng.randint(4097, 4400)),
            record("t02", rng.randint(64, 2048), seed)]


def many_records(seed: int, writers: int, each: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    return [[record(f"w{k}r{j}", rng.randint(1500, 4096), seed) for j in range(each)] for k in range(writers)]


def _open_control(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    return fd


def _describe(exc, student) -> str:
    mine = os.path.abspath(getattr(student, "__file__", "") or "")
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == mine:
            where = f"{os.path.basename(mine)} line {frame.lineno}, in {frame.name}"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{text[:300]} ({where})" if where else text[:300]


def _call(student, function, *args) -> dict:
    me = os.getpid()
    try:
        value = getattr(student, function)(*args)
    except NotImplementedError as exc:   # the other function may be done: its tests still count
        if os.getpid() != me:
            os._exit(99)
        return {"todo": f"NotImplementedError was raised ({_describe(exc, student).rpartition(' (')[2].rstrip(')')}): "
                        f"{function} is still to do"}
    except BaseException as exc:  # noqa: BLE001 - whatever left the student's function is reported
        if os.getpid() != me:
            os._exit(99)
        if not isinstance(exc, Exception):
            raise
        return {"raised": _describe(exc, student), "raised_type": type(exc).__name__,
                "interrupted": isinstance(exc, Interrupted)}
    if os.getpid() != me:   # a forked child came back here
        os._exit(99)
    if function == "log_records":
        return {} if value is None else {"bad": f"{type(value).__name__} {value!r:.80}"}
    if not isinstance(value, list) or not all(isinstance(item, (bytes, bytearray)) for item in value):
        return {"bad": f"{type(value).__name__} {value!r:.120}"}
    return {"records": [bytes(item) for item in value]}


def _raise_interrupted(signum, frame):
    raise Interrupted("the grader's SIGUSR1 handler interrupted collect()")


def _many(student, path, lists) -> list[dict]:
    """Fork one process per list; they call log_records at the same moment (a barrier pipe)."""
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pids = []
    for records in lists:
        pid = os.fork()
        if pid == 0:
            try:
                os.close(go_w)
                os.close(out_r)
                os.read(go_r, 1)   # end-of-file when the scenario closes go_w: everyone starts at once
                report = _call(student, "log_records", path, records)
            except BaseException as exc:  # noqa: BLE001 - NotImplementedError and the like
                report = {"raised": _describe(exc, student), "raised_type": type(exc).__name__}
            try:
                os.write(out_w, json.dumps(dict(report, pid=os.getpid())).encode()[:4000] + b"\n")
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(go_r)
    os.close(out_w)
    os.close(go_w)
    data = b""
    while chunk := os.read(out_r, 65536):
        data += chunk
    os.close(out_r)
    statuses = {}
    for pid in pids:
        statuses[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    reports = [json.loads(line) for line in data.splitlines() if line.strip()]
    return [dict(report, status=statuses.get(report.get("pid"))) for report in reports]


def _paced(records, ctx, handshake):
    """Each record only when asked, and only once the test has made the FIFO full (one handshake each)."""
    for i, item in enumerate(records):
        ctx.event("step", what="asked", index=i)
        handshake()
        yield item
    ctx.event("step", what="asked", index=len(records))
    handshake()


def fifo_log(student, ctx, control, phases, paths, seeds, counts):
    """Run the phases named in `phases`, in order; see the module docstring."""
    ack = _open_control(control)

    def handshake():
        if not os.read(ack, 1):
            raise Fail("the grader stopped the run (its control FIFO closed)")

    try:
        for phase in phases:
            path = paths[phase]
            ctx.event("step", what="calling", phase=phase, path=path)
            handshake()
            if phase in ("collect", "interrupted", "interrupted_open"):
                old = signal.signal(signal.SIGUSR1, _raise_interrupted) if phase != "collect" else None
                try:
                    report = _call(student, "collect", path)
                finally:
                    if old is not None:
                        signal.signal(signal.SIGUSR1, old)
            elif phase == "paced":
                report = _call(student, "log_records", path,
                               _paced(paced_records(seeds[phase], counts[phase]), ctx, handshake))
            elif phase == "too_long":
                report = _call(student, "log_records", path, too_long_records(seeds[phase]))
            elif phase == "gone":
                report = _call(student, "log_records", path, [record("g00", 100, seeds[phase])])
            else:
                writers, each = counts[phase]
                report = {"writers": _many(student, path, many_records(seeds[phase], writers, each))}
            ctx.event("step", what="returned", phase=phase, **report)
            handshake()
    finally:
        os.close(ack)
    return len(phases)
