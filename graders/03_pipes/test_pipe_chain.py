"""Grader for pipe_chain: run_pipeline(commands, input) -> (output, return codes).

Two observations feed the tests; each is made once per graded file (a sandbox launch costs
~0.1 s) and made again by a later test only if the first one could not finish it.

- The gated pipeline, watched from outside while it runs. Its commands are copies of gate.py,
  which wait at a FIFO the test holds open; while they wait, the test reads /proc: who is whose
  parent, what each command's argv is, which pipe (pipe:[inode]) each fd points at, which pipe
  ends the caller still holds. Closing the FIFO lets them all through at once.
- A batch of real pipelines (yes | head, missing commands, signals, 10 MB through cat | cat...),
  run one after another in one scenario: for each call, the result and what it left behind
  (fds open in the caller, children not reaped). A call that does not return in time stops the
  batch; the test that owns that call reports the timeout.
"""

import os
import time

from graders.harness import osinspect
from graders.harness.outcome import Timeout

N = 3                        # commands in the gated pipeline
GATE_INPUT = "through the gate\n"
FIND_DEADLINE = 2.0          # for every command to be running (a correct pipeline needs ~0.1 s)
CLOSE_DEADLINE = 1.0         # for the caller to have closed the pipe ends it handed over
CALL_DEADLINE = 3.0          # for one call of the batch to return (a correct one needs < 0.2 s)
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox"}
MISSING = "no-such-cmd-proclab"
GATED_CALL = f"run_pipeline() with {N} commands (`python gate.py GATE command-1` ... `command-{N}`)"
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
    _case("missing", [[MISSING], ["cat"]], "never read\n", expect=(b"", [127, 0]),
          awaiting=f"run_pipeline([['{MISSING}'], ['cat']], b'never read\\n') to return{EXEC_HINT}"),
    _case("missing", [[MISSING], ["echo", "still runs"]], expect=(b"still runs\n", [127, 0]),
          awaiting=f"run_pipeline([['{MISSING}'], ['echo', 'still runs']]) to return{EXEC_HINT}"),
    _case("missing", [["echo", "hi"], [MISSING], ["cat"]], expect=(b"", [0, 127, 0]),
          awaiting=f"run_pipeline([['echo', 'hi'], ['{MISSING}'], ['cat']]) to return{EXEC_HINT}"),
    _case("yes", [["yes"], ["head", "-n", "3"]], expect=(b"y\ny\ny\n", [-13, 0]),
          awaiting=f"run_pipeline([['yes'], ['head', '-n', '3']]) to return: {SIGPIPE_HINT}",
          deadline=2.0),
    _case("volume", [["cat"], ["cat"]], random_input=10 << 20,
          awaiting="run_pipeline([['cat'], ['cat']], <10 MiB of bytes>) to return: write the input "
                   "and read the output at the same time (a thread, or selectors). A pipe holds only "
                   "64 KiB: while you write without reading, cat blocks writing its output, stops "
                   "reading, and your write blocks too"),
]

_GATED: dict[str, dict] = {}              # graded file -> observation of the gated pipeline
_BATCH: dict[str, list] = {}              # graded file -> per case: report, Timeout, or None


# -- helpers -----------------------------------------------------------------------------------

class Gate:
    """A FIFO held open read-write by the test: readers block in read() until release()."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, "gate")
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


def _alive(pid: int) -> bool:
    try:
        return osinspect.state(pid) not in ("Z", "X")
    except ProcessLookupError:
        return False


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


def _call(case: dict) -> str:
    if "random_input" in case:
        return f"run_pipeline({case['commands']!r}, <{case['random_input'] >> 20} MiB of bytes>)"
    text = f"run_pipeline({case['commands']!r}"
    if case.get("input"):
        text += f", {case['input'].encode()!r}"
    return text + ")"


# -- observation 1: the gated pipeline, watched from outside -----------------------------------

def _watch_gated(exercise) -> dict:
    seen = {"most": 0, "links": [], "extra": [], "kept": [], "result": None}
    with Gate(exercise.tmp) as gate, \
            exercise.start("gated", gate=gate.path, n=N, data=GATE_INPUT) as run:
        commands = run.event("calling", awaiting="the scenario to call run_pipeline")["commands"]
        caller = seen["caller"] = run.pid
        deadline = time.monotonic() + FIND_DEADLINE
        while True:
            found = _find_commands(caller, commands)
            seen["most"] = max(seen["most"], len(found))
            at_gate = {i: pid for i, pid in found.items() if gate.target in _fds(pid).values()}
            if len(at_gate) == N or time.monotonic() >= deadline:
                break
            if not _alive(caller):   # it returned or raised: surface that (todo, exception...)
                value = run.result(timeout=2.0, awaiting="the scenario to report how run_pipeline ended")
                raise AssertionError(
                    f"{GATED_CALL} returned {value!r} before its commands had all run: it must "
                    "start the commands and wait until they have all exited")
            time.sleep(0.005)
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
            return seen

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
        try:
            seen["result"] = run.result(timeout=CALL_DEADLINE, awaiting=(
                f"{GATED_CALL} to return once its commands were let through (each copies its stdin "
                "to its stdout, then exits at end-of-file)"))
        except Timeout as exc:
            seen["result"] = exc
    return seen


def _gated(exercise) -> dict:
    if exercise.student_file not in _GATED:
        _GATED[exercise.student_file] = _watch_gated(exercise)
    return _GATED[exercise.student_file]


# -- observation 2: the batch of pipelines -----------------------------------------------------

def _run_batch(exercise, cases: list[dict]) -> list:
    """One report per case; a Timeout for the call that did not return, None for those after it."""
    reports = [None] * len(cases)
    sent = [{key: case[key] for key in ("commands", "input", "random_input") if key in case}
            for case in cases]
    with exercise.start("pipelines", cases=sent, timeout=CALL_DEADLINE) as run:
        for i, case in enumerate(cases):
            try:
                reports[i] = run.event("returned", timeout=case.get("deadline", CALL_DEADLINE),
                                       awaiting=case.get("awaiting", f"{_call(case)} to return{RETURN_HINT}"))
            except Timeout as exc:
                reports[i] = exc
                return reports
        run.result(awaiting="the scenario to finish")
    return reports


def _reports(exercise, test: str | None = None) -> list[tuple[dict, dict]]:
    """(case, report) for the batch's calls that returned (only those of `test` if given), in order.

    For a test's own cases, a call that did not return raises its Timeout, and calls the batch
    never reached (a timeout stopped it) are run again, on their own. Without `test` (the tests
    of what every call leaves behind), only calls that returned are judged; if none did, the
    first timeout is raised: there is nothing to judge.
    """
    if exercise.student_file not in _BATCH:
        _BATCH[exercise.student_file] = _run_batch(exercise, CASES)
    reports = _BATCH[exercise.student_file]
    if test is None:
        returned = [(case, report) for case, report in zip(CASES, reports) if isinstance(report, dict)]
        if not returned:
            raise next(report for report in reports if isinstance(report, Timeout))
        return returned
    mine = [i for i, case in enumerate(CASES) if case["test"] == test]
    missing = [i for i in mine if reports[i] is None]
    if missing:
        for i, report in zip(missing, _run_batch(exercise, [CASES[i] for i in missing])):
            reports[i] = report
    pairs = []
    for i in mine:
        if isinstance(reports[i], Timeout):
            raise reports[i]
        if reports[i] is None:   # after a timeout in the rerun, which was raised above
            break
        pairs.append((CASES[i], reports[i]))
    return pairs


def _value(case: dict, report: dict) -> tuple[bytes, list[int]]:
    """(output, codes) of one call, or a failure saying why there is none."""
    assert "raised" not in report, (
        f"{_call(case)} raised {report['raised']}: run_pipeline must return (output, codes)")
    assert "bad" not in report, (
        f"{_call(case)} returned {report['bad']}: run_pipeline must return a tuple "
        "(bytes, list of int)")
    return report.get("out"), report["codes"]


def _expect(case: dict, report: dict, meaning: str) -> None:
    out, codes = case["expect"]
    got_out, got_codes = _value(case, report)
    assert len(got_codes) == len(case["commands"]), (
        f"{_call(case)} returned {len(got_codes)} return codes {got_codes} for "
        f"{len(case['commands'])} commands: return exactly one code per command, in order")
    raw = [-code if code < 0 else code << 8 for code in codes]
    assert not (got_codes == raw and raw != codes), (
        f"{_call(case)} returned codes {got_codes}, expected {codes}: those are raw wait statuses "
        "as os.waitpid() gives them; convert each with os.waitstatus_to_exitcode() "
        "(exit status, or -N for signal N)")
    assert (got_out, got_codes) == (out, codes), (
        f"{_call(case)} returned ({got_out[:80]!r}, {got_codes}), expected ({out!r}, {codes}): {meaning}")


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
    case = {"commands": [["python", "gate.py", "GATE", f"command-{i}"] for i in range(1, N + 1)],
            "input": GATE_INPUT, "expect": (GATE_INPUT.encode(), [0] * N)}
    _expect(case, seen["result"],
            "each command copies its stdin to its stdout, so the input must come out unchanged")


def test_every_child_is_reaped(exercise):
    for case, report in _reports(exercise):
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


def test_no_file_descriptor_is_left_open(exercise):
    for case, report in _reports(exercise):
        left = [f"fd {fd} -> {target}" for fd, target in report["fds_left"].items()]
        assert not left, (
            f"after {_call(case)} returned, the caller had {', '.join(left)} open that it did not "
            "have before the call: close every pipe end you create (your copies of the ends a "
            "child uses right after starting it, the output's read end once you have read it all)")


def test_input_goes_to_the_first_command_and_codes_follow_subprocess(exercise):
    for case, report in _reports(exercise, "codes"):
        _expect(case, report, case["meaning"])


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


def test_missing_command_gets_127_and_the_rest_still_runs(exercise):
    for case, report in _reports(exercise, "missing"):
        assert "raised" not in report, (
            f"{_call(case)} raised {report['raised']}: a command that cannot be found must get "
            "return code 127 while the other commands still run, as in bash (in a forked child: "
            "os._exit(127) when exec fails; with subprocess: catch FileNotFoundError)")
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


def test_single_command_and_empty_output(exercise):
    for case, report in _reports(exercise, "single"):
        _expect(case, report, "a pipeline of one command is that command alone, and a command "
                "that prints nothing gives b'' (read until end-of-file, not until data arrives)")
