"""Grader for pipe_chain: run_pipeline(commands, input) -> (output, return codes).

Two observations feed the tests. Both are made once per graded file, in one sandbox launch (a
launch costs ~0.1 s), by the first test that needs them; the batch gets a launch of its own only
when the gated call cannot finish. Tests run in the order of the batch's cases, so a call that
times out fails its own test first and every later one at once: nothing is run twice.

- The gated pipeline, watched from outside while it runs. Its commands are copies of gate.py,
  which wait at a FIFO the test holds open; while they wait, the test reads /proc: who is whose
  parent, what each command's argv is, which pipe (pipe:[inode]) each fd points at, which pipe
  ends the caller still holds. Closing the FIFO lets them all through at once. Each then waits at
  an exit gate of its own: once the caller sleeps in a wait, the test lets them exit the last one
  first, each after the caller has reacted to the one before, and the codes must still come in
  command order.
- A batch of real pipelines (yes | head, missing and non-executable commands, signals, 10 MB
  through cat | cat, a reader that pauses on a full pipe, output in pieces, commands that exit
  without reading their input...), run one after another in the same scenario: for each call,
  the result and what it left behind (fds open in the caller, children not reaped, exceptions
  of threads it started, forked children that came back into the caller's code). Two cases take
  SLOW seconds by design (a silence, a late exit): they run in a grandchild of the scenario from
  the start, beside everything else, so they cost SLOW once. A call that does not return in time
  stops the batch; the test that owns that call reports the timeout.
"""

import os
import time

from graders.harness import osinspect
from graders.harness.outcome import Failure, Timeout

N = 3                        # commands in the gated pipeline
GATE_INPUT = "through the gate\n"
SETTLE_FALLBACK = 0.5        # a caller that polls for its children (WNOHANG) is never seen waiting
EXIT_GATE_DEADLINE = 1.0     # for the commands to reach their exit gates (a correct pipeline: a few ms)
WAIT_SYSCALLS = {"x86_64": ("61", "247"), "aarch64": ("260", "95")}   # wait4, waitid
FIND_DEADLINE = 1.0          # for every command to be running (a correct pipeline needs ~0.1 s)
CLOSE_DEADLINE = 0.5         # for the caller to have closed the pipe ends it handed over
BACKGROUND_DEADLINE = 2.0    # for a background call, once the others are done (a correct one needs SLOW + 0.1 s)
CALL_DEADLINE = 1.5          # for one call of the batch to return (a correct one needs < 0.2 s)
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox"}
MISSING = "no-such-cmd-proclab"
GATED_CALL = (f"run_pipeline() with {N} commands (`python gate.py GATE EXIT-1 command-1 1` ... "
              f"`command-{N} {N}`, each exiting with its number)")
RETURN_HINT = (": the output ends when every copy of the last pipe's write end is closed, so any "
               "copy the caller or another command still holds keeps the read waiting forever")
EXEC_HINT = (f" ({MISSING} cannot be found): a forked child whose exec fails must end at once "
             "with os._exit(127); if it goes on, it runs a second copy of your program and holds "
             "copies of the pipe ends")
SIGPIPE_HINT = ("once head has printed 3 lines and exited, yes must die of SIGPIPE at its next write; "
                "it cannot while any process (the caller, or another command) still holds the read "
                "end of the pipe yes writes into")


def _case(test: str, commands, input: str = "", **extra) -> dict:
    return {"test": test, "commands": commands, "input": input, **extra}


# A command silent for SLOW s catches a caller that reads with a 1 s timeout and takes it for the end;
# one that runs SLOW s after closing its stdout catches a caller that waits 1 s for it, then kills it.
# (Those cases run in the background, beside the others: they cost SLOW s once, not twice.)
SLOW = 1.2
PACE = ["{python}", "-I", "-S", "{pace}"]      # graders/03_pipes/pace.py: commands that force a schedule
CALLER_STDIN = "the caller's own stdin\n"
NONEXEC = "{nonexec}"                          # a file in the private folder, mode 0644: exists, cannot be run
EARLY = ["x", 256 << 10]                       # 256 KiB of input: more than a pipe holds (64 KiB)
EPIPE_HINT = ("the first command exits without reading all its input, so once the pipe into it is full "
              "your write fails with BrokenPipeError (EPIPE): that is no error of the pipeline. Stop "
              "writing, close your write end, and go on reading the output and waiting for every child")

CASES = [
    _case("codes", [["cat"], ["tr", "a-z", "A-Z"]], "hello pipes\n",
          expect=(b"HELLO PIPES\n", [0, 0]),
          meaning="the input goes to the first command's stdin; the result is what the last "
                  "command wrote to its stdout"),
    _case("codes", [["sh", "-c", "kill -TERM $$"], ["false"], ["sh", "-c", "kill -KILL $$"],
                    ["sh", "-c", "exit 3"]],
          expect=(b"", [-15, 1, -9, 3]),
          meaning="each code is the command's exit status, or -N when signal N killed it "
                  "(os.waitstatus_to_exitcode gives exactly that)"),
    _case("single", [["echo", "solo"]], expect=(b"solo\n", [0])),
    _case("single", [["cat"]], "alone\n", expect=(b"alone\n", [0])),
    _case("single", [["true"]], expect=(b"", [0])),
    _case("single", [["true"], ["cat"]], expect=(b"", [0, 0])),
    _case("missing", [[MISSING]], expect=(b"", [127]),
          awaiting=f"run_pipeline([['{MISSING}']]) to return{EXEC_HINT}"),
    _case("missing", [[MISSING], ["cat"]], "never read\n", expect=(b"", [127, 0]),
          awaiting=f"run_pipeline([['{MISSING}'], ['cat']], b'never read\\n') to return{EXEC_HINT}"),
    _case("missing", [[MISSING], ["echo", "still runs"]], expect=(b"still runs\n", [127, 0]),
          awaiting=f"run_pipeline([['{MISSING}'], ['echo', 'still runs']]) to return{EXEC_HINT}"),
    _case("missing", [["echo", "hi"], [MISSING], ["cat"]], expect=(b"", [0, 127, 0]),
          awaiting=f"run_pipeline([['echo', 'hi'], ['{MISSING}'], ['cat']]) to return{EXEC_HINT}"),
    _case("nonexec", [[NONEXEC], ["echo", "after"]], expect=(b"after\n", [126, 0])),
    _case("nonexec", [[NONEXEC]], expect=(b"", [126])),
    _case("yes", [["yes"], ["head", "-n", "3"]], expect=(b"y\ny\ny\n", [-13, 0]),
          awaiting=f"run_pipeline([['yes'], ['head', '-n', '3']]) to return: {SIGPIPE_HINT}",
          deadline=CALL_DEADLINE),
    _case("input", [["cat"]], caller_stdin=CALLER_STDIN, expect=(b"", [0]),
          awaiting="run_pipeline([['cat']], b'') to return: with input=b'' the first command must "
                   "still read end-of-file at once: give it the read end of a pipe whose write end "
                   "you close"),
    _case("input", [PACE + ["refill"]], random_input=384 << 10,
          awaiting="run_pipeline([['python', 'pace.py', 'refill']], <384 KiB of bytes>) to return: the "
                   "command reads 4 KiB when the pipe into it is full, waits until it is full again, "
                   "then reads the rest; keep writing until every byte is written, then close"),
    _case("early_exit", [["true"]], input_repeat=EARLY, expect=(b"", [0]), meaning=EPIPE_HINT),
    _case("early_exit", [["head", "-c", "3"], ["cat"]], input_repeat=EARLY, expect=(b"xxx", [0, 0]),
          meaning=EPIPE_HINT),
    _case("early_exit", [["true"], ["cat"]], input_repeat=EARLY, expect=(b"", [0, 0]), meaning=EPIPE_HINT),
    _case("volume", [["cat"], ["cat"]], random_input=10 << 20,
          awaiting="run_pipeline([['cat'], ['cat']], <10 MiB of bytes>) to return: write the input "
                   "and read the output at the same time (a thread, or selectors). A pipe holds only "
                   "64 KiB: while you write without reading, cat blocks writing its output, stops "
                   "reading, and your write blocks too"),
    _case("output", [PACE + ["pieces"]], expect=(b"piece 1\npiece 2\npiece 3\n", [0]),
          meaning="the command wrote three pieces, each one only after you had read the one before: "
                  "a read returns what is in the pipe now, so a short read is not the end; read "
                  "until os.read() returns b'' (end-of-file: every write end closed)",
          awaiting="run_pipeline([['python', 'pace.py', 'pieces']]) to return: the command writes a "
                   "piece, waits until you have read it, then writes the next"),
    _case("output", [["sh", "-c", f"cat >/dev/null; sleep {SLOW}; echo late"]], expect=(b"late\n", [0]),
          background=True, deadline=BACKGROUND_DEADLINE,
          meaning=f"the command wrote nothing for {SLOW} s, then a line: a pipe has no time limit, and "
                  "a silence is not the end of the output; read until os.read() returns b'' "
                  "(end-of-file), with no timeout"),
    _case("late_exit", [["sh", "-c", f"exec >&-; sleep {SLOW}; exit 4"]], expect=(b"", [4]), background=True,
          deadline=BACKGROUND_DEADLINE,
          meaning="the command closed its stdout at once (so the output ended), then ran on for "
                  f"{SLOW} s and exited with status 4; its code is that exit status, however long it "
                  "takes: wait for every child without a time limit (os.waitpid(pid, 0), "
                  "Popen.wait()), never kill one or read its status before it has exited"),
]

GATED_CASE = {"commands": [["python", "gate.py", "GATE", f"EXIT-{i}", f"command-{i}", str(i)]
                           for i in range(1, N + 1)], "input": GATE_INPUT}
_GATED: dict[str, dict] = {}              # graded file -> observation of the gated pipeline
_BATCH: dict[str, list] = {}              # graded file -> per case: report, Failure, or None
_END: dict[str, Failure] = {}             # graded file -> what the batch's last check found, if anything


# -- helpers -----------------------------------------------------------------------------------

class Gate:
    """A FIFO held open read-write by the test: readers block in read() until release()."""

    def __init__(self, directory: str, name: str = "gate"):
        self.path = os.path.join(directory, name)
        os.mkfifo(self.path)
        self.target = os.path.realpath(self.path)   # what /proc/PID/fd/N shows for it
        self.fd = os.open(self.path, os.O_RDWR)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False


class Gates:
    """The entry gate of the gated pipeline, and one exit gate per command."""

    def __init__(self, directory: str):
        self.entry = Gate(directory)
        self.exits = [Gate(directory, f"exit-{i}") for i in range(1, N + 1)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for gate in [self.entry, *self.exits]:
            gate.release()
        return False


def _waiting_in_wait(pid: int) -> bool:
    """Some thread of pid sleeps in wait4/waitid (the kernel's do_wait): it waits for a child."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                if f.read().strip() == "do_wait":
                    return True
            with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                if f.read().split()[0] in WAIT_SYSCALLS.get(os.uname().machine, ()):
                    return True
        except (OSError, IndexError):
            continue
    return False


def _settled(caller: int, pid: int) -> bool:
    """The command `pid` has exited and the caller has reacted: it reaped it, or it sleeps in a wait
    for another child while this one stays a zombie (a waitpid for that other pid). A caller that
    waits for any child is woken by the exit, inside the exiting task's locked, non-preemptible
    critical section: two looks 2 ms apart cannot both fall in that instant."""
    deadline = time.monotonic() + SETTLE_FALLBACK
    seen = 0
    while time.monotonic() < deadline:
        try:
            zombie = osinspect.state(pid) in ("Z", "X")
        except ProcessLookupError:
            return True                       # reaped
        seen = seen + 1 if zombie and _waiting_in_wait(caller) else 0
        if seen >= 2:
            return True
        time.sleep(0.002)
    return False                              # a caller that polls (WNOHANG): let the next one go anyway


def _cmdline(pid: int) -> str:
    try:
        text = " ".join(osinspect.cmdline(pid)) or "(a zombie)"
    except ProcessLookupError:
        return "(gone)"
    return text if len(text) <= 70 else text[:67] + "..."


def _is_shell(pid: int) -> bool:
    try:
        argv = osinspect.cmdline(pid)
    except ProcessLookupError:
        return False
    return bool(argv) and os.path.basename(argv[0]) in SHELLS


def _fds(pid: int) -> dict[int, str]:
    try:
        return osinspect.fd_targets(pid)
    except ProcessLookupError:
        return {}


def _access_mode(pid: int, fd: int) -> str:
    """'read' or 'write' end of a pipe, from the open flags in /proc/PID/fdinfo/FD."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("flags:"):
                    return {0: "read", 1: "write"}.get(int(line.split()[1], 8) & 3, "read-write")
    except OSError:
        pass
    return "unknown"


def _find_commands(caller: int, commands: list[list[str]]) -> dict[int, int]:
    """Command index -> pid of every live descendant of `caller` whose argv is that command."""
    found = {}
    for pid in osinspect.descendants(caller):
        try:
            argv = osinspect.cmdline(pid)
        except ProcessLookupError:
            continue
        if argv in commands:
            found[commands.index(argv)] = pid
    return found


def _shown(argv: list[str]) -> list[str]:
    names = {"{python}": "python", "{pace}": "pace.py", NONEXEC: "./not-executable"}
    return [names.get(arg, arg) for arg in argv if argv[:1] != ["{python}"] or arg not in ("-I", "-S")]


def _call(case: dict) -> str:
    text = f"run_pipeline({[_shown(argv) for argv in case['commands']]!r}"
    if "random_input" in case:
        text += f", <{case['random_input'] >> 10} KiB of random bytes>"
    elif "input_repeat" in case:
        chunk, count = case["input_repeat"]
        text += f", {chunk.encode()!r} * {count}"
    elif case.get("input"):
        text += f", {case['input'].encode()!r}"
    text += ")"
    if NONEXEC in sum(case["commands"], []):
        text += " (./not-executable: a file that exists, mode 0644, no execute permission)"
    if "caller_stdin" in case:
        text += f" while the caller's own stdin (its fd 0) was a pipe holding {case['caller_stdin'].encode()!r}"
    return text


# -- observation 1: the gated pipeline, watched from outside -----------------------------------

def _watch_gated(run, gates: Gates) -> dict:
    """What the gated pipeline showed. seen["result"] is its report, a Timeout, or None when the gates
    stayed shut (the call would only hang: the launch cannot go on to the batch); seen["early"] a
    failure every gated test reports (it returned or raised before its commands had run)."""
    seen = {"most": 0, "links": [], "extra": [], "kept": [], "result": None, "exit_order": None}
    gate = gates.entry
    commands = run.event("calling", awaiting="the scenario to call run_pipeline")["commands"]
    caller = seen["caller"] = run.pid
    deadline = time.monotonic() + FIND_DEADLINE
    while True:
        found = _find_commands(caller, commands)
        seen["most"] = max(seen["most"], len(found))
        at_gate = {i: pid for i, pid in found.items() if gate.target in _fds(pid).values()}
        if len(at_gate) == N or time.monotonic() >= deadline:
            break
        try:   # did it return or raise already? (also the pause between two looks)
            value = seen["result"] = run.event("gated", timeout=0.005, awaiting="")
        except Timeout:
            continue
        if "raised" in value:
            seen["early"] = AssertionError(
                f"{GATED_CALL} raised {value['raised']}{_threads(value)} before its commands had all run: "
                "it must start every command, then return (output, codes) once they have all exited")
        else:
            seen["early"] = AssertionError(
                f"{GATED_CALL} returned {value!r:.200} before its commands had all run: it must start the "
                "commands and wait until they have all exited")
        return seen
    seen["found"] = found
    seen["parents"] = {}
    for i, pid in found.items():
        try:
            parent = osinspect.ppid(pid)
        except ProcessLookupError:
            continue
        seen["parents"][i] = (pid, parent, _cmdline(parent), _is_shell(parent))
    seen["children"] = [(pid, _cmdline(pid), _is_shell(pid)) for pid in osinspect.children(caller)]
    if len(at_gate) < N:
        return seen   # not all at once: the call would only hang (the batch gets a launch of its own)

    # Every command waits at the gate: the pipeline is standing still. Read its wiring.
    pids = seen["pids"] = [at_gate[i] for i in range(N)]
    fds = [_fds(pid) for pid in pids]
    seen["links"] = [(fds[i].get(1, "nothing"), fds[i + 1].get(0, "nothing")) for i in range(N - 1)]
    names = seen["names"] = {}
    if fds[0].get(0, "").startswith("pipe:"):
        names[fds[0][0]] = "the pipe into command 1"
    for i in range(N - 1):
        if fds[i].get(1, "").startswith("pipe:"):
            names[fds[i][1]] = f"the pipe from command {i + 1} to command {i + 2}"
    if fds[-1].get(1, "").startswith("pipe:"):
        names[fds[-1][1]] = f"the pipe out of command {N}"
    seen["extra"] = [(i, pids[i], fd, target) for i, table in enumerate(fds)
                     for fd, target in sorted(table.items()) if fd not in (0, 1) and target in names]

    # The caller may keep the write end of the pipe into command 1 (to feed the input) and
    # the read end of the pipe out of command N (to read the output); nothing else.
    allowed = {(fds[0].get(0), "write"), (fds[-1].get(1), "read")}

    def kept():
        return [(fd, target, mode) for fd, target in sorted(_fds(caller).items()) if target in names
                for mode in [_access_mode(caller, fd)] if (target, mode) not in allowed]

    deadline = time.monotonic() + CLOSE_DEADLINE
    while kept() and time.monotonic() < deadline:
        time.sleep(0.005)
    seen["kept"] = kept()
    if seen["kept"] or seen["extra"] or any(not out.startswith("pipe:") or out != into
                                             for out, into in seen["links"]):
        return seen   # releasing would only hang: those failures are reported first

    gate.release()
    # Each command copies its stdin to its stdout, closes it and waits at its own exit gate. Once
    # the caller waits for a child, let them exit one at a time, the last command first, each once
    # the caller has reacted to the one before (reaped it, or waits for another child): the codes
    # must still come in command order. (A caller that never sleeps in a wait, e.g. one that polls
    # with WNOHANG, or a pipeline whose output cannot end yet, gets every gate opened at once.)
    exits = [gate.target for gate in gates.exits]

    def at_exit_gates():
        return all(exits[i] in _fds(pid).values() and 1 not in _fds(pid) for i, pid in enumerate(pids))

    deadline = time.monotonic() + EXIT_GATE_DEADLINE
    while time.monotonic() < deadline and not at_exit_gates():
        time.sleep(0.002)
    if at_exit_gates():   # the output has ended: the caller goes on to wait for its children
        deadline = time.monotonic() + CALL_DEADLINE
        while time.monotonic() < deadline and not _waiting_in_wait(caller):
            time.sleep(0.002)
    if at_exit_gates() and _waiting_in_wait(caller):
        seen["exit_order"] = list(range(N, 0, -1))
        for i in reversed(range(N)):
            gates.exits[i].release()
            _settled(caller, pids[i])
    _finish_gated(run, gates, seen)
    return seen


def _finish_gated(run, gates: Gates, seen: dict) -> None:
    for gate in [gates.entry, *gates.exits]:
        gate.release()
    try:
        seen["result"] = run.event("gated", timeout=CALL_DEADLINE, awaiting=(
            f"{GATED_CALL} to return once its commands were let through (each copies its stdin "
            "to its stdout, then exits: the last command first)"))
    except Timeout as exc:
        seen["result"] = exc


def _observe(exercise) -> None:
    """Both observations in one launch: the gated pipeline first, then the batch (whose background
    cases started with the launch). When the gated call cannot finish, the batch gets a launch of
    its own."""
    key = exercise.student_file
    if key in _GATED and key in _BATCH:
        return
    try:
        with Gates(exercise.tmp) as gates, \
                exercise.start("pipelines", cases=_sent(CASES), gate=gates.entry.path,
                               exits=[gate.path for gate in gates.exits], data=GATE_INPUT,
                               timeout=CALL_DEADLINE) as run:
            try:
                seen = _watch_gated(run, gates)
            except Failure as exc:     # the caller died, or never called: every gated test says so
                seen = {"early": exc, "result": None}
            _GATED[key] = seen
            if isinstance(seen["result"], dict):
                _BATCH[key] = _read_batch(run, CASES)
    except Failure as exc:             # the sandbox did not start: every gated test says so
        _GATED.setdefault(key, {"early": exc, "result": None})
    if key not in _BATCH:
        _BATCH[key] = _run_batch(exercise, CASES)


def _gated(exercise) -> dict:
    _observe(exercise)
    seen = _GATED[exercise.student_file]
    if "early" in seen:
        raise seen["early"]
    return seen


# -- observation 2: the batch of pipelines -----------------------------------------------------

def _sent(cases: list[dict]) -> list[dict]:
    keys = ("commands", "input", "random_input", "input_repeat", "caller_stdin", "background")
    return [{key: case[key] for key in keys if key in case} for case in cases]


def _read_batch(run, cases: list[dict]) -> list:
    """One report per case; a Failure (a timeout, the caller killed...) for the call that did not
    return, None for those after it. Background cases run beside the others and report last."""
    reports = [None] * len(cases)
    order = [i for i, case in enumerate(cases) if not case.get("background")] + \
            [i for i, case in enumerate(cases) if case.get("background")]
    for i in order:
        case = cases[i]
        try:
            reports[i] = run.event("returned", timeout=case.get("deadline", CALL_DEADLINE),
                                   awaiting=case.get("awaiting", f"{_call(case)} to return{RETURN_HINT}"))
        except Failure as exc:
            reports[i] = _reworded(case, exc)
            return reports
    try:
        run.result(awaiting="the scenario to finish")
    except Failure as exc:   # e.g. a process it started still ran after the last call: reported once
        _END[run.sandbox.student_file] = exc
    return reports


def _reworded(case: dict, exc: Failure) -> Failure:
    """The caller killed by SIGPIPE: say what happened first, not what the call was awaited for."""
    if isinstance(exc, Timeout) or "SIGPIPE" not in exc.message:
        return exc
    return Failure(
        f"the process that called {_call(case)} was killed by SIGPIPE: it wrote into a pipe whose "
        "readers had all gone (a command that exits without reading all its input) while SIGPIPE had "
        "its default action in the caller. Restore SIG_DFL only in the child, between fork and exec "
        "(subprocess does it for you): the caller keeps Python's SIG_IGN, its write fails with "
        "BrokenPipeError instead, and you catch that")


def _run_batch(exercise, cases: list[dict]) -> list:
    try:
        with exercise.start("pipelines", cases=_sent(cases), timeout=CALL_DEADLINE) as run:
            return _read_batch(run, cases)
    except Failure as exc:    # the sandbox did not start, or the scenario ended before its first call
        return [exc] + [None] * (len(cases) - 1)


def _reports(exercise, test: str | None = None, strict: bool = True) -> list[tuple[dict, dict]]:
    """(case, report) for the batch's calls that returned (only those of `test` if given), in order.

    For a test's own cases, a call that did not return raises its Failure (a timeout...), and calls
    the batch never reached (a failure stopped it) are run again, on their own. Without `test` (the
    tests of what every call leaves behind), only calls that returned are judged; if none did, the
    first failure is raised (unless not `strict`): there is nothing to judge.
    """
    _observe(exercise)
    reports = _BATCH[exercise.student_file]
    if test is None:
        gated = _GATED[exercise.student_file].get("result")
        returned = [(GATED_CASE, gated)] if isinstance(gated, dict) else []
        returned += [(case, report) for case, report in zip(CASES, reports) if isinstance(report, dict)]
        if not returned and strict:
            raise next(report for report in reports if isinstance(report, Failure))
        return returned
    mine = [i for i, case in enumerate(CASES) if case["test"] == test]
    missing = [i for i in mine if reports[i] is None]
    if missing:
        for i, report in zip(missing, _run_batch(exercise, [CASES[i] for i in missing])):
            reports[i] = report
    pairs = []
    for i in mine:
        if isinstance(reports[i], Failure):
            raise reports[i]
        if reports[i] is None:   # after a failure in the rerun, which was raised above
            break
        pairs.append((CASES[i], reports[i]))
    return pairs


def _threads(report: dict) -> str:
    raised = report.get("thread_raised") or []
    return f" (and a thread it started: {'; '.join(raised[:2])})" if raised else ""


def _check_call(case: dict, report: dict, why: str) -> None:
    """What comes first about any call: a forked child that ran on in the caller's code, an exception."""
    for note in report.get("ran_on", []):
        raise AssertionError(
            f"during {_call(case)}, a forked child came back into the caller's code instead of running "
            f"its command: {note}. After fork, a child must exec or end: when exec fails, end it at once "
            "with os._exit(127) for FileNotFoundError (ENOENT), os._exit(126) for any other OSError "
            "(catch OSError, not only FileNotFoundError; never sys.exit(), which unwinds through the "
            "caller's code). Otherwise it runs on as a second copy of the caller, with copies of the "
            "pipe ends")
    if "raised" in report:
        raised = report["raised"]
        if raised.startswith("BrokenPipeError"):
            why = EPIPE_HINT
        elif raised.startswith(("FileNotFoundError", "PermissionError")):
            why = ("a command that cannot be found gets return code 127, one that exists but cannot be "
                   "executed 126, and the other commands still run, as in bash: catch the error where "
                   "you start the command (in a forked child: os._exit(127) or os._exit(126) when exec "
                   "fails), in a pipeline of one command too")
        raise AssertionError(f"{_call(case)} raised {raised}{_threads(report)}: {why}")


def _value(case: dict, report: dict, why: str = "run_pipeline must return (output, codes)") -> tuple[bytes, list[int]]:
    """(output, codes) of one call, or a failure saying why there is none."""
    _check_call(case, report, why)
    assert "bad" not in report, (
        f"{_call(case)} returned {report['bad']}: run_pipeline must return a tuple "
        "(bytes, list of int)")
    return report.get("out"), report["codes"]


def _expect(case: dict, report: dict, meaning: str) -> None:
    out, codes = case["expect"]
    got_out, got_codes = _value(case, report, f"run_pipeline must return ({out!r}, {codes}): {meaning}")
    assert len(got_codes) == len(case["commands"]), (
        f"{_call(case)} returned {len(got_codes)} return codes {got_codes} for "
        f"{len(case['commands'])} commands: return exactly one code per command, in order")
    raw = [-code if code < 0 else code << 8 for code in codes]
    assert not (got_codes == raw and raw != codes), (
        f"{_call(case)} returned codes {got_codes}, expected {codes}: those are raw wait statuses "
        "as os.waitpid() gives them; convert each with os.waitstatus_to_exitcode() "
        "(exit status, or -N for signal N)")
    assert (got_out, got_codes) == (out, codes), (
        f"{_call(case)} returned ({got_out[:80]!r}, {got_codes}), expected ({out!r}, {codes}): {meaning}"
        f"{_threads(report)}")


# -- the tests, in the order a student meets the failures --------------------------------------

def test_each_command_is_a_direct_child_started_by_exec(exercise):
    seen = _gated(exercise)
    caller = seen["caller"]
    for index, (pid, parent, parent_cmd, shell) in sorted(seen["parents"].items()):
        assert parent == caller, (
            f"command {index + 1} of {GATED_CALL} (pid {pid}) is a child of "
            f"{'a shell' if shell else 'another process'}, pid {parent} `{parent_cmd}`, not of the "
            f"process that called run_pipeline (pid {caller}): start each command yourself, as a "
            "direct child that execs it (os.fork + os.execvp, or subprocess.Popen with an argument "
            "list), without a shell")
    for pid, cmd, shell in seen["children"]:
        assert not shell, (
            f"{GATED_CALL} started a shell, pid {pid} `{cmd}`: run the commands without a shell, "
            "each one a direct child of the caller that execs the command")
    kids = ", ".join(f"pid {pid} `{cmd}`" for pid, cmd, _ in seen["children"]) or "none"
    assert seen["found"], (
        f"{FIND_DEADLINE:.0f} s after {GATED_CALL}, no process was running any of the commands "
        f"(the caller's children: {kids}): each command must run in a child process that calls "
        "exec with exactly the command's argument list, so that its /proc/PID/cmdline is the command")
    # A child whose exec failed must end there, not come back into the caller's code.
    for case, report in _reports(exercise, strict=False):
        if report.get("ran_on"):
            _check_call(case, report, "")


def test_all_commands_run_at_once_joined_by_pipes(exercise):
    seen = _gated(exercise)
    most = seen["most"]
    assert "pids" in seen, (
        f"only {most} of {N} commands {'was' if most == 1 else 'were'} running at once during "
        f"{GATED_CALL} (each waits for the grader's signal before it reads or exits): start every "
        "command before waiting for any. A pipe holds only 64 KiB, so a command that has not "
        "started yet cannot drain the one before it, and `yes | head` would never end")
    pids, names = seen["pids"], seen["names"]
    for i, (out, into) in enumerate(seen["links"]):
        assert out.startswith("pipe:") and out == into, (
            f"fd 1 (stdout) of command {i + 1} (pid {pids[i]}) is {out} and fd 0 (stdin) of command "
            f"{i + 2} (pid {pids[i + 1]}) is {into}: they must be the two ends of one OS pipe (the "
            "same pipe:[inode]): make it with os.pipe() and put its write end on fd 1 of one command "
            "and its read end on fd 0 of the next")
    for i, pid, fd, target in seen["extra"]:
        raise AssertionError(
            f"command {i + 1} (pid {pid}) has {names[target]} ({target}) open on fd {fd} as well "
            "as on its stdin/stdout: a child must keep only the ends it uses as fd 0 and fd 1 "
            "(os.pipe() makes the others close-on-exec; do not make them inheritable). A reader "
            "sees end-of-file only when every copy of the write end is closed, so this pipeline "
            "would never finish")
    assert not seen["kept"], (
        f"while the {N} commands ran, the caller (pid {seen['caller']}) still had "
        + ", ".join(f"fd {fd}: the {mode} end of {names[target]}" for fd, target, mode in seen["kept"])
        + ": close the parent's copy of each pipe end as soon as the child that uses it has "
        "started. A reader sees end-of-file only when every write end is closed, and a writer gets "
        "SIGPIPE only when every read end is, so the pipeline would never finish")
    if isinstance(seen["result"], Timeout):
        raise seen["result"]
    out = _value(GATED_CASE, seen["result"])[0]
    assert out == GATE_INPUT.encode(), (
        f"{_call(GATED_CASE)} returned the output {out[:80]!r}, expected {GATE_INPUT.encode()!r}: each "
        "command copies its stdin to its stdout, so the input must come out unchanged")


def test_every_child_is_reaped(exercise):
    for case, report in _reports(exercise):
        _check_call(case, report, "run_pipeline must return (output, codes), and only once every child "
                    "it started has exited and been waited for")
        for child in report["children_left"]:
            assert child["state"] != "Z", (
                f"after {_call(case)} returned, pid {child['pid']} ({child['name']}) was still a "
                "zombie, a child of the caller: wait for every child you started (os.waitpid or "
                "Popen.wait). Until its parent waits for it, a dead process keeps its pid and exit "
                "status in the kernel")
            raise AssertionError(
                f"after {_call(case)} returned, pid {child['pid']} ({child['name']}) was still "
                f"running (state {child['state']}) as a child of the caller: wait until every "
                "command has exited, and collect its status, before returning")
    if exercise.student_file in _END:
        raise _END[exercise.student_file]


def test_no_file_descriptor_is_left_open(exercise):
    for case, report in _reports(exercise):
        _check_call(case, report, "run_pipeline must return (output, codes), having closed every file "
                    "descriptor it opened")
        left = [f"fd {fd} -> {target}" for fd, target in report["fds_left"].items()]
        assert not left, (
            f"after {_call(case)} returned, the caller had {', '.join(left)} open that it did not "
            "have before the call: close every pipe end you create (your copies of the ends a "
            "child uses right after starting it, the input's write end once the input is written "
            "or the command has gone, the output's read end once you have read it all)"
            f"{_threads(report)}")


def test_input_goes_to_the_first_command_and_codes_follow_subprocess(exercise):
    _observe(exercise)
    seen = _GATED[exercise.student_file]
    if seen.get("exit_order") and isinstance(seen["result"], dict) and "codes" in seen["result"]:
        codes, expected = seen["result"]["codes"], list(range(1, N + 1))
        order = ", ".join(map(str, seen["exit_order"]))
        assert codes == expected, (
            f"{_call(GATED_CASE)} returned codes {codes}, expected {expected}: command i exits with "
            f"status i, and the grader let them exit in the order {order} (each once your code had "
            "reaped the one before, or was waiting for another child). The codes follow the order of "
            "the commands, not the order they exit: wait for each pid in turn (os.waitpid(pid, 0)), "
            "or keep each pid's status with its command")
    for case, report in _reports(exercise, "codes"):
        _expect(case, report, case["meaning"])


def test_single_command_and_empty_output(exercise):
    for case, report in _reports(exercise, "single"):
        _expect(case, report, "a pipeline of one command is that command alone, and a command "
                "that prints nothing gives b'' (read until end-of-file, not until data arrives)")


def test_missing_command_gets_127_and_the_rest_still_runs(exercise):
    for case, report in _reports(exercise, "missing"):
        _check_call(case, report, "a command that cannot be found must get return code 127 while the "
                    "other commands still run, as in bash (in a forked child: os._exit(127) when exec "
                    "fails; with subprocess: catch FileNotFoundError), also in a pipeline of one command")
        meaning = (f"{MISSING} cannot be found, so it gets 127; the other commands still run "
                   "(a command after it reads end-of-file)")
        if case["commands"][0] == ["echo", "hi"]:
            first = _value(case, report)[1][:1]
            if first == [-13]:   # echo may die of SIGPIPE when the pipe's reader is gone: also right
                case = dict(case, expect=(b"", [-13, 127, 0]))
            elif first == [1]:
                meaning += (". echo exited with 1: it got EPIPE because SIGPIPE was still ignored in "
                            "the child; restore signal.SIG_DFL before exec")
        _expect(case, report, meaning)


def test_command_that_cannot_be_executed_gets_126(exercise):
    for case, report in _reports(exercise, "nonexec"):
        _check_call(case, report, "a command that exists but cannot be executed must get return code 126 "
                    "while the other commands still run, as in bash (exec fails with PermissionError, "
                    "EACCES: in a forked child, os._exit(126); with subprocess, catch PermissionError)")
        codes = _value(case, report)[1]
        assert codes[:1] != [127], (
            f"{_call(case)} returned codes {codes}, expected {case['expect'][1]}: exec of a file that "
            "exists without execute permission fails with PermissionError (EACCES), not "
            "FileNotFoundError (ENOENT). bash's convention, which run_pipeline follows: 127 when the "
            "command cannot be found, 126 when it is found but cannot be executed")
        _expect(case, report, "the file exists but cannot be executed, so it gets 126; the other "
                "commands still run")


def test_yes_dies_of_sigpipe_when_head_is_done(exercise):
    for case, report in _reports(exercise, "yes"):
        codes = _value(case, report)[1]
        assert codes[:1] != [1], (
            f"{_call(case)} returned codes {codes}: yes exited with status 1 instead of being killed "
            "by SIGPIPE (-13). Python ignores SIGPIPE, and a child started with fork+exec inherits "
            "that, so yes got an EPIPE error instead: restore signal.SIG_DFL for SIGPIPE in the "
            "child before exec (subprocess.Popen does this for you)")
        _expect(case, report, "head prints 3 lines and exits; the next write of yes into the pipe "
                "nobody reads any more must kill it with SIGPIPE, as under a shell")


def test_input_is_written_to_the_first_command_then_closed(exercise):
    for case, report in _reports(exercise, "input"):
        if "random_input" in case:
            _value(case, report, "run_pipeline must write every byte of the input, then close it")
            assert report["same"], (
                f"{_call(case)} returned {report['length']} bytes that differ from the input from byte "
                f"{report['first_difference']} on; expected the {case['random_input']} bytes of the input "
                "unchanged (the command copies its stdin to its stdout). It read 4 KiB when the pipe into "
                "it was full, then waited until you had filled it again: that write found room for only a "
                "page or two. os.write() may write fewer bytes than it is given (on a non-blocking pipe, "
                "only what fits) and returns how many it wrote: write the rest from there, until every "
                "byte is written. (And on the way out, a read shorter than asked is not the end: read "
                "until os.read() returns b'')")
            assert report["codes"] == [0], (
                f"{_call(case)} returned codes {report['codes']}, expected [0]")
            continue
        out = _value(case, report, "with input=b'' the first command must read end-of-file at once")[0]
        assert out != case["caller_stdin"].encode(), (
            f"{_call(case)} returned ({out!r}, {report['codes']}), expected (b'', [0]): cat read the "
            "caller's own stdin. With input=b'' the first command must still get a stdin at "
            "end-of-file: the read end of a pipe whose write end you close (or subprocess.DEVNULL), "
            "never the caller's fd 0, which it inherits when you leave its stdin alone")
        _expect(case, report, "with input=b'' the first command reads end-of-file at once")


def test_command_that_exits_before_reading_all_input_is_no_error(exercise):
    for case, report in _reports(exercise, "early_exit"):
        _expect(case, report, EPIPE_HINT)
        raised = report.get("thread_raised") or []
        assert not raised, (
            f"{_call(case)} returned the right result, but a thread it started ended with an exception: "
            f"{'; '.join(raised[:2])}: {EPIPE_HINT}. Catch BrokenPipeError where you write")


def test_ten_megabytes_flow_through_cat_cat_without_deadlock(exercise):
    for case, report in _reports(exercise, "volume"):
        _value(case, report)
        assert report["same"], (
            f"{_call(case)} returned {report['length']} bytes that differ from the input from byte "
            f"{report['first_difference']} on: every byte written into the pipeline must come out "
            "once, in order (write all the input, read until end-of-file)")
        assert report["codes"] == [0, 0], (
            f"{_call(case)} returned codes {report['codes']}, expected [0, 0]: both cats exit with "
            "status 0")


def test_output_is_every_byte_the_last_command_wrote(exercise):
    for case, report in _reports(exercise, "output"):
        _expect(case, report, case["meaning"])


def test_code_is_the_exit_status_however_late_the_command_exits(exercise):
    for case, report in _reports(exercise, "late_exit"):
        _expect(case, report, case["meaning"])
