"""Grader for notify (04_signals): signals routed into a queue, as Go's signal.Notify does.

One sandbox launch per graded file (scenario_notify.notify), watched and signalled from here, shared
by every test. The scenario gives three signals drawn from a pool a disposition of the grader's
(a handler of its own, SIG_IGN, SIG_DFL: one each), a fourth signal a grader handler and a fifth
SIG_IGN, creates the student's Notifier for the three, and stops at a gate (a FIFO this test holds)
at each step, its main thread asleep in os.read. From here, at each step:

- before / made / stopped: /proc/PID/status (SigCgt, SigIgn, SigBlk), /proc/PID/fd, /proc/PID/task.
- batch: the three listed signals in an order drawn so that it is neither their list order nor
  their numeric order, with the fourth (not listed) signal among them. Each is sent with kill only
  once the one before has left the pending sets (ShdPnd, SigPnd) and the process has fallen quiet
  again (every thread asleep, unchanged over three looks 3 ms apart): the kernel has delivered it and
  whatever it woke has gone back to sleep. So the order of delivery is the order of sending, on every
  run, and drain() must give it back.
- repeat: one listed signal; get() takes it; the same signal again; get() must take it again.
- main-blocked: the main thread sleeps at the gate with the listed signals blocked in its mask
  while a grader thread waits in get(): the system call it sleeps in is read (/proc/PID/task/TID/syscall:
  a wait with a timeout, or a sleep, is a poll) and its CPU time and wake-ups are measured over 10 ms
  (250 ms where that file cannot tell a timed wait from an untimed one: two grader threads, one in
  Event.wait() and one in Event.wait(3600), show at the start whether it can), then a listed signal is
  sent, and the getter's thread must be gone from /proc/PID/task (get() returned) before the gate opens.
- stopped: after stop(), the masks, fds and threads must be as before; then the listed signal whose
  previous disposition was the grader's handler, and the one that was SIG_IGN, are sent: the handler
  must run, the process must live.

Each step's event carries the scenario's report of the phase before it. No sleep decides an order:
the only sleeps are between two looks at /proc and the measuring window.
"""

import os
import random
import signal
import time

from graders.harness import holding, osinspect
from graders.harness.outcome import Todo

EVENT_DEADLINE = 3.0     # s for the scenario's next step (its own waits: 1 s per call)
QUIET_DEADLINE = 1.0     # s for the process to fall quiet (a right Notifier: a few ms)
BUSY_DEADLINE = 0.1      # ... once it was not, once
DELIVER_DEADLINE = 1.0   # s for a sent signal to leave the pending sets
GONE_DEADLINE = 1.0      # s for get() in another thread to return once its signal was delivered
THREADS_DEADLINE = 0.5   # s for the Notifier's threads to be gone from /proc after stop() returned
WINDOW = 0.25            # s over which the waiting getter's CPU time and wake-ups are measured (a get() that
                         # polls with wait(0.1) wakes at least twice in it) ...
SHORT_WINDOW = 0.01      # ... where its system call shows a wait with a timeout (a poll) at once
PAIR_TIMEOUT = 0.1       # s: two get(PAIR_TIMEOUT) wait together, a signal comes at 0.7 of it
PAIR_SLACK = 0.04        # s the get left without a signal may return after its timeout (a restarted one: 0.07 s;
                         # a right one, with two CPU hogs running: 0.3-4 ms)
FATAL = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGALRM, signal.SIGTERM)
CPU_SLACK_MS = 0.2
POOL = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGWINCH, signal.SIGALRM, signal.SIGTERM)
PATHS = ("a wakeup fd: signal.set_wakeup_fd(w) with w the non-blocking write end of a pipe, a Python handler "
         "that does nothing (it only makes CPython install its C handler, which writes one byte per signal "
         "into w, in any thread), and a thread of yours reading the other end into the queue; or the signals "
         "blocked with signal.pthread_sigmask in the main thread before your thread starts, and taken by "
         "that thread with signal.sigwait")

_SEEN: dict = {}


def _n(s: int) -> str:
    try:
        return signal.Signals(s).name
    except ValueError:
        return f"signal {s}"


def _names(signums) -> str:
    return ", ".join(_n(s) for s in signums) or "none"


# ----------------------------------------------------------------------------- the gate


class Gate:
    """A FIFO in the test's folder, held open read-write here: the scenario reads one byte per step."""

    def __init__(self, directory: str):
        self.name = f"gate-{random.randrange(1 << 30)}"
        path = os.path.join(directory, self.name)
        os.mkfifo(path, 0o644)
        self.fd = os.open(path, os.O_RDWR)

    def go(self) -> None:
        if self.fd is not None:
            os.write(self.fd, b"g")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# ------------------------------------------------------------------- looking from outside


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _alive(pid: int) -> bool:
    try:
        return osinspect.state(pid) not in ("Z", "X")
    except ProcessLookupError:
        return False


def _pending(pid: int) -> set[int]:
    """Signals sent to the process and not delivered yet: the shared set and every thread's own."""
    found = set()
    try:
        masks = osinspect.signal_masks(pid)
        found |= masks.get("ShdPnd", set()) | masks.get("SigPnd", set())
        for tid in os.listdir(f"/proc/{pid}/task"):
            for line in _read(f"/proc/{pid}/task/{tid}/status").splitlines():
                if line.startswith("SigPnd:"):
                    mask = int(line.split()[1], 16)
                    found |= {n for n in range(1, 65) if mask & (1 << (n - 1))}
    except (OSError, ProcessLookupError):
        pass
    return found


def _masks(pid: int) -> dict:
    try:
        return {k: sorted(v) for k, v in osinspect.signal_masks(pid).items()}
    except ProcessLookupError:
        return {}


class Watch:
    """What this side saw and did during the launch."""

    def __init__(self, exercise, plan: dict):
        self.exercise, self.plan = exercise, plan
        self.pid = None
        self.busy = False
        self.calls_read = False  # whether /proc/PID/task/TID/syscall tells a timed wait from an untimed one here
        self.broken = None      # the first sentence saying why no more signals are sent
        self.sends: dict[str, list] = {}
        self.steps: dict[str, dict] = {}
        self.reports: dict[str, dict] = {}

    def look(self, data: dict) -> dict:
        snap, quiet = holding.settle(self.pid, BUSY_DEADLINE if self.busy else QUIET_DEADLINE)
        self.busy = self.busy or not quiet
        grader = set(data.get("tids", [])) | {self.pid}
        obs = {"quiet": quiet, "masks": _masks(self.pid), "tasks": sorted(snap),
               "running": [t for t, (state, _, _) in snap.items() if state != "S"],
               "extra_threads": sorted(t for t in snap if t not in grader)}
        try:
            obs["fds"] = {str(fd): t for fd, t in osinspect.fd_targets(self.pid).items()}
        except ProcessLookupError:
            obs["fds"] = {}
        waiting = data.get("waiting", {})
        if data.get("calibrate"):   # the first step: the process is quiet, the grader's two threads wait
            tids = data["calibrate"]
            self.calls_read = ((osinspect.wait_kind(self.pid, tids["untimed"]) or ("",))[0] == "untimed"
                               and (osinspect.wait_kind(self.pid, tids["timed"]) or ("",))[0] == "timed")
        if self.calls_read and quiet:
            obs["waits"] = {label: osinspect.wait_kind(self.pid, tid) for label, tid in waiting.items()}
        measured = {label: waiting[label] for label in data.get("measure", []) if label in waiting}
        if measured and snap:
            time.sleep(SHORT_WINDOW if self.calls_read else WINDOW)   # the measuring window, not a synchronisation
            after = osinspect.task_samples(self.pid)
            obs["measured"] = {}
            for label, tid in measured.items():
                a, b = snap.get(tid), after.get(tid)
                obs["measured"][label] = None if a is None or b is None else {
                    "states": [a[0], b[0]], "cpu_ms": round(b[1] - a[1], 3), "wakeups": b[2] - a[2]}
        return obs

    def send(self, at: str, signum: int) -> dict:
        """kill, then wait until the kernel has delivered it and the process is quiet again."""
        record = {"signal": signum}
        self.sends.setdefault(at, []).append(record)
        if self.broken:
            record["skipped"] = self.broken
            return record
        if not _alive(self.pid) or self.pid not in self.exercise.living():
            record["skipped"] = self.broken = "the process had ended"
            return record
        os.kill(self.pid, signum)
        end = time.monotonic() + (BUSY_DEADLINE if self.busy else DELIVER_DEADLINE)
        while signum in _pending(self.pid) and _alive(self.pid):
            if time.monotonic() >= end:
                record["delivered"] = False
                self.broken = (f"{_n(signum)} was still pending in /proc/PID/status (ShdPnd) "
                               f"{DELIVER_DEADLINE:.0f} s after it was sent")
                return record
            time.sleep(0.0005)
        if not _alive(self.pid):
            record["killed"] = True
            self.broken = f"{_n(signum)} ended the process"
            return record
        record["delivered"] = True
        _, record["quiet"] = holding.settle(self.pid, BUSY_DEADLINE if self.busy else QUIET_DEADLINE)
        self.busy = self.busy or not record["quiet"]
        if not _alive(self.pid):
            record["killed"] = True
            self.broken = f"{_n(signum)} ended the process"
        return record

    # -- what this side does at each step -----------------------------------------------

    def at_made(self, obs: dict) -> None:
        before = self.steps["before"]["masks"]
        routed = set(obs["masks"].get("SigCgt", [])) | set(obs["masks"].get("SigBlk", []))
        bare = [s for s in self.plan["listed"] if s not in routed]
        obs["unrouted"] = bare
        if bare and not self.broken:
            self.broken = (f"after Notifier({_names(self.plan['listed'])}) returned, /proc/PID/status showed "
                           f"{_names(bare)} neither caught (SigCgt) nor blocked (SigBlk)")
        obs["before"] = before

    def at_batch(self, obs: dict) -> None:
        for s in self.plan["batch"]:
            self.send("batch", s)

    def at_repeat(self, obs: dict, at: str) -> None:
        self.send("repeat", self.plan["repeat"])
        if at == "repeat-1":
            self.send("repeat", self.plan["repeat_b"])

    def at_main_blocked(self, obs: dict, data: dict) -> None:
        record = self.send("main-blocked", self.plan["blocked"])
        tid = data.get("waiting", {}).get("getter")
        if not record.get("delivered") or tid is None:
            return
        end = time.monotonic() + GONE_DEADLINE
        while os.path.exists(f"/proc/{self.pid}/task/{tid}") and time.monotonic() < end:
            time.sleep(0.001)
        record["getter_gone"] = not os.path.exists(f"/proc/{self.pid}/task/{tid}")

    def at_stopped(self, obs: dict, data: dict) -> None:
        grader = set(data.get("tids", [])) | {self.pid}
        end = time.monotonic() + THREADS_DEADLINE
        while time.monotonic() < end:
            snap = osinspect.task_samples(self.pid)
            if not [t for t in snap if t not in grader]:
                break
            time.sleep(0.002)
        snap = osinspect.task_samples(self.pid)
        obs["extra_threads"] = sorted(t for t in snap if t not in grader)
        obs["masks"] = _masks(self.pid)
        try:
            obs["fds"] = {str(fd): t for fd, t in osinspect.fd_targets(self.pid).items()}
        except ProcessLookupError:
            obs["fds"] = {}
        before = self.steps["before"]["masks"]
        for kind in ("handler", "ignore"):
            s = self.plan["by_kind"][kind]
            field = "SigCgt" if kind == "handler" else "SigIgn"
            restored = (s in obs["masks"].get(field, []) and s not in obs["masks"].get("SigBlk", [])
                        and s in before.get(field, []))
            if restored:
                self.send("stopped", s)
            else:
                self.sends.setdefault("stopped", []).append({"signal": s, "skipped": "not restored"})


def _plan(rnd: random.Random) -> dict:
    pool = list(POOL)
    rnd.shuffle(pool)
    listed, other_handled, other_ignored = pool[:3], pool[3], pool[4]
    kinds = ["handler", "ignore", "default"]
    rnd.shuffle(kinds)
    previous = {str(s): k for s, k in zip(listed, kinds)}
    order = list(listed)
    while order in (list(listed), sorted(listed)):
        rnd.shuffle(order)
    batch = list(order)
    batch.insert(rnd.randint(0, 3), other_handled)
    batch.append(order[0])   # the first one again, delivered while its first delivery is still queued
    repeat = rnd.choice(listed)
    fatal = [s for s in FATAL]
    rnd.shuffle(fatal)
    rest = [s for s in POOL if s != fatal[0]]
    rnd.shuffle(rest)
    cycle = {"pair_timeout": PAIR_TIMEOUT, "pair_signal": int(rnd.choice(listed)), "dfl": int(fatal[0]),
             "blocked_listed": int(rest[0]), "blocked_other": int(rest[1])}
    return {"cycle": cycle, "repeat_b": int(rnd.choice([s for s in listed if s != repeat])),
            "listed": [int(s) for s in listed], "previous": previous, "other_handled": int(other_handled),
            "other_ignored": int(other_ignored), "order": [int(s) for s in order], "batch": [int(s) for s in batch],
            "repeat": int(repeat), "blocked": int(rnd.choice(listed)),
            "get_timeout": round(rnd.uniform(0.02, 0.04), 3),
            "by_kind": {k: int(s) for s, k in zip(listed, kinds)}}


def _session(exercise) -> Watch:
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    plan = _plan(random.Random(random.randrange(1 << 30)))
    watch = _SEEN[key] = Watch(exercise, plan)
    watch.stop = None
    gate = Gate(exercise.tmp)
    kwargs = {k: plan[k] for k in ("listed", "previous", "other_handled", "other_ignored", "get_timeout", "cycle")}
    try:
        with exercise.start("notify", timeout=EVENT_DEADLINE, gate=gate.name, **kwargs) as run:
            watch.pid = run.pid
            last = "the start"
            while True:
                data = run.event("step", timeout=EVENT_DEADLINE,
                                 awaiting=f"the grader's scenario to go on after {last} (it calls Notifier() and "
                                          "stop() in the main thread, get() and drain() with a deadline of 1 s)")
                watch.reports.update(data.get("report") or {})
                at = data.get("at")
                if at == "done":
                    break
                obs = watch.look(data)
                watch.steps[at] = obs
                if at == "made":
                    watch.at_made(obs)
                elif at == "batch":
                    watch.at_batch(obs)
                elif at in ("repeat-1", "repeat-2"):
                    watch.at_repeat(obs, at)
                elif at == "main-blocked":
                    watch.at_main_blocked(obs, data)
                elif at == "stopped":
                    watch.at_stopped(obs, data)
                last = f"step {at!r}"
                gate.go()
            run.result(timeout=EVENT_DEADLINE, awaiting="the grader's scenario to finish")
    except Exception as exc:  # noqa: BLE001 - kept for every test that needs what was not seen
        watch.stop = exc
    finally:
        gate.close()
    return watch


# ------------------------------------------------------------------------------ reading it


def _at(exc: dict) -> str:
    return f" ({exc['where']})" if exc.get("where") else ""


def _said(o: dict) -> str:
    if o["state"] == "waiting":
        return f"{o['call']} had not returned 1 s later"
    if o["state"] == "raised":
        text = f"{o['type']}: {o['text']}" if o["text"] else o["type"]
        return f"{o['call']} raised {text}{_at(o)}"
    v = o.get("value")
    shown = v["other"] if isinstance(v, dict) else (f"[{_names(v)}]" if isinstance(v, list) else
                                                      (_n(v) if isinstance(v, int) else repr(v)))
    return f"{o['call']} returned {shown}"


def _todo(value) -> None:
    if isinstance(value, dict):
        if value.get("todo") is True:
            raise Todo(f"NotImplementedError was raised{_at(value)}: this part of Notifier is still to do")
        for v in value.values():
            _todo(v)
    elif isinstance(value, list):
        for v in value:
            _todo(v)


def _need(exercise, *names: str) -> Watch:
    """The launch, with the reports named (raising what stopped it before they came)."""
    watch = _session(exercise)
    made = watch.reports.get("made")
    if made and "raised" in made:
        _todo(made)
        e = made["raised"]
        raise AssertionError(f"Notifier({_names(watch.plan['listed'])}) raised {e['type']}: {e['text']}{_at(e)}, "
                             "called in the main thread")
    for name in names:
        if name not in watch.reports and name not in watch.steps:
            killed = [r for rs in watch.sends.values() for r in rs if r.get("killed")]
            if killed:
                s = killed[0]["signal"]
                raise AssertionError(_killed(watch, s))
            if watch.stop is not None:
                raise watch.stop
            raise AssertionError(f"the grader saw no report of {name!r} (grader bug)")
        _todo(watch.reports.get(name))
    return watch


def _prev(watch, s: int) -> str:
    kind = watch.plan["previous"].get(str(s))
    return {"handler": "a handler of the grader's", "ignore": "SIG_IGN", "default": "SIG_DFL"}.get(kind, "?")


def _killed(watch, s: int) -> str:
    return (f"{_n(s)}, sent while the Notifier for {_names(watch.plan['listed'])} was running, ended the process"
            + (f" (its disposition before the Notifier was {_prev(watch, s)})" if str(s) in watch.plan["previous"]
               else " (the grader had given it a handler of its own, not listed)")
            + ": until stop(), a listed signal is only queued; route it with " + PATHS)


def _undelivered(watch) -> str | None:
    for at in ("batch", "repeat", "main-blocked"):
        for r in watch.sends.get(at, []):
            if r.get("killed"):
                return _killed(watch, r["signal"])
            if r.get("delivered") is False and r["signal"] not in watch.plan["listed"]:
                return (f"{_n(r['signal'])}, which the Notifier was not given, was sent while it ran and was still "
                        f"pending (ShdPnd in /proc/PID/status) {DELIVER_DEADLINE:.0f} s later: every thread of the "
                        "process blocked it. A Notifier blocks (if it blocks at all) only the signals it was given; "
                        "the others must keep reaching their dispositions")
            if r.get("delivered") is False:
                return (f"{_n(r['signal'])} was sent while the Notifier ran and was still pending (ShdPnd in "
                        f"/proc/PID/status) {DELIVER_DEADLINE:.0f} s later: every thread of the process blocked it and "
                        "no thread took it. A blocked signal waits in the kernel until a thread unblocks it or takes "
                        "it with signal.sigwait: if you block the listed signals, a thread of yours must sit in "
                        "sigwait for them")
            if "skipped" in r and r["skipped"] != "not restored":
                made = watch.steps.get("made", {})
                if made.get("unrouted"):
                    return (f"after Notifier({_names(watch.plan['listed'])}) returned, /proc/PID/status showed "
                            f"{_names(made['unrouted'])} neither caught (SigCgt) nor blocked (SigBlk): such a signal "
                            "would get its previous disposition (SIG_DFL ends the process), so the grader sent "
                            f"nothing. Route every listed signal with {PATHS}")
                return f"the grader sent no more signals: {r['skipped']}"
    return None


def _mask_diff(a: dict, b: dict, signums) -> list[str]:
    out = []
    for field, what in (("SigCgt", "caught"), ("SigIgn", "ignored"), ("SigBlk", "blocked in the main thread")):
        for s in signums:
            was, now = s in a.get(field, []), s in b.get(field, [])
            if was != now:
                out.append(f"{_n(s)} {'was' if was else 'was not'} {what} ({field}) before and "
                           f"{'is' if now else 'is not'} now")
    return out


# -------------------------------------------------------------------------------- tests


def test_each_listed_signal_is_queued_and_none_is_lost(exercise):
    watch = _need(exercise, "made", "batch")
    problem = _undelivered(watch)
    assert problem is None, problem
    d = watch.reports["batch"]["drain"]
    order = watch.plan["order"]
    assert d["state"] == "returned" and isinstance(d.get("value"), list), (
        f"after {_names(order)} had each been delivered, {_said(d)}; expected a list of the queued signal numbers")
    lost = [s for s in order if s not in d["value"]]
    assert not lost, (
        f"{_names(order)} were sent one at a time, each once the one before had been delivered (it had left the "
        f"pending set in /proc/PID/status), and then n.drain() returned [{_names(d['value'])}]: {_names(lost)} "
        "never reached the queue. Distinct signals are never merged by the kernel: each delivery must add one entry "
        "(a flag or a single slot per Notifier keeps only one). Route them with " + PATHS)


def test_a_listed_signal_no_longer_reaches_its_previous_disposition(exercise):
    watch = _need(exercise, "made", "batch")
    problem = _undelivered(watch)
    assert problem is None, problem
    calls = watch.reports["batch"]["calls"]
    s = watch.plan["by_kind"]["handler"]
    got = calls.get(str(s), 0)
    assert got == 0, (
        f"the grader had installed a handler of its own for {_n(s)} before Notifier(...); while the Notifier ran, "
        f"{_n(s)} was delivered once and that handler ran {got} time(s): until stop(), a listed signal is only "
        "queued. Replace the disposition (signal.signal with your own handler) or keep the signal blocked in every "
        "thread and take it with sigwait; never call the previous handler")


def test_a_batch_is_drained_in_the_order_the_signals_arrived(exercise):
    watch = _need(exercise, "made", "batch")
    problem = _undelivered(watch)
    assert problem is None, problem
    d = watch.reports["batch"]["drain"]
    order = watch.plan["order"]
    assert d["state"] == "returned" and isinstance(d.get("value"), list), f"{_said(d)}; expected a list"
    got = [s for s in d["value"] if s in order]
    again = order + [order[0]]
    assert got != order, (
        f"{_names(again)} arrived in that order, each delivered before the next was sent (so the second "
        f"{_n(order[0])} came while the first was still in the queue), and n.drain() returned "
        f"[{_names(d['value'])}]: the second {_n(order[0])} is missing. Every delivery is queued, also a signal "
        "that is already in the queue: the kernel merges two of one signal only while the first is still pending "
        "in the kernel, and this one had been delivered. Append each delivery; never skip one already queued")
    assert got == again, (
        f"{_names(again)} arrived in that order, each delivered before the next was sent, and n.drain() returned "
        f"[{_names(d['value'])}]: a batch comes out in the order of arrival (not in the order of the list given to "
        f"Notifier, {_names(watch.plan['listed'])}, nor by number). Append each signal to a queue "
        "(collections.deque) as it arrives, from a path that sees every signal as it comes: " + PATHS)
    empty = watch.reports["batch"]["empty"]
    assert empty["state"] == "returned" and empty.get("value") == [], (
        f"right after n.drain() had taken everything, {_said(empty)}; expected []: drain() removes what it returns")


def test_a_signal_taken_is_queued_again_when_it_comes_again(exercise):
    watch = _need(exercise, "made", "batch", "repeat")
    problem = _undelivered(watch)
    assert problem is None, problem
    s = watch.plan["repeat"]
    rep = watch.reports["repeat"]
    second = rep["second"]
    assert second["state"] == "returned" and second.get("value") == s, (
        f"{_n(s)} was delivered, n.get(1.0) took it, then {_n(s)} was sent and delivered again, and {_said(second)}; "
        f"expected {_n(s)} again. Once a signal has been delivered it is no longer pending, so the kernel delivers "
        "it again the next time: queue every delivery, do not remember which signals were already seen")


def test_signals_not_listed_keep_their_disposition_and_are_not_queued(exercise):
    watch = _need(exercise, "made", "batch")
    listed = watch.plan["listed"]
    # 32 and 33 belong to the C library's threads (SIGCANCEL, SIGSETXID): it catches 33 once a thread starts.
    others = [s for s in range(1, 65) if s not in listed and s not in (signal.SIGKILL, signal.SIGSTOP, 32, 33)]
    diff = _mask_diff(watch.steps["before"]["masks"], watch.steps["made"]["masks"], others)
    assert not diff, (
        f"Notifier({_names(listed)}) changed signals it was not given, in /proc/PID/status: {'; '.join(diff[:3])}. "
        "Touch only the listed signals: their handlers, and, if you block, only them")
    changed = watch.reports["made"]["others_changed"]
    assert not changed, (
        f"Notifier({_names(listed)}) replaced the Python handler of {_n(changed[0][0])}, which it was not given "
        f"(was {changed[0][1]}, now {changed[0][2]}): leave every other signal alone")
    problem = _undelivered(watch)
    assert problem is None, problem
    oh = watch.plan["other_handled"]
    calls = watch.reports["batch"]["calls"].get(str(oh), 0)
    assert calls == 1, (
        f"{_n(oh)}, not listed, has a handler of the grader's; it was delivered once while the Notifier ran and that "
        f"handler ran {calls} time(s): a signal that is not listed keeps its disposition, so its handler runs")
    d = watch.reports["batch"]["drain"]
    assert not (d["state"] == "returned" and isinstance(d.get("value"), list) and oh in d["value"]), (
        f"{_n(oh)}, not listed, was delivered while the Notifier ran, and n.drain() returned [{_names(d['value'])}]: "
        f"only listed signals are queued. (CPython's C handler writes a byte to the wakeup fd for every signal "
        "that has a Python handler, also those that are not yours: keep only the listed ones)")


def test_get_in_another_thread_returns_a_signal_while_the_main_thread_is_blocked(exercise):
    watch = _need(exercise, "made", "batch", "blocked")
    problem = _undelivered(watch)
    assert problem is None, problem
    s = watch.plan["blocked"]
    record = watch.sends["main-blocked"][0]
    got = watch.reports["blocked"]["got"]
    assert record.get("getter_gone"), (
        f"a grader thread was waiting in n.get() while the main thread slept in os.read() with "
        f"{_names(watch.plan['listed'])} blocked in its mask; {_n(s)} was sent, the kernel delivered it (to a "
        f"thread that did not block it), yet get() had not returned {GONE_DEADLINE:.0f} s later (its thread was "
        "still in /proc/PID/task)"
        + (" and returned only once the main thread could run again" if got["state"] == "returned" else "")
        + ". A Python-level "
        "handler runs only in the main thread, between bytecodes: with the main thread blocked in a system call "
        "it cannot run, and nothing reaches your queue. Let the signal reach the queue without the main thread: "
        + PATHS)
    assert got["state"] == "returned" and got.get("value") == s, (
        f"while the main thread slept with the listed signals blocked, {_n(s)} was delivered and {_said(got)}; "
        f"expected {_n(s)}")


def test_get_waits_asleep_and_returns_none_after_the_timeout(exercise):
    watch = _need(exercise, "made", "repeat", "main-blocked")
    t = watch.plan["get_timeout"]
    o = watch.reports["repeat"]["timeout"]
    assert o["state"] != "waiting", (
        f"with nothing queued, n.get({t}) had not returned {t + 1:.2f} s later: with a timeout, get returns None once "
        "`timeout` seconds have passed (Condition.wait_for(predicate, timeout) returns False then)")
    assert o["state"] == "returned" and o.get("value") is None, (
        f"with nothing queued, {_said(o)}; expected None once {t} s had passed")
    assert o["elapsed"] >= t, (
        f"with nothing queued, n.get({t}) returned None after {o['elapsed']:.3f} s, before its {t} s were up: "
        "wait for the whole timeout (a wake-up of the Condition is not the end of it: wait_for re-checks)")
    m = (watch.steps.get("main-blocked") or {}).get("measured", {}).get("getter")
    assert m is not None, ("n.get() in another thread returned before anything was sent (its thread was gone at "
                           "once): with nothing queued, get() waits")
    kind = (watch.steps.get("main-blocked") or {}).get("waits", {}).get("getter")
    assert not (kind and kind[0] == "timed"), (
        f"with nothing queued, n.get() (no timeout) was waiting in another thread, and /proc/PID/task/TID/syscall "
        f"showed that thread asleep in {kind and kind[1]}() with a timeout: it wakes up on its own and looks again "
        "(a poll). A get() that waits sleeps until a signal is queued (Condition.wait / wait_for without a timeout, "
        "or a blocking read), with no loop, no time.sleep, no timeout")
    window = SHORT_WINDOW if watch.calls_read else WINDOW
    assert m["states"] == ["S", "S"] and m["cpu_ms"] <= CPU_SLACK_MS and m["wakeups"] == 0, (
        f"over {window * 1000:.0f} ms with nothing queued, the thread in n.get() was in state {'/'.join(m['states'])} "
        f"in /proc/PID/task/TID/stat, used {m['cpu_ms']:.2f} ms of CPU and was woken {m['wakeups']} time(s): a get() "
        "that waits sleeps until a signal is queued (Condition.wait / wait_for without a timeout, or a blocking "
        "read), with no loop, no time.sleep, no timeout")


def test_drain_returns_everything_at_once_and_an_empty_list_when_nothing_is_queued(exercise):
    watch = _need(exercise, "made", "batch")
    problem = _undelivered(watch)
    assert problem is None, problem
    for key, what in (("drain", "with signals queued"), ("empty", "with nothing queued")):
        o = watch.reports["batch"][key]
        assert o["state"] != "waiting", (
            f"{what}, {o['call']} had not returned 1 s later: drain() never waits; it takes what is queued now "
            "([] when nothing is)")
        assert o["state"] == "returned" and isinstance(o.get("value"), list), f"{what}, {_said(o)}; expected a list"


def test_stop_puts_back_every_previous_disposition(exercise):
    watch = _need(exercise, "made", "stop")
    stop = watch.reports["stop"]
    _todo(stop)
    if "raised" in stop:
        e = stop["raised"]
        raise AssertionError(f"n.stop() raised {e['type']}: {e['text']}{_at(e)}")
    listed = watch.plan["listed"]
    wrong = [r for r in stop["restored"] if not r[1]]
    assert not wrong, (
        f"after n.stop(), signal.getsignal({_n(wrong[0][0])}) is {wrong[0][3]}; before Notifier(...) it was "
        f"{wrong[0][2]}: stop() puts back the very object signal.getsignal returned before you changed it")
    diff = _mask_diff(watch.steps["before"]["masks"], watch.steps["stopped"]["masks"], listed)
    diff = [d for d in diff if "blocked" not in d]
    assert not diff, f"after n.stop(), in /proc/PID/status: {'; '.join(diff[:3])}: stop() puts every disposition back"
    s = watch.plan["by_kind"]["handler"]
    sent = [r for r in watch.sends.get("stopped", []) if r["signal"] == s]
    before_calls = stop["calls"].get(str(s), 0)
    after_calls = watch.reports.get("after", {}).get("calls", {}).get(str(s), 0)
    if sent and sent[0].get("delivered"):
        assert after_calls == before_calls + 1, (
            f"after n.stop(), {_n(s)} was delivered once and the grader's handler, its disposition before the "
            f"Notifier, ran {after_calls - before_calls} time(s): after stop(), a listed signal reaches its previous "
            "disposition")
    killed = [r for r in watch.sends.get("stopped", []) if r.get("killed")]
    assert not killed, (f"after n.stop(), {_n(killed[0]['signal'])} ended the process; before the Notifier it was "
                        f"{_prev(watch, killed[0]['signal'])}")
    masks_before, masks_after = watch.steps["before"]["masks"], watch.steps["stopped"]["masks"]
    blocked = set(masks_after.get("SigBlk", [])) - set(masks_before.get("SigBlk", []))
    for kind in ("handler", "ignore"):
        s = watch.plan["by_kind"][kind]
        assert s not in blocked, (
            f"after n.stop(), {_n(s)} ({_prev(watch, s)} before the Notifier) was still blocked in the main thread's "
            "mask (SigBlk in /proc/PID/status): sent now, it would wait in the kernel instead of reaching its "
            "disposition. Unblock what you blocked (pthread_sigmask(SIG_SETMASK, old_mask))")
        assert any(r["signal"] == s and r.get("delivered") for r in watch.sends.get("stopped", [])), (
            f"after n.stop(), {_n(s)} ({_prev(watch, s)} before the Notifier) could not be sent and delivered: "
            + (watch.broken or "its disposition was not put back"))


def test_stop_restores_the_signal_mask_and_the_wakeup_fd(exercise):
    watch = _need(exercise, "made", "stop")
    stop = watch.reports["stop"]
    _todo(stop)
    before, after = watch.steps["before"]["masks"], watch.steps["stopped"]["masks"]
    added = sorted(set(after.get("SigBlk", [])) - set(before.get("SigBlk", [])))
    removed = sorted(set(before.get("SigBlk", [])) - set(after.get("SigBlk", [])))
    assert not added and not removed, (
        "after n.stop(), the main thread's signal mask (SigBlk in /proc/PID/status) "
        + (f"still blocks {_names(added)}" if added else f"no longer blocks {_names(removed)}")
        + ", unlike before Notifier(...): stop() puts back the mask it found (pthread_sigmask returns the old one; "
          "SIG_SETMASK sets it back)")
    assert stop["wakeup_fd"] == stop["wakeup_before"], (
        f"after n.stop(), the wakeup fd (what signal.set_wakeup_fd(-1) returned) was {stop['wakeup_fd']}; before "
        f"Notifier(...) it was {stop['wakeup_before']}: stop() puts back the old one (set_wakeup_fd returns it when "
        "you set yours). A wakeup fd left behind makes every later signal write into a pipe nobody reads, or into "
        "whatever file reuses that number")


def test_stop_ends_its_threads_and_closes_its_fds_before_returning(exercise):
    watch = _need(exercise, "made", "stop")
    _todo(watch.reports["stop"])
    stopped = watch.steps["stopped"]
    assert not stopped["extra_threads"], (
        f"{THREADS_DEADLINE:.1f} s after n.stop() had returned, /proc/PID/task still showed "
        f"{len(stopped['extra_threads'])} thread(s) the grader did not start: stop() ends every thread the Notifier "
        "started before it returns (wake it: a byte it recognises in its pipe, or a signal it waits for; then "
        "join() it), as Go's signal.Stop guarantees that nothing more is sent once it returns")
    base = watch.steps["before"]["fds"]
    left = {fd: t for fd, t in stopped["fds"].items() if base.get(fd) != t}
    assert not left, (
        f"after n.stop(), /proc/PID/fd showed {', '.join(f'fd {fd} -> {t}' for fd, t in list(left.items())[:3])}, "
        "open then but not before Notifier(...): stop() closes every fd the Notifier opened (both ends of its pipe)")


def test_get_returns_the_oldest_queued_signal_first(exercise):
    watch = _need(exercise, "made", "batch", "repeat")
    problem = _undelivered(watch)
    assert problem is None, problem
    a, b = watch.plan["repeat"], watch.plan["repeat_b"]
    rep = watch.reports["repeat"]
    first, older = rep["first"], rep["older"]
    assert first["state"] == "returned" and first.get("value") == a, (
        f"{_n(a)} then {_n(b)} were delivered, one after the other, while the queue was empty, and then "
        f"{_said(first)}; expected {_n(a)}: get() takes the oldest queued signal (a FIFO: append on the right, "
        "popleft on the left; deque.pop() would take the newest)")
    assert older["state"] == "returned" and older.get("value") == b, (
        f"{_n(a)} then {_n(b)} were delivered, n.get(1.0) returned {_n(a)}, and then {_said(older)}; expected {_n(b)}")


def test_get_with_timeout_zero_returns_none_at_once(exercise):
    watch = _need(exercise, "made", "repeat")
    o = watch.reports["repeat"]["zero"]
    assert o["state"] == "returned" and o.get("value") is None, (
        f"with nothing queued, {_said(o)}; expected None at once: a timeout of 0 means 'do not wait' (timeout=0 is "
        "not 'no timeout': test `timeout is None`, never `if timeout` or `timeout or None`)")


def test_a_get_timeout_counts_from_the_call_not_from_the_last_wake_up(exercise):
    watch = _need(exercise, "made", "repeat")
    pair = watch.reports["repeat"].get("pair")
    assert pair is not None, "the grader saw no report of its two get(timeout) calls (grader bug)"
    t = watch.plan["cycle"]["pair_timeout"]
    s = watch.plan["cycle"]["pair_signal"]
    outs = pair["outcomes"]
    got = [o for o in outs if o["state"] == "returned" and o.get("value") == s]
    assert len(got) == 1, (
        f"two threads waited in n.get({t}) with nothing queued, and {_n(s)} came {pair['sent_at']:.3f} s after the "
        f"first call: {_said(outs[0])}, {_said(outs[1])}; expected one of them to return {_n(s)} and the other None")
    other = [o for o in outs if o is not got[0]][0]
    assert other["state"] == "returned" and other.get("value") is None, (
        f"two threads waited in n.get({t}); one took {_n(s)}, and then {_said(other)}; expected None {t} s after "
        "its call")
    assert other["seconds"] <= t + PAIR_SLACK, (
        f"two threads waited in n.get({t}) with nothing queued; {_n(s)} came {pair['sent_at']:.3f} s after the call "
        f"and the other thread took it; this one returned None {other['seconds']:.3f} s after its call, not {t} s: "
        "the timeout counts from the call. A wake-up that finds nothing for you is not a new start: compute the "
        "deadline once (time.monotonic() + timeout) and wait only for what is left, as Condition.wait_for does")


def _cycle(exercise) -> dict:
    watch = _need(exercise, "made", "after")
    c = watch.reports["after"].get("cycle")
    if c is None and watch.stop is not None:
        raise watch.stop
    assert c is not None, "the grader saw no report of its second Notifier (grader bug)"
    if "raised" in c:
        _todo(c)
        e = c["raised"]
        raise AssertionError(f"a second Notifier(...), after the first one had stopped, raised {e['type']}: "
                             f"{e['text']}{_at(e)}")
    _todo(c)
    return c


def test_a_listed_signal_sent_right_after_notifier_returns_is_queued_not_fatal(exercise):
    watch = _need(exercise, "made", "child")
    s = watch.plan["cycle"]["dfl"]
    child = watch.reports["child"]
    head = (f"a child process made Notifier([{_n(s)}]) while {_n(s)} had SIG_DFL (whose default action ends the "
            f"process) and sent itself {_n(s)} right after Notifier() returned")
    assert not (child["status"] == "killed" and child.get("signal") == s), (
        f"{head}: the child was killed by {_n(s)}. From the moment Notifier(...) returns, a listed signal is only "
        "queued. If you block the signals for a sigwait thread, block them before you start that thread: a thread "
        "inherits the mask of the thread that starts it, and a signal sent to the process goes to a thread that "
        "does not block it, where SIG_DFL ends the whole process")
    assert child["status"] == "exited" and child.get("code") == 0, (
        f"{head}: " + {"hung": "the child had not ended 2 s later",
                       "killed": f"the child was killed by {_n(child.get('signal', 0))}"}.get(
            child["status"], {3: f"n.get(1.0) did not return {_n(s)}",
                              4: "Notifier(), get() or stop() raised"}.get(child.get("code"),
                                                                         f"the child exited {child.get('code')}"))
        + f"; expected get() to return {_n(s)} and the child to live")


def test_stop_puts_back_the_programs_own_mask_and_wakeup_fd(exercise):
    watch = _need(exercise, "made", "after")
    cy = watch.plan["cycle"]
    c = _cycle(exercise)
    bl, bo = cy["blocked_listed"], cy["blocked_other"]
    head = (f"the program had blocked {_n(bl)} and {_n(bo)} in its main thread and set a wakeup fd of its own "
            f"(fd {c['wakeup_before']}) before Notifier([{_names([cy['dfl'], bl])}])")
    assert bo in c["mask_running"], (
        f"{head}; while the Notifier ran, {_n(bo)}, which it was not given, was no longer blocked in the main thread: "
        "block the listed signals with SIG_BLOCK (added to the mask), never SIG_SETMASK with only yours, which "
        "unblocks every signal the program had blocked")
    assert c["mask_after"] == c["mask_before"], (
        f"{head}; after n.stop() the main thread's blocked signals were [{_names(c['mask_after'])}], before the "
        f"Notifier [{_names(c['mask_before'])}]: stop() puts back exactly the mask there was, the one "
        "pthread_sigmask returned when you blocked (SIG_SETMASK with it); unblocking the listed signals would "
        "unblock one the program had blocked itself")
    assert c["wakeup_after"] == c["wakeup_before"], (
        f"{head}; after n.stop() the wakeup fd was {c['wakeup_after']}, not the program's fd {c['wakeup_before']}: "
        "stop() puts back the fd that signal.set_wakeup_fd returned when you set yours (not -1)")
    wrong = [r for r in c["restored"] if not r[1]]
    assert not wrong, (
        f"{head}; after n.stop(), signal.getsignal({_n(wrong[0][0])}) is {wrong[0][3]}; before it was "
        f"{wrong[0][2]}: stop() puts back every previous disposition, SIG_DFL included (SIG_DFL is 0, so "
        "`if old:` skips it: compare with `is None` if you must)")


def test_stop_has_ended_its_thread_and_closed_its_fds_when_it_returns(exercise):
    c = _cycle(exercise)
    assert "raised" not in c["stop"], f"n.stop() raised {c['stop']['raised']['type']}: {c['stop']['raised']['text']}"
    assert not c["threads_left"] and not c["fds_left"], (
        "the grader held the Notifier's thread still (before its next line of Python) until stop() began to wait "
        "for something; stop() returned with "
        + (f"thread(s) {', '.join(c['threads_left'][:3])} still alive" if c["threads_left"] else "")
        + (" and " if c["threads_left"] and c["fds_left"] else "")
        + (f"fd {', '.join(f'{k} -> {v}' for k, v in list(c['fds_left'].items())[:3])} still open"
           if c["fds_left"] else "")
        + ". stop() must not leave the end to the thread: wake it, join() it, and close the fds yourself, all before "
          "returning")


def test_distinct_signals_arriving_together_each_reach_the_queue(exercise):
    watch = _need(exercise, "made", "stopping")
    b = watch.reports.get("burst")
    assert b is not None, "the grader saw no report of its burst of signals (grader bug)"
    got = [o["value"] for o in b["gets"] if o["state"] == "returned" and isinstance(o.get("value"), int)]
    d = b["drain"]
    if d["state"] == "returned" and isinstance(d.get("value"), list):
        got += d["value"]
    sent = b["sent"]
    missing = [s for s in sent if s not in got]
    last = b["gets"][-1] if b["gets"] else None
    assert not missing, (
        f"the main thread sent {_names(sent)} to its own process back to back, holding the GIL meanwhile, so they "
        "all arrived before the Notifier's thread could run again; then get() and drain() gave "
        f"[{_names(got)}]" + (f" ({_said(last)})" if last and last["state"] != "returned" or
                                (last and last.get("value") is None) else "")
        + f": {_names(missing)} never reached the queue. Distinct signals each arrive: one os.read of the wakeup "
          "fd may return several bytes, one per signal; queue every byte of it (only the first would lose the "
          "others), and with sigwait, loop for each signal")
