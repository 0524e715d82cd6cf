"""Scenario for rt_signals: it runs beside the student's block / drain / restore.

One launch (`session`), watched from outside by test_rt_signals.py, which reads
/proc/PID/status (SigBlk, SigPnd, ShdPnd, SigCgt, SigIgn, SigQ) on the pytest side and sends
every signal from there, with sigqueue and a value. Nothing here decides a verdict: the
scenario calls the student's functions at the moments the test chooses, and reports what they
returned (or raised) and how long drain took.

The test says "go" through a FIFO in the private directory (one byte per step), so no signal is
used for the handshake: the student's code may block, take or ignore any signal. Each step waits
for it with a deadline.

  phase A  mask := premask (drawn by the test); block(signals)      -> event `blocked`
           (the test reads SigBlk: did block() block them, and only them?)
           mask := premask + signals, whatever block() did           -> event `armed`
           (the test sends N x standard, M1 + M2 x real-time (one queue longer than 64) and
           1 x a pre-blocked outsider, and waits until ShdPnd / SigQ show them pending)
           drain(signals, timeout)                                    -> event `drained`
           (the test reads what is left pending, and SigBlk)
           the scenario takes what is left, mask := premask + signals; block([inner]) (a nested
           block: its return value is not the mask restore is given); then the scenario makes the
           mask premask + signals + inner - meanwhile (one signal of premask unblocked meanwhile);
           restore(the true previous mask)                           -> event `restored`
           (the test reads SigBlk: exactly premask?)
  phase B  mask := premask + signals; drain(signals, 2 s) with nothing pending -> event `waiting`
           before the call; the test waits until the process sleeps, sends the outsider, stops
           the process (SIGSTOP), sends a burst (a standard signal and a real-time one several
           times), waits until they are pending, continues it (SIGCONT) and times the return
                                                                      -> event `woke`
           (the test reads what is left pending: the outsider must be)
  phase C  drain(signals, timeout ~0.2 s) with nothing pending        -> event `emptied`
           (the test reads Threads, then sends more signals of `signals`)
  phase D  drain(signals, 1 s) with those pending                    -> event `redrained`

Each phase puts the mask straight itself before calling the student, so a wrong block() does
not spoil the checks of drain, nor a wrong drain those of restore.
"""

import os
import select
import signal
import time
import traceback

from graders.harness.scenario import Fail

GATE = "rt-gate"  # the FIFO, relative to the private directory (the cwd)
GATE_DEADLINE = 6.0  # s for the test's next "go" (it answers within milliseconds)

_STATE = {"gate": None}  # data only: the harness fingerprints this module's functions


def _open_gate() -> None:
    os.mkfifo(GATE, 0o600)
    # Opened before the first event, so the test can open the write end without waiting.
    _STATE["gate"] = os.open(GATE, os.O_RDONLY | os.O_NONBLOCK)


def _wait_gate(what: str) -> None:
    fd = _STATE["gate"]
    deadline = time.monotonic() + GATE_DEADLINE
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail(f"the grader did not answer within {GATE_DEADLINE:.0f} s while {what} "
                       "(is the machine overloaded?)")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 1)
        except BlockingIOError:
            continue
        if not data:
            raise Fail(f"the grader's gate closed while {what}")
        return


def _where(exc: BaseException, student) -> str:
    mine = os.path.abspath(getattr(student, "__file__", "") or "")
    name = os.path.basename(mine)
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == mine:
            where = f"{name} line {frame.lineno}, in {frame.name}"
    return where


def _call(student, name: str, *args) -> dict:
    """Call the student's function: {"value": ...}, {"raised": {...}}, or {"todo": line} for NotImplementedError
    (the other functions are still called: each one's tests say todo, pass or fail on their own)."""
    fn = getattr(student, name, None)
    if not callable(fn):
        return {"raised": {"type": "AttributeError", "text": f"the module has no function {name}()", "line": ""}}
    try:
        return {"value": fn(*args)}
    except NotImplementedError as exc:
        return {"todo": _where(exc, student)}
    except BaseException as exc:  # noqa: BLE001 - reported to the test, which words it for the student
        return {"raised": {"type": type(exc).__name__, "text": str(exc)[:300], "line": _where(exc, student)}}


def _mask_report(call: dict) -> dict:
    if "value" not in call:
        return call
    value = call["value"]
    out = {"type": type(value).__name__, "repr": repr(value)[:200], "mask": None}
    try:
        items = list(value)
    except TypeError:
        return out
    if all(isinstance(item, int) for item in items):
        out["mask"] = sorted({int(item) for item in items})
    return out


def _taken_report(call: dict) -> dict:
    if "value" not in call:
        return call
    value = call["value"]
    out = {"type": type(value).__name__, "repr": repr(value)[:300], "items": None, "bad": None, "kinds": []}
    if not isinstance(value, (list, tuple)):
        return out
    items = []
    out["kinds"] = sorted({type(item).__name__ for item in value})
    for item in value:
        try:
            parts = tuple(item)
        except TypeError:
            out["bad"] = repr(item)[:120]
            return out
        if len(parts) != 3 or not all(isinstance(p, int) for p in parts):
            out["bad"] = repr(item)[:120]
            return out
        items.append([int(p) for p in parts])
    out["items"] = items
    return out


def _set_mask(signums) -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, signums)


def _take_all(signums) -> None:
    """The grader's own clean-up: take whatever of `signums` is still pending (they are blocked)."""
    while signal.sigtimedwait(signums, 0) is not None:
        pass


def _drain(student, signals, timeout) -> dict:
    started = time.monotonic()
    call = _call(student, "drain", list(signals), timeout)
    took = time.monotonic() - started
    report = _taken_report(call)
    report["took"] = took
    return report


def session(student, ctx, signals, premask, timeouts, inner, meanwhile):
    signals = [int(s) for s in signals]
    premask = [int(s) for s in premask]
    inner, meanwhile = int(inner), int(meanwhile)
    armed = sorted(set(premask) | set(signals))
    _open_gate()
    _set_mask(premask)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the true previous mask, as Python gives it

    # Phase A: block, send (from the test), drain, restore.
    blocked = _mask_report(_call(student, "block", list(signals)))
    ctx.event("blocked", block=blocked)
    _wait_gate("waiting for the grader to read the mask block() made")
    _set_mask(armed)
    ctx.event("armed")
    _wait_gate("waiting for the grader to send the signals")
    drained = _drain(student, signals, timeouts["all"])
    ctx.event("drained", drain=drained)
    _wait_gate("waiting for the grader to read what drain() left pending")
    _set_mask(armed)
    _take_all(armed)
    nested = _mask_report(_call(student, "block", [inner]))
    _set_mask(sorted((set(armed) | {inner}) - {meanwhile}))
    restored = _call(student, "restore", before)
    ctx.event("restored", restore={"ok": True} if "value" in restored else restored, nested=nested)
    _wait_gate("waiting for the grader to read the mask restore() made")

    # Phase B: nothing pending; the test stops the process while drain waits and sends a burst.
    _set_mask(armed)
    _take_all(armed)
    ctx.event("waiting")
    woke = _drain(student, signals, timeouts["wait"])
    ctx.event("woke", drain=woke)
    _wait_gate("waiting for the grader to finish phase B")
    _set_mask(armed)
    _take_all(armed)

    # Phase C: nothing pending, nothing sent: drain must give up after its timeout.
    emptied = _drain(student, signals, timeouts["empty"])
    ctx.event("emptied", drain=emptied)
    _wait_gate("waiting for the grader to send more signals")

    # Phase D: what the test sent after phase C must all be taken now.
    _set_mask(armed)
    redrained = _drain(student, signals, timeouts["again"])
    ctx.event("redrained", drain=redrained)
    _set_mask(armed)
    _take_all(armed)
    _set_mask(before)
    os.close(_STATE["gate"])
    return {"done": True}
