"""Grader for exercises/04_signals/rt_signals.py (contract: its docstring and CONTRACT-rt_signals.md).

One sandbox launch per graded file (scenario_rt_signals.session), watched from outside while it
runs and shared by every test. Every signal is sent from here, the pytest side, with the C
library's sigqueue (through ctypes) and a value; every fact the kernel shows is read here too,
in /proc/PID/status of the student's process: SigBlk (blocked), SigPnd and ShdPnd (pending,
thread and process), SigCgt / SigIgn (handled / ignored), SigQ (signals queued for its user).

The schedule is forced by handshakes, never by sleeps (every wait has a deadline):

- The scenario reports `blocked` right after block() returned, then waits on a FIFO for the
  test's "go": SigBlk is read while nothing else can change it.
- The scenario then blocks premask + signals itself (so drain is graded even after a wrong
  block) and reports `armed`. Only then does the test send. sigqueue returns once the kernel has
  queued the signal (or dropped it, for a standard signal already pending), so when the last
  call returns, N x SIGUSR1 have merged into one pending bit and M x SIGRTMIN+k are queued M
  times, whatever the machine's load; the test still waits until ShdPnd shows each of them
  before it lets drain run. SigQ (queued signals of the process's user: exact in separate-user
  mode, shared with the user's other processes in same-user mode) is recorded for the messages
  only.
- After `drained` and `restored` the scenario waits for "go" again while the test reads SigBlk,
  ShdPnd and SigQ: what drain left pending and what restore made of the mask. restore is called
  after a nested block() and after one signal of `mask` was unblocked meanwhile.
- Phase B: drain(signals, 2 s) starts with nothing pending; the test waits until the process is
  asleep (state S in /proc/PID/stat), sends the outsider, stops the process (SIGSTOP, state T),
  sends a burst (SIGUSR1 and a real-time signal several times), waits until it is pending, sends
  SIGCONT and times the return: drain must return the whole burst and leave the outsider pending.
- Phase C: drain(signals, 0.15-0.2 s) with nothing pending must return [] within timeout + 0.1 s;
  the test then reads Threads.
- Phase D: the test sends one real-time signal; drain must return it (a thread left waiting by
  phase C would have taken it: the test lets it, then checks).

Randomised per run: the two real-time signals (SIGRTMIN+k, never adjacent), the counts (SIGUSR1
4..12 times, the real-time ones 4..12 and 3..9 times, one of them 80..110 instead), every value
(distinct, some negative), the send order (interleaved), the order `signals` is given in (never
ascending), the mask blocked before block() (a standard signal, a real-time outsider that is also
sent, and one of `signals`), and the timeouts.
"""

import ctypes
import errno
import os
import random
import signal
import time

from graders.harness import osinspect
from graders.harness.outcome import Failure, GradingError, Todo
from graders.harness.scenario import wait_until

STD = signal.SIGUSR1
RTMIN = signal.SIGRTMIN
PRE_STANDARD = (signal.SIGUSR2, signal.SIGALRM, signal.SIGWINCH, signal.SIGURG, signal.SIGVTALRM)
GATE = "rt-gate"  # the scenario's FIFO, in the private directory
FIRST_DEADLINE = 3.0  # s: interpreter start-up, the import, then block()
STEP_DEADLINE = 1.5  # s for any later report beyond the time the call may take by contract
PENDING_DEADLINE = 1.0  # s for the sent signals to show in /proc (sigqueue queues them before it returns)
ASLEEP_DEADLINE = 0.5  # s for drain to be seen asleep, waiting, in phase B
PROMPT = 0.5  # s: "at once" for a drain timed inside the sandbox (a right one takes milliseconds)
WAIT_TIMEOUT = 2.0  # s: drain's timeout in phase B
WAKE_LIMIT = WAIT_TIMEOUT / 2  # s from SIGCONT to the report in phase B (a right drain: milliseconds)
STOP_DEADLINE = 1.0  # s for SIGSTOP to show as state T
LONG_QUEUE = (80, 110)  # instances of one real-time signal in phase A (more than 64; far below RLIMIT_SIGPENDING)
EMPTY_TIMEOUT = (0.15, 0.2)  # s: drain's timeout in phase C
EMPTY_MARGIN = 0.1  # s past that timeout (a drain that waits twice takes at least 0.15 s more)
THREAD_DEADLINE = 1.0  # s for a thread left behind by phase C to take what phase D sends

MERGE_VS_QUEUE = (
    "While a signal is blocked the kernel keeps it pending: one bit per standard signal, so {n} x SIGUSR1 "
    "sent while blocked become one; but a queue per real-time signal, so {m} x {rt} stay {m}, in the order "
    "sent, each with its own value")

# sigqueue(pid, sig, union sigval): the union {int sival_int; void *sival_ptr} is 8 bytes, passed in one
# integer register like a long on x86_64, aarch64 and riscv64, with sival_int in its low 4 bytes.
_LIBC = ctypes.CDLL(None, use_errno=True)
_SIGQUEUE = _LIBC.sigqueue
_SIGQUEUE.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long]
_SIGQUEUE.restype = ctypes.c_int

_SEEN: dict = {}


# ------------------------------------------------------------------------------ helpers


def _name(signum: int) -> str:
    if signum >= RTMIN:
        return "SIGRTMIN" if signum == RTMIN else f"SIGRTMIN+{signum - RTMIN}"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _names(signums, most: int = 8) -> str:
    shown = [_name(s) for s in sorted(signums)]
    if len(shown) > most:
        shown = shown[:most - 2] + [f"... ({len(shown)} signals)"]
    return ", ".join(shown) or "none"


def _few(values: list, most: int = 10) -> str:
    if len(values) <= most:
        return str(values)
    return "[" + ", ".join(str(v) for v in values[:most]) + f", ... ({len(values)} in all)]"


def _listed(signums) -> str:
    return "[" + ", ".join(_name(s) for s in signums) + "]"


def _values(pool: list, n: int) -> list:
    """n distinct values from `pool`: some negative (sival_int is signed), never in ascending or
    descending order (so that sorting or reversing is never the order sent)."""
    values = [pool.pop() for _ in range(n)]
    for i in random.sample(range(n), max(1, n // 3)):
        values[i] = -values[i]
    while n >= 3 and values in (sorted(values), sorted(values, reverse=True)):
        random.shuffle(values)
    return values


def _plan() -> dict:
    while True:  # no two of the three real-time signals adjacent: "one above a pending one" never hides a gap
        offsets = random.sample(range(0, 15), 3)
        if all(abs(a - b) >= 2 for i, a in enumerate(offsets) for b in offsets[i + 1:]):
            break
    rt_a, rt_b = sorted(RTMIN + k for k in offsets[:2])
    outsider = RTMIN + offsets[2]
    long_one = random.choice([rt_a, rt_b])  # a queue longer than 64: no count of signal numbers bounds it
    counts = {STD: random.randint(4, 12), rt_a: random.randint(4, 12), rt_b: random.randint(3, 9), outsider: 1}
    counts[long_one] = random.randint(LONG_QUEUE[0], LONG_QUEUE[1])
    # Never ascending, and rt_b always before rt_a: the kernel's order must come from the kernel, not from
    # taking one number after another in the order given.
    signals = random.choice([[STD, rt_b, rt_a], [rt_b, STD, rt_a], [rt_b, rt_a, STD]])
    pre = random.sample(PRE_STANDARD, 2)  # one blocked before block(), one for the nested block()
    premask = sorted({pre[0], outsider, random.choice(signals)})
    burst_rt, later_rt = random.choice([rt_a, rt_b]), random.choice([rt_a, rt_b])
    burst = {STD: random.randint(2, 5), burst_rt: random.randint(3, 6)}
    pool = random.sample(range(1, 2 ** 31), sum(counts.values()) + sum(burst.values()) + 3)
    values = {signum: _values(pool, n) for signum, n in counts.items()}
    order = [signum for signum, n in counts.items() for _ in range(n)]
    random.shuffle(order)  # interleaved; each signal's values keep their order
    sends = [(signum, values[signum].pop(0)) for signum in order]
    del counts[outsider]
    burst_sends = _interleave([(STD, v) for v in _values(pool, burst[STD])]
                              + [(burst_rt, v) for v in _values(pool, burst[burst_rt])])
    # One signal only: a thread left waiting by the drain that timed out takes it; a drain that waits for a
    # second one after the first (sigwaitinfo before looking) waits for ever.
    later_sends = [(later_rt, pool.pop())]
    return {
        "signals": signals, "premask": premask, "outsider": outsider, "rt": [rt_a, rt_b], "counts": counts,
        "sends": sends, "inner": pre[1], "meanwhile": pre[0], "outsider_value": pool.pop(),
        "burst": burst_sends, "later": later_sends,
        "timeouts": {"all": round(random.uniform(1.0, 1.4), 3), "wait": WAIT_TIMEOUT,
                     "empty": round(random.uniform(EMPTY_TIMEOUT[0], EMPTY_TIMEOUT[1]), 3), "again": 0.5},
    }


def _interleave(sends: list) -> list:
    """The sends in a random interleaving that keeps each signal's own order."""
    by = {}
    for signum, value in sends:
        by.setdefault(signum, []).append(value)
    order = [signum for signum, vs in by.items() for _ in vs]
    random.shuffle(order)
    return [(signum, by[signum].pop(0)) for signum in order]


def _expected(sends: list, sender: int) -> list:
    """What a right drain returns once `sends` are all pending: lowest number first; a standard signal
    once (the first value sent); each real-time one every time, in the order sent."""
    out = []
    for signum in sorted({s for s, _ in sends}):
        vs = [v for s, v in sends if s == signum]
        out += [[signum, sender, v] for v in (vs[:1] if signum < RTMIN else vs)]
    return out


def _shown(items: list, most: int = 8) -> str:
    text = ", ".join(f"({_name(s)}, {p}, {v})" for s, p, v in items[:most])
    return "[" + text + (f", ... ({len(items)} in all)" if len(items) > most else "") + "]"


def _look(pid: int) -> dict:
    """The signal lines of /proc/PID/status, as sets of signal numbers (SigQ as two ints)."""
    fields = osinspect.status_fields(pid)
    masks = osinspect.signal_masks(pid)
    queued, _, limit = fields.get("SigQ", "0/0").partition("/")
    return {**masks, "pending": masks.get("SigPnd", set()) | masks.get("ShdPnd", set()),
            "SigQ": int(queued), "limit": int(limit or 0)}


def _state(pid: int) -> str:
    try:
        return osinspect.state(pid)
    except ProcessLookupError:
        return "gone"


def _threads(pid: int) -> int:
    try:
        return int(osinspect.status_fields(pid).get("Threads", "0"))
    except (OSError, ValueError):
        return 0


def _wchan(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read().strip()
    except OSError:
        return ""


def _sigqueue(pid: int, signum: int, value: int) -> None:
    if _SIGQUEUE(pid, signum, value) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.EAGAIN:
        raise GradingError(f"the kernel refused to queue {_name(signum)} for pid {pid} (EAGAIN): the queue limit "
                           "RLIMIT_SIGPENDING of its user is used up. Please report this")
    if err == errno.ESRCH:
        raise Failure(f"the process running your code (pid {pid}) was gone when the grader sent {_name(signum)}")
    raise GradingError(f"sigqueue({pid}, {_name(signum)}) failed: {os.strerror(err)}. Please report this")


def _go(gate: int) -> None:
    os.write(gate, b"g")


def _killed_hint(exc: Exception) -> Exception:
    """A launch that ended because one of the grader's signals was delivered: say why."""
    text = getattr(exc, "message", "")
    if "killed by" not in text:
        return exc
    for n in range(RTMIN, signal.SIGRTMAX + 1):
        text = text.replace(f"killed by signal {n} (signal {n})", f"killed by {_name(n)} (signal {n})")
    if "SIGUSR1" in text or "SIGRTMIN" in text:
        text = text.rstrip(".") + (
            ". A signal the grader sent was delivered instead of taken: with no handler, its default action ends the "
            "process. Keep the signals blocked from block() to restore(), and take them with "
            "signal.sigtimedwait, which removes a pending signal without delivering it")
    return type(exc)(text)


# ------------------------------------------------------------------------------ the one launch


def _session(exercise) -> dict:
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    plan = _plan()
    seen = _SEEN[key] = {"plan": plan, "sender": os.getpid(), "stop": None, "phase": "start", "end": None}
    try:
        with exercise.start("session", timeout=FIRST_DEADLINE, signals=plan["signals"], premask=plan["premask"],
                            timeouts=plan["timeouts"], inner=plan["inner"], meanwhile=plan["meanwhile"]) as run:
            seen["pid"] = run.pid
            seen["warden"] = _ppid(run.pid)
            gate = [None]
            try:
                _follow(exercise, run, seen, gate)
            finally:
                if gate[0] is not None:
                    os.close(gate[0])
    except Exception as exc:  # noqa: BLE001 - the tests of the phase it stopped in, and later ones, say so
        if seen["phase"] == "end":
            seen["end"] = exc
        else:
            seen["stop"] = _killed_hint(exc)
    return seen


def _ppid(pid):
    try:
        return osinspect.ppid(pid)
    except ProcessLookupError:
        return None


def _follow(exercise, run, seen, gate) -> None:
    plan, pid = seen["plan"], seen["pid"]
    signals, premask, outsider = plan["signals"], plan["premask"], plan["outsider"]
    listed = _listed(signals)

    seen["phase"] = "block"
    data = run.event("blocked", timeout=FIRST_DEADLINE, awaiting=f"block({listed}) to return")
    seen["after_block"] = _look(pid)
    seen["block"] = data["block"]
    gate[0] = os.open(os.path.join(run.tmp, GATE), os.O_WRONLY | os.O_NONBLOCK)
    _go(gate[0])

    seen["phase"] = "drain"
    run.event("armed", timeout=STEP_DEADLINE, awaiting="the grader's scenario to block the signals")
    armed = _look(pid)
    if armed["SigBlk"] != set(premask) | set(signals):
        raise GradingError(f"the grader blocked {_names(set(premask) | set(signals))} but SigBlk showed "
                           f"{_names(armed['SigBlk'])}: please report this")
    base = armed["SigQ"]
    seen["queued_before"] = base
    seen["threads"] = _threads(pid)
    room = armed["limit"] - base
    if armed["limit"] and room < len(plan["sends"]) + 32:
        raise GradingError(f"only {room} more signals may be queued for your user (SigQ {base}/{armed['limit']} in "
                           f"/proc/{pid}/status) and the grader needs {len(plan['sends']) + 32}: close the programs "
                           "that keep signals queued, or raise RLIMIT_SIGPENDING (ulimit -i)")
    if pid not in exercise.living():
        raise Failure(f"the process running your code (pid {pid}) was gone before the grader could send anything")
    for signum, value in plan["sends"]:
        _sigqueue(pid, signum, value)
    want = set(signals) | {outsider}
    queued = 1 + sum(plan["counts"][rt] for rt in plan["rt"]) + 1  # SIGUSR1 merged once, the outsider once

    def all_pending():  # ShdPnd is this process's own; SigQ counts its user's queued signals (information)
        look = _look(pid)
        return look if want <= look["pending"] else None

    pending = wait_until(all_pending, PENDING_DEADLINE, interval=0.001)
    seen["before_drain"] = pending or _look(pid)
    if not pending:
        look = seen["before_drain"]
        raise Failure(
            f"the grader sent {_names(want)} while they were blocked, but /proc/{pid}/status never showed them all "
            f"pending (pending: {_names(look['pending'])}; SigQ rose by {look['SigQ'] - base}, {queued} sent to "
            "queue): "
            "something in your process took them before drain() was called. A thread left waiting in "
            "sigwait/sigtimedwait by block() would do that: block() must only change the mask")
    _go(gate[0])
    data = run.event("drained", timeout=plan["timeouts"]["all"] + STEP_DEADLINE,
                     awaiting=(f"drain({listed}, timeout={plan['timeouts']['all']}) to return, with all the signals "
                               "sent already pending: take them until sigtimedwait(signals, 0) returns None, then "
                               "return"))
    seen["after_drain"] = _look(pid)
    seen["drain"] = data["drain"]
    _go(gate[0])

    seen["phase"] = "restore"
    data = run.event("restored", timeout=STEP_DEADLINE, awaiting="restore(mask) to return")
    seen["after_restore"] = _look(pid)
    seen["restore"] = data["restore"]
    seen["nested"] = data.get("nested")
    _go(gate[0])

    seen["phase"] = "wait"
    run.event("waiting", timeout=STEP_DEADLINE, awaiting="the grader's scenario to start phase B")
    asleep = wait_until(lambda: _state(pid) in ("S", "Z", "gone"), ASLEEP_DEADLINE, interval=0.001)
    seen["asleep"] = {"state": _state(pid), "wchan": _wchan(pid), "seen": bool(asleep)}
    # The outsider first: a drain that waits for more than `signals` takes it (at the latest when SIGSTOP wakes
    # it), one that waits for `signals` only never does.
    _sigqueue(pid, outsider, plan["outsider_value"])
    os.kill(pid, signal.SIGSTOP)
    stopped = wait_until(lambda: _state(pid) in ("T", "t", "Z", "gone"), STOP_DEADLINE, interval=0.001)
    seen["stopped"] = bool(stopped)
    try:
        for signum, value in plan["burst"]:
            _sigqueue(pid, signum, value)
        burst = {signum for signum, _ in plan["burst"]}
        wait_until(lambda: burst <= _look(pid)["pending"], PENDING_DEADLINE, interval=0.001)
    finally:
        os.kill(pid, signal.SIGCONT)
    sent = time.monotonic()
    data = run.event("woke", timeout=WAIT_TIMEOUT + STEP_DEADLINE,
                     awaiting=(f"drain({listed}, timeout={WAIT_TIMEOUT}) to return the signals the grader sent while "
                               "it waited: return as soon as one arrives, with every one pending by then"))
    seen["woke_after"] = time.monotonic() - sent
    seen["after_woke"] = _look(pid)
    seen["woke"] = data["drain"]
    _go(gate[0])

    seen["phase"] = "empty"
    t = plan["timeouts"]["empty"]
    data = run.event("emptied", timeout=t + STEP_DEADLINE,
                     awaiting=(f"drain({listed}, timeout={t}) to return [] with nothing pending and nothing sent: "
                               f"wait at most timeout seconds, then give up (signal.sigtimedwait returns None when "
                               "its timeout runs out; signal.sigwait and sigwaitinfo wait for ever)"))
    seen["empty"] = data["drain"]
    seen["threads_after_empty"] = _threads(pid)

    seen["phase"] = "again"
    for signum, value in plan["later"]:
        _sigqueue(pid, signum, value)
    later = {signum for signum, _ in plan["later"]}
    if seen["threads_after_empty"] > seen["threads"]:  # such a thread takes it: let it, every time
        wait_until(lambda: _threads(pid) <= seen["threads"], THREAD_DEADLINE, interval=0.001)
    else:
        wait_until(lambda: later <= _look(pid)["pending"], PENDING_DEADLINE, interval=0.001)
    _go(gate[0])
    t = plan["timeouts"]["again"]
    data = run.event("redrained", timeout=t + STEP_DEADLINE,
                     awaiting=(f"drain({listed}, timeout={t}) to return the one signal sent after the drain that timed "
                               "out: once it is taken and none is left, return (sigtimedwait(signals, 0) returns "
                               "None; sigwaitinfo would wait for ever)"))
    seen["again"] = data["drain"]
    seen["threads_after_again"] = _threads(pid)

    seen["phase"] = "end"
    run.result(timeout=STEP_DEADLINE, awaiting="the grader's scenario to finish")


PHASE_OF = {"after_block": "block", "block": "block", "drain": "drain", "after_drain": "drain",
            "restore": "restore", "after_restore": "restore", "woke": "wait", "after_woke": "wait",
            "empty": "empty", "threads_after_empty": "empty", "again": "again"}
STEP_NAMES = {"block": "block()", "drain": "the first drain()", "restore": "restore()",
              "wait": "the drain() that waits", "empty": "the drain() with nothing pending",
              "again": "the drain() after the one that timed out"}


def _need(exercise, key: str) -> tuple[dict, object]:
    """(the session, seen[key]); or the reason the phase that makes it did not run, raised."""
    seen = _session(exercise)
    if key in seen:
        return seen, seen[key]
    stop = seen["stop"]
    if stop is None:
        raise GradingError(f"the grader saw nothing for '{key}' (grader bug): please report this")
    stopped, mine = seen["phase"], PHASE_OF[key]
    if stopped == mine or not isinstance(stop, Failure) or isinstance(stop, Todo):
        raise stop
    raise type(stop)(f"not checked: the run ended during {STEP_NAMES.get(stopped, stopped)}, before "
                     f"{STEP_NAMES[mine]} could be observed: {stop.message}")


def _end(seen) -> None:
    if seen["end"] is not None:
        raise seen["end"]


def _called(what: str, report: dict) -> None:
    """Raise for a call that did not return: todo (NotImplementedError) or the exception, quoted."""
    if "todo" in report:
        at = f" ({report['todo']})" if report["todo"] else ""
        raise Todo(f"NotImplementedError was raised{at}: {what} is still to do")
    if "raised" in report:
        raise AssertionError(_raised(what, report))


def _raised(what: str, report: dict) -> str:
    r = report["raised"]
    text = f"{r['type']}: {r['text']}" if r.get("text") else r["type"]
    return f"{what} raised {text}" + (f" ({r['line']})" if r.get("line") else "")


def _items(report: dict, what: str) -> list:
    """The (signum, pid, value) triples drain returned, or a sentence."""
    _called(what, report)
    if report["items"] is None:
        bad = f" (one item was {report['bad']})" if report.get("bad") else ""
        raise AssertionError(f"{what} returned {report['repr']} ({report['type']}){bad}: expected a list of "
                             "(signum, pid, value) tuples of ints, [] when nothing was taken")
    return report["items"]


def _drain_a(exercise) -> tuple[dict, list]:
    seen, report = _need(exercise, "drain")
    plan = seen["plan"]
    return seen, _items(report, f"drain({_listed(plan['signals'])}, timeout={plan['timeouts']['all']})")


def _sent_values(plan, signum) -> list:
    return [v for s, v in plan["sends"] if s == signum]


# ------------------------------------------------------------------------------- tests


def test_block_adds_the_signals_and_only_them_and_keeps_what_was_blocked(exercise):
    seen, after = _need(exercise, "after_block")
    plan, pid = seen["plan"], seen["pid"]
    signals, premask = plan["signals"], set(plan["premask"])
    _called(f"block({_listed(signals)})", seen["block"])
    missing = [s for s in signals if s not in after["SigBlk"]]
    if missing:
        rt = plan["rt"][0]
        why = MERGE_VS_QUEUE.format(n=plan["counts"][STD], m=plan["counts"][rt], rt=_name(rt))
        caught = [s for s in missing if s in after.get("SigCgt", set())]
        ignored = [s for s in missing if s in after.get("SigIgn", set())]
        how = ""
        if caught:
            how = (f" SigCgt shows a handler for {_names(caught)}: a handler cannot count them. Each signal is "
                   "delivered the moment it arrives, and CPython runs a Python handler once per signal number, "
                   "however many arrived meanwhile.")
        elif ignored:
            how = (f" SigIgn shows {_names(ignored)} ignored: the kernel throws an ignored signal away the moment "
                   "it is sent, so nothing would be left to count.")
        raise AssertionError(
            f"after block({_listed(signals)}) returned, /proc/{pid}/status SigBlk did not include {_names(missing)}: "
            f"they were not blocked.{how} {why}. Block them with signal.pthread_sigmask, so that they wait, "
            "pending, until drain takes them (the grader sends them only once SigBlk shows them blocked)")
    lost = premask - after["SigBlk"]
    assert not lost, (
        f"before block({_listed(signals)}) was called, {_names(premask)} were blocked; after it, SigBlk in "
        f"/proc/{pid}/status no longer included {_names(lost)}: block() unblocked what its caller had blocked. "
        "Add to the mask (SIG_BLOCK) instead of replacing it (SIG_SETMASK)")
    extra = after["SigBlk"] - premask - set(signals)
    assert not extra, (
        f"block({_listed(signals)}) also blocked {_names(extra)}, which it was not given (SigBlk in "
        f"/proc/{pid}/status): add `signals` to the mask, and nothing else")
    _end(seen)


def test_block_returns_the_mask_as_it_was_before(exercise):
    seen, report = _need(exercise, "block")
    plan = seen["plan"]
    what = f"block({_listed(plan['signals'])})"
    _called(what, report)
    premask = set(plan["premask"])
    mask = report["mask"]
    assert mask is not None, (
        f"{what} returned {report['repr']} ({report['type']}); expected the mask as it was before the call, as a "
        "set of signal numbers (signal.pthread_sigmask returns it)")
    got = set(mask)
    if got == premask:
        assert report["type"] in ("set", "frozenset"), (
            f"{what} returned {report['repr']}, a {report['type']}: the right signals, but the contract asks for a "
            "set of signal numbers (the form signal.pthread_sigmask returns: return it as it is)")
        _end(seen)
        return
    if got == premask | set(plan["signals"]):
        raise AssertionError(
            f"{what} returned {{{_names(got)}}}, the mask after the call; expected the mask before it, "
            f"{{{_names(premask)}}}: that is what restore() needs to put things back")
    raise AssertionError(f"{what} returned {{{_names(got)}}}, but the mask before the call was "
                         f"{{{_names(premask)}}}: return the previous mask, as signal.pthread_sigmask gives it")


def test_restore_makes_the_mask_exactly_what_it_was(exercise):
    seen, after = _need(exercise, "after_restore")
    plan, pid = seen["plan"], seen["pid"]
    report = seen["restore"]
    premask = set(plan["premask"])
    inner, meanwhile = plan["inner"], plan["meanwhile"]
    _called(f"restore({{{_names(premask)}}})", report)
    got = after["SigBlk"]
    lost, kept = premask - got, got - premask
    if not lost and not kept:
        _end(seen)
        return
    now = (set(premask) | set(plan["signals"]) | {inner}) - {meanwhile}
    before = (f"the mask before block({_listed(plan['signals'])}) was {{{_names(premask)}}}. Then the grader called "
              f"block([{_name(inner)}]) (nested: it returns a different mask) and unblocked {_name(meanwhile)}, so "
              f"the mask was {{{_names(now)}}}; then it called restore({{{_names(premask)}}}), and after it SigBlk "
              f"in /proc/{pid}/status was {{{_names(got)}}}")
    nested = seen.get("nested") or {}
    if nested.get("mask") is not None and got == set(nested["mask"]) and got != now:
        raise AssertionError(
            f"{before}: the mask that the latest block() call returned, not the `mask` restore was given. Make the "
            "mask exactly the `mask` argument (SIG_SETMASK); do not keep a mask of your own between calls")
    if lost & set(plan["signals"]):
        raise AssertionError(
            f"{before}: {_names(lost)} had been blocked before block() too, and restore unblocked it. Unblocking "
            "`signals` (SIG_UNBLOCK) is not putting the mask back: set the whole mask (SIG_SETMASK) to `mask`")
    if lost == {meanwhile}:
        raise AssertionError(
            f"{before}: {_name(meanwhile)} is in `mask` but stayed unblocked. Unblocking what is not in `mask` is "
            "half of it: make the mask exactly `mask` (SIG_SETMASK), which also blocks what `mask` has and the "
            "current mask lacks")
    assert not lost, f"{before}: restore unblocked {_names(lost)}. Make the mask exactly `mask` (SIG_SETMASK)"
    raise AssertionError(f"{before}: {_names(kept)} stayed blocked. Make the mask exactly `mask` again "
                         "(SIG_SETMASK), so that nothing blocked since stays blocked")


def test_drain_returns_a_list_of_tuples(exercise):
    seen, report = _need(exercise, "drain")
    plan = seen["plan"]
    what = f"drain({_listed(plan['signals'])}, timeout={plan['timeouts']['all']})"
    _items(report, what)
    assert report["type"] == "list", (
        f"{what} returned a {report['type']}: the contract asks for a list of (signum, pid, value) tuples")
    odd = [k for k in report["kinds"] if k != "tuple"]
    assert not odd, (
        f"{what} returned a list of {', '.join(odd)} items ({report['repr'][:80]}...): the contract asks for "
        "(signum, pid, value) tuples, such as (info.si_signo, info.si_pid, info.si_status)")
    _end(seen)


def test_a_standard_signal_sent_many_times_while_blocked_is_taken_once(exercise):
    seen, items = _drain_a(exercise)
    plan, pid = seen["plan"], seen["pid"]
    n = plan["counts"][STD]
    got = sum(1 for item in items if item[0] == STD)
    assert got == 1, (
        f"SIGUSR1 was sent {n} times while it was blocked; /proc/{pid}/status showed it pending (ShdPnd) before "
        f"drain was called, but drain returned it {got} times. The kernel keeps one pending bit per standard "
        f"signal: the {n} SIGUSR1 merged into one, which sigtimedwait takes once"
        + (": take every pending signal of `signals`, SIGUSR1 included" if got == 0 else
           ": return each signal sigtimedwait gives you, once"))
    _end(seen)


def test_every_real_time_signal_sent_while_blocked_is_taken(exercise):
    seen, items = _drain_a(exercise)
    plan, pid = seen["plan"], seen["pid"]
    queued = seen["before_drain"]["SigQ"] - seen["queued_before"]
    for rt in plan["rt"]:
        want = plan["counts"][rt]
        got = sum(1 for item in items if item[0] == rt)
        if got == want:
            continue
        said = (f"{_name(rt)} was sent {want} times while it was blocked, and /proc/{pid}/status showed it pending "
                f"(ShdPnd; SigQ, the count of queued signals, had risen by {queued}: one SIGUSR1, every real-time "
                f"one); drain returned "
                f"it {'once' if got == 1 else f'{got} times'}")
        if got == 1:
            raise AssertionError(
                f"{said}. A real-time signal is queued, one entry per sigqueue, and each sigtimedwait call takes "
                "one entry: call it again until it returns None. A loop over signal numbers, or a Python handler, "
                "sees each number once")
        if got < want:
            raise AssertionError(f"{said}: take them until sigtimedwait(signals, 0) returns None, none is left then")
        raise AssertionError(f"{said}, more than were sent: return each signal sigtimedwait gives you, once")
    _end(seen)


def test_signals_come_out_lowest_number_first_and_each_real_time_one_in_sending_order(exercise):
    seen, items = _drain_a(exercise)
    plan = seen["plan"]
    numbers = [item[0] for item in items if item[0] in plan["signals"]]
    if numbers != sorted(numbers):
        shown = []
        for s in numbers:
            if not shown or shown[-1][0] != s:
                shown.append([s, 0])
            shown[-1][1] += 1
        runs = ", ".join(f"{_name(s)} x{k}" if k > 1 else _name(s) for s, k in shown)
        said = (f"drain({_listed(plan['signals'])}) returned them in the order {runs}; the kernel hands out the "
                "lowest-numbered pending signal first (SIGUSR1 is 10, SIGRTMIN+k is 34+k)")
        if numbers == sorted(numbers, reverse=True):
            raise AssertionError(f"{said}: this is that order backwards. Append each signal to the end of the list "
                                 "as sigtimedwait returns it")
        given = [s for s in plan["signals"] if s in numbers]
        if [s for s, _ in shown] == given:
            raise AssertionError(f"{said}. Taking one signal number after another, in the order `signals` lists "
                                 "them, is not the kernel's order: call sigtimedwait with all of `signals` each "
                                 "time and keep the order it gives")
        raise AssertionError(f"{said}. Call sigtimedwait with all of `signals` each time and keep the order it "
                             "gives")
    for rt in plan["rt"]:
        sent = _sent_values(plan, rt)
        index = {v: i for i, v in enumerate(sent)}
        got = [item[2] for item in items if item[0] == rt and item[2] in index]
        positions = [index[v] for v in got]
        assert positions == sorted(positions), (
            f"{_name(rt)} was sent with the values {_few(sent)} in this order; drain returned them as {_few(got)}: "
            "a real-time "
            "signal's queue is first in, first out. Append each signal as sigtimedwait returns it; do not sort, "
            "reverse or regroup them")
    _end(seen)


def test_each_signal_taken_names_the_pid_that_sent_it(exercise):
    seen, items = _drain_a(exercise)
    sender = seen["sender"]
    for signum, pid, _ in items:
        if pid == sender:
            continue
        whose = ""
        if pid == seen["pid"]:
            whose = ": that is your own process (os.getpid())"
        elif pid == seen.get("warden"):
            whose = ": that is your process's parent (os.getppid())"
        raise AssertionError(
            f"drain returned {_name(signum)} with pid {pid}{whose}; every signal was sent by the grader's process, "
            f"pid {sender}. The sender's pid is si_pid in the struct_siginfo that sigtimedwait returns")
    _end(seen)


def test_each_signal_taken_carries_the_value_it_was_sent_with(exercise):
    seen, items = _drain_a(exercise)
    plan = seen["plan"]

    def why(v, sent):
        if v == -1:
            return " (-1 is si_code, SI_QUEUE: 'sent by sigqueue')"
        if v == seen["sender"]:
            return " (that is the sender's pid)"
        if v >= 2 ** 31 and v - 2 ** 32 in sent:
            return f" (that is {v - 2 ** 32} read as unsigned: sival_int is a signed int)"
        return ""

    first = _sent_values(plan, STD)[0]
    n = plan["counts"][STD]
    for signum, _, value in items:
        if signum == STD and value != first:
            raise AssertionError(
                f"drain returned SIGUSR1 with value {value}{why(value, [first])}; the grader sent SIGUSR1 {n} times, "
                f"the first with value {first}, and that is the one the kernel kept: the later ones found the "
                "pending bit set and were dropped, values and all. The value is si_value.sival_int; Python's "
                "struct_siginfo shows it as si_status")
    for rt in plan["rt"]:
        sent = _sent_values(plan, rt)
        for signum, _, value in items:
            if signum == rt and value not in sent:
                raise AssertionError(
                    f"drain returned {_name(rt)} with value {value}{why(value, sent)}, a value the grader never sent "
                    f"with it (it sent {_few(sent)}). The value is si_value.sival_int, which Python's struct_siginfo "
                    "shows as si_status")
        got = [item[2] for item in items if item[0] == rt]
        doubled = sorted({v for v in got if got.count(v) > 1})
        assert not doubled, (f"drain returned {_name(rt)} with the value {doubled[0]} more than once, but the "
                             "grader sent each value once: each sigtimedwait call returns a different instance")
    _end(seen)


def test_drain_takes_only_the_signals_it_is_given(exercise):
    seen, items = _drain_a(exercise)
    plan, pid = seen["plan"], seen["pid"]
    outsider = plan["outsider"]
    others = sorted({item[0] for item in items if item[0] not in plan["signals"]})
    assert not others, (
        f"drain({_listed(plan['signals'])}) returned {_names(others)}, which it was not given: take only signals "
        "of `signals` (pass `signals` to sigtimedwait); other pending signals belong to someone else")
    assert outsider in seen["after_drain"]["pending"], (
        f"the grader also sent {_name(outsider)}, which was blocked before block() was called and is not in "
        f"`signals`; after drain returned, /proc/{pid}/status no longer showed it pending: drain took it. Take "
        "only signals of `signals`: any other pending signal must stay pending")
    _end(seen)


def test_nothing_asked_for_is_left_pending_after_drain(exercise):
    seen, after = _need(exercise, "after_drain")
    plan, pid = seen["plan"], seen["pid"]
    _called(f"drain({_listed(plan['signals'])}, timeout={plan['timeouts']['all']})", seen["drain"])
    left = [s for s in plan["signals"] if s in after["pending"]]
    queued = after["SigQ"] - seen["queued_before"] - (plan["outsider"] in after["pending"])
    assert not left, (
        f"after drain returned, /proc/{pid}/status still showed {_names(left)} pending (SigPnd/ShdPnd; SigQ: "
        f"{max(queued, 0)} of the grader's signals still queued): drain must take every pending signal of "
        "`signals`, one sigtimedwait call per instance, until sigtimedwait(signals, 0) returns None")
    _end(seen)


def test_drain_returns_at_once_when_nothing_is_left(exercise):
    seen, report = _need(exercise, "drain")
    plan = seen["plan"]
    t = plan["timeouts"]["all"]
    _called(f"drain({_listed(plan['signals'])}, timeout={t})", report)
    limit = t / 2
    assert report["took"] <= limit, (
        f"with every signal the grader sent already pending, drain(signals, timeout={t}) took "
        f"{report['took']:.2f} s to return (more than {limit:.1f} s): once the first one is taken, take the "
        "others without waiting (timeout 0) and return as soon as none is left; `timeout` is only for waiting for "
        "the first one")
    _end(seen)


def test_drain_leaves_the_blocked_mask_as_it_is(exercise):
    seen, after = _need(exercise, "after_drain")
    plan, pid = seen["plan"], seen["pid"]
    _called(f"drain({_listed(plan['signals'])}, timeout={plan['timeouts']['all']})", seen["drain"])
    want = set(plan["premask"]) | set(plan["signals"])
    got = after["SigBlk"]
    unblocked, added = want - got, got - want
    assert not unblocked, (
        f"before drain was called, {_names(want)} were blocked; after it returned, SigBlk in /proc/{pid}/status no "
        f"longer included {_names(unblocked)}: drain changed the mask. Leave it as it is (restore() is the one that "
        "puts it back); a signal that arrives unblocked is delivered, and with no handler it ends the process")
    assert not added, (f"drain blocked {_names(added)} as well (SigBlk in /proc/{pid}/status): leave the mask as it "
                       "is")
    _end(seen)


def _burst_said(seen) -> str:
    plan = seen["plan"]
    counts = {}
    for signum, _ in plan["burst"]:
        counts[signum] = counts.get(signum, 0) + 1
    sent = " and ".join(f"{_name(s)} x{n}" for s, n in sorted(counts.items()))
    asleep = seen["asleep"]
    when = "once your process was asleep (state S)" if asleep["seen"] else f"{ASLEEP_DEADLINE} s after it was called"
    return (f"drain({_listed(plan['signals'])}, timeout={WAIT_TIMEOUT}) was called with nothing pending; {when} "
            f"the grader stopped it (SIGSTOP), sent {sent}, saw them pending and let it go on (SIGCONT)")


def test_drain_waits_for_the_first_signal_and_returns_as_soon_as_it_arrives(exercise):
    seen, report = _need(exercise, "woke")
    plan = seen["plan"]
    what = f"drain({_listed(plan['signals'])}, timeout={WAIT_TIMEOUT})"
    items = _items(report, what)
    said = _burst_said(seen)
    asleep = seen["asleep"]
    if not items:
        raise AssertionError(
            f"{said}, but drain had returned [] after {report['took']:.3f} s. When nothing is pending, drain must "
            "wait up to `timeout` seconds for the first signal: that is sigtimedwait's timeout")
    late = seen["woke_after"]
    if late <= WAKE_LIMIT:
        _end(seen)
        return
    said = f"{said}; drain returned {late:.2f} s after SIGCONT"
    if "sigtimedwait" in asleep["wchan"]:
        raise AssertionError(f"{said}. Your process was waiting in sigtimedwait, so it got a signal at once, then "
                             "waited again: once one is taken, take the others with timeout 0 and return")
    where = f" (it was asleep in {asleep['wchan']})" if asleep["wchan"] else ""
    raise AssertionError(f"{said}{where}: it must return as soon as a signal arrives, not sleep first and look "
                         "afterwards. sigtimedwait(signals, timeout) wakes up the moment one is pending")


def test_a_drain_that_waited_takes_every_signal_pending_when_it_woke(exercise):
    seen, report = _need(exercise, "woke")
    plan = seen["plan"]
    items = _items(report, f"drain({_listed(plan['signals'])}, timeout={WAIT_TIMEOUT})")
    if not items:  # test_drain_waits_for_the_first_signal... says why
        raise AssertionError(f"{_burst_said(seen)}, but drain returned []: it must wait for the first signal")
    want = _expected(plan["burst"], seen["sender"])
    if [list(item) for item in items] == want:
        _end(seen)
        return
    said = f"{_burst_said(seen)}. drain returned {_shown(items)}; expected {_shown(want)}"
    if len(items) == 1:
        raise AssertionError(
            f"{said}: it returned only the signal that ended its wait. When the wait ends, take every pending "
            "one of `signals` as well, with sigtimedwait(signals, 0), until it returns None")
    raise AssertionError(f"{said}: once the wait ends, take every pending one of `signals`, lowest number first, "
                         "each real-time instance in the order sent, until sigtimedwait(signals, 0) returns None")


def test_a_drain_that_waits_leaves_other_signals_pending(exercise):
    seen, after = _need(exercise, "after_woke")
    plan, pid = seen["plan"], seen["pid"]
    outsider = plan["outsider"]
    items = seen["woke"].get("items") or []
    took = any(item[0] == outsider for item in items)
    assert outsider in after["pending"] and not took, (
        f"{_burst_said(seen)}. Before stopping it, the grader also sent {_name(outsider)}, which was blocked "
        f"but is not in `signals`; after drain returned, /proc/{pid}/status no longer showed it pending: drain "
        + ("returned it. " if took else "took it and threw it away. ")
        + "Wait for `signals` only (sigtimedwait(signals, timeout)), not for the whole blocked mask: any other "
        "pending signal must stay pending")
    _end(seen)


def test_drain_with_nothing_pending_returns_an_empty_list_within_its_timeout(exercise):
    seen, report = _need(exercise, "empty")
    plan = seen["plan"]
    t = plan["timeouts"]["empty"]
    what = f"drain({_listed(plan['signals'])}, timeout={t})"
    items = _items(report, what)
    assert items == [], (f"{what} was called with nothing pending and nothing sent, and returned {report['repr']}: "
                         "it must return [] when no signal comes")
    assert report["took"] <= t + EMPTY_MARGIN, (
        f"{what} was called with nothing pending and took {report['took']:.2f} s to return [] (the grader allows "
        f"{t + EMPTY_MARGIN:.2f} s): wait at most `timeout` seconds for the first signal, in one sigtimedwait call "
        "with that timeout; when it returns None, the time is up: return [] (do not wait again)")
    _end(seen)


def test_a_drain_that_timed_out_leaves_nothing_behind_to_take_later_signals(exercise):
    seen, report = _need(exercise, "again")
    plan, pid = seen["plan"], seen["pid"]
    t_empty, t = plan["timeouts"]["empty"], plan["timeouts"]["again"]
    what = f"drain({_listed(plan['signals'])}, timeout={t})"
    items = _items(report, what)
    base, left = seen["threads"], seen["threads_after_empty"]
    want = _expected(plan["later"], seen["sender"])
    signum, value = plan["later"][0]
    sent = (f"the grader sent {_name(signum)} (value {value}) and called {what}; it returned {_shown(items)}, "
            f"expected {_shown(want)}")
    said = f"after drain(signals, timeout={t_empty}) returned [], {sent}"
    if left > base:
        raise AssertionError(
            f"when drain(signals, timeout={t_empty}) returned [], your process had {left} threads (Threads in "
            f"/proc/{pid}/status; {base} before): drain left a thread behind, still waiting. "
            + (f"Then {sent}: that thread took it. " if [list(i) for i in items] != want else "")
            + "Wait in the calling thread, with sigtimedwait(signals, timeout): when it returns None, nothing was "
            "taken and nothing is left waiting")
    assert [list(item) for item in items] == want, (
        f"{said}: take every pending one of `signals`, and only in drain; once none is left, return (a "
        "sigtimedwait(signals, 0) that returns None says so)")
    _end(seen)
