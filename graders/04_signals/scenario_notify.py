"""Scenario for notify: the student's Notifier in the main thread; the signals come from the test.

The scenario installs the grader's own dispositions first (its handlers, SIG_IGN, SIG_DFL), then
creates the Notifier and stops at a gate (a FIFO the test holds open) at each step: the main thread
sleeps in os.read while the test, outside, reads /proc/PID/status and sends signals with kill, each
one only once the one before has been delivered and the process has fallen quiet again. Calls of the
student's get() and drain() run in grader threads with deadlines; Notifier() and stop() run in the
main thread, as Python requires. Each step's event carries the report of the phase before it, so a
process that dies later loses nothing. Only data comes back; test_notify.py judges it.
"""

import os
import signal
import sys
import threading
import time
import traceback

from graders.harness.scenario import Fail

CALL_DEADLINE = 1.0     # s for a call that a right Notifier answers at once
SHORT_DEADLINE = 0.25   # once one call has missed its deadline


class Run:
    def __init__(self, ctx, gate: str, student):
        self.ctx, self.student = ctx, student
        self.mine = os.path.abspath(getattr(student, "__file__", "") or "")
        fd = os.open(os.path.join(ctx.tmp, gate), os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        self.gate = fd
        self.missed = 0
        self.tids: list[int] = []

    def deadline(self) -> float:
        return SHORT_DEADLINE if self.missed else CALL_DEADLINE

    def step(self, name: str, waiting=(), measure=(), calibrate=None, **report) -> None:
        """Report the phase just done, then sleep at the gate until the test has acted and looked."""
        self.ctx.event("step", at=name, tids=list(self.tids), waiting={c.label: c.tid for c in waiting},
                       measure=[c.label for c in measure], report=report, calibrate=calibrate)
        if os.read(self.gate, 1) != b"g":   # a signal's handler may run meanwhile: the read goes on (PEP 475)
            raise Fail("the grader stopped the scenario")

    def describe(self, exc: BaseException) -> dict:
        where = ""
        for frame in traceback.extract_tb(exc.__traceback__):
            if os.path.abspath(frame.filename) == self.mine:
                where = f"{os.path.basename(self.mine)} line {frame.lineno}, in {frame.name}"
        return {"type": type(exc).__name__, "text": str(exc)[:200], "where": where,
                "todo": isinstance(exc, NotImplementedError)}


class Call:
    """One call of get() or drain(), in a grader thread of its own."""

    def __init__(self, run: Run, label: str, what: str, fn, *args):
        self.run, self.label, self.what = run, label, what
        self.done = threading.Event()
        self.value = self.exc = None
        self.started = time.monotonic()
        self.ended = None
        self.thread = threading.Thread(target=self._body, args=(fn, args), name=f"grader:{label}", daemon=True)
        self.thread.start()
        self.tid = self.thread.native_id
        run.tids.append(self.tid)

    def _body(self, fn, args) -> None:
        try:
            self.value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - reported
            self.exc = exc
        finally:
            self.ended = time.monotonic()
            self.done.set()

    def outcome(self, deadline: float | None = None) -> dict:
        if not self.done.wait(deadline if deadline is not None else self.run.deadline()):
            self.run.missed += 1
        report = {"call": self.what}
        if not self.done.is_set():
            report["state"] = "waiting"
        elif self.exc is not None:
            report.update(state="raised", **self.run.describe(self.exc))
        else:
            report.update(state="returned", value=_value(self.value), seconds=round(self.ended - self.started, 4))
        return report


def _value(value):
    """A signal number as an int (a signal.Signals is one), None, a list of them, or a description."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [int(v) for v in value]
    return {"other": f"{type(value).__name__} {value!r:.80}"}


def _grader_handler(calls: dict, signum: int):
    def grader_handler(s, frame):
        calls[s] = calls.get(s, 0) + 1
    grader_handler.__qualname__ = f"grader_handler_{signum}"
    return grader_handler


def _disposition(kind: str, calls: dict, signum: int):
    return {"ignore": signal.SIG_IGN, "default": signal.SIG_DFL}.get(kind) or _grader_handler(calls, signum)


def _name(disposition) -> str:
    if disposition is signal.SIG_IGN:
        return "SIG_IGN"
    if disposition is signal.SIG_DFL:
        return "SIG_DFL"
    if disposition is None:
        return "None (installed outside Python)"
    name = getattr(disposition, "__qualname__", None) or repr(disposition)
    return "the grader's handler" if name.startswith("grader_handler") else f"{name[:60]}"


def notify(student, ctx, gate: str, listed: list[int], previous: dict, other_handled: int, other_ignored: int,
           get_timeout: float, cycle: dict | None = None):
    run = Run(ctx, gate, student)
    calls: dict[int, int] = {}
    before = {}
    for s in listed:
        before[s] = _disposition(previous[str(s)], calls, s)
        signal.signal(s, before[s])
    signal.signal(other_handled, _grader_handler(calls, other_handled))
    signal.signal(other_ignored, signal.SIG_IGN)
    wakeup_before = signal.set_wakeup_fd(-1)   # what was set before the Notifier (put back at once)
    signal.set_wakeup_fd(wakeup_before)
    others = {s: signal.getsignal(s) for s in signal.valid_signals()
              if s not in listed and s not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(s) is not None}
    # Two grader threads that wait for ever, one without a timeout and one with, every signal blocked (they take
    # none): the test reads how they sleep (/proc/PID/task/TID/syscall) to learn whether it can tell a timed wait
    # from an untimed one here.
    never = threading.Event()
    calibrate = {}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        for kind, timeout in (("untimed", None), ("timed", 3600.0)):
            t = threading.Thread(target=never.wait, args=(timeout,), name=f"grader:{kind}-wait", daemon=True)
            t.start()
            calibrate[kind] = t.native_id
            run.tids.append(t.native_id)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    run.step("before", calibrate=calibrate)

    try:
        n = student.Notifier(list(listed))
    except BaseException as exc:  # noqa: BLE001 - NotImplementedError included: reported
        never.set()
        ctx.event("step", at="done", tids=list(run.tids), waiting={}, measure=[],
                  report={"made": {"raised": run.describe(exc)}})
        return None
    changed = [s for s, d in others.items() if signal.getsignal(s) is not d]
    run.step("made", made={"others_changed": [[s, _name(others[s]), _name(signal.getsignal(s))] for s in changed]})

    # The test sends the batch while this thread waits at the gate (signals not blocked here).
    run.step("batch")
    batch = {"drain": Call(run, "drain", "n.drain()", n.drain).outcome(),
             "empty": Call(run, "drain-empty", "n.drain() right after", n.drain).outcome(),
             "calls": {str(s): c for s, c in calls.items()}}

    run.step("repeat-1", batch=batch)          # the test sends two distinct listed signals, one after the other
    first = Call(run, "get-1", "n.get(1.0)", n.get, 1.0).outcome()
    older = Call(run, "get-1b", "n.get(1.0) once more", n.get, 1.0).outcome()
    run.step("repeat-2")                       # ... and the first one again
    second = Call(run, "get-2", "n.get(1.0)", n.get, 1.0).outcome()
    started = time.monotonic()
    waited = Call(run, "get-timeout", f"n.get({get_timeout})", n.get, get_timeout).outcome(get_timeout + CALL_DEADLINE)
    waited["elapsed"] = round(time.monotonic() - started, 4)
    zero = Call(run, "get-zero", "n.get(timeout=0)", n.get, 0).outcome()
    report = {"first": first, "older": older, "second": second, "timeout": waited, "zero": zero}

    # Two get(timeout=T) wait together; the grader's signal comes at 0.7 T (a fixed point of the test case,
    # placed once both are seen asleep), one get takes it, the other must return None T after its call.
    if cycle is not None:
        t = cycle["pair_timeout"]
        pair = [Call(run, f"pair-{k}", f"n.get({t}) (thread {k})", n.get, t) for k in (1, 2)]
        run.step("pair-wait", waiting=pair)
        rest = pair[0].started + 0.7 * t - time.monotonic()
        if rest > 0:
            time.sleep(rest)   # the moment of the signal, part of the case; no order depends on it
        sent_at = round(time.monotonic() - pair[0].started, 4)
        os.kill(os.getpid(), cycle["pair_signal"])
        report["pair"] = {"outcomes": [c.outcome(t + CALL_DEADLINE) for c in pair], "sent_at": sent_at,
                          "started_gap": round(pair[1].started - pair[0].started, 4)}

    # get() in another thread while this one sleeps at the gate with the listed signals blocked.
    getter = Call(run, "getter", "n.get()", n.get)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, listed)
    run.step("main-blocked", waiting=[getter], measure=[getter], repeat=report)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    got = getter.outcome()
    burst = _burst(run, n, listed) if cycle is not None else None
    run.step("stopping", blocked={"got": got}, burst=burst)

    try:
        n.stop()
    except BaseException as exc:  # noqa: BLE001 - reported
        stop = {"raised": run.describe(exc)}
    else:
        stop = {"returned": True}
    stop["restored"] = [[s, signal.getsignal(s) is before[s], _name(before[s]), _name(signal.getsignal(s))]
                        for s in listed]
    stop["others_changed"] = [[s, _name(others[s]), _name(signal.getsignal(s))] for s, d in others.items()
                              if signal.getsignal(s) is not d]
    stop["wakeup_fd"] = signal.set_wakeup_fd(-1)   # what is set now (and -1 from here on)
    stop["wakeup_before"] = wakeup_before
    stop["calls"] = {str(s): c for s, c in calls.items()}
    run.step("stopped", stop=stop)   # the test sends signals to the old dispositions
    signal.pthread_sigmask(signal.SIG_BLOCK, [])   # runs the Python handlers of signals already caught
    after = {"calls": {str(s): c for s, c in calls.items()}}
    if cycle is not None:
        run.step("child", after=after, child=_child_dfl(student, cycle["dfl"]))
        after["cycle"] = _cycle(run, student, cycle)
    never.set()
    ctx.event("step", at="done", tids=list(run.tids), waiting={}, measure=[], report={"after": after})
    return None


def _burst(run: Run, n, listed: list[int]) -> dict:
    """Every listed signal sent back to back by this thread while it keeps the GIL (a switch interval of
    1 s, and os.kill does not let it go): whatever thread of the Notifier wakes for the first one cannot
    run Python again before the last one has come, so several arrive before it reads again."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        for s in listed:
            os.kill(os.getpid(), s)
    finally:
        sys.setswitchinterval(old)
    gets = []
    for k in range(len(listed)):
        o = Call(run, f"burst-{k}", "n.get(1.0)", n.get, 1.0).outcome()
        gets.append(o)
        if o["state"] != "returned" or not isinstance(o.get("value"), int):
            break
    return {"sent": list(listed), "gets": gets,
            "drain": Call(run, "burst-drain", "n.drain()", n.drain).outcome()}


class _Hold:
    """Holds the Notifier's own threads at their next line of Python once armed (a trace function set
    with threading.settrace before Notifier() starts them), until the main thread, inside stop(), begins
    to wait (its first lock acquire, as Thread.join and Event.wait do; seen by a profile function), or
    a deadline passes. So a stop() that returns without waiting for its thread returns while that
    thread has not run a line yet: whether it ran first is decided here, not by the scheduler."""

    DEADLINE = 0.5

    def __init__(self, grader: list):
        self.grader = grader   # the native ids of the grader's own threads: never held
        self.armed = False
        self.release = threading.Event()
        self.held = 0

    def trace(self, frame, event, arg):
        if threading.get_native_id() in self.grader:
            return None
        if self.armed and not self.release.is_set():
            self.held += 1
            self.release.wait(self.DEADLINE)
        return self.trace

    def profile(self, frame, event, arg):
        if event == "c_call" and getattr(arg, "__name__", "") in ("acquire", "join", "select", "poll", "read"):
            self.release.set()


def _fds() -> dict:
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return out


def _child_dfl(student, s: int) -> dict:
    """In a child: Notifier([s]) with s at SIG_DFL, s sent at once; the child must live and get() it."""
    pid = os.fork()
    if pid == 0:
        code = 5
        try:
            signal.signal(s, signal.SIG_DFL)
            n = student.Notifier([s])
            os.kill(os.getpid(), s)
            got = n.get(1.0)
            code = 0 if got == s else 3
            n.stop()
        except BaseException:  # noqa: BLE001
            code = 4 if code == 5 else code
        os._exit(code)
    box = {}
    waiter = threading.Thread(target=lambda: box.setdefault("status", os.waitpid(pid, 0)[1]),
                              name="grader:wait-child", daemon=True)
    waiter.start()
    waiter.join(2.0)
    if "status" not in box:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        waiter.join(2.0)
        return {"status": "hung"}
    st = box["status"]
    if os.WIFSIGNALED(st):
        return {"status": "killed", "signal": os.WTERMSIG(st)}
    return {"status": "exited", "code": os.WEXITSTATUS(st)}


def _cycle(run: Run, student, cycle: dict) -> dict:
    """A second Notifier, in a program that had blocked signals of its own and set a wakeup fd of its own."""
    report = {}
    listed = [cycle["dfl"], cycle["blocked_listed"]]
    signal.signal(cycle["dfl"], signal.SIG_DFL)
    handler = _grader_handler({}, cycle["blocked_listed"])
    signal.signal(cycle["blocked_listed"], handler)
    before_disp = {s: signal.getsignal(s) for s in listed}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [cycle["blocked_listed"], cycle["blocked_other"]])
    r0, w0 = os.pipe()
    os.set_blocking(w0, False)
    old_wakeup = signal.set_wakeup_fd(w0, warn_on_full_buffer=False)
    mask_before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    threads_before = set(threading.enumerate())
    fds_before = _fds()
    hold = _Hold(run.tids)
    threading.settrace(hold.trace)
    try:
        try:
            n = student.Notifier(list(listed))
        finally:
            threading.settrace(None)
    except BaseException as exc:  # noqa: BLE001
        report["raised"] = run.describe(exc)
        signal.set_wakeup_fd(old_wakeup)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(r0)
        os.close(w0)
        return report
    mask_running = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    hold.armed = True
    sys.setprofile(hold.profile)
    try:
        n.stop()
        stopped = {"returned": True}
    except BaseException as exc:  # noqa: BLE001
        stopped = {"raised": run.describe(exc)}
    finally:
        sys.setprofile(None)
    left = [t.name for t in threading.enumerate()
            if t not in threads_before and t.is_alive() and not isinstance(t, threading._DummyThread)]
    fds_left = {fd: t for fd, t in _fds().items() if fds_before.get(fd) != t}
    hold.armed = False
    hold.release.set()
    mask_after = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    wakeup_after = signal.set_wakeup_fd(old_wakeup)
    disp_after = {s: signal.getsignal(s) for s in listed}
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    for t in threading.enumerate():
        if t not in threads_before and t is not threading.current_thread():
            try:
                t.join(1.0)
            except (RuntimeError, AssertionError):   # a dummy thread (not started by threading): nothing to join
                pass
    os.close(r0)
    os.close(w0)
    report.update(stop=stopped, threads_left=left, fds_left=fds_left,
                  mask_before=sorted(int(x) for x in mask_before), mask_running=sorted(int(x) for x in mask_running),
                  mask_after=sorted(int(x) for x in mask_after), wakeup_before=w0, wakeup_after=wakeup_after,
                  restored=[[s, disp_after[s] is before_disp[s], _name(before_disp[s]), _name(disp_after[s])]
                            for s in listed])
    return report
