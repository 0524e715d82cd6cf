"""Grader for exercises/02_states/reaper.py (contract: its docstring and graders/02_states/CONTRACT.md).

Every check runs on the real OS in the sandbox (scenario_reaper.py): children are made
there, released through pipes while SIGCHLD is blocked, and the student's handler runs
once when it is unblocked; /proc then tells whether they are zombies (state Z), still
running, stopped (T), or reaped. The schedule is forced, never left to timing.

Three launches: `installed` (two tests), `one_at_a_time`, and `others` (burst, sibling, stopped,
spawned: one part each for four tests, each part with an install and children of its own).
"""

import random
import signal


def _sig(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _how(code, dumped=False):
    if code >= 0:
        return f"exited with os._exit({code})"
    return f"was killed by {_sig(-code)}" + (" and dumped core" if dumped else "")


def _why_code(got, want, dumped=False):
    """Name the likely mistake behind a wrong return code."""
    if want >= 0:
        if got == want << 8 and want:
            return "that is the raw wait status (exit status << 8)"
        if got == want - 256:
            return f"{got} is {want} read as a signed byte; exit statuses run from 0 to 255"
        return "the exit status is what the child passed to exit"
    n = -want
    if dumped and got in (-(128 + n), 128 + n):
        return (f"the raw status of a child that dumped core is {n} | 0x80: bit 0x80 (WCOREDUMP) says a core file "
                f"was written, the signal is status & 0x7f (os.WTERMSIG)")
    if got == 128 + n:
        return f"128+{n} is the shell's way of writing it in $?, but subprocess says -{n}"
    if got == n:
        if dumped:
            return (f"a child that dumped core was killed by signal {n} too (waitid's si_code is CLD_DUMPED "
                    f"rather than CLD_KILLED): its return code is -{n}")
        return f"that is the raw wait status (the signal number {n} in its low bits)"
    if got == 0:
        return "os.WEXITSTATUS means nothing for a child killed by a signal"
    return f"a child killed by signal {n} has return code -{n} in subprocess's convention"


# Exit codes are drawn afresh each run (edges always included), and checked against what the test
# asked for: a result made up in advance, or copied from another run, does not fit.
ONE_AT_A_TIME_EDGES = [0, 1, 200, 255, -signal.SIGKILL, -signal.SIGTERM, -signal.SIGSEGV]
CORE_SIGNALS = [signal.SIGQUIT, signal.SIGSEGV, signal.SIGABRT]
BURST_EDGES = [0, 255, -signal.SIGHUP, -signal.SIGKILL, -signal.SIGUSR2, -signal.SIGALRM, -signal.SIGTERM]


def _random_plan(edges, extra):
    plan = edges + random.sample(range(2, 255), extra)
    random.shuffle(plan)
    return plan


def _check_plan(r, plan):
    codes = [code for _, code in r["children"]]
    assert codes == plan[:len(codes)] and codes, (
        f"the grader asked for children exiting with {plan[:6]}..., but the scenario reported {codes[:6]}...: "
        "the result did not come from this run")


_RUNS: dict = {}


def _shared(exercise, scenario, awaiting, **kwargs):
    """One scenario run per graded file, reused by the tests that read it (its exception too)."""
    key = (getattr(exercise, "student_file", None), scenario)
    if key not in _RUNS:
        try:
            _RUNS[key] = exercise.run(scenario, awaiting=awaiting, **kwargs)
        except Exception as exc:  # the same verdict for every test that needs this run
            _RUNS[key] = exc
    result = _RUNS[key]
    if isinstance(result, Exception):
        raise result
    return result


def _others(exercise, part):
    """One part of the folded scenario `others` (burst, sibling, stopped, spawned: one launch for all
    four), with the codes this run asked for."""
    key = (getattr(exercise, "student_file", None), "plans")
    if key not in _RUNS:
        _RUNS[key] = {
            "plan": _random_plan(BURST_EDGES, 50 - len(BURST_EDGES)),
            "code": random.randrange(1, 255),
            "codes": random.sample(range(1, 255), 3),
        }
    asked = _RUNS[key]
    r = _shared(exercise, "others", "the handler to reap children exiting together, beside a running sibling, "
                "after a stop and a continue, and children made by setsid, subprocess and posix_spawn", **asked)
    value = r[part]
    if "fail" in value:
        raise AssertionError(value["fail"])
    return value, asked


def _check_children(r, when, merged=False, dumped=()):
    """The common sentences: reaped, recorded in the returned dict, nothing else, right code."""
    children = {pid: code for pid, code in r["children"]}
    recorded = {k: v for k, v in r["recorded"]}
    states = {pid: s for pid, s in r["states"]}
    zombies = [p for p in children if states[p] == "zombie"]
    alive = [p for p in children if states[p] == "alive"]
    missing = [p for p in children if states[p] == "gone" and p not in recorded]
    n = len(children)

    if zombies and merged:
        raise AssertionError(
            f"{len(zombies)} of {n} children that {when} are still zombies (state Z in /proc/PID/stat, "
            f"e.g. pid {zombies[0]}) after the one run of your SIGCHLD handler that their exits caused, and "
            f"your dict has {len(recorded)} of the {n} entries: the kernel does not queue SIGCHLD (the grader "
            f"kept it blocked while they exited: {n} exits, one pending signal), so one run of the handler "
            f"stands for many dead children; loop on os.waitpid(-1, os.WNOHANG) until it returns pid 0 or "
            f"raises ChildProcessError"
        )
    assert not zombies, (
        f"pid {zombies[0] if zombies else 0} is still a zombie (state Z in /proc/PID/stat) after it {when} "
        f"and your SIGCHLD handler ran for it: the handler did not reap it; call os.waitpid(-1, os.WNOHANG) "
        f"in the handler"
    )
    assert not alive, (
        f"pid {alive[0] if alive else 0} is still running after it was told to exit ({when}): "
        f"did the handler or install_reaper() stop or hold it?"
    )
    if missing and not recorded:
        if "SIG_IGN" in r["disposition"]:
            raise AssertionError(
                "SIGCHLD is set to SIG_IGN, so the kernel discarded the child's exit status "
                "(it never became a zombie) and nothing was recorded: install a Python "
                "function with signal.signal(signal.SIGCHLD, handler)"
            )
        gone = (
            "the child was reaped (it is no longer in /proc)"
            if n == 1
            else f"all {n} children were reaped (none of them is left in /proc)"
        )
        raise AssertionError(
            f"{gone}, yet the dict install_reaper() returned is still empty: "
            f"your handler fills another dict; return the very dict object the handler writes "
            f"into, not a copy"
        )
    assert not missing, (
        f"pid {missing[0] if missing else 0} was reaped after it {when} (it is gone from /proc) "
        f"but is not in the dict install_reaper() returned: record every child the handler reaps"
    )
    extra = [k for k in recorded if k not in children]
    if extra:
        k = extra[0]
        hint = (
            "os.waitpid(-1, os.WNOHANG) returns (0, 0) when children exist but none has "
            "exited yet: pid 0 means stop the loop, not a child to record"
            if k == 0
            else "record only the pids that os.waitpid returned"
        )
        raise AssertionError(
            f"your dict has an entry {k!r}: {recorded[k]!r}, but {k!r} is not a child that "
            f"exited (the children were {sorted(children)[:5]}...): {hint}"
        )
    for pid, want in children.items():
        got = recorded[pid]
        core = pid in dumped
        assert got == want, (
            f"pid {pid} {_how(want, core)} but your dict says {got!r}, expected {want} "
            f"({_why_code(got, want, core) if isinstance(got, int) else 'return codes are ints'}): "
            f"decode the wait status with os.waitstatus_to_exitcode(status)"
        )


# ------------------------------------------------------------------ install


def _installed(exercise):
    return _shared(exercise, "installed", "install_reaper() to return")


def test_install_reaper_installs_a_sigchld_handler_and_no_thread(exercise):
    r = _installed(exercise)
    assert r["returned"] == "dict", (
        f"install_reaper() returned {r['returned_repr']} ({r['returned']}), expected the dict "
        f"that the SIGCHLD handler fills"
    )
    assert not r["sig_ign"], (
        "after install_reaper(), SIGCHLD is set to SIG_IGN: the kernel then reaps every child "
        "itself at exit (state X, never Z), so the return codes are lost and waitpid has "
        "nothing to report; install a Python function with signal.signal(signal.SIGCHLD, handler)"
    )
    assert r["callable"], (
        f"after install_reaper(), signal.getsignal(signal.SIGCHLD) is {r['handler']}: no SIGCHLD "
        f"handler is installed; a polling thread is not a handler: call "
        f"signal.signal(signal.SIGCHLD, handler) with a function"
    )
    assert r.get("arity") is None, (
        f"after install_reaper(), the SIGCHLD handler is {r['handler']}, which Python cannot call: Python calls a "
        f"signal handler as handler(signum, frame), with the signal number and the interrupted frame, and yours "
        f"does not accept them ({r['arity']}); define it as def handler(signum, frame)"
    )
    assert r["sigcgt"], (
        f"signal.getsignal(SIGCHLD) is {r['handler']}, but /proc/self/status SigCgt does not "
        f"show SIGCHLD (bit 17) as caught: the kernel will not run your handler"
    )
    (tb, kb), (ta, ka), (tl, kl) = r["threads_before"], r["threads_after"], r["threads_later"]
    assert ta <= tb and ka <= kb, (
        f"install_reaper() started a thread ({tb} -> {ta} Python threads, {kb} -> {ka} entries "
        f"in /proc/self/task): the contract asks for a SIGCHLD handler, which the main thread "
        f"runs when the signal arrives; no thread is needed"
    )
    assert tl <= tb and kl <= kb, (
        f"a thread was started when the first child exited ({tb} -> {tl} Python threads, {kb} -> "
        f"{kl} entries in /proc/self/task): reap from the SIGCHLD handler itself, without a thread"
    )


def test_install_reaper_returns_a_new_dict_initially_empty(exercise):
    r = _installed(exercise)
    assert r["returned"] == "dict", (
        f"install_reaper() returned {r['returned_repr']} ({r['returned']}), expected a dict "
        f"(the one the SIGCHLD handler fills)"
    )
    assert r["returned_repr"] == "{}", (
        f"install_reaper() returned {r['returned_repr']} before any child existed: the dict must start empty"
    )
    again = r["again"]
    if again is None:
        return  # no handler to speak of: the other test says so
    first = f"a child (pid {r['child'][0]}) had exited" if r["child"] else "a child had been made"
    assert again["empty"] and not again["same"], (
        f"after {first} and your handler had run for it, a second call of install_reaper() returned "
        f"{'the same dict again' if again['same'] else 'a dict'}, {again['repr']} ({again['type']}), expected "
        f"a new, empty dict: every call returns a dict of its own that starts empty; create it inside "
        f"install_reaper(), not once at module level"
    )


# ------------------------------------------------------------ return codes


def test_return_codes_are_recorded_and_nothing_escapes_when_no_child_is_left(exercise):
    plan = _random_plan(ONE_AT_A_TIME_EDGES, 6)
    r = exercise.run("one_at_a_time", plan=plan, cores=CORE_SIGNALS,
                     awaiting="the handler to record children exiting one at a time")
    _check_plan(r, plan + [-s for s in CORE_SIGNALS])
    dumped = {pid for pid, d in r["dumped"] if d}
    _check_children(r, "exited as the only child", dumped=dumped)


def test_every_child_is_reaped_when_50_exit_at_the_same_moment(exercise):
    r, asked = _others(exercise, "burst")
    _check_plan(r, asked["plan"])
    early = r["early"]
    assert not early, (
        f"your dict had {early[:3]} before any child had exited: record only children that waitpid reports as exited"
    )
    _check_children(r, "exited at the same moment", merged=True)


# ------------------------------------------------------- others still running


def _stuck(info, what):
    """The sentence for a run of the handler that did not come back by itself."""
    if info.get("asleep_in_wait"):
        return (
            f"{what}, and the main thread did not come back from your SIGCHLD handler: it slept in the "
            f"kernel in a wait call (state {info['state']}, wchan {info['wchan']} in /proc/self/task/TID) "
            f"until the grader let its children go. waitpid without os.WNOHANG (or os.wait()) "
            f"waits for a child that is still running, and a SIGCHLD does not promise that a child is "
            f"waiting to be reaped (an earlier run may have reaped it; a child that stops sends one too): "
            f"call os.waitpid(-1, os.WNOHANG) every time, and return when it gives pid 0"
        )
    return (
        f"{what}, and the main thread did not come back from your SIGCHLD handler: it ran inside it "
        f"(state {info['state']}, {info['cpu']} s of CPU in {info['after']} s) until the grader let its "
        f"children go. os.waitpid(-1, os.WNOHANG) returns (0, 0) while a child is still running; "
        f"calling it again at once spins: return from the handler when pid is 0"
    )


def test_handler_never_blocks_while_a_sibling_runs(exercise):
    r, _ = _others(exercise, "sibling")
    sib = r["sibling"]
    if r["merged"]["stuck"]:
        raise AssertionError(_stuck(r["merged"], f"5 children exited while a sibling (pid {sib}) kept running"))
    before = r["shorts_before"]
    for k, v in before["recorded"]:
        if k == 0:
            raise AssertionError(
                f"your dict has an entry 0: {v!r} while a sibling (pid {sib}) was still running: "
                f"os.waitpid(-1, os.WNOHANG) returns (0, 0) when children exist but none has "
                f"exited; pid 0 means stop the loop, not a child to record"
            )
    assert r["sibling_recorded_before"] is None, (
        f"your dict had the sibling pid {sib} -> {r['sibling_recorded_before']} while it was still "
        f"running (state {r['sibling_state_before']}): record a child only once waitpid "
        f"returns it as exited"
    )
    _check_children(before, "exited at the same moment while a sibling still ran", merged=True)
    if r["spurious"]["stuck"]:
        raise AssertionError(_stuck(
            r["spurious"],
            f"after the 5 children had been reaped, one more SIGCHLD arrived with nothing to reap while "
            f"the sibling (pid {sib}) kept running (a pending SIGCHLD may stand for exits an earlier run "
            f"of the handler already reaped)"))
    assert r.get("sibling_recorded_spurious") is None, (
        f"your dict had the sibling pid {sib} -> {r['sibling_recorded_spurious']} after a SIGCHLD with nothing "
        f"to reap, while the sibling was still running: record a child only once waitpid returns it as exited"
    )
    _check_children(r, "exited (the long-running sibling last)")


def test_a_stopped_or_continued_child_is_not_recorded_until_it_exits(exercise):
    r, asked = _others(exercise, "stopped")
    assert r["code"] == asked["code"], "the result did not come from this run"
    pid = r["pid"]
    for step, event, letter in (
        ("stop", "was stopped by SIGSTOP", "T, stopped"),
        ("cont", "was stopped by SIGSTOP, then continued by SIGCONT", "S or R, running again"),
    ):
        s = r.get(step)
        if s is None:
            continue
        if s["stuck"]:
            raise AssertionError(_stuck(
                s, f"a child (pid {pid}) {event}: the kernel sent SIGCHLD for that, though the child had not "
                   f"exited and there was nothing to reap"))
        flag = "os.WUNTRACED" if step == "stop" else "os.WCONTINUED"
        assert s["recorded"] is None, (
            f"your dict has pid {pid} -> {s['recorded']!r} after the child {event} (state {s['child_state']} in "
            f"/proc/PID/stat: {letter}; it has not exited): the kernel sends SIGCHLD also when a child stops "
            f"or continues, but os.waitpid(-1, os.WNOHANG) reports only children that exited; waitpid with "
            f"{flag} also reports this change, which is not an exit: record only exited children"
        )
    _check_children(r, "exited (it had been stopped and continued before)")


def test_every_child_is_reaped_however_it_was_made(exercise):
    r, asked = _others(exercise, "spawned")
    assert [k["code"] for k in r["kinds"]] == asked["codes"], "the result did not come from this run"
    made = {
        "setsid": "a forked child that had called os.setsid() (a session and process group of its own)",
        "subprocess": "a child started by subprocess.Popen (no os.fork in your code's sight)",
        "posix_spawn": "a child started by os.posix_spawn (no os.fork at all)",
    }
    why = {
        "setsid": "os.waitpid(0, ...) waits only for children in your own process group; os.waitpid(-1, "
                  "os.WNOHANG) waits for any child",
        "subprocess": "the handler must reap every child of the process, however it was made: "
                      "os.waitpid(-1, os.WNOHANG) asks the kernel, which knows them all, rather than a list of "
                      "pids your code saw being forked",
    }
    why["posix_spawn"] = why["subprocess"]
    for k in r["kinds"]:
        who = f"pid {k['pid']}, {made[k['kind']]},"
        assert k["state"] != "zombie", (
            f"{who} exited with status {k['code']} and is still a zombie (state Z in /proc/PID/stat) after your "
            f"SIGCHLD handler ran for it: {why[k['kind']]}"
        )
    _check_children(r, "exited")
