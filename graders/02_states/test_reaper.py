"""Grader for exercises/02_states/reaper.py (contract: DESIGN §10, reaper).

Every check runs on the real OS in the sandbox (scenario_reaper.py): children
are forked there, released through pipes, and /proc tells whether they are
zombies (state Z), still running, or reaped.
"""

import signal


def _sig(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _how(code):
    return f"exited with os._exit({code})" if code >= 0 else f"was killed by {_sig(-code)}"


def _why_code(got, want):
    """Name the likely mistake behind a wrong return code."""
    if want >= 0:
        if got == want << 8 and want:
            return "that is the raw wait status (exit status << 8)"
        return "the exit status is what the child passed to exit"
    n = -want
    if got == 128 + n:
        return f"128+{n} is the shell's way of writing it in $?, but subprocess says -{n}"
    if got == n:
        return f"that is the raw wait status (the signal number {n} in its low bits)"
    if got == 0:
        return "os.WEXITSTATUS means nothing for a child killed by a signal"
    return f"a child killed by signal {n} has return code -{n} in subprocess's convention"


# Exit codes are drawn afresh each run (edges always included), and checked against what the test
# asked for: a result made up in advance, or copied from another run, does not fit.
ONE_AT_A_TIME_EDGES = [0, 1, 255, -signal.SIGKILL, -signal.SIGTERM, -signal.SIGSEGV]
BURST_EDGES = [0, 255, -signal.SIGHUP, -signal.SIGKILL, -signal.SIGUSR2, -signal.SIGALRM, -signal.SIGTERM]


def _random_plan(edges, extra):
    import random
    plan = edges + random.sample(range(2, 255), extra)
    random.shuffle(plan)
    return plan


def _check_plan(r, plan):
    codes = [code for _, code in r["children"]]
    assert codes == plan[:len(codes)] and codes, (
        f"the grader asked for children exiting with {plan[:6]}..., but the scenario reported {codes[:6]}...: "
        "the result did not come from this run")


def _check_children(r, when, merged=False):
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
            f"{len(zombies)} of {n} children that {when} are still zombies (state Z in "
            f"/proc/PID/stat, e.g. pid {zombies[0]}) {r['elapsed']} s later, and your "
            f"dict has {len(recorded)} of the {n} entries: the kernel does not queue SIGCHLD, "
            f"so those {n} exits arrived as only a few signals and one run of the handler "
            f"stands for many dead children; loop on os.waitpid(-1, os.WNOHANG) until it "
            f"returns pid 0 or raises ChildProcessError"
        )
    assert not zombies, (
        f"pid {zombies[0] if zombies else 0} is still a zombie (state Z in /proc/PID/stat) after "
        f"it {when}: your SIGCHLD handler did not reap it; call os.waitpid(-1, os.WNOHANG) "
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
        assert got == want, (
            f"pid {pid} {_how(want)} but your dict says {got!r}, expected {want} "
            f"({_why_code(got, want) if isinstance(got, int) else 'return codes are ints'}): "
            f"decode the wait status with os.waitstatus_to_exitcode(status)"
        )


def test_install_reaper_installs_a_sigchld_handler_and_no_thread(exercise):
    r = exercise.run("installed", awaiting="install_reaper() to return")
    assert r["returned"] == "dict", (
        f"install_reaper() returned {r['returned_repr']} ({r['returned']}), expected the dict "
        f"that the SIGCHLD handler fills"
    )
    assert r["returned_repr"] == "{}", (
        f"install_reaper() returned {r['returned_repr']} before any child existed: the dict must start empty"
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


def test_return_codes_are_recorded_and_nothing_escapes_when_no_child_is_left(exercise):
    plan = _random_plan(ONE_AT_A_TIME_EDGES, 6)
    r = exercise.run("one_at_a_time", plan=plan, awaiting="the handler to record children exiting one at a time")
    _check_plan(r, plan)
    _check_children(r, "exited as the only child")


def test_every_child_is_reaped_when_50_exit_at_the_same_moment(exercise):
    plan = _random_plan(BURST_EDGES, 50 - len(BURST_EDGES))
    r = exercise.run("burst", plan=plan, awaiting="the handler to reap 50 children that exited at once")
    _check_plan(r, plan)
    early = r["early"]
    assert not early, (
        f"your dict had {early[:3]} before any child had exited: record only children that waitpid reports as exited"
    )
    _check_children(r, "exited at the same moment", merged=True)


def test_handler_never_blocks_while_a_sibling_runs(exercise):
    r = exercise.run("sibling", awaiting="the handler to reap 5 children while a sibling runs")
    sib = r["sibling"]
    if r["fired"]:
        states = r["main_states"]
        running = states.count("R") > len(states) // 2
        if not r["shorts_gone"]:
            what = "before they were even reaped"
        else:
            what = "after they had been reaped"
        if running:
            raise AssertionError(
                f"5 children exited while a sibling (pid {sib}) kept running, and the main thread "
                f"never came back from your SIGCHLD handler ({what}): it kept running inside it "
                f"(state R in /proc/self/task/TID/stat) until the grader let the sibling exit. "
                f"os.waitpid(-1, os.WNOHANG) returns (0, 0) while a child is still running; "
                f"calling it again at once spins forever: return from the handler when pid is 0"
            )
        wchan = f", in {r['main_wchan']}" if r["main_wchan"] not in ("", "0") else ""
        raise AssertionError(
            f"5 children exited while a sibling (pid {sib}) kept running, and the main thread "
            f"was stuck in your SIGCHLD handler ({what}), asleep in the kernel (state "
            f"{states[-1]}{wchan}), until the grader let the sibling exit {r['after']} s after their exit: "
            f"waitpid without os.WNOHANG (or os.wait()) waits for a child that is still running; "
            f"use os.waitpid(-1, os.WNOHANG) and return when it gives pid 0"
        )
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
    _check_children(r, "exited (the long-running sibling last)")
