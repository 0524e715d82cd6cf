"""Grader for coprocess: ask_all(argv, questions) -> (answers, returncode).

One sandbox launch per graded file (scenario_coprocess.conversations) serves every test. It calls
ask_all once per case, each time with a fresh copy of coprocess_child.py in one of its modes (the
child answers the n-th line q with f"{n}:{q reversed}"). Questions, their number, exit statuses and
signals are drawn per run. Before and after each call the scenario waits at a handshake (a byte on a
control FIFO the test holds) while the test reads /proc from outside: the caller's fds, children and
threads. During each call the test watches both processes from outside:

- wired: the child answers the first question, then waits at a gate FIFO the test holds. While it
  waits, the test reads /proc: the child's parent and argv, what its fd 0 and fd 1 are, which ends
  of those two pipes the caller and the child hold. Then it opens the gate.
- a stuck conversation is recognised from /proc, not by a clock: every thread of the caller and of
  the child asleep, in the same system call, with the same context-switch counts, for STUCK_FOR
  seconds (a thread that can run is in state R, not S; one that wakes counts a switch), and the child
  asleep reading its stdin or writing its stdout, or gone. The message says who waits for what. A
  deadlocked call ends its launch; the cases after it get a launch of their own.
"""

import os
import random
import signal
import time

from graders.harness import osinspect
from graders.harness.outcome import Failure, Timeout, Todo

STEP_DEADLINE = 3.0      # s for the scenario to reach its next handshake (start-up and import included)
CALL_DEADLINE = 2.0      # s for one call to return (a right solution needs < 0.3 s, the flood included)
CLOSE_DEADLINE = 0.5     # s for the caller to close its copies of the child's pipe ends
GATE_DEADLINE = 1.0      # s for the wired child to reach its gate
GONE_DEADLINE = 0.5      # s for threads the call joined to leave /proc (a joined thread exits a moment later)
STUCK_FOR = 0.1          # s without any movement that make a conversation stuck for good
HOLD_FOR = 0.03          # s without any movement after which the test lets go of the quitting child's stdin
LOOK = 0.01              # s between two looks at /proc while a call runs (the pause is the event wait)
BATCH = 4
PAD = 120
LONG, EVERY = 70_000, 500   # flood: answers 1, 501, 1001 hold 70 000 padding characters (more than a pipe)
MACHINE = os.uname().machine
SYSCALLS = {   # number -> (kind, name)
    "x86_64": {0: ("read", "read"), 17: ("read", "pread64"), 19: ("read", "readv"), 1: ("write", "write"),
               18: ("write", "pwrite64"), 20: ("write", "writev"), 61: ("wait", "wait4"), 247: ("wait", "waitid"),
               7: ("poll", "poll"), 23: ("poll", "select"), 270: ("poll", "pselect6"), 271: ("poll", "ppoll"),
               232: ("poll", "epoll_wait"), 281: ("poll", "epoll_pwait"), 441: ("poll", "epoll_pwait2"),
               202: ("futex", "futex"), 35: ("sleep", "nanosleep"), 230: ("sleep", "clock_nanosleep")},
    "aarch64": {63: ("read", "read"), 67: ("read", "pread64"), 65: ("read", "readv"), 64: ("write", "write"),
                68: ("write", "pwrite64"), 66: ("write", "writev"), 260: ("wait", "wait4"), 95: ("wait", "waitid"),
                73: ("poll", "ppoll"), 72: ("poll", "pselect6"), 22: ("poll", "epoll_pwait"),
                441: ("poll", "epoll_pwait2"), 98: ("futex", "futex"), 101: ("sleep", "nanosleep"),
                115: ("sleep", "clock_nanosleep")},
}.get(MACHINE, {})
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox"}
KILLERS = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM)

CHILD_DOES = {
    "wired": "answers each question at once (after the first it waits until the grader lets it go on); at "
             "end-of-file it kills itself with signal {signal}",
    "pieces": "answers each question at once, every other answer in two writes cut inside a UTF-8 character, "
              "the second only once you have read the first; at end-of-file it exits with status {status}",
    "batch": f"reads {BATCH} questions before it answers them, all {BATCH} answers in one write, and answers "
             "the last ones only at end-of-file",
    "flood": f"answers each question at once, with answers padded to over {PAD} characters, answers 1, "
             f"{EVERY + 1}, {2 * EVERY + 1}... to over {LONG}",
    "dies": "answers {keep} questions, then exits with status {status} without reading the others",
    "quits": "answers {keep} questions, then closes its stdout and exits with status 0 without reading the "
             "others",
    "empty": "is cat: it exits with status 0 at end-of-file",
}
_SEEN: dict[str, dict] = {}


class Deadlock(AssertionError):
    """A conversation stuck for good; kind says how: 'eof' (the child waits for end-of-file on its stdin),
    'lockstep' (it waits for more questions while the caller waits for an answer), 'full' (both pipes
    full), 'dead' (the child has gone and the caller waits on), 'other'."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# -- the plan: one case per child behaviour, drawn per run ---------------------------------------

def _plan() -> list[dict]:
    rng = random.SystemRandom()

    def case(name, mode, count, width=30, **extra):
        return {"name": name, "mode": [str(arg) for arg in mode], "seed": rng.randrange(1 << 30), "count": count,
                "width": width, **extra}

    exit_status = rng.randint(3, 120)
    signum = int(rng.choice(KILLERS))
    hard = len(_scenario().HARD)
    return [
        case("wired", ["gate", None], rng.randint(4, 7), 24, end=f"kill:{signum}", signal=signum),
        case("pieces", ["pieces"], rng.randint(7, 11) + hard, 40, end=f"exit:{exit_status}", status=exit_status,
             hard=True),
        case("batch", ["batch", BATCH], hard + BATCH * rng.randint(1, 2) + rng.randint(1, BATCH - 1), hard=True),
        case("flood", ["flood", PAD, LONG, EVERY], rng.randint(1000, 1200), 100, pad=[PAD, LONG, EVERY], big=True),
        case("quits", ["quit", rng.randint(1, 4), None], 800, 120, big=True),
        case("empty", [], 0, argv=["cat"]),
    ]


def _child_does(case: dict) -> str:
    keep = case["mode"][1] if case["name"] == "quits" else case.get("keep")
    return CHILD_DOES[case["name"]].format(status=case.get("status"), keep=keep,
                                           signal=_signal_name(case.get("signal", 0)))


def _described(case: dict) -> str:
    if case.get("argv"):
        return f"ask_all({case['argv']!r}, []) (the child {_child_does(case)})"
    return f"ask_all([python, 'coprocess_child.py', ...], <{case['count']} questions>) (the child {_child_does(case)})"


def _signal_name(signum: int) -> str:
    try:
        return f"{signal.Signals(signum).name} ({signum})"
    except ValueError:
        return str(signum)


# -- FIFOs the test holds ------------------------------------------------------------------------

class Fifo:
    """A FIFO held open read-write by the test. As a gate: a reader blocks until release(). As the
    control FIFO: send() lets the scenario past one handshake."""

    def __init__(self, directory: str, name: str):
        self.path = os.path.join(directory, name)
        os.mkfifo(self.path, 0o644)
        self.ino = os.lstat(self.path).st_ino
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)

    def send(self) -> None:
        if self.fd is not None:
            os.write(self.fd, b".")

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def held_by(self, pid: int) -> bool:
        return any(ino == self.ino for ino, _ in _fd_inodes(pid).values())


# -- /proc, read from here -----------------------------------------------------------------------

def _fds(pid: int) -> dict[int, str]:
    try:
        return osinspect.fd_targets(pid)
    except (ProcessLookupError, PermissionError):   # gone, or not ours to read (same-user mode, another uid)
        return {}


def _fd_inodes(pid: int) -> dict[int, tuple[int, int]]:
    found = {}
    for fd in _fds(pid):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
            found[fd] = (st.st_ino, st.st_mode)
        except OSError:
            pass
    return found


def _mode(pid: int, fd: int) -> str:
    """'read' or 'write' end, from the open flags in /proc/PID/fdinfo/FD."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("flags:"):
                    return {0: "read", 1: "write"}.get(int(line.split()[1], 8) & 3, "read-write")
    except OSError:
        pass
    return "unknown"


def _cmdline(pid: int) -> list[str]:
    try:
        return osinspect.cmdline(pid)
    except ProcessLookupError:
        return []


def _shown(argv: list[str]) -> str:
    text = " ".join(argv)
    return text if len(text) <= 70 else text[:67] + "..."


def _tasks(pid: int) -> dict[int, tuple]:
    """tid -> (state letter, system call line, context switches) of every thread of pid."""
    tasks = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return tasks
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/stat") as f:
                text = f.read()
            with open(f"{base}/status") as f:
                switches = tuple(line.split()[1] for line in f if "ctxt_switches" in line)
        except (OSError, IndexError):
            continue
        try:
            with open(f"{base}/syscall") as f:
                call = tuple(f.read().split()[:4])
        except OSError:   # not shown here: no deadlock is ever declared without it (the deadline remains)
            call = ("unknown",)
        tasks[int(tid)] = (text[text.rindex(")") + 2], call, switches)
    return tasks


def _call_of(task: tuple) -> tuple[str, str, int | None]:
    """(kind, name, fd) of the system call a sleeping thread is in."""
    call = task[1]
    if not call or call[0] in ("running", "-1"):
        return ("none", call[0] if call else "?", None)
    try:
        number = int(call[0])
        first = int(call[1], 16) if len(call) > 1 else None
    except ValueError:
        return ("none", call[0], None)
    kind, name = SYSCALLS.get(number, ("other", f"system call {number}"))
    return (kind, name, first if kind in ("read", "write") else None)


def _kids(pid: int) -> list[int]:
    """Direct children of pid, from /proc/PID/task/TID/children (cheap), else from a scan of /proc."""
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(child) for child in f.read().split()]
    except FileNotFoundError:
        return osinspect.children(pid) if os.path.isdir(f"/proc/{pid}") else []
    except (OSError, ValueError):
        return osinspect.children(pid)
    return sorted(found)


def _children(pid: int) -> list[dict]:
    found = []
    for child in _kids(pid):
        try:
            found.append({"pid": child, "state": osinspect.state(child),
                          "name": _shown(_cmdline(child)) or osinspect.comm(child)})
        except ProcessLookupError:
            pass
    return found


def _snapshot(pid: int) -> dict:
    return {"fds": _fds(pid), "children": _children(pid), "threads": len(_tasks(pid))}


def _find_child(caller: int, argv: list[str]) -> int | None:
    """The process running argv under the caller (its child, or deeper when a shell sits between)."""
    todo = _kids(caller)
    while todo:
        pid = todo.pop(0)
        if _cmdline(pid) == argv:
            return pid
        todo += _kids(pid)
    return None


# -- watching a call -----------------------------------------------------------------------------

class Watch:
    """What the child's two pipes are, and whether the conversation is stuck for good."""

    def __init__(self, caller: int, argv: list[str], state_file: str, case: dict):
        self.caller, self.argv, self.state_file, self.case = caller, argv, state_file, case
        self.child = None
        self.stdin = self.stdout = None   # pipe:[inode] of the child's fd 0 and fd 1
        self.last = None
        self.since = 0.0

    def _learn(self) -> None:
        if self.child is None:
            self.child = _find_child(self.caller, self.argv)
        if self.child is not None and self.stdin is None:
            fds = _fds(self.child)
            if fds.get(0, "").startswith("pipe:") and fds.get(1, "").startswith("pipe:"):
                self.stdin, self.stdout = fds[0], fds[1]

    def name_fd(self, pid: int, fd: int | None) -> str:
        target = _fds(pid).get(fd, "") if fd is not None else ""
        if target and target == self.stdin:
            return f"fd {fd}, the {_mode(pid, fd)} end of the child's stdin pipe"
        if target and target == self.stdout:
            return f"fd {fd}, the {_mode(pid, fd)} end of the child's stdout pipe"
        return f"fd {fd} ({target or 'closed'})" if fd is not None else ""

    def _doing(self, pid: int, task: tuple) -> str:
        kind, name, fd = _call_of(task)
        if kind == "read":
            return f"asleep reading {self.name_fd(pid, fd)} ({name})"
        if kind == "write":
            return f"asleep writing into {self.name_fd(pid, fd)} ({name})"
        return {"wait": f"asleep waiting for a child to exit ({name})",
                "poll": f"asleep waiting for a file descriptor to be ready ({name})",
                "futex": "asleep waiting for a lock or for another thread (futex: a join, a queue, a lock)",
                "sleep": f"asleep in a timed sleep ({name})"}.get(kind, f"asleep in {name}")

    def look(self) -> Deadlock | None:
        """A Deadlock when the conversation is stuck for good, else None."""
        self._learn()
        if self.child is None:
            return None
        mine = _tasks(self.caller)
        child_state = "gone"
        try:
            child_state = osinspect.state(self.child)
        except ProcessLookupError:
            pass
        theirs = _tasks(self.child) if child_state not in ("Z", "gone") else {}
        now = time.monotonic()
        stuck = bool(mine) and all(task[0] == "S" for task in mine.values())
        if theirs:
            kind, _, fd = _call_of(theirs.get(self.child, ("", ())))
            stuck = stuck and all(task[0] == "S" for task in theirs.values()) and (kind, fd) in (("read", 0),
                                                                                                  ("write", 1))
        picture = (child_state, mine, theirs)
        if not stuck or picture != self.last:
            self.last, self.since = picture, now
            return None
        if now - self.since < STUCK_FOR:
            return None
        return self._diagnosis(mine, theirs, child_state)

    def _progress(self) -> tuple[int, int]:
        try:
            with open(self.state_file) as f:
                count, eof = f.read().split()
            return int(count), int(eof)
        except (OSError, ValueError):
            return -1, 0

    def _diagnosis(self, mine: dict, theirs: dict, child_state: str) -> Deadlock:
        me = "; ".join(self._doing(self.caller, task) for task in mine.values())
        kinds = {(_call_of(task)[0], _fds(self.caller).get(_call_of(task)[2])) for task in mine.values()}
        total = self.case["count"]
        head = (f"deadlock: {_described(self.case)} never returned. For {STUCK_FOR} s nothing moved: your process "
                f"(pid {self.caller}) was {me}")
        child = f"the child (pid {self.child})"
        if not theirs:
            holders = [fd for fd, target in _fds(self.caller).items()
                       if target == self.stdout and _mode(self.caller, fd) == "write"]
            if ("read", self.stdout) in kinds and holders:
                return Deadlock("dead", (
                    f"{head}, while {child} had exited already. A read of its stdout returns end-of-file only "
                    "when every copy of that pipe's write end is closed, and your process still held one (fd "
                    f"{holders[0]}): close your copy of each end you hand to the child as soon as it has started"))
            return Deadlock("dead", (
                f"{head}, while {child} had exited already: when its stdout ends (os.read() returns b'', "
                "readline() returns ''), stop reading, reap the child and raise ChildProcessError if answers "
                "are missing"))
        kind, _, fd = _call_of(theirs[self.child])
        count, eof = self._progress()
        if kind == "write":
            if ("write", self.stdin) in kinds:
                return Deadlock("full", (
                    f"{head}, while {child} was asleep writing an answer into its stdout, a pipe full of 64 KiB "
                    "of answers nobody read, so it read no more questions and the pipe into it filled up too: "
                    "both pipes full, both sides waiting. Read the answers while you write the questions: write "
                    "from a thread (or use selectors) while this thread reads"))
            return Deadlock("full", (
                f"{head}, while {child} was asleep writing an answer into its stdout: the pipe holds 64 KiB and "
                "was full. Keep reading the child's stdout until you have every answer"))
        read_of = f"it had read {count} of the {total} questions" if count >= 0 else "it had read some questions"
        if total == 0:
            read_of = "you had no question to send it"
        own = [fd for fd, target in _fds(self.child).items()
               if fd > 2 and target == self.stdin and _mode(self.child, fd) == "write"]
        if own and count == total:
            return Deadlock("eof", (
                f"{head}, while {child} had read all {total} questions and was asleep reading its stdin, waiting "
                f"for end-of-file, which never comes: the child itself holds a write end of its own stdin pipe "
                f"(its fd {own[0]}), and end-of-file comes only when every copy is closed. The child must get "
                "only fd 0, 1 and 2: do not make pipe ends inheritable (close_fds=False, os.set_inheritable, "
                "pass_fds)"))
        if ("wait", None) in kinds:
            return Deadlock("eof", (
                f"{head}, while {child} was asleep reading its stdin ({read_of}, and no end-of-file): it exits "
                "only at end-of-file. Close the child's stdin right after the last question, before you wait "
                "for it" + (" (with no questions at all: right after starting it)" if total == 0 else "")))
        if count == total and not eof:
            return Deadlock("eof", (
                f"{head}, while {child} had read all {total} questions and was asleep reading its stdin, waiting "
                "for end-of-file before it answers the last ones. Close the child's stdin right after writing "
                "the last question, before you read the answers"))
        if ("read", self.stdout) in kinds or any(k == "poll" for k, _ in kinds):
            return Deadlock("lockstep", (
                f"{head}, while the child (pid {self.child}) was asleep reading its stdin, waiting for question "
                f"{count + 1} ({read_of}; it {_child_does(self.case)}). So your process waits for an answer to a "
                "question the child has not received: either you wait for each answer before you send the next "
                "question, or the questions sit in a buffer of your process (a file object keeps what you write "
                "until it is flushed or closed). Send every question from a thread (or with selectors) while "
                "you read the answers, then close the child's stdin"))
        return Deadlock("other", (
            f"{head}, while the child (pid {self.child}) was asleep reading its stdin ({read_of}, no end-of-file "
            "yet): write every question, then close its stdin, while you read the answers"))

    def where(self) -> str:
        """Where things stood when the deadline passed (said after a timeout)."""
        self._learn()
        doing = "; ".join(f"thread {tid} {'running' if task[0] == 'R' else self._doing(self.caller, task)}"
                          for tid, task in _tasks(self.caller).items())
        child = f"the child was pid {self.child}" if self.child else "no child running the command was found"
        return f". Your process: {doing or 'gone'}; {child}"


def _observe_wiring(run, case_seen: dict, watch: Watch, gate: Fifo, stuck: bool = False) -> bool:
    """The wired child waits at the gate (or the call is stuck for good): read the wiring from /proc, then
    open the gate. True once done."""
    caller = run.pid
    child = watch.child or _find_child(caller, watch.argv)
    if child is None or not (stuck or gate.held_by(child)):
        return False
    watch._learn()
    wiring = case_seen["wiring"] = {"caller": caller, "child": child}
    try:
        wiring["parent"] = osinspect.ppid(child)
        wiring["parent_cmd"] = _shown(_cmdline(wiring["parent"]))
        wiring["parent_is_shell"] = os.path.basename((_cmdline(wiring["parent"]) or [""])[0]) in SHELLS
    except ProcessLookupError:
        wiring["parent"] = None
    wiring["argv"] = _cmdline(child)
    fds = _fds(child)
    wiring["fd0"], wiring["fd1"] = fds.get(0, "nothing"), fds.get(1, "nothing")
    pipes = {t for t in (wiring["fd0"], wiring["fd1"]) if t.startswith("pipe:")}
    wiring["child_extra"] = [(fd, target) for fd, target in sorted(fds.items()) if fd >= 2 and target in pipes]

    def kept():
        return [(fd, target, _mode(caller, fd)) for fd, target in sorted(_fds(caller).items())
                if (target == wiring["fd0"] and _mode(caller, fd) != "write")
                or (target == wiring["fd1"] and _mode(caller, fd) != "read")]

    deadline = time.monotonic() + CLOSE_DEADLINE
    while kept() and time.monotonic() < deadline:
        time.sleep(0.005)
    wiring["kept"] = kept()
    wiring["reads_answers"] = [fd for fd, target in _fds(caller).items()
                               if target == wiring["fd1"] and _mode(caller, fd) == "read"]
    gate.release()
    return True


# -- the one launch (and a new one after a deadlock) ---------------------------------------------

def _step(run, what: str, awaiting: str, timeout: float = STEP_DEADLINE) -> dict:
    data = run.event("step", timeout=timeout, awaiting=awaiting)
    if data.get("what") != what:
        raise Failure(f"the grader's scenario reported {data.get('what')!r} where it expected {what!r} (grader bug)")
    return data


class Hold:
    """The quitting child: once it has closed its stdout and waits at its gate, the test opens a read end of
    its stdin pipe of its own (through /proc/CHILD/fd/0), then lets it exit. So the caller's writes into that
    full pipe do not fail with EPIPE when the child exits: they wait, until the caller's process is asleep
    for good (it waits for its writer thread, say) or ask_all has returned; only then does the test let go,
    and the writes fail with EPIPE. A thread that ask_all did not join is still writing when it returns."""

    def __init__(self, watch: Watch, gate: Fifo):
        self.watch, self.gate = watch, gate
        self.fd = None
        self.state = "waiting"   # -> "holding" (gate opened) -> "done"
        self.last, self.since = None, 0.0

    def step(self) -> None:
        watch = self.watch
        if self.state == "waiting":
            watch._learn()
            if watch.child is None or not self.gate.held_by(watch.child):
                return
            try:
                self.fd = os.open(f"/proc/{watch.child}/fd/0", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:   # not ours to open (same-user mode, another uid): the EPIPE comes at its exit
                self.fd = None
            self.gate.release()
            self.state = "holding"
            return
        if self.state != "holding":
            return
        try:
            gone = osinspect.state(watch.child) in ("Z", "X")
        except ProcessLookupError:
            gone = True
        mine = _tasks(watch.caller)
        asleep = bool(mine) and all(task[0] == "S" for task in mine.values())
        now = time.monotonic()
        if not (gone and asleep) or mine != self.last:
            self.last, self.since = mine, now
            return
        if now - self.since >= HOLD_FOR:
            self.release()

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.state = "done"
        self.gate.release()


def _converse(run, control: Fifo, gates: dict, case: dict, case_seen: dict):
    """One call, watched. None when it returned (its report is in case_seen), else why it did not."""
    data = _step(run, "calling", f"the scenario to call ask_all for {_described(case)}")
    argv, caller = data["argv"], run.pid
    case_seen["argv"] = argv
    case_seen["before"] = _snapshot(caller)
    control.send()
    watch = Watch(caller, argv, data["state"], case)
    hold = Hold(watch, gates["quits"]) if case["name"] == "quits" else None
    try:
        return _conversing(run, control, gates["wired"], case, case_seen, watch, hold)
    finally:
        if hold is not None:
            hold.release()


def _conversing(run, control: Fifo, gate: Fifo, case: dict, case_seen: dict, watch: Watch, hold):
    caller = run.pid
    deadline = time.monotonic() + CALL_DEADLINE
    wired = case["name"] != "wired"
    while True:
        try:
            data = run.event("step", timeout=LOOK, awaiting="")
            break
        except Timeout:
            pass
        if not wired:
            wired = _observe_wiring(run, case_seen, watch, gate)
        if hold is not None:
            hold.step()
        # while the test holds the quitting child's stdin, the caller may wait for the test: no deadlock
        stuck = watch.look() if hold is None or hold.state != "holding" else None
        if stuck:
            if not wired:
                _observe_wiring(run, case_seen, watch, gate, stuck=True)
            return stuck
        if time.monotonic() >= deadline:
            return Timeout(f"timed out after {CALL_DEADLINE:.1f} s waiting for {_described(case)} to return"
                           f"{watch.where()}")
    if data.get("what") != "returned":
        return Failure(f"the grader's scenario reported {data.get('what')!r} during a call (grader bug)")
    case_seen["report"] = data
    case_seen["pipes"] = (watch.stdin, watch.stdout)
    if hold is not None:
        hold.release()
    after = _snapshot(caller)
    end = time.monotonic() + GONE_DEADLINE
    while after["threads"] > case_seen["before"]["threads"] and time.monotonic() < end:
        time.sleep(0.005)
        after = _snapshot(caller)
    case_seen["after"] = after
    control.send()
    return None


def _launch(exercise, seen: dict, cases: list[dict], number: int) -> int:
    """Run cases in one launch; return how many were dealt with (all, or up to the one that stuck)."""
    control = Fifo(exercise.tmp, f"control-{number}")
    gates = {name: Fifo(exercise.tmp, f"gate-{name}-{number}") for name in ("wired", "quits")}
    with_gate = [dict(case, mode=["gate", gates["wired"].path]) if case["name"] == "wired" else
                 dict(case, mode=["quit", case["mode"][1], gates["quits"].path]) if case["name"] == "quits" else
                 case for case in cases]
    try:
        with exercise.start("conversations", cases=with_gate, control=control.path, timeout=STEP_DEADLINE) as run:
            for i, case in enumerate(cases):
                failure = _converse(run, control, gates, case, seen["cases"][case["name"]])
                if failure is not None:
                    seen["cases"][case["name"]]["failure"] = failure
                    if isinstance(failure, Timeout):
                        seen["stop"] = Failure(f"not run: an earlier call timed out ({failure})")
                    return i + 1
            try:
                run.result(timeout=STEP_DEADLINE, awaiting="the grader's scenario to finish after the last call")
            except Failure as exc:   # e.g. a process the code started still ran at the end
                seen["end"] = exc
            return len(cases)
    finally:
        control.release()
        for gate in gates.values():
            gate.release()


def _session(exercise) -> dict:
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    plan = _plan()
    seen = _SEEN[key] = {"plan": plan, "cases": {case["name"]: {"case": case} for case in plan}, "stop": None,
                         "end": None}
    todo, number = plan, 0
    while todo and seen["stop"] is None:
        try:
            done = _launch(exercise, seen, todo, number)
        except (Failure, Todo) as exc:      # NotImplementedError, the process killed, a crash: every test says so
            seen["stop"] = exc
            break
        except Exception as exc:  # noqa: BLE001 - GradingError and the like: the same for every test
            seen["stop"] = exc
            break
        todo, number = todo[done:], number + 1
    return seen


def _case(exercise, name: str, wiring: bool = False) -> dict:
    """What the call of case `name` showed; its failure (a deadlock...) raised, unless `wiring` is asked for
    and was seen before it."""
    seen = _session(exercise)
    case_seen = seen["cases"][name]
    if wiring and case_seen.get("wiring"):
        return case_seen
    if "failure" in case_seen:
        raise case_seen["failure"]
    if "report" not in case_seen:
        raise seen["stop"] or AssertionError("the grader saw no report of this call (grader bug)")
    return case_seen


def _returned(exercise) -> list[dict]:
    """Every case whose call returned or raised (for the checks of what every call leaves behind)."""
    seen = _session(exercise)
    done = [case_seen for case_seen in seen["cases"].values() if "report" in case_seen]
    if not done:
        first = next((c["failure"] for c in seen["cases"].values() if "failure" in c), None)
        raise first or seen["stop"] or AssertionError("the grader saw no call return (grader bug)")
    return done


# -- judging one call ----------------------------------------------------------------------------

def _threads(report: dict) -> str:
    raised = report.get("thread_raised") or []
    return f" (and a thread it started: {'; '.join(raised[:2])})" if raised else ""


def _check_call(case_seen: dict) -> dict:
    """What comes first about any call: a forked child back in the caller's code, an exception, a bad shape."""
    report, case = case_seen["report"], case_seen["case"]
    for note in report.get("ran_on", []):
        raise AssertionError(
            f"during {_described(case)}, a forked child came back into the caller's code instead of running the "
            f"command: {note}. After fork, a child must exec or end: when exec fails, end it at once with "
            "os._exit(127); never let it return or raise into your code (or let subprocess.Popen do the fork "
            "and exec)")
    if "raised" in report:
        hint = ""
        if report["raised"].startswith("BrokenPipeError"):
            hint = (": writing into the pipe of a child that has exited fails with EPIPE (BrokenPipeError). "
                    "That is no error of its own: stop writing, and let the reading side find the missing "
                    "answers (end-of-file) and raise ChildProcessError")
        elif report.get("child_error"):
            hint = (f": the child wrote one answer line for each of the {case['count']} questions, then exited. "
                    "A read returns what is in the pipe now, several lines or part of one: count lines, not "
                    "reads, and raise ChildProcessError only when the output ends before every question has "
                    "its line")
        raise AssertionError(f"{_described(case)} raised {report['raised']}{_threads(report)}{hint}")
    if "bad" in report:
        raise AssertionError(f"{_described(case)} returned {report['bad']}: ask_all must return a tuple "
                             "(answers, returncode): a list of str, one per question, and an int")
    return report


SEPARATORS = {"\r": "a carriage return '\\r'", "\x0b": "a vertical tab '\\x0b'", "\x0c": "a form feed '\\x0c'",
              "\x1c": "a file separator '\\x1c'", "\x1d": "a group separator '\\x1d'",
              "\x1e": "a record separator '\\x1e'", "\x85": "a NEL '\\x85'",
              "\u2028": "a LINE SEPARATOR '\\u2028'", "\u2029": "a PARAGRAPH SEPARATOR '\\u2029'"}
ONLY_NEWLINE = ("a line ends at '\\n' and nowhere else. Text mode (Popen(..., encoding=...) or text=True) reads "
                "with universal newlines, which also end a line at '\\r'; str.splitlines() also cuts at '\\r', "
                "'\\x0b', '\\x0c', '\\x1c'..'\\x1e', '\\x85', U+2028 and U+2029. Read bytes, cut them at b'\\n' "
                "(readline() of the binary stream does), and decode each whole line")


def _why(got: str, want: str) -> str:
    """Why the answer got differs from want: the likely mistake, for the student."""
    if got.endswith("\n"):
        return "drop the newline at the end of each line"
    if "\n" in got:
        return ("one read gave several lines: a read returns what is in the pipe now, so split the stream into "
                "lines (a buffered reader's readline does it)")
    if want.startswith(got) and want[len(got):len(got) + 1] in SEPARATORS and want[len(got):].strip():
        return f"the answer was cut at {SEPARATORS[want[len(got)]]} inside it: {ONLY_NEWLINE}"
    if got != want and want.startswith(got) and not want[len(got):].strip():
        lost = want[len(got):]
        how = ("strip() and rstrip() remove it, so does rstrip('\\r\\n'), and text mode's universal newlines "
               "turn '\\r\\n' into '\\n'" if "\r" in lost else "strip() and rstrip() remove it")
        return (f"the answer lost {lost!r} at its end, which belongs to the answer: {how}. Remove only the final "
                "'\\n' (line[:-1] once you know the line ends with it), and read bytes, not text")
    if got != want and got == want.strip():
        return ("the answer lost the white space at its ends (strip()): remove only the final '\\n' "
                "(line[:-1]), nothing else")
    if got and want.startswith(got) and len(got) >= 8192 and len(want) > len(got):
        return (f"the answer was cut after {len(got)} characters: a line may be longer than any buffer you "
                "choose; read up to the newline without a size limit (readline() with no argument)")
    if got and want.startswith(got):
        return ("a read gave only part of a line: the child wrote it in two pieces; keep reading until the newline "
                "(readline on the pipe's file object does)")
    if "\ufffd" in got:
        return ("a UTF-8 character was cut in two between two reads and decoded in halves: decode whole lines "
                "(cut the bytes at b'\\n' first, then decode each line)")
    if got.startswith("warning") or not got[:1].isdigit():
        return ("that line is not an answer of the child: read the answers from its stdout only (its stderr is "
                "not yours to read: no stderr=subprocess.STDOUT)")
    return "one answer per question, in order, each the child's line decoded from UTF-8, without its newline"


def _expect_answers(case_seen: dict) -> None:
    report, case = _check_call(case_seen), case_seen["case"]
    if case.get("big"):
        if report["same"]:
            return
        i = report["first_difference"]
        got = "nothing" if report["got"] is None else repr(report["got"])
        why = "one answer per question, in order, each the child's line without its newline"
        if report.get("prefix") and (report.get("expected_length") or 0) > (report.get("got_length") or 0):
            why = (f"that answer has {report['expected_length']} characters and yours stopped after "
                   f"{report['got_length']}: a line may be longer than any buffer you choose (longer than a "
                   "pipe holds, too); read up to the newline without a size limit (readline() with no argument)")
        raise AssertionError(
            f"{_described(case)} returned {report['count']} answers, expected {case['count']}; answer {i + 1} was "
            f"{got}" + (f" ({report['got_length']} characters)" if report.get("got_length") else "") +
            f", expected {report['expected']!r}" +
            (f" ({report['expected_length']} characters)" if report.get("expected_length") else "") + f": {why}")
    expected = [_answer(n, q, case.get("pad", 0)) for n, q in enumerate(_questions(case), 1)]
    answers = report["answers"]
    if answers == expected:
        return
    i = next((i for i, (a, b) in enumerate(zip(answers, expected)) if a != b), min(len(answers), len(expected)))
    if i >= len(answers) or i >= len(expected):
        raise AssertionError(
            f"{_described(case)} returned {len(answers)} answers for {len(expected)} questions "
            f"({answers[:3]!r}...), expected {expected[:3]!r}...: read exactly one line per question. A read "
            "returns what is in the pipe now: part of a line, or several lines at once; a buffered reader "
            "(the pipe's file object, readline) cuts the stream into lines for you")
    got = answers[i]
    count = "" if len(answers) == len(expected) else f" ({len(answers)} answers for {len(expected)} questions)"
    raise AssertionError(f"{_described(case)} returned answer {i + 1} {got[:100]!r}, expected "
                         f"{expected[i][:100]!r}{count}: {_why(got, expected[i])}")


def _expect_code(case_seen: dict, code: int) -> None:
    report, case = _check_call(case_seen), case_seen["case"]
    got = report["code"]
    if got == code:
        return
    raw = -code if code < 0 else code << 8
    why = "the child's exit status, or -N when signal N killed it (Popen.returncode, os.waitstatus_to_exitcode)"
    if got == raw:
        why = "that is the raw wait status of os.waitpid(); convert it with os.waitstatus_to_exitcode()"
    elif code < 0 and got == 128 - code:
        why = "128 + N is a shell's way of saying 'killed by signal N'; ask_all says -N, as subprocess does"
    raise AssertionError(f"{_described(case)} returned the code {got}, expected {code}: {why}")


def _questions(case: dict) -> list[str]:
    return _scenario().questions(case["seed"], case["count"], case["width"], case.get("hard", False))


def _answer(n: int, q: str, pad) -> str:
    return _scenario().answer(n, q, pad)


_MODULE = []


def _scenario():
    """The scenario module, for its question generator (standard library only)."""
    if not _MODULE:
        import importlib.util
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenario_coprocess.py")
        spec = importlib.util.spec_from_file_location("proclab_coprocess_questions", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULE.append(module)
    return _MODULE[0]


# -- the tests, in the order a student meets the failures -----------------------------------------

def test_child_is_a_direct_child_started_by_exec(exercise):
    case_seen = _case(exercise, "wired", wiring=True)
    wiring = case_seen.get("wiring")
    argv = case_seen["argv"]
    if not wiring:
        _check_call(case_seen)
    assert wiring, (
        f"{GATE_DEADLINE:.0f} s into {_described(case_seen['case'])}, no process of yours was running the command "
        "with exactly its argument list: start the child with exec and argv as given (subprocess.Popen(argv, ...) "
        "or os.fork + os.execvp), no shell")
    assert wiring["parent"] == wiring["caller"], (
        f"the child (pid {wiring['child']}) was a child of "
        f"{'a shell' if wiring.get('parent_is_shell') else 'another process'}, pid {wiring['parent']} "
        f"`{wiring.get('parent_cmd')}`, not of the process that called ask_all (pid {wiring['caller']}): start it "
        "yourself as a direct child that execs argv (subprocess.Popen with an argument list, no shell=True)")
    assert wiring["argv"] == argv, (
        f"the child's command line was `{_shown(wiring['argv'])}`, expected `{_shown(argv)}`: exec exactly argv")
    for other in _SEEN[exercise.student_file]["cases"].values():
        if other.get("report", {}).get("ran_on"):
            _check_call(other)


def _wiring(exercise) -> dict:
    case_seen = _case(exercise, "wired", wiring=True)
    wiring = case_seen.get("wiring")
    if not wiring:
        _check_call(case_seen)
        raise AssertionError("the child never reached the point where the grader looks at its pipes (see the test "
                             "that it is a direct child started by exec)")
    return wiring


def test_child_stdin_and_stdout_are_pipes_to_the_caller(exercise):
    wiring = _wiring(exercise)
    for fd, name, target in ((0, "stdin", wiring["fd0"]), (1, "stdout", wiring["fd1"])):
        assert target.startswith("pipe:"), (
            f"fd {fd} ({name}) of the child (pid {wiring['child']}) was {target}, not a pipe: give the child the "
            f"{'read' if fd == 0 else 'write'} end of a pipe of its own as its {name} (subprocess.PIPE, or os.pipe "
            f"and os.dup2 onto fd {fd})")
    assert wiring["fd0"] != wiring["fd1"], (
        f"the child's stdin and stdout were the same pipe ({wiring['fd0']}): a pipe goes one way only; use two, "
        "one for the questions and one for the answers")
    assert wiring["reads_answers"], (
        f"while the child (pid {wiring['child']}) was answering, your process (pid {wiring['caller']}) held no read "
        f"end of its stdout pipe ({wiring['fd1']}): read the answers from that pipe")


def test_caller_keeps_no_copy_of_the_childs_pipe_ends(exercise):
    wiring = _wiring(exercise)
    for fd, target, mode in wiring.get("kept", []):
        which = "stdin" if target == wiring["fd0"] else "stdout"
        consequence = ("so its reads never see end-of-file when the child dies, and ask_all hangs"
                       if which == "stdout" else "so a write to a child that has died blocks instead of failing "
                       "with EPIPE once the pipe is full")
        raise AssertionError(
            f"{CLOSE_DEADLINE} s after starting the child, your process (pid {wiring['caller']}) still held fd {fd}: "
            f"the {mode} end of the child's {which} pipe ({target}), the end the child uses. Close your copy as "
            f"soon as the child has started (subprocess.Popen with PIPE does it for you), {consequence}")
    for fd, target in wiring.get("child_extra", []):
        if fd == 2:
            which = "stdout" if target == wiring["fd1"] else "stdin"
            raise AssertionError(
                f"the child's stderr (fd 2, pid {wiring['child']}) was {target}, a copy of its own {which} pipe: "
                "its fd 2 must be your own stderr, left alone. With stderr=subprocess.STDOUT, whatever the child "
                "says on stderr (a warning, a traceback) lands among its answers and is taken for one")
        raise AssertionError(
            f"the child (pid {wiring['child']}) had {target}, one of its own two pipes, open on fd {fd} as well as on "
            "fd 0/fd 1: it must get only fd 0, 1 and 2. Do not make the pipe ends inheritable or pass them "
            "(pass_fds); a child that holds a write end of its own stdin pipe never sees end-of-file")


def test_answers_come_back_in_order_line_by_line(exercise):
    _expect_answers(_case(exercise, "pieces"))
    _expect_answers(_case(exercise, "wired"))


def test_keeps_sending_while_the_child_holds_its_answers(exercise):
    failure = _session(exercise)["cases"]["batch"].get("failure")
    if isinstance(failure, Deadlock) and failure.kind == "eof":
        return   # the child had read every question: what is wrong is the end (the next test)
    _expect_answers(_case(exercise, "batch"))


def test_closes_the_childs_stdin_after_the_last_question(exercise):
    _expect_answers(_case(exercise, "batch"))
    _expect_answers(_case(exercise, "empty"))


def test_long_answers_flow_both_ways_without_deadlock(exercise):
    _expect_answers(_case(exercise, "flood"))


def test_returns_the_childs_exit_status(exercise):
    case_seen = _case(exercise, "pieces")
    _expect_code(case_seen, case_seen["case"]["status"])
    case_seen = _case(exercise, "wired")
    _expect_code(case_seen, -case_seen["case"]["signal"])


def test_child_that_ends_early_raises_child_process_error(exercise):
    for name in [name for name in ("dies", "quits") if name in _session(exercise)["cases"]]:
        case_seen = _case(exercise, name)
        report, case = case_seen["report"], case_seen["case"]
        keep = case["keep"] if name == "dies" else case["mode"][1]
        if "raised" in report and not report.get("child_error"):
            _check_call(case_seen)
        if "raised" not in report:
            _check_call(case_seen)
            raise AssertionError(
                f"{_described(case)} returned {report.get('count')} answers and the code {report.get('code')} "
                f"instead of raising ChildProcessError: the child's stdout ended after {keep} answers. When the "
                "output ends (end-of-file) before every question has its answer, reap the child and raise "
                "ChildProcessError, whatever its exit status (0 included)")
        raised = report.get("thread_raised") or []
        assert not raised, (
            f"{_described(case)} raised ChildProcessError, right, but a thread it started ended with "
            f"{'; '.join(raised[:2])}: writing into the pipe of a child that has exited fails with EPIPE "
            "(BrokenPipeError), closing a file object with unwritten data too. Catch BrokenPipeError where you "
            "write and close the child's stdin")


def test_child_is_reaped_and_every_pipe_end_closed(exercise):
    for case_seen in _returned(exercise):
        case = case_seen["case"]
        before, after = case_seen["before"], case_seen["after"]
        known = {c["pid"] for c in before["children"]}
        for child in after["children"]:
            if child["pid"] in known:
                continue
            assert child["state"] != "Z", (
                f"after {_described(case)} {'raised' if 'raised' in case_seen['report'] else 'returned'}, pid "
                f"{child['pid']} ({child['name']}) was still a zombie, a child of the caller: wait for the child "
                "(Popen.wait(), os.waitpid) before you return or raise. Until its parent waits for it, a dead "
                "process keeps its pid and exit status in the kernel")
            raise AssertionError(
                f"after {_described(case)} {'raised' if 'raised' in case_seen['report'] else 'returned'}, pid "
                f"{child['pid']} ({child['name']}) was still running (state {child['state']}) as a child of the "
                "caller: close the child's stdin so it sees end-of-file, then wait until it has exited")
        stdin, stdout = case_seen.get("pipes", (None, None))
        left = []
        for fd, target in sorted(after["fds"].items()):
            if before["fds"].get(fd) == target:
                continue
            what = {stdin: "the child's stdin pipe", stdout: "the child's stdout pipe"}.get(target, target)
            left.append(f"fd {fd} ({what})")
        assert not left, (
            f"after {_described(case)} {'raised' if 'raised' in case_seen['report'] else 'returned'}, the caller had "
            f"{', '.join(left)} open that it did not have before the call: close both pipe ends you keep (the "
            "child's stdin once the last question is written, its stdout once you have read it), on every path, "
            "the error path too (try/finally or with)")
    seen = _SEEN[exercise.student_file]
    if seen.get("end"):
        raise seen["end"]


def test_threads_it_started_have_ended_cleanly(exercise):
    for case_seen in _returned(exercise):
        case, report = case_seen["case"], case_seen["report"]
        alive = report.get("threads_alive") or []
        assert not alive, (
            f"when {_described(case)} {'raised' if 'raised' in report else 'returned'}, a thread it started was "
            f"still alive ({', '.join(alive[:3])}): join every thread you start (thread.join()) before you return "
            "or raise, so that nothing of the call goes on after it")
        extra = case_seen["after"]["threads"] - case_seen["before"]["threads"]
        assert extra <= 0, (
            f"{GONE_DEADLINE} s after {_described(case)} {'raised' if 'raised' in report else 'returned'}, the caller "
            f"still had {extra} more thread(s) than before the call: join every thread you start before you return "
            "or raise (a writer thread ends once it has written every question, or met EPIPE, and closed the "
            "child's stdin)")
        raised = report.get("thread_raised") or []
        assert not raised, (
            f"during {_described(case)}, a thread it started ended with an exception: {'; '.join(raised[:2])}. "
            "Catch what you expect where it happens (BrokenPipeError when the child has gone) and let nothing "
            "else escape a thread: an exception that ends a thread is lost to the caller")
