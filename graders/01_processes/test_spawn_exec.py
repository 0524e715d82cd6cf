"""Grader for exercises/01_processes/spawn_exec.py (contract: its docstring and CONTRACT-spawn_exec.md).

One sandbox launch, shared by every test (cached per graded file), in two parts.

- The gated call, watched from outside. The scenario calls spawn(["cat", POST], preexec_fn=hook)
  (cat by its bare name, found through PATH), where `hook` waits at the FIFO `pre` and then opens
  an inheritable fd, and `cat POST` waits at the FIFO `post`; the test holds both. The caller has
  two inheritable fds (3 and one of 700 or more) and two children of its own (one asleep, one a
  zombie) that spawn must leave alone. While the child waits in the hook (forked, not yet
  exec'd) the test finds it (the process holding `pre` open) and reads /proc: pid, ppid, exe,
  cmdline. It lets it go; once `cat` holds `post` open (exec done), it reads /proc again: the same
  pid must now have cat's exe and exactly the argv given (argv[0] "cat", not the path found), the
  caller's environment (/proc/PID/environ), cwd and fds 0-2, and no other fd. Before the call and
  after it the scenario waits at `go` and `finish` while the test reads the caller's fds, its
  other children and the child's fate (reaped, zombie, running).
- A batch of plain calls, one `case` event each: exit statuses 0..255 (random ones each run),
  deaths by signals (random ones too), a death by SIGABRT with a core dump (where core_pattern
  writes a plain file, in the private folder), commands found only through PATH (one behind a
  file of the same name without execute permission, earlier in PATH), commands that cannot be
  found (127) or executed (126), a preexec_fn that raises (126), each with the children it left
  unreaped; and a program that stops itself with SIGSTOP, which the test continues from outside
  once the caller is asleep in its wait call (a caller that returns on the stop has returned by
  then).

No sleep synchronises anything: every step waits for something /proc shows, with a deadline.
"""

import os
import random
import secrets
import signal
import time

from graders.harness import holding, osinspect
from graders.harness.outcome import Failure, Outcome, Timeout

FIND_DEADLINE = 1.0      # for the child to reach preexec_fn, or cat its FIFO (a correct spawn: a few ms)
EXEC_DEADLINE = 1.0      # for cat to hold its FIFO once the child was let through the hook
CALL_DEADLINE = 1.5      # for spawn to return once cat was let go (a correct one: ~1 ms)
POLL = 0.002
MISSING = "proclab-no-such-command"
SIGNALS = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM]

_SEEN: dict = {}


# -- the batch, drawn afresh each run ------------------------------------------------------------

def _core_files_stay_here() -> bool:
    """Does a core dump land as a plain file in the dumping process's current directory (the private
    folder)? Not when core_pattern pipes it to a crash reporter or names a folder elsewhere."""
    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
    except OSError:
        return False
    return bool(pattern) and not pattern.startswith(("|", "/"))


def _plan(token: str, cont: str) -> list[dict]:
    codes = [0, 255] + random.sample(range(1, 255), 4)
    random.shuffle(codes)
    sigs = [signal.SIGKILL, signal.SIGTERM] + random.sample(SIGNALS, 2)
    random.shuffle(sigs)
    path_code, trap_code, stop_code = random.sample(range(2, 126), 3)
    cases = [{"test": "codes", "argv": ["{sh}", "-c", f"exit {c}"], "expect": c} for c in codes]
    cases += [{"test": "codes", "argv": ["{sh}", "-c", f"kill -{signal.Signals(s).name[3:]} $$"], "expect": -s}
              for s in sigs]
    if _core_files_stay_here():
        # The sandbox's core limit is 0 (soft) and 1 MiB (hard): the shell raises its own, then aborts.
        cases.append({"test": "codes", "argv": ["{sh}", "-c", "ulimit -c $(ulimit -H -c); kill -ABRT $$"],
                      "expect": -signal.SIGABRT, "core": True})
    cases += [{"test": "path", "argv": ["sh", "-c", f"exit {path_code}"], "expect": path_code},
              {"test": "path", "argv": ["false"], "expect": 1},
              {"test": "path", "argv": [f"proclab-prog-{token}", "-c", f"exit {trap_code}"], "expect": trap_code,
               "path_trap": True}]
    cases += [{"test": "missing", "argv": [f"{MISSING}-{token}"], "expect": 127},
              {"test": "missing", "argv": [f"./no-such-file-{token}", "x"], "expect": 127},
              {"test": "nonexec", "argv": ["./not-executable"], "expect": 126},
              {"test": "preexec", "argv": ["{sh}", "-c", "exit 0"], "expect": 126,
               "raise": f"preexec_fn failed on purpose ({token})"},
              {"test": "stopped", "argv": ["{sh}", "-c", f"kill -STOP $$; exit {stop_code}"], "expect": stop_code,
               "stop": True, "cont": cont}]
    return cases


# -- /proc, read from outside --------------------------------------------------------------------

def _fds(pid: int) -> dict[int, str]:
    try:
        return osinspect.fd_targets(pid)
    except ProcessLookupError:
        return {}
    except PermissionError:
        # Not root (same-user mode): a process that is not dumpable (e.g. one that runs a program the
        # user cannot read) hides its fds. Such a process holds nothing the test is looking for.
        return {}


def _look(pid: int, full: bool = False) -> dict | None:
    try:
        fields = osinspect.stat_fields(pid)
        seen = {"pid": pid, "state": fields[0], "ppid": int(fields[1]),
                "cmdline": osinspect.cmdline(pid), "exe": osinspect.exe(pid)}
        seen["fds"] = _fds(pid)
        if full:
            with open(f"/proc/{pid}/environ", "rb") as f:
                seen["environ"] = _environ(f.read())
            seen["cwd"] = os.readlink(f"/proc/{pid}/cwd")
    except (ProcessLookupError, FileNotFoundError, PermissionError):
        return None
    return seen


def _environ(data: bytes) -> dict[str, str]:
    env = {}
    for item in data.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def _holders(caller: int, target: str) -> list[int]:
    """The caller and its descendants that hold TARGET (a FIFO) open."""
    return [pid for pid in [caller, *osinspect.descendants(caller)] if target in _fds(pid).values()]


def _fate(pid: int, caller: int) -> str:
    try:
        fields = osinspect.stat_fields(pid)
    except ProcessLookupError:
        return "reaped"
    if int(fields[1]) != caller:
        return "reaped"
    return "zombie" if fields[0] == "Z" else "running"


def _stopped(pid: int) -> bool:
    """Stopped by a signal, and past telling its parent so (it sleeps in do_signal_stop)."""
    threads = osinspect.threads(pid)
    return bool(threads) and all(state == "T" and wchan in ("do_signal_stop", "") for state, wchan in threads) \
        and any(wchan == "do_signal_stop" for _, wchan in threads)


def _shown(argv) -> str:
    text = " ".join(os.path.basename(a) if a.startswith("/") and len(a) > 30 else a for a in argv or [])
    return (text[:90] + "...") if len(text) > 90 else text


# -- the gated call ------------------------------------------------------------------------------

def _pause(run, seen: dict) -> None:
    """The pause between two looks: has spawn returned already (while the test still held its child)?"""
    if "value" in seen:
        time.sleep(POLL)
        return
    try:
        seen["value"] = run.event("returned", timeout=POLL, awaiting="")["value"]
        seen["returned_at"] = seen["stage"]
    except Timeout:
        pass


def _watch_gated(run, gates: dict) -> dict:
    go, pre, post, finish = gates["go"], gates["pre"], gates["post"], gates["finish"]
    seen: dict = {"stage": "calling"}
    event = run.event("calling", awaiting="the scenario to call spawn")
    seen.update(event)
    caller = seen["caller"] = run.pid
    # The caller's other children, as /proc shows them now (named by the scenario).
    named = {pid: kind for kind, pid in (event.get("others") or {}).items()}
    seen["decoys"] = {pid: (named.get(pid, "child"), _fate(pid, caller)) for pid in osinspect.children(caller)}
    me = _look(caller) or {}
    seen["caller_exe"], seen["caller_cmdline"] = me.get("exe"), me.get("cmdline")
    ours = {go.target, finish.target}
    seen["before"] = {fd: t for fd, t in _fds(caller).items() if t not in ours}
    go.release()

    # Before exec: the child waits in preexec_fn, at `pre` (or cat already waits at `post`).
    seen["stage"] = "before exec"
    deadline = time.monotonic() + FIND_DEADLINE
    while True:   # (a spawn that returns early is noted, and the looking goes on)
        at_pre, at_post = _holders(caller, pre.target), _holders(caller, post.target)
        if at_pre or at_post or time.monotonic() >= deadline:
            break
        _pause(run, seen)
    if at_pre:
        seen["pre"] = _look(at_pre[0])
        pre.release()
        seen["stage"] = "after preexec_fn"
        deadline = time.monotonic() + EXEC_DEADLINE
        while not at_post and time.monotonic() < deadline:
            at_post = _holders(caller, post.target)
            if not at_post:
                _pause(run, seen)
    # After exec: cat waits at `post`.
    if at_post:
        seen["post"] = _look(at_post[0], full=True)
        seen["caller_std"] = {fd: t for fd, t in _fds(caller).items() if fd <= 2}
        if seen["post"]:
            seen["post_parent"] = _look(seen["post"]["ppid"])
    elif "value" not in seen:
        # Nothing reached cat's FIFO and spawn has not returned: whatever the child runs is stuck (e.g. cat
        # reading stdin, started with the wrong argv). Note what it runs, then end it, so spawn returns and
        # the batch can still run.
        seen["stuck"] = [look for look in map(_look, osinspect.descendants(caller))
                         if look and look["pid"] not in seen["decoys"]]
        for look in seen["stuck"]:
            try:
                os.kill(look["pid"], signal.SIGKILL)
            except OSError:
                pass
    pre.release()
    post.release()
    seen["stage"] = "after exec"
    if "value" not in seen:
        try:
            seen["value"] = run.event("returned", timeout=CALL_DEADLINE, awaiting=(
                f"spawn([cat, FIFO], preexec_fn=...) to return once the grader had let cat end (it exits with "
                f"status 0){_why_stuck(seen, caller)}"))["value"]
        except Failure as exc:
            seen["failed"] = exc
            return seen
    pids = {p["pid"] for p in (seen.get("pre"), seen.get("post")) if p and p["pid"] != caller}
    pids -= set(seen["decoys"])
    seen["fates"] = {pid: _fate(pid, caller) for pid in sorted(pids)}
    seen["decoys_after"] = {pid: _fate(pid, caller) for pid in seen["decoys"]}
    seen["others"] = [(pid, _fate(pid, caller)) for pid in osinspect.children(caller)
                      if pid not in pids and pid not in seen["decoys"]]
    seen["after"] = {fd: t for fd, t in _fds(caller).items() if t != finish.target}
    finish.release()
    return seen


def _why_stuck(seen: dict, caller: int) -> str:
    post = seen.get("post")
    if post and _fate(post["pid"], caller) == "zombie":
        return (f" (cat, pid {post['pid']}, has ended and is a zombie: spawn must wait for it with "
                "os.waitpid(pid, 0), and only for it)")
    if post and _fate(post["pid"], caller) == "running":
        return f" (cat, pid {post['pid']}, is still running)"
    return ""


# -- the launch ----------------------------------------------------------------------------------

def _observe(exercise) -> dict:
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    token = secrets.token_hex(4)
    gates = {name: holding.Gate(exercise.tmp, f"{name}-{token}") for name in ("go", "pre", "post", "finish", "cont")}
    cases = _plan(token, gates["cont"].path)
    result: dict = {"cases": cases, "reports": [None] * len(cases), "end": None}
    keys = ("argv", "raise", "path_trap", "core", "stop", "cont")
    zombie_code = random.randrange(2, 120)     # the exit status of the caller's other child, a zombie
    try:
        with exercise.start("spawns", go=gates["go"].path, pre=gates["pre"].path, post=gates["post"].path,
                            finish=gates["finish"].path, env_token=secrets.token_hex(8),
                            subdir=f"cwd-{secrets.token_hex(4)}", signals=[int(s) for s in SIGNALS],
                            cases=[{k: c[k] for k in keys if k in c} for c in cases],
                            zombie_code=zombie_code, timeout=CALL_DEADLINE) as run:
            try:
                result["gated"] = _watch_gated(run, gates)
                result["gated"]["zombie_code"] = zombie_code
            except Outcome as exc:      # todo, an exception from spawn, a dead sandbox
                result["gated"] = {"failed": exc}
            if "failed" not in result["gated"]:
                result["gated_ok"] = True
                _read_batch(run, cases, result, gates["cont"])
        result["ran_on"] = _ran_on(exercise.tmp)
    except Outcome as exc:
        result["fatal"] = exc
    finally:
        for g in gates.values():
            g.release()
    _SEEN[key] = result
    return result


def _read_batch(run, cases: list[dict], result: dict, cont: holding.Gate) -> None:
    for i, case in enumerate(cases):
        try:
            if case.get("stop"):
                result["reports"][i] = _watch_stopped(run, case, cont)
            else:
                result["reports"][i] = run.event("case", awaiting=f"{_call(case)} to return{_hint(case)}")
        except Outcome as exc:
            result["reports"][i] = exc
            return
    try:
        run.result(awaiting="the scenario to finish after its last call of spawn")
    except Failure as exc:
        result["end"] = exc


def _case_event(run, box: dict, timeout: float = POLL) -> bool:
    """Has the call returned (its `case` event)? Waits at most TIMEOUT (a pause of TIMEOUT when it has
    returned already, so that a loop around this never spins)."""
    if "report" in box:
        time.sleep(timeout)
        return True
    try:
        box["report"] = run.event("case", timeout=timeout, awaiting="")
    except Timeout:
        return False
    return True


def _watch_stopped(run, case: dict, cont: holding.Gate) -> dict:
    """The program stops itself (SIGSTOP). Find it stopped, wait until the caller sleeps in its wait call
    (a caller whose wait returns when its child stops has returned by then), then continue it (SIGCONT)."""
    run.event("stopping", awaiting=f"the scenario to call {_call(case)}")
    caller, box = run.pid, {}
    deadline = time.monotonic() + FIND_DEADLINE
    stopped = None
    while True:
        kin = osinspect.descendants(caller)
        stopped = next((pid for pid in kin if _stopped(pid)), None)
        if stopped is not None or time.monotonic() >= deadline:
            break
        if _case_event(run, box) and not kin:
            break                                  # returned, and nothing is left to continue
    if stopped is None:                            # no wait channel shown: any stopped descendant
        for pid in osinspect.descendants(caller):
            try:
                if osinspect.state(pid) == "T":
                    stopped = pid
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + FIND_DEADLINE
    while stopped is not None and "report" not in box and not osinspect.in_wait(caller) and time.monotonic() < deadline:
        _case_event(run, box)
    returned_while_stopped = "report" in box and stopped is not None
    if stopped is not None:
        try:
            os.kill(stopped, signal.SIGCONT)
        except ProcessLookupError:
            pass
    try:
        if "report" not in box:
            box["report"] = run.event("case", awaiting=(
                f"{_call(case)} to return (the program stopped itself with SIGSTOP, and the grader continued it "
                "with SIGCONT once the caller was asleep in its wait call; it then exits)"))
    finally:
        cont.release()
    return dict(box["report"], stopped=stopped, returned_while_stopped=returned_while_stopped)


def _ran_on(tmp: str) -> list[str]:
    try:
        with open(os.path.join(tmp, "ran-on")) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


def _call(case: dict) -> str:
    extra = ", preexec_fn=<a function that raises RuntimeError>" if "raise" in case else ""
    return f"spawn({[a.replace('{sh}', '/bin/sh') for a in case['argv']]!r}{extra})"


def _hint(case: dict) -> str:
    if case["test"] in ("missing", "nonexec"):
        return (": when exec fails, the child must end at once with os._exit(127) or os._exit(126); if it goes "
                "on, it runs a second copy of the caller's code")
    return ""


# -- what the tests read -------------------------------------------------------------------------

def _gated(exercise) -> dict:
    result = _observe(exercise)
    if "fatal" in result:
        raise result["fatal"]
    seen = result["gated"]
    if "failed" in seen and "pre" not in seen and "post" not in seen:
        raise seen["failed"]
    return seen


def _returned(exercise) -> dict:
    seen = _gated(exercise)
    if "failed" in seen:
        raise seen["failed"]
    return seen


def _reports(exercise, test: str) -> list[tuple[dict, dict]]:
    result = _observe(exercise)
    if "fatal" in result:
        raise result["fatal"]
    if "gated_ok" not in result:
        raise result["gated"]["failed"]
    pairs = []
    for case, report in zip(result["cases"], result["reports"]):
        if isinstance(report, Outcome):
            raise report
        if report is None:
            raise Failure("not run: an earlier call of spawn in the same run did not return")
        if case["test"] == test:
            pairs.append((case, report))
    return pairs


def _value(case: dict, report: dict):
    if "raised" in report:
        raise AssertionError(
            f"{_call(case)} raised {report['raised']}: spawn must return the child's return code; in the child, "
            "an exec that fails ends with os._exit(127) (not found) or os._exit(126) (cannot be executed)")
    return report["value"]


def _shown_value(value) -> str:
    if isinstance(value, dict) and "__repr__" in value:
        return f"{value['__repr__']} ({value['__type__']})"
    return repr(value)


def _name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _why_code(got, want: int) -> str:
    if want >= 0:
        if got == want << 8 and want:
            return "that is the raw wait status (the exit status shifted left by 8 bits)"
        if got == want - 256:
            return f"{got} is {want} read as a signed byte; exit statuses run from 0 to 255"
        return "the return code of a child that exited is its exit status"
    n = -want
    if got == -(n | 0x80):
        return (f"the child dumped core, and the wait status carries that in a flag, 0x80 (os.WCOREDUMP), next to "
                f"the signal number: -{n | 0x80} is -(signal {n} + 0x80). os.WTERMSIG(status) or "
                "os.waitstatus_to_exitcode(status) leave the flag out")
    if got == 128 + n:
        return f"128+{n} is the shell's way of writing it in $?, but subprocess's convention is -{n}"
    if got == n:
        return f"that is the raw wait status (the signal number {n} in its low 7 bits)"
    if got == 0:
        return "os.WEXITSTATUS means nothing for a child killed by a signal"
    return f"a child killed by signal {n} has return code -{n} in subprocess's convention"


def _check_ran_on(exercise) -> None:
    ran_on = _observe(exercise).get("ran_on", [])
    assert not ran_on, (
        f"a child forked by spawn came back into the caller's code: {ran_on[0]}. Only the parent may return from "
        "spawn: in the child, every path must end in exec or in os._exit (put os._exit in a finally). When exec "
        "fails: os._exit(127) for FileNotFoundError, os._exit(126) for any other OSError; never return, never "
        "sys.exit() (it raises SystemExit, which unwinds through the caller's code)")


# -- the tests -----------------------------------------------------------------------------------

def test_exec_keeps_the_pid_and_replaces_the_program(exercise):
    seen = _gated(exercise)
    caller, post, pre = seen["caller"], seen.get("post"), seen.get("pre")
    argv = seen["argv"]
    if post is None:
        value = seen.get("value")
        ended = f" and spawn returned {_shown_value(value)}" if "value" in seen else ""
        for look in seen.get("stuck", []):
            if look["exe"] != seen["caller_exe"]:
                raise AssertionError(
                    f"during spawn({_shown(argv)!r}, preexec_fn=...), pid {look['pid']} ran {look['exe']} with the "
                    f"argument vector {look['cmdline']!r}, and after {FIND_DEADLINE + EXEC_DEADLINE:.0f} s it had "
                    f"still not opened the FIFO named in argv (the grader then killed it): the new program must get "
                    f"exactly argv, {argv!r}: call os.execvp(argv[0], argv), argv[0] included")
        hint = (f" (127: the command was not found; {argv[0]!r} holds no '/', so it is looked up in the "
                "directories of PATH, as a shell does: os.execvp does that, os.execv does not)"
                if seen.get("value") == 127 else "")
        raise AssertionError(
            f"during spawn({_shown(argv)!r}, preexec_fn=...), no process ever ran {_shown(argv)} (no descendant of "
            f"the caller, pid {caller}, opened the FIFO cat was given){ended}{hint}: fork, then in the child replace "
            "the program with os.execvp(argv[0], argv)")
    parent = seen.get("post_parent") or {"cmdline": ["(gone)"]}
    assert post["ppid"] == caller, (
        f"{_shown(argv)} ran as pid {post['pid']}, whose parent is pid {post['ppid']} "
        f"`{_shown(parent['cmdline'])}`, not the process that called spawn (pid {caller}): fork exactly one child "
        "and exec in that child itself (no shell, no second fork, no subprocess inside it)")
    if pre is not None and pre["pid"] != caller and pre["ppid"] == caller:
        assert pre["exe"] == seen["caller_exe"] and pre["cmdline"] == seen["caller_cmdline"], (
            f"before exec, the child (pid {pre['pid']}) already ran `{_shown(pre['cmdline'])}` ({pre['exe']}), not a "
            f"copy of the caller: start it with os.fork()")
        assert post["pid"] == pre["pid"], (
            f"the child forked by spawn was pid {pre['pid']} (it ran preexec_fn), but {_shown(argv)} ran as pid "
            f"{post['pid']}: exec replaces the program inside the same process, which keeps its pid; call "
            "os.execvp in the forked child itself, not a function that starts yet another process")
    resolved = post["cmdline"][1:] == argv[1:] and post["cmdline"][:1] != argv[:1]
    assert post["cmdline"] == argv, (
        f"pid {post['pid']} ran with the argument vector {post['cmdline']!r} (/proc/{post['pid']}/cmdline), expected "
        f"exactly argv, {argv!r}: "
        + (f"its argv[0] is {post['cmdline'][0]!r}, not {argv[0]!r} as given. PATH decides which file runs; the "
           "program still gets argv unchanged, argv[0] as the caller wrote it (a program may look at its own name): "
           "call os.execvp(argv[0], argv)" if resolved and post["cmdline"] else
           "call os.execvp(argv[0], argv) (the second argument is the whole vector, argv[0] included)"))
    assert post["exe"] == seen["cat"] and post["exe"] != seen["caller_exe"], (
        f"after exec, /proc/{post['pid']}/exe of pid {post['pid']} is {post['exe']}, expected {seen['cat']}: exec must "
        "replace the program the child runs")


def test_preexec_fn_runs_in_the_child_just_before_exec(exercise):
    seen = _gated(exercise)
    caller, pre, post = seen["caller"], seen.get("pre"), seen.get("post")
    if pre is None:
        if post is not None:
            raise AssertionError(
                f"{_shown(seen['argv'])} ran (pid {post['pid']}) but preexec_fn was never called before it: in the "
                "child, call preexec_fn() (when it is not None) after the fork and before exec")
        ended = f"spawn returned {_shown_value(seen['value'])}" if "value" in seen else "nothing happened"
        raise AssertionError(
            f"preexec_fn was never called ({ended}): in the child, call preexec_fn() (when it is not None) after the "
            "fork and before exec")
    assert pre["pid"] != caller, (
        f"preexec_fn ran in the process that called spawn (pid {caller}), not in the child: call it after the "
        "fork, in the branch where os.fork() returned 0")
    assert pre["ppid"] == caller, (
        f"preexec_fn ran in pid {pre['pid']}, whose parent is pid {pre['ppid']}, not the caller (pid {caller}): call "
        "it in the child that spawn forked, which then execs")
    assert post is None or post["pid"] == pre["pid"], (
        f"preexec_fn ran in pid {pre['pid']}, but the program ran as pid {post['pid']}: call preexec_fn in the very "
        "child that then calls exec")


def test_only_stdin_stdout_and_stderr_are_open_in_the_new_program(exercise):
    seen = _gated(exercise)
    post = seen.get("post")
    if post is None:
        test_exec_keeps_the_pid_and_replaces_the_program(exercise)
        return
    fifo = seen["argv"][1]
    extra = {fd: t for fd, t in post["fds"].items() if fd > 2 and t != os.path.realpath(fifo)}
    for fd, target in sorted(extra.items()):
        hint = ("os.closerange(3, os.sysconf('SC_OPEN_MAX')), as subprocess's close_fds=True does")
        if target == seen["inherited_path"] and fd >= 256:
            what = (f" (the caller's fd {fd}, which the caller had made inheritable: fd numbers go up to the limit "
                    f"RLIMIT_NOFILE, {os.sysconf('SC_OPEN_MAX')} here, not 256)")
            hint = ("os.closerange(3, os.sysconf('SC_OPEN_MAX')) closes them all, whatever their number, as "
                    "subprocess's close_fds=True does")
        elif target == seen["inherited_path"]:
            what = f" (the caller's fd {fd}, which the caller had made inheritable)"
        elif target == seen.get("preexec_path"):
            what = (" (opened and made inheritable by preexec_fn, in the child: an fd is closed only if it is "
                    "open when the fds are closed)")
            hint = ("call preexec_fn first, then close the fds (os.closerange(3, os.sysconf('SC_OPEN_MAX'))), "
                    "just before exec, as subprocess does")
        else:
            what = ""
        raise AssertionError(
            f"{_shown(seen['argv'])} (pid {post['pid']}) started with fd {fd} open -> {target}{what}: an inheritable "
            "fd stays open across exec, and the new program neither knows nor closes it (a pipe kept open that "
            f"way never sees end-of-file). In the child, before exec, close every fd above 2: {hint}")


def test_the_program_inherits_the_callers_environment_cwd_and_stdio(exercise):
    seen = _gated(exercise)
    post = seen.get("post")
    if post is None:
        test_exec_keeps_the_pid_and_replaces_the_program(exercise)
        return
    pid, want, got = post["pid"], seen["env"], post["environ"]
    missing = [k for k in want if k not in got]
    changed = [k for k in want if k in got and got[k] != want[k]]
    added = [k for k in got if k not in want]
    token = "PROCLAB_SPAWN_TOKEN"
    assert not (missing or changed or added), (
        f"the environment of {_shown(seen['argv'])} (/proc/{pid}/environ) is not the caller's: "
        + (f"it lacks {token}={want[token]}, which the caller had set in os.environ just before the call; "
           if token in missing else "")
        + (f"{len(missing)} variable(s) missing (e.g. {missing[0]}); " if missing else "")
        + (f"{changed[0]} changed; " if changed else "")
        + (f"{added[0]} added; " if added else "")
        + "os.execvp passes the current os.environ on: do not build another environment")
    assert post["cwd"] == seen["cwd"], (
        f"{_shown(seen['argv'])} ran in {post['cwd']} (/proc/{pid}/cwd), but the caller's current directory was "
        f"{seen['cwd']}: exec keeps the current directory; do not change it in the child")
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        mine, theirs = seen["caller_std"].get(fd, "closed"), post["fds"].get(fd, "closed")
        assert mine == theirs, (
            f"fd {fd} ({name}) of {_shown(seen['argv'])} was {theirs}, but the caller's fd {fd} was {mine}: the new "
            f"program must keep the caller's stdin, stdout and stderr; close only fds above 2, and do not redirect")


def test_the_command_is_looked_up_in_path(exercise):
    # The plain lookups first: the trap (a non-executable namesake earlier in PATH) says more once they work.
    for case, report in sorted(_reports(exercise, "path"), key=lambda pair: bool(pair[0].get("path_trap"))):
        got = _value(case, report)
        if case.get("path_trap"):
            assert got == case["expect"], (
                f"{_call(case)} returned {_shown_value(got)}, expected {case['expect']}: PATH was "
                f"path-first:path-second:..., where path-first holds a file named {case['argv'][0]!r} without execute "
                "permission and path-second the program of that name. The search goes through the directories of "
                "PATH in order and runs the first file of that name that can be executed: a file it may not "
                "execute is skipped (EACCES), and the search goes on" + (
                    " (126: the search stopped at the first file that exists)" if got == 126 else "")
                + ". os.execvp(argv[0], argv) does all this")
            continue
        hint = (" (127: not found; os.execv(argv[0], argv) takes argv[0] as a path, os.execvp looks it up in the "
                "directories of PATH, as a shell does)" if got == 127 else "")
        assert got == case["expect"], (
            f"{_call(case)} returned {_shown_value(got)}, expected {case['expect']}{hint}: exec with "
            "os.execvp(argv[0], argv)")


def test_return_code_is_the_exit_status_or_minus_the_signal(exercise):
    seen = _returned(exercise)
    for case, report in _reports(exercise, "codes"):
        got, want = _value(case, report), case["expect"]
        how = f"exited with status {want}" if want >= 0 else f"was killed by {_name(want)} (signal {-want})"
        if case.get("core"):
            files = ", ".join(report.get("cores") or []) or "no file seen"
            how += f" and dumped core (core file: {files}, in the private folder, removed since)"
        assert got == want, (
            f"{_call(case)}: the child {how}, but spawn returned {_shown_value(got)}, expected {want} "
            f"({_why_code(got, want) if type(got) is int else 'a return code is an int'}): decode the wait status "
            "with os.waitstatus_to_exitcode(status)")
    taken = [pid for pid, (kind, before) in seen["decoys"].items()
             if before == "zombie" and seen["decoys_after"].get(pid) == "reaped"]
    assert seen["value"] == 0, (
        f"spawn([cat, FIFO]) returned {_shown_value(seen['value'])}, but cat read end-of-file and exited with status 0"
        + (f": {seen['value']} is the exit status of pid {taken[0]}, another child of the caller (a zombie already), "
           "which spawn collected instead of its own: os.wait() takes whichever child has ended; wait for yours "
           "with os.waitpid(pid, 0)" if taken and seen["value"] == seen.get("zombie_code") else ""))


def test_a_command_that_cannot_be_found_gives_127(exercise):
    for case, report in _reports(exercise, "missing"):
        got = _value(case, report)
        assert got == 127, (
            f"{_call(case)} returned {_shown_value(got)}, expected 127: the command cannot be found, so "
            "os.execvp raises FileNotFoundError in the child, which must then end with os._exit(127)")


def test_a_file_that_cannot_be_executed_gives_126(exercise):
    for case, report in _reports(exercise, "nonexec"):
        got = _value(case, report)
        assert got == 126, (
            f"{_call(case)} (a file that exists, mode 0644: no execute permission) returned {_shown_value(got)}, "
            "expected 126: os.execvp raises PermissionError there; for any OSError other than FileNotFoundError "
            "the child ends with os._exit(126)")


def test_an_exception_from_preexec_fn_ends_the_child_with_126(exercise):
    for case, report in _reports(exercise, "preexec"):
        got = _value(case, report)
        hint = {0: ("0: the program ran anyway. When preexec_fn raises, the child must not exec: the setup it "
                    "was to make did not happen"),
                1: ("1: the exception left spawn in the child and ended it through the caller's code (the grader "
                    "caught it there)")}.get(got, "")
        assert got == 126, (
            f"{_call(case)} returned {_shown_value(got)}, expected 126" + (f" ({hint})" if hint else "")
            + ": preexec_fn runs in the child, inside spawn; when it raises, the child ends at once with "
            "os._exit(126), as when exec fails (127 only for FileNotFoundError): put the call of preexec_fn in the "
            "same try as exec, with os._exit in a finally")
    _check_ran_on(exercise)


def test_the_forked_child_never_returns_into_the_callers_code(exercise):
    _gated(exercise)
    _check_ran_on(exercise)


def test_spawn_waits_for_the_program_and_leaves_no_zombie_or_fd(exercise):
    seen = _returned(exercise)
    for pid, (_kind, before) in seen["decoys"].items():
        after = seen["decoys_after"].get(pid)
        assert not (before in ("zombie", "running") and after == "reaped"), (
            f"spawn([cat, FIFO], preexec_fn=...) reaped pid {pid}, a child the caller had forked before the call "
            f"({'it had already exited, a zombie' if before == 'zombie' else 'it was still running'}), which spawn "
            "did not fork and must leave alone: os.wait() (or os.waitpid(-1, ...)) collects whichever child of the "
            "caller has ended, and returns its status, not your program's. Wait for your own child, by its pid: "
            "os.waitpid(pid, 0)")
    held = {"before exec": "while its child was still held in preexec_fn, before exec",
            "after preexec_fn": "while its child was still on its way to exec cat"}.get(seen.get("returned_at"))
    assert held is None, (
        f"spawn([cat, FIFO], preexec_fn=...) returned {_shown_value(seen['value'])} {held} (the grader held it): "
        "the parent must wait until the child has ended, with os.waitpid(pid, 0), and return its return code")
    for pid, fate in seen["fates"].items():
        assert fate != "zombie", (
            f"when spawn returned, its child (pid {pid}) was a zombie (state Z in /proc/{pid}/stat): reap it with "
            "os.waitpid(pid, 0) before returning")
        assert fate != "running", f"when spawn returned, its child (pid {pid}) was still running: wait for it"
    others = seen["others"]
    assert not others, (
        f"when spawn returned, the caller still had a child pid {others[0][0]} ({others[0][1]}): fork exactly one "
        "child and reap it")
    new = {fd: t for fd, t in seen["after"].items() if seen["before"].get(fd) != t}
    gone = [fd for fd in seen["before"] if fd not in seen["after"]]
    for fd, target in sorted(new.items()):
        raise AssertionError(
            f"after spawn returned, the caller had fd {fd} open -> {target}, which it did not have before the call: "
            "close in the parent every fd spawn opened")
    assert not gone, (
        f"after spawn returned, the caller's fd {gone[0]} (-> {seen['before'][gone[0]]}) was closed: close fds in the "
        "child only, never in the parent (the caller still needs them)")
    for case, report in _reports(exercise, "stopped"):
        got = _value(case, report)
        assert not report.get("returned_while_stopped"), (
            f"{_call(case)} returned {_shown_value(got)} while the program was stopped (it stopped itself with "
            f"SIGSTOP: state T in /proc/{report['stopped']}/stat), not ended: a stopped process has not exited, and "
            "may go on (SIGCONT). os.waitpid(pid, os.WUNTRACED) returns when the child stops; os.waitpid(pid, 0) "
            "sleeps on until it has ended. (The grader continues the stopped program once the caller is asleep in "
            f"its wait call; it then exits with status {case['expect']}.)")
        assert got == case["expect"], (
            f"{_call(case)} returned {_shown_value(got)}, expected {case['expect']}: the program stopped itself "
            "(SIGSTOP), the grader continued it (SIGCONT), and it exited with that status: wait until the child has "
            "ended, with os.waitpid(pid, 0), and decode its status with os.waitstatus_to_exitcode")
    for case, report in _reports(exercise, "codes") + _reports(exercise, "path"):
        assert not report.get("left"), (
            f"after {_call(case)} returned, the caller had a child left unreaped ({report['left']}): wait for "
            "the child with os.waitpid(pid, 0) before returning")
    end = _observe(exercise)["end"]
    if end is not None:
        raise end
