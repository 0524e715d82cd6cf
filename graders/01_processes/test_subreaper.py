"""Grader for exercises/01_processes/subreaper.py (contract: its docstring and CONTRACT-subreaper.md).

One sandbox launch per graded file (scenario_subreaper.adopt), watched from outside while it
runs, and shared by every test. It makes seven calls of adopt_orphan(work):

  call 0  the caller is no subreaper before the call;
  call 1  the caller already is one (the scenario set the flag): it must still be one after;
  call 2  the caller's name (comm) is "x) R 1 (y": /proc/<pid>/stat split on blanks lies;
  call 3  the caller already has two children of its own, one running, one a zombie: adopt_orphan
          must wait for neither;
  call 4  work() raises in the grandchild: no process may come back out of adopt_orphan;
  call 5  every fork fails (a seccomp filter answers EAGAIN) after prctl succeeded: the flag is put
          back, nothing is left, no descriptor stays open;
  call 6  prctl(PR_SET_CHILD_SUBREAPER) fails (a seccomp filter answers it with an errno this run
          drew): adopt_orphan must raise OSError with that errno and try no fork.

work() is the grader's function. The scenario does not let the grandchild run any of the
student's code before its parent at birth, the middle child, has exited (so os.getppid() there
already names the new parent), nor the middle child exit before the caller has blocked. In calls
0-3, work() then reports `held` and stays there, SIGUSR1 blocked, until the test has read
/proc/<grandchild>/stat from here (who is its parent now?) and sends it SIGUSR1; then it returns
the token this run drew: the grandchild's exit status. An audit hook in the caller notes, at each
open of /proc/<n>/stat, whether the middle child had been reaped yet. Once adopt_orphan has
returned, the caller reports `returned` and waits in the same way while the test reads the
caller's children (zombies included) and its fds in /proc. Every wait has a deadline; no sleep
decides anything.
"""

import errno
import os
import random
import signal

from graders.harness import osinspect
from graders.harness.outcome import Timeout

GO = signal.SIGUSR1
STEP_DEADLINE = 2.0      # s for the next report of a call (a right solution needs a few ms)
END_DEADLINE = 3.0       # s for the scenario to finish after the last call (it clears what is left)
KEYS = ("pid", "ppid_before", "ppid_after", "status")
WAIT_CHANNELS = ("do_wait", "kernel_wait4", "kernel_waitid", "do_waitid")
# errnos for the refused prctl; not EPERM or EINVAL, which a student might hard-code
REFUSALS = (errno.EACCES, errno.EBUSY, errno.ENOSYS, errno.EIO, errno.ENODEV, errno.EAGAIN)
REAP_HINT = ("reap the middle child with os.waitpid(middle, 0); once it has exited, the grandchild is your "
             "child, and os.waitpid(grandchild, 0) reaps it")
CALLS = 7
HELD = (0, 1, 2, 3)            # the calls whose work() holds the grandchild while the test looks
RAISES, FORKS_FAIL, PRCTL_FAILS = 4, 5, 6
SITUATION = {
    0: "your process was no subreaper before the call",
    1: "your process already was a child subreaper before the call",
    2: "your process was named 'x) R 1 (y' (prctl PR_SET_NAME), a name with blanks and parentheses",
    3: "your process already had two children of its own, one running and one a zombie",
    4: "work() raised an exception in the grandchild",
    5: "every os.fork() failed with EAGAIN (the grader refused forks with a seccomp filter)",
    6: "prctl(PR_SET_CHILD_SUBREAPER, 1) failed (the grader made it fail with a seccomp filter)",
}

_SEEN: dict = {}


def _name(err):
    if err == 0:
        return "no error"
    return errno.errorcode.get(err, str(err)) if isinstance(err, int) else repr(err)


def _in(i) -> str:
    return f"in call {i + 1} of {CALLS}: {SITUATION[i]}"


# ------------------------------------------------------------------ the one launch, watched


def _session(exercise) -> dict:
    """Run the launch once per graded file; every test reads what it saw."""
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    asked = {"tokens": [random.randint(1, 127), random.randint(128, 255), random.randint(1, 255),
                        random.randint(1, 255)],
             "refuse": random.choice(REFUSALS)}
    seen = _SEEN[key] = {"asked": asked, "calls": [_new_call() for _ in range(CALLS)], "stop": None, "end": None}
    try:
        with exercise.start("adopt", timeout=STEP_DEADLINE, **asked) as run:
            seen["caller"] = run.pid
            try:
                seen["warden"] = osinspect.ppid(run.pid)
            except ProcessLookupError:
                seen["warden"] = None
            _follow(exercise, run, seen)
    except Exception as exc:  # noqa: BLE001 - the sandbox did not start, or ended: every test needing it says so
        seen["stop"] = seen["stop"] or exc
    return seen


def _new_call():
    return {"held": [], "raising": [], "escaped": [], "returned": None, "others": None}


def _follow(exercise, run, seen) -> None:
    calls = seen["calls"]
    current = 0
    while current < len(calls):
        try:
            data = run.event("step", timeout=STEP_DEADLINE, awaiting=_awaiting(seen, current))
        except Timeout as exc:
            seen["stop"] = Timeout(exc.message + _stuck(seen, current))
            return
        except Exception as exc:  # noqa: BLE001 - todo, the process killed...: kept for the tests
            seen["stop"] = exc
            return
        i = data.get("call")
        if type(i) is not int or not 0 <= i < len(calls):
            continue
        what = data.get("what")
        if what == "held":
            _look_held(exercise, seen, calls[i], data)
        elif what == "raising":
            calls[i]["raising"].append(data)
        elif what == "escaped":
            calls[i]["escaped"].append(data)
        elif what == "others":
            calls[i]["others"] = data
        elif what == "returned":
            _look_returned(seen, calls[i], data)
            _send(exercise, seen["caller"], GO)
            current = i + 1
    try:
        run.result(timeout=END_DEADLINE, awaiting="the grader's scenario to finish after the last call")
    except Exception as exc:  # noqa: BLE001 - e.g. a process of the submission still running at the end
        seen["end"] = exc


def _awaiting(seen, i) -> str:
    if i == PRCTL_FAILS:
        refuse = seen["asked"]["refuse"]
        return (f"adopt_orphan(work) to raise OSError while prctl(PR_SET_CHILD_SUBREAPER, 1) failed with "
                f"{_name(refuse)} (the grader made it fail)")
    if i == FORKS_FAIL:
        return ("adopt_orphan(work) to raise the OSError of os.fork(), which failed with EAGAIN (the grader made "
                "every fork fail)")
    if i == RAISES:
        return ("adopt_orphan(work) to return or raise after work() had raised in the grandchild: the grandchild "
                "must still end with os._exit, whatever happens, and the caller reaps both children")
    held = seen["calls"][i]["held"]
    if held:
        g, token = held[-1]["pid"], seen["asked"]["tokens"][i]
        return (f"adopt_orphan(work) to return ({_in(i)}): the grandchild (pid {g}) had been let go and ended with "
                f"status {token}, what work() returned; {REAP_HINT}")
    return (f"adopt_orphan(work) to call work() in the grandchild, or to return ({_in(i)}): fork the middle child, "
            "fork the grandchild from it, and call work() in the grandchild")


def _stuck(seen, i) -> str:
    """Where the caller is stuck, as /proc shows it from here (said after a timeout)."""
    caller = seen.get("caller")
    others = (seen["calls"][i]["others"] if 0 <= i < CALLS else None) or {}
    try:
        state = osinspect.state(caller)
        with open(f"/proc/{caller}/wchan") as f:
            wchan = f.read().strip()
        kids = [f"pid {pid} (state {osinspect.state(pid)}"
                + (", a child your process had before the call)" if pid in (others.get("running"),
                                                                             others.get("zombie")) else ")")
                for pid in osinspect.children(caller)]
    except (OSError, ProcessLookupError, TypeError):
        return ""
    has = f"its children: {', '.join(kids)}" if kids else "it had no child left"
    if "pipe_read" in wchan:
        return (f". Your process was asleep reading a pipe (wchan {wchan}; {has}): a read waits until data comes or "
                "every copy of the write end is closed, in every process, yours included; close the ends a process "
                "does not use right after the fork")
    if wchan in WAIT_CHANNELS:
        if others:
            return (f". Your process was asleep in a wait call (wchan {wchan}; {has}): it waits for a child that has "
                    f"not exited, such as pid {others.get('running')}, which your process had before the call and "
                    "which runs on. Wait only for the pids adopt_orphan started: os.waitpid(pid, 0), never os.wait() "
                    "or os.waitpid(-1, ...)")
        return (f". Your process was asleep in a wait call (wchan {wchan}; {has}): it waits for a child that has not "
                "exited")
    if state == "R":
        return f". Your process was running (state R; {has}): a loop that does not end?"
    return f". Your process was in state {state} (wchan {wchan or '-'}; {has})"


def _send(exercise, pid, signum) -> None:
    """Signal only a process of the submission (pids come from the sandbox's reports)."""
    if type(pid) is not int or pid <= 1 or pid == os.getpid() or pid not in exercise.living():
        return
    try:
        os.kill(pid, signum)
    except OSError:
        pass


def _look_held(exercise, seen, call, data) -> None:
    """work() holds the grandchild: who is its parent now, as the kernel shows it from here?"""
    obs = dict(data)
    g = data.get("pid")
    try:
        obs["proc_ppid"] = osinspect.ppid(g)
        obs["proc_state"] = osinspect.state(g)
        obs["proc_pgrp"] = osinspect.pgid(g)
    except (ProcessLookupError, TypeError, ValueError):
        obs["proc_ppid"] = obs["proc_state"] = obs["proc_pgrp"] = None
    call["held"].append(obs)
    _send(exercise, g, GO)


def _look_returned(seen, call, data) -> None:
    """adopt_orphan has returned and the caller waits: what is left of what it started, which fds?"""
    obs = dict(data)
    kids = []
    for pid in osinspect.children(seen["caller"]):
        try:
            kids.append((pid, osinspect.state(pid), osinspect.comm(pid)))
        except ProcessLookupError:
            pass
    obs["children"] = kids
    try:
        obs["fds_after"] = osinspect.fd_targets(seen["caller"])
    except (OSError, ProcessLookupError):
        obs["fds_after"] = None
    call["returned"] = obs


# ------------------------------------------------------------------------- reading it


def _call(exercise, i) -> dict:
    seen = _session(exercise)
    call = seen["calls"][i]
    if call["returned"] is None:
        raise seen["stop"] or AssertionError("the grader saw no report of this call (grader bug)")
    return call


def _describe_exc(raised) -> str:
    text = f"{raised['type']}: {raised['text']}" if raised.get("text") else raised["type"]
    return text + (f" ({raised['line']})" if raised.get("line") else "")


def _ended(ret) -> str:
    return f"raised {_describe_exc(ret['raised'])}" if "raised" in ret else "returned"


def _value(call, i) -> dict:
    """The dict adopt_orphan returned, as {key: int or repr}; a sentence when it raised or is no dict."""
    ret = call["returned"]
    if "raised" in ret:
        raise AssertionError(f"adopt_orphan(work) raised {_describe_exc(ret['raised'])} ({_in(i)}): "
                             f"{_raised_hint(call)}")
    value = ret["value"]
    if "items" not in value:
        raise AssertionError(f"adopt_orphan(work) returned {value['repr']} ({value['type']}), expected a dict with "
                             f"the keys {', '.join(KEYS)}")
    items = value["items"]
    missing = [k for k in KEYS if k not in items]
    extra = [k for k in items if k not in KEYS]
    assert not missing and not extra, (
        f"adopt_orphan(work) returned a dict with the keys {sorted(items)}, expected exactly {list(KEYS)}"
        + (f" (missing: {', '.join(missing)})" if missing else "") + (f" (not asked for: {', '.join(extra)})"
                                                                     if extra else ""))
    bad = [k for k in KEYS if type(items[k]) is not int]
    assert not bad, (f"adopt_orphan(work) returned {bad[0]!r}: {items[bad[0]]}, expected an int (pids and exit "
                     f"statuses are ints)")
    return items


def _raised_hint(call) -> str:
    raised = call["returned"]["raised"]
    if raised["type"] == "ChildProcessError":
        return ("waitpid answers ECHILD (ChildProcessError) for a process that is not your child: the grandchild "
                "becomes yours only when the kernel re-parents it to you, which it does only if your process is a "
                "child subreaper when the middle child exits")
    if raised["type"] == "ValueError" and call["returned"].get("comm"):
        return (f"your process's name was {call['returned']['comm']!r}, and the grandchild's (a copy of it) is the "
                "2nd field of /proc/<pid>/stat, in parentheses: it may contain blanks and ')' itself, so split the "
                "line after its last ')' and count the fields from there")
    return "it must return the dict once both children are reaped"


def _grandchild(call):
    """The held report of work() run in a grandchild, once its parent at birth had exited."""
    for h in call["held"]:
        if h.get("depth") == 2 and h.get("parent_exited"):
            return h
    return None


def _orphan_problem(call, seen) -> str | None:
    """Why call shows no grandchild orphaned by its middle child (None: it does)."""
    held, ret = call["held"] or call["raising"], call["returned"]
    caller = seen["caller"]
    if not held:
        if "raised" in ret:
            return f"adopt_orphan(work) raised {_describe_exc(ret['raised'])} and never called work()"
        return ("adopt_orphan(work) returned without work() ever being called: the grandchild must call it "
                "(os._exit(work()))")
    if len(held) > 1:
        return (f"work() was called {len(held)} times (in pids {', '.join(str(h['pid']) for h in held)}): call it "
                "once, in the grandchild only")
    h = held[0]
    g, depth, m = h.get("pid"), h.get("depth"), h.get("born_of")
    if depth == 0:
        return (f"work() was called in your own process (pid {caller}), not in a grandchild: fork a middle child; "
                "it forks the grandchild, which calls work()")
    if depth == -1:
        return (f"work() ran in pid {g}, a process not made by os.fork (the grader follows every os.fork of your "
                "code): fork the middle child and the grandchild with os.fork()")
    if depth == 1:
        return (f"work() ran in pid {g}, a child of your process (its parent at birth was pid {caller}, yours), not "
                "in a grandchild: fork a middle child first; the middle child forks the grandchild and exits, and "
                "the grandchild calls work()")
    if depth != 2:
        return f"work() ran in pid {g}, {depth} forks below your process, not in a grandchild (2 forks below)"
    if not h.get("parent_exited"):
        if h.get("parent_waiting"):
            return (f"the middle child (pid {m}) was asleep in a wait call (wchan {h.get('parent_wchan')}) while the "
                    f"grandchild (pid {g}) was about to run: a middle child that waits for the grandchild never "
                    "leaves it an orphan. End the middle child with os._exit(0) as soon as it has forked the "
                    "grandchild (and sent you its pid)")
        return (f"the middle child (pid {m}) was still running (state {h.get('parent_state')}) {h.get('waited')} s "
                f"after it had forked the grandchild (pid {g}): it must end with os._exit(0) at once after forking "
                "the grandchild, without waiting for anything the grandchild does")
    return _middle_escaped(call)


def _middle_escaped(call) -> str | None:
    escaped = [e for e in call["escaped"] if e.get("depth") == 1]
    if escaped:
        e = escaped[0]
        return (f"the middle child (pid {e.get('pid')}) came back out of adopt_orphan into the grader's code "
                f"({e.get('how')}): a forked child must end with os._exit(0), whatever happens, never return or "
                "raise (sys.exit raises SystemExit, which runs the rest of the caller's program in the child)")
    return None


def _who(seen, p) -> str:
    if p is None:
        return "none: it was gone"
    if p == os.getpid():
        return (f"pid {p}, the grader's pytest process, itself a child subreaper (it adopts what tests leave behind; "
                "without it, or on your own machine, the orphan goes to PID 1, or to a subreaper such as a "
                "desktop's systemd --user)")
    if p == seen.get("warden"):
        return f"pid {p}, the grader's warden, the parent of your process (os.getppid())"
    if p == 1:
        return "PID 1, init"
    try:
        return f"pid {p} ({osinspect.comm(p)})"
    except ProcessLookupError:
        return f"pid {p}"


def _unavailable(exercise, i) -> bool:
    """True when the kernel here could not make fork or prctl fail on purpose (no seccomp filter)."""
    return bool(_call(exercise, i)["returned"].get("unavailable"))


# ------------------------------------------------------------------------------- tests


def test_the_caller_adopts_the_orphan_because_it_made_itself_a_subreaper_before_forking(exercise):
    seen = _session(exercise)
    caller = seen["caller"]
    for i in (0, 2, 3):
        call = _call(exercise, i)
        h = _grandchild(call)
        if h is None:
            raise AssertionError(f"who adopts the orphan could not be seen ({_in(i)}): " + (
                _orphan_problem(call, seen) or "work() never ran in a grandchild whose parent had exited"))
        g, m, p = h["pid"], h["born_of"], h["proc_ppid"]
        at_fork = call["returned"].get("at_fork") or []
        if p != caller and at_fork[:1] == [1]:
            raise AssertionError(
                f"while work() held the grandchild (pid {g}) after its parent, the middle child (pid {m}), had "
                f"exited, /proc/{g}/stat gave its parent as {_who(seen, p)}, not your process (pid {caller}). Your "
                "process was a child subreaper when it forked the middle child, but no longer when the middle child "
                f"exited: adopt_orphan(work) had already cleared the flag (it {_ended(call['returned'])} in the "
                "end). The kernel hands the orphan over only as its parent exits, which can be any time after the "
                "fork; os.waitpid on the middle child returns after that moment (end-of-file on a pipe does not: a "
                "dying process closes its files first), so reap the middle child before you clear the flag")
        assert p == caller, (
            f"while work() held the grandchild (pid {g}) after its parent, the middle child (pid {m}), had exited, "
            f"/proc/{g}/stat gave its parent as {_who(seen, p)}, not your process (pid {caller}). When a process "
            "exits, the kernel gives its children to the nearest ancestor that is a child subreaper, or to PID 1 "
            "when there is none; your process was not one when the middle child exited"
            + (" (PR_GET_CHILD_SUBREAPER said 0 when it forked)" if at_fork[:1] == [0] else "")
            + ". Call prctl(PR_SET_CHILD_SUBREAPER=36, 1, 0, 0, 0) in the caller itself (fork does not copy the "
              "flag into children), before it forks, and check that it returned 0")
        assert at_fork[:1] != [0], (
            f"the grandchild (pid {g}) was adopted by your process this time, but your process was not a child "
            "subreaper yet when it forked the middle child (PR_GET_CHILD_SUBREAPER said 0 at that os.fork): prctl "
            "came after the fork, so a middle child that exits at once may be gone before prctl runs, and its "
            "orphan goes elsewhere. Set the flag before you fork")


def test_the_middle_child_exits_at_once_and_leaves_the_grandchild_an_orphan(exercise):
    seen = _session(exercise)
    for i in HELD:
        problem = _orphan_problem(_call(exercise, i), seen)
        assert problem is None, problem + (f" ({_in(i)})" if i else "")
    problem = _middle_escaped(_call(exercise, RAISES))
    assert problem is None, f"{problem} ({_in(RAISES)})"


def test_the_grandchild_exits_with_the_status_work_returned(exercise):
    seen = _session(exercise)
    for i in HELD:
        call = _call(exercise, i)
        token = seen["asked"]["tokens"][i]
        status = _value(call, i)["status"]
        if status == token:
            continue
        escaped = [e for e in call["escaped"] if (e.get("depth") or 0) >= 2]
        held = [h for h in call["held"] if h.get("depth")]
        if escaped:
            e = escaped[0]
            raise AssertionError(
                f"the grandchild (pid {e.get('pid')}) came back out of adopt_orphan into the grader's code "
                f"({e.get('how')}) after work() had returned {token}, and "
                f"\"status\" is {status}: end the grandchild with os._exit(work()), whatever happens (sys.exit "
                "raises SystemExit, which unwinds into the code that called adopt_orphan)")
        if not held:
            raise AssertionError(f"\"status\" is {status}, but work() was never called in a forked process: the "
                                 f"grandchild must end with os._exit(work()) (work() returns {token} this time)")
        g = held[0]["pid"]
        if status == token << 8:
            why = "that is the raw wait status (the exit status << 8): decode it with os.waitstatus_to_exitcode"
        elif status == token - 256:
            why = f"{status} is {token} read as a signed byte; exit statuses run from 0 to 255"
        elif status == 0:
            why = "did the grandchild end with os._exit(0) rather than os._exit(work())?"
        else:
            why = "end the grandchild with os._exit(work()) and decode waitpid's status with os.waitstatus_to_exitcode"
        raise AssertionError(f"work() returned {token} in the grandchild (pid {g}), so its exit status is {token}, "
                             f"but \"status\" is {status}: {why}" + (f" ({_in(i)})" if i else ""))
    call = _call(exercise, RAISES)
    escaped = [e for e in call["escaped"] if (e.get("depth") or 0) >= 2]
    if escaped:
        e = escaped[0]
        raise AssertionError(
            f"work() raised RuntimeError in the grandchild (pid {e.get('pid')}), and the grandchild came back out of "
            f"adopt_orphan into the grader's code ({e.get('how')}): from there it would run the rest of the "
            "caller's program a second time. Call work() inside try/finally (or catch everything) in the "
            "grandchild and end it with os._exit in every case: os._exit(work()) when work() returns, a nonzero "
            "status such as os._exit(1) when it raises")


def test_the_middle_child_is_reaped(exercise):
    for i in range(FORKS_FAIL):
        ret = _call(exercise, i)["returned"]
        kids = {pid: state for pid, state, _ in ret["children"]}
        for m in [pid for pid, depth in ret["forks"] if depth == 1]:
            assert kids.get(m) != "Z", (
                f"when adopt_orphan returned, the middle child (pid {m}) was still a zombie (state Z in "
                f"/proc/{m}/stat), a child of your process ({_in(i)}): a child that has exited stays a zombie until "
                f"its parent waits for it; reap it with os.waitpid({m}, 0) (before you read the grandchild's "
                "parent: the grandchild is re-parented when the middle child exits)")
            assert m not in kids, (
                f"when adopt_orphan returned, the middle child (pid {m}) was still running (state {kids.get(m)}) "
                f"({_in(i)}): it must exit at once after forking the grandchild, and the caller must reap it with "
                "os.waitpid")


def test_the_adopted_grandchild_is_reaped_and_no_process_is_left(exercise):
    seen = _session(exercise)
    for i in range(PRCTL_FAILS):
        ret = _call(exercise, i)["returned"]
        if ret.get("unavailable"):
            continue
        middles = {pid for pid, depth in ret["forks"] if depth == 1}
        kids = {pid: (state, comm) for pid, state, comm in ret["children"]}
        others = ret.get("others") or {}
        zombie, running = others.get("zombie"), others.get("running")
        if zombie is not None:
            assert kids.get(zombie, (None,))[0] == "Z", (
                f"adopt_orphan(work) reaped pid {zombie}, a child your process had before the call, which had "
                f"exited and was waiting as a zombie for its parent's wait ({_in(i)}): a wait for any child "
                "(os.wait(), os.waitpid(-1, ...)) takes whichever child has ended first, not necessarily one of "
                "yours, and steals its exit status from the code that started it. Wait for the two pids "
                "adopt_orphan started, with os.waitpid(pid, 0)")
            assert running in kids and kids[running][0] != "Z", (
                f"pid {running}, a child your process had before the call and that was running, was no longer there "
                f"(or had ended) when adopt_orphan(work) returned ({_in(i)}): adopt_orphan must leave alone every "
                "process it did not start")
        for g in [pid for pid, depth in ret["forks"] if depth >= 2]:
            state = kids.get(g, (None,))[0]
            assert state != "Z", (
                f"when adopt_orphan returned, the grandchild (pid {g}) was a zombie (state Z in /proc/{g}/stat) and a "
                f"child of your process ({_in(i)}): it was adopted by your process, so only your process can reap "
                f"it; call os.waitpid({g}, 0) before returning")
            assert state is None, (
                f"when adopt_orphan returned, the grandchild (pid {g}) was still running (state {state}), a child of "
                f"your process ({_in(i)}): wait for it with os.waitpid({g}, 0) (it ends once work() has returned)")
        left = [(pid, sc) for pid, sc in kids.items() if pid not in middles and pid not in (zombie, running)]
        assert not left, (
            f"when adopt_orphan {_ended(ret)}, your process still had a child it started ({_in(i)}): pid "
            f"{left[0][0]} ({left[0][1][1]}, state {left[0][1][0]}): every process adopt_orphan starts must be "
            "reaped before it returns or raises")
    if seen["end"] is not None:
        raise seen["end"]


def test_the_returned_pids_match_what_proc_showed(exercise):
    seen = _session(exercise)
    caller = seen["caller"]
    for i in HELD:
        call = _call(exercise, i)
        items = _value(call, i)
        h = _grandchild(call)
        if h is None:
            raise AssertionError(f"the returned pids could not be checked ({_in(i)}): " + (
                _orphan_problem(call, seen) or "work() never ran in a grandchild whose parent had exited"))
        g, m, p = h["pid"], h["born_of"], h["proc_ppid"]
        got = items["pid"]
        assert got == g, (
            f"\"pid\" is {got}, but work() ran in pid {g}, the grandchild"
            + (": that is the middle child's pid" if got == m else ": that is your own pid" if got == caller else "")
            + "; the middle child knows the grandchild's pid (os.fork returned it there): send it to the caller "
              "through a pipe")
        got = items["ppid_before"]
        if got == caller:
            why = (f": {got} is your own pid, the grandchild's parent only after the adoption. If you took it from "
                   "os.getppid() in the grandchild: by the time the grandchild runs, its parent at birth may already "
                   "have exited (here it had), and getppid names the new parent")
        else:
            why = ""
        assert got == m, (
            f"\"ppid_before\" is {got}, but the grandchild (pid {g}) was born as a child of the middle child, pid {m}"
            f"{why}. Take the middle child's pid from what os.fork() returned in the caller")
        got = items["ppid_after"]
        read = (call["returned"].get("opens") or {}).get(str(g))
        early = {int(k): v for k, v in ((read or {}).get("middles") or {}).items() if v in ("running", "exited")}
        if early:
            mid, state = next(iter(early.items()))
            at = f" ({read['line']})" if read.get("line") else ""
            if state == "running":
                now = ("was still running: the file could still name the middle child as the parent, or already "
                       "your process, depending on which of the two processes the CPU ran first")
            else:
                now = ("had exited but was not reaped yet (a zombie): it had already handed the grandchild over this "
                       "time, but nothing in your code made sure of that")
            raise AssertionError(
                f"your process read /proc/{g}/stat{at} for \"ppid_after\" while the middle child (pid {mid}) {now}"
                + (f" (\"ppid_after\" is {got})" if got != p else "")
                + ". The kernel hands the grandchild over during the middle child's exit, after the middle child "
                  "has closed its files, so end-of-file on the pipe comes before it. Read the grandchild's parent "
                  f"after os.waitpid({mid}, 0) has returned: only then is the re-parenting sure"
                + (f" ({_in(i)})" if i else ""))
        said = f"\"ppid_after\" is {got}"
        if got == m:
            said += ", the middle child's pid (the grandchild's parent at birth)"
            advice = "read the grandchild's parent once the middle child has exited and you have reaped it"
        elif got == h.get("proc_pgrp"):
            said += ", the grandchild's process group (the 5th field of its /proc/<pid>/stat), not its parent"
            advice = ("the ppid is the 4th field: pid, (name), state, ppid; after the last ')', it is the 2nd "
                      "field")
        elif i == 2:
            said += (f": your process, and so the grandchild, was named {call['returned'].get('comm')!r}, and the "
                     "2nd field of /proc/<pid>/stat is that name in parentheses, which may contain blanks and ')' "
                     "itself")
            advice = ("split the line after its last ')' and count the fields from there (the ppid is the 2nd after "
                      "it)")
        elif got == seen.get("warden"):
            said += ", the pid of your own process's parent (os.getppid()), not the grandchild's parent"
            advice = "read the grandchild's /proc/<pid>/stat, not your own"
        elif got == 1 and p != 1:
            said += ": PID 1 adopts orphans only when no ancestor is a subreaper"
            advice = "read the kernel's answer instead of assuming it"
        else:
            advice = "read it from there"
        assert got == p, (
            f"{said}; but while the grandchild (pid {g}) waited in work() after the middle child had exited, "
            f"/proc/{g}/stat gave its parent as {p}" + (", your process" if p == caller else "")
            + f": {advice}. \"ppid_after\" is the 4th field of /proc/{g}/stat, read after reaping the middle child "
              "and before reaping the grandchild" + (f" ({_in(i)})" if i else ""))


def test_the_subreaper_setting_is_left_as_it_was_found(exercise):
    for i in range(PRCTL_FAILS):
        ret = _call(exercise, i)["returned"]
        if ret.get("unavailable"):
            continue
        before = ret.get("subreaper_before")
        after = ret.get("subreaper_after")
        if after == before:
            continue
        if i == FORKS_FAIL:
            raise AssertionError(
                f"when os.fork() failed with EAGAIN (the grader refused forks), adopt_orphan(work) "
                f"{_ended(ret)} and left your process a child subreaper: PR_GET_CHILD_SUBREAPER said {before} before "
                f"the call and {after} after it. Put the flag back on every way out of adopt_orphan, also when a "
                "step after prctl raises: in a finally block")
        if before == 0:
            raise AssertionError(
                f"adopt_orphan(work) left your process a child subreaper ({_in(i)}): PR_GET_CHILD_SUBREAPER said 0 "
                f"before the call and {after} after it. The flag belongs to the whole process and outlives the call "
                "(every later orphan below it would come to it); read it with PR_GET_CHILD_SUBREAPER first and set "
                "that value back before returning (in a finally block)")
        raise AssertionError(
            "your process already was a child subreaper before the call (PR_GET_CHILD_SUBREAPER said 1: the grader "
            f"had set it), and after adopt_orphan(work) it says {after}: set back the value you read before, not 0")


def test_a_failed_prctl_raises_oserror_with_its_errno_and_starts_no_process(exercise):
    seen = _session(exercise)
    ret = _call(exercise, PRCTL_FAILS)["returned"]
    if ret.get("unavailable"):
        return  # the kernel here cannot make prctl fail on purpose (no seccomp filter): nothing to check
    refuse = seen["asked"]["refuse"]
    name = _name(refuse)
    made = "the grader made it fail with a seccomp filter"
    tried = ret.get("at_fork") or []
    raised = ret.get("raised")
    if raised is None:
        raise AssertionError(
            f"in this call prctl(PR_SET_CHILD_SUBREAPER, 1) returns -1 with errno {name} ({made}), but "
            f"adopt_orphan(work) returned {ret['value'].get('items', ret['value'].get('repr'))} instead of raising "
            "OSError: a C function called through ctypes does not raise when it fails; compare its result with 0 and "
            "raise OSError(errno, os.strerror(errno))")
    assert not tried, (
        f"in this call prctl(PR_SET_CHILD_SUBREAPER, 1) returns -1 with errno {name} ({made}), yet adopt_orphan(work) "
        f"went on to call os.fork() ({len(tried)} time(s)), then raised {_describe_exc(raised)}"
        + (" (forks fail in this call too: the grader still refuses them after the previous check)"
           if raised["type"] == "BlockingIOError" else "")
        + ": without the flag, the orphan goes to another process and can never be reaped by yours. Call prctl "
          "and check its result before you fork, and raise")
    assert raised["oserror"], (
        f"prctl(PR_SET_CHILD_SUBREAPER, 1) returned -1 ({name}: {made}), and adopt_orphan(work) raised "
        f"{_describe_exc(raised)}, expected OSError(errno, os.strerror(errno)) with the errno prctl set")
    got = raised["errno"]
    if got != refuse:
        how = ("load the C library with ctypes.CDLL(None, use_errno=True) and read ctypes.get_errno() right after "
               "the call (ctypes keeps errno for you only with use_errno=True)" if not got else
               "read the errno of that very call with ctypes.get_errno() (use_errno=True), do not choose one")
        raise AssertionError(
            f"prctl(PR_SET_CHILD_SUBREAPER, 1) returned -1 and set errno {refuse} ({name}: {made}), but the OSError "
            f"adopt_orphan(work) raised carries errno {got!r} ({_name(got)}): {how}")
    assert not ret["children"], (
        f"after prctl had failed, your process still had a child: pid {ret['children'][0][0]}: start no process "
        "when prctl fails")


def test_adopt_orphan_leaves_no_new_file_descriptor_open(exercise):
    for i in range(CALLS):
        ret = _call(exercise, i)["returned"]
        after, before = ret.get("fds_after"), ret.get("fds_before")
        if ret.get("unavailable") or after is None or before is None:
            continue
        new = sorted(set(after) - set(before))
        if not new:
            continue
        shown = ", ".join(f"fd {fd} ({after[fd]})" for fd in new[:4])
        what = ("both ends of the pipe if it made one: the caller's copy of the write end right after forking the "
                "middle child, the read end once it has read the pid" if any(after[fd].startswith("pipe:")
                                                                              for fd in new) else "")
        raise AssertionError(
            f"after adopt_orphan(work) {_ended(ret)}, your process had {len(new)} file descriptor(s) open that were "
            f"not open before the call ({_in(i)}): {shown}. Each call that leaks one brings a process nearer its "
            "limit of open files (ulimit -n). Close every descriptor adopt_orphan opens"
            + (f", {what}" if what else "") + ", on every way out, also when a step fails (with try/finally, or "
              "with os.fdopen / open(fd) in a with block)")
