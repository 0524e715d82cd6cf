"""Run a scenario or a program in a fresh, isolated interpreter, and wait for it with deadlines.

One Sandbox per test. It owns the test's private directory, every process the test starts,
and their cleanup. See graders/README.md for the API graders use.
"""

import os
import select
import shutil
import signal
import subprocess
import time

from graders.harness import cleanup, containment, frames, identity, osinspect
from graders.harness.containment import TASK_BUDGET
from graders.harness.frames import FrameReader, dumps
from graders.harness.outcome import Failure, GradingError, Timeout, Todo

WATCH_INTERVAL = 0.05
STDOUT_LINE_LIMIT = 1 << 20  # a program's stdout may hold this much without a newline, no more
STDOUT_UNREAD_LIMIT = 8 << 20  # nor this much that the grader has not read yet
SCAN_INTERVAL = 0.25  # counting descendants reads all of /proc: only where the kernel cannot count for us


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_status(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal_name(-returncode)} (signal {-returncode})"
    return f"exited with status {returncode}"


def student_env(tmp: str, separate: bool) -> dict[str, str]:
    """What a student's own shell would give: no PYTHONUNBUFFERED, no debugger or site surprises."""
    # Only directories the student's user may search: an unreadable one (root's, when grading as
    # another user) makes execvp fail with EACCES instead of "not found".
    reachable = identity.world_reachable if separate else (lambda d: os.access(d, os.X_OK))
    path = [d for d in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep)
            if d and os.path.isdir(d) and reachable(d)]
    return {
        "PATH": os.pathsep.join(path),
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "PYTHONDONTWRITEBYTECODE": "1",  # keep __pycache__ out of the student's tree
        "PYTHONNOUSERSITE": "1",
    }


def _count_user_tasks(uid: int) -> int:
    count = 0
    for pid in osinspect.all_pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += osinspect.thread_count(pid)
        except (OSError, ProcessLookupError, KeyError, ValueError):
            pass
    return count


class Launch:
    """One boot.py process tree: the warden, and the scenario/program process under it."""

    def __init__(self, sandbox: "Sandbox", spec: dict, stdout_pipe: bool = False):
        self.sandbox = sandbox
        self.what = spec.get("scenario_name") or "your program"
        ident = sandbox.identity
        read_fd, write_fd = os.pipe()
        key = frames.new_key()
        key_read, key_write = os.pipe()
        os.write(key_write, key)  # fits the pipe buffer: nothing blocks
        os.close(key_write)
        self.log_path = os.path.join(sandbox.logdir, f"{len(sandbox.launches)}.log")
        spec = dict(spec, stage=ident.stage, result_fd=write_fd, key_fd=key_read, limits=sandbox.limits)
        cgroup_procs = sandbox.cgroups.procs_files() if sandbox.cgroups else []
        enter = (lambda: ident.enter(cgroup_procs)) if (ident.separate or cgroup_procs) else None
        try:
            with open(self.log_path, "wb") as log:
                self.popen = subprocess.Popen(
                    [ident.python, "-S", ident.boot, dumps(spec)],
                    pass_fds=(write_fd, key_read), stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if stdout_pipe else log, stderr=log,
                    cwd=sandbox.tmp, env=student_env(sandbox.tmp, ident.separate), start_new_session=True,
                    preexec_fn=enter)
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(read_fd)
            raise GradingError(f"the grader could not start the sandbox ({exc}): please report this") from None
        finally:
            os.close(write_fd)
            os.close(key_read)
        cleanup.OWN_CHILDREN[self.popen.pid] = self.popen
        self.fd = read_fd
        os.set_blocking(read_fd, False)
        self.stdout_fd = self.popen.stdout.fileno() if stdout_pipe else None
        if self.stdout_fd is not None:
            os.set_blocking(self.stdout_fd, False)
        self.stdout_buffer = bytearray()
        self.stdout_eof = stdout_pipe is False
        self.reader = FrameReader(key)
        self.frames: list[dict] = []
        self.eof = False
        self.pid: int | None = None
        self.returncode: int | None = None
        self.closed = False

    # -- reading -----------------------------------------------------------------------

    def _drain(self, fd: int) -> None:
        while True:
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                return
            if fd == self.fd:
                if not data:
                    self.eof = True
                    return
                for frame in self.reader.feed(data):
                    self._note(frame)
            else:
                if not data:
                    self.stdout_eof = True
                    return
                self.stdout_buffer += data
                if len(self.stdout_buffer) > STDOUT_UNREAD_LIMIT:
                    self.sandbox.kill_all()
                    raise Failure(f"your program printed more than {STDOUT_UNREAD_LIMIT >> 20} MiB on stdout that "
                                  "the grader never asked for: print only what the exercise asks")
                if len(self.stdout_buffer) > STDOUT_LINE_LIMIT and b"\n" not in self.stdout_buffer:
                    self.sandbox.kill_all()
                    raise Failure(f"your program printed more than {STDOUT_LINE_LIMIT >> 20} MiB on stdout without "
                                  f"a newline (it began {bytes(self.stdout_buffer[:60])!r}): print whole lines")

    def _note(self, frame: dict) -> None:
        if frame.get("kind") == "flag":
            self.sandbox.flag(str(frame.get("sentence", "")))
        elif frame.get("kind") == "forged":
            self.sandbox.flag(f"{frame['why']} arrived on the grader's private result pipe: results must come from "
                              "the grader's own code, never be written, copied or replayed by the code under test")
            self.eof = True  # nothing more from this launch is trusted
        elif frame.get("kind") == "started":
            self.pid = frame["pid"]
        elif frame.get("kind") == "exit":
            status = frame.get("status")
            if status is not None:
                self.returncode = os.waitstatus_to_exitcode(status)
        else:
            self.frames.append(frame)

    def pump(self, deadline: float) -> None:
        """Wait until something arrives, the deadline passes, or the watchdog ends the run."""
        fds = [self.fd] if not self.eof else []
        if self.stdout_fd is not None and not self.stdout_eof:
            fds.append(self.stdout_fd)
        timeout = max(0.0, min(deadline - time.monotonic(), WATCH_INTERVAL))
        if fds:
            ready, _, _ = select.select(fds, [], [], timeout)
            for fd in ready:
                self._drain(fd)
        else:
            time.sleep(timeout)
        self.sandbox.watchdog()

    def reap_orphan(self) -> None:
        """If the warden was killed, the student's process is re-parented to us (the subreaper):
        collect its exit status ourselves."""
        if self.returncode is None and self.pid is not None and self.popen.poll() is not None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)

    def warden_killed(self) -> int | None:
        """The signal that killed the warden (the parent of the student's process), if any."""
        code = self.popen.poll()
        return -code if code is not None and code < 0 else None

    def _ended_without(self, awaiting: str):
        """The process running student code is gone: say how, as precisely as we can."""
        # Its pipes may reach end-of-file a moment before the warden's death can be collected (a killed process
        # group): give the warden up to a second to be reaped, so the sentence says what happened.
        deadline = time.monotonic() + 1.0
        while self.popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        self.reap_orphan()
        killed = self.warden_killed()
        waiting = f" The grader was waiting for {awaiting}."
        if killed:
            return Failure(f"the parent of the process running your code (the grader's warden) was killed by "
                           f"{signal_name(killed)}, and your process with it: code under test must never signal "
                           f"its parent (os.getppid()) or its own process group (os.killpg(0, ...)).{waiting}")
        if self.returncode is not None:
            how = describe_status(self.returncode)
            hint = {
                -signal.SIGKILL: ": did your code kill its own process group, or run out of memory?",
                -signal.SIGXCPU: ": it used up its CPU-time limit (an endless loop?)",
            }.get(self.returncode, "")
            if self.returncode == 0 and self.what != "your program":
                hint = (": did your code close file descriptors it did not open, such as the "
                        "grader's pipe, or call os._exit?")
            end = "" if hint.endswith("?") else "."
            return Failure(f"the process running your code {how} before it could report back{hint}{end}{waiting}")
        return Failure(f"the process running your code disappeared.{waiting}")

    def _gone(self) -> bool:
        if self.returncode is not None or self.eof:
            return True
        # The warden may have been killed: then nobody reports the exit. Look for ourselves.
        if self.popen.poll() is not None and self.pid is not None:
            try:
                return osinspect.state(self.pid) == "Z"
            except ProcessLookupError:
                return True
        return False

    def next_frame(self, deadline: float, awaiting: str, timeout: float) -> dict:
        while True:
            if self.frames:
                frame = self.frames.pop(0)
                if frame.get("kind") == "exception":
                    raise_for(frame)
                return frame
            if self._gone():
                self._drain(self.fd)
                if self.frames:
                    continue
                raise self._ended_without(awaiting)
            if time.monotonic() >= deadline:
                raise Timeout(f"timed out after {timeout:.1f} s waiting for {awaiting}")
            self.pump(deadline)

    def wait_started(self, deadline: float, timeout: float) -> int:
        while self.pid is None:
            if self._gone():
                raise self._ended_without("it could even start")
            if time.monotonic() >= deadline:
                raise Timeout(f"timed out after {timeout:.1f} s waiting for the sandbox to start "
                              "(is the machine overloaded?)")
            self.pump(deadline)
        return self.pid

    def wait_exit(self, deadline: float, awaiting: str, timeout: float) -> int:
        while self.returncode is None:
            self.reap_orphan()
            if self.returncode is None and self.eof:
                raise self._ended_without(awaiting)
            if time.monotonic() >= deadline:
                raise Timeout(f"timed out after {timeout:.1f} s waiting for {awaiting}")
            self.pump(deadline)
        return self.returncode

    def readline(self, deadline: float, awaiting: str, timeout: float) -> str:
        while b"\n" not in self.stdout_buffer:
            if self.stdout_eof:
                rest = bytes(self.stdout_buffer)
                raise Failure(f"your program's stdout closed before {awaiting}"
                              + (f" (it printed {rest!r} without a newline)" if rest else ""))
            if time.monotonic() >= deadline:
                seen = f" (read so far: {bytes(self.stdout_buffer[-200:])!r})" if self.stdout_buffer else ""
                raise Timeout(f"timed out after {timeout:.1f} s waiting for {awaiting}{seen}")
            self.pump(deadline)
        line, _, rest = bytes(self.stdout_buffer).partition(b"\n")
        self.stdout_buffer = bytearray(rest)
        return line.decode(errors="replace")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        cleanup.OWN_CHILDREN.pop(self.popen.pid, None)
        os.close(self.fd)
        if self.popen.stdout:
            self.popen.stdout.close()
        try:
            self.popen.wait(timeout=0)
        except subprocess.TimeoutExpired:
            pass


def raise_for(frame: dict):
    status, message = frame.get("status"), frame.get("message", "")
    exc = {"todo": Todo, "error": GradingError}.get(status, Failure)(message)
    exc.at_import = frame.get("phase") == "import"  # every later test would fail the same way
    raise exc


class _Handle:
    """What the test holds while a launch runs; leaving the `with` block stops it."""

    def __init__(self, sandbox: "Sandbox", launch: Launch, timeout: float):
        self.sandbox, self.launch, self.timeout = sandbox, launch, timeout
        self.tmp = sandbox.tmp
        self.pid = launch.wait_started(time.monotonic() + timeout, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sandbox.stop(self.launch)
        return False


class Running(_Handle):
    """A scenario the test watches while it runs (exercise.start)."""

    def event(self, name: str, timeout: float | None = None, awaiting: str | None = None) -> dict:
        timeout = timeout or self.timeout
        awaiting = awaiting or f"the scenario to reach '{name}'"
        frame = self.launch.next_frame(time.monotonic() + timeout, awaiting, timeout)
        if frame.get("kind") == "result":
            raise GradingError(f"the scenario returned before event '{name}' (grader bug)")
        if frame.get("name") != name:
            raise GradingError(f"expected scenario event '{name}', got '{frame.get('name')}' (grader bug)")
        return frame.get("data", {})

    def result(self, timeout: float | None = None, awaiting: str = "the scenario to finish"):
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        while True:
            frame = self.launch.next_frame(deadline, awaiting, timeout)
            if frame.get("kind") == "result":
                self.sandbox.check_clean_end(self.launch)
                return frame.get("value")


class Program(_Handle):
    """A student's program run as __main__ (exercise.program)."""

    def readline(self, timeout: float | None = None, awaiting: str = "a line on your program's stdout") -> str:
        timeout = timeout or self.timeout
        return self.launch.readline(time.monotonic() + timeout, awaiting, timeout)

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float | None = None, awaiting: str = "your program to exit") -> int:
        timeout = timeout or self.timeout
        code = self.launch.wait_exit(time.monotonic() + timeout, awaiting, timeout)
        self.sandbox.check_clean_end(self.launch)
        return code


class Sandbox:
    """Everything one test starts: private dir, processes, cgroups, limits, cleanup."""

    def __init__(self, student_file: str, student_code: bytes, scenario_file: str, timeout: float,
                 ident: identity.Identity):
        self.identity = ident
        self.student_name = os.path.basename(student_file)
        self.student_file = ident.student(self.student_name, student_code)
        self.scenario_file = ident.scenario(scenario_file)
        self.timeout = timeout
        self.started = time.time()
        self.tmp = ident.private_tmp()
        self.logdir = ident.private_tmp("log")
        self.launches: list[Launch] = []
        self.flags: list[str] = []
        self.cgroups = None
        if containment.available():
            Sandbox._serial += 1
            try:
                self.cgroups = containment.Cgroups(f"proclab-{os.getpid()}-{Sandbox._serial}")
            except OSError:
                self.cgroups = None
        self.limits = {
            "RLIMIT_CPU": int(max(10, 4 * timeout)),
            "RLIMIT_AS": 4 << 30,
            "RLIMIT_FSIZE": 64 << 20,
            # No core files unless a process asks: a scenario may raise its child's soft limit to show
            # a death with a core dump (the file lands in the private folder and goes with it).
            "RLIMIT_CORE": [0, 1 << 20],
        }
        if ident.separate:
            self.limits["RLIMIT_NPROC"] = TASK_BUDGET  # a fresh uid: the kernel counts only the submission
        elif os.geteuid() != 0:
            self.limits["RLIMIT_NPROC"] = _count_user_tasks(os.getuid()) + TASK_BUDGET
        self._ident = ident
        self._leftovers: cleanup.Leftovers | None = None  # taken at the first launch: a test may launch nothing
        self._next_watch = 0.0

    _serial = 0

    def _spec(self, mode: str, **extra) -> dict:
        module = os.path.splitext(self.student_name)[0]
        return dict(mode=mode, student_file=self.student_file, student_name=self.student_name,
                    module_name=module, **extra)

    def _launch(self, spec: dict, stdout_pipe: bool = False) -> Launch:
        if self._leftovers is None:
            self._leftovers = cleanup.Leftovers(self._ident, self.started)
        launch = Launch(self, spec, stdout_pipe)
        self.launches.append(launch)
        return launch

    def flag(self, sentence: str) -> None:
        if sentence and sentence not in self.flags:
            self.flags.append(sentence)

    # -- the API graders use ---------------------------------------------------------------

    def run(self, name: str, *, timeout: float | None = None, awaiting: str | None = None, **kwargs):
        with self.start(name, timeout=timeout, **kwargs) as running:
            return running.result(awaiting=awaiting or f"the scenario '{name}' to finish")

    def start(self, name: str, *, timeout: float | None = None, **kwargs) -> Running:
        spec = self._spec("scenario", scenario_file=self.scenario_file, scenario_name=name, kwargs=kwargs)
        return Running(self, self._launch(spec), timeout or self.timeout)

    def program(self, args: list[str], *, timeout: float | None = None) -> Program:
        return Program(self, self._launch(self._spec("program", argv=list(args)), stdout_pipe=True),
                       timeout or self.timeout)

    # -- supervision -----------------------------------------------------------------------

    def living(self) -> list[int]:
        """Pids of the submission's processes still alive (a zombie leader with live threads counts)."""
        if self.cgroups:
            return sorted(self.cgroups.pids())
        return [p.pid for p in cleanup.living_descendants()]

    def kill_all(self) -> None:
        if self.cgroups:
            self.cgroups.kill_all(cleanup.reap_zombies)
        cleanup.kill_descendants()

    def watchdog(self) -> None:
        """Past the budget, kill everything. A pids cgroup (root) or RLIMIT_NPROC (non-root) makes
        the kernel refuse the extra forks; only as root without a cgroup do we count ourselves."""
        now = time.monotonic()
        if now < self._next_watch:
            return
        if self.cgroups:
            self._next_watch = now + WATCH_INTERVAL
            over = self.cgroups.over_budget()
        elif "RLIMIT_NPROC" in self.limits:
            return
        else:
            self._next_watch = now + SCAN_INTERVAL
            over = len(cleanup.living_descendants()) > TASK_BUDGET
        if over:
            self.kill_all()
            raise Failure(f"your code tried to run more than {TASK_BUDGET} processes and threads at once, "
                          "the sandbox's budget: is it forking in a loop? Every child must be started "
                          "deliberately and waited for")

    def check_clean_end(self, launch: Launch) -> None:
        """After the student's code finished: its parent must be intact, and nothing it started may run on."""
        try:
            launch.popen.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            try:  # a stopped warden (SIGSTOP from the submission) cannot report: wake it and look again
                os.kill(launch.popen.pid, signal.SIGCONT)
                launch.popen.wait(timeout=1.0)
            except (OSError, subprocess.TimeoutExpired):
                self.kill_all()
                raise Failure("the grader's warden (the parent of the process running your code) did not finish "
                              "after your code did: code under test must never stop or signal its parent") from None
        killed = launch.warden_killed()
        if killed:
            raise Failure(f"the parent of the process running your code (the grader's warden) was killed by "
                          f"{signal_name(killed)}: code under test must never signal its parent (os.getppid()) "
                          "or its own process group (os.killpg(0, ...))")
        left = self.living()
        if not left:
            return
        described = []
        for pid in left[:3]:
            try:
                name = " ".join(osinspect.cmdline(pid))[:60] or osinspect.comm(pid)
                described.append(f"pid {pid}: {name}")
            except Exception:  # noqa: BLE001 - it may vanish while we look
                described.append(f"pid {pid}")
        self.kill_all()
        raise Failure(f"{len(left)} process(es) started by your code were still running after it "
                      f"finished ({'; '.join(described)}): every process you start must end or be "
                      "waited for before you return")

    def stop(self, launch: Launch) -> None:
        if launch.popen.poll() is None:
            self.kill_all()
        launch.close()  # anything left behind is killed by close() at the end of the test

    def close(self, keep_output: str | None = None) -> bool:
        """Kill and reap everything; remove files and IPC objects. With `keep_output`, first save
        what the test's processes printed there (when they printed anything): returns whether it did."""
        if self._leftovers is not None:  # else nothing of the submission ran (the test read a shared observation)
            held = self._leftovers.held_by(self.living())  # same-user mode: what the submission holds open
            self.kill_all()
            for launch in self.launches:
                launch.close()
        if self.cgroups:
            self.cgroups.remove()
        if self._leftovers is not None:
            self._leftovers.remove(held)
        shutil.rmtree(self.tmp, ignore_errors=True)
        output = self.output() if keep_output else ""
        if output.strip():
            os.makedirs(os.path.dirname(keep_output), exist_ok=True)
            with open(keep_output, "w") as f:
                f.write(output)
        shutil.rmtree(self.logdir, ignore_errors=True)
        return bool(output.strip())

    def output(self, limit: int = 1 << 20) -> str:
        """What the test's processes printed to the log (stderr; stdout of scenarios): the last
        `limit` bytes of each launch."""
        chunks = []
        for launch in self.launches:
            try:
                with open(launch.log_path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    f.seek(max(0, size - limit))
                    data = f.read(limit)
                cut = f"[... {size - limit} earlier bytes cut ...]\n" if size > limit else ""
                chunks.append(cut + data.decode(errors="replace"))
            except OSError:
                pass
        return "".join(chunks)
