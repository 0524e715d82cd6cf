"""Grader for fifo_log: collect(path) -> list[bytes] and log_records(path, records).

One sandbox launch per graded file (scenario_fifo_log.fifo_log) serves every test; the test plays
the other end of every FIFO itself, from outside the sandbox, and reads /proc while it does. Before
and after every call the scenario waits at a handshake (one byte on a control FIFO the test holds),
so what the test sees there cannot move. Record sizes, contents, the number of writers and the
order in which they close are drawn per run. No sleep decides anything; every wait has a deadline.

collect (the test is the writers):
  - it waits until the FIFO exists and a thread of the caller sleeps in open() on it (wchan
    wait_for_partner/fifo_open, or the open/openat system call), holding no fd of it yet; only then
    does it open its first write end (O_NONBLOCK: ENXIO would mean no reader waits), and sees the
    caller's open return with a read-only fd. Then it opens the other write ends.
  - pieces: one record at a time, the next once the caller has taken the last out of the pipe
    (FIONREAD 0) and sleeps in read again: a short read is not the end.
  - burst: it stops the caller (SIGSTOP, state T), writes records until the pipe holds ~48 KiB,
    and lets it go on (SIGCONT): its next read returns many records at once, and cuts one.
  - it closes its write ends one at a time; after each but the last, the caller must still sleep in
    read; the last writes a final record and closes: now read() returns end-of-file.
  - interrupted: a second call; while the caller sleeps in read, SIGUSR1 runs the grader's handler,
    which raises Interrupted inside collect.
log_records (the test is the reader):
  - paced: log_records gets a generator. The test waits until the caller sleeps in open() for
    writing, then opens the read end, shrinks the pipe to one page (F_SETPIPE_SZ 4096) and fills
    that page. Before the generator yields record i, the page is full again, so the caller's write
    of record i must sleep in write(): /proc/PID/syscall shows its byte count, which must be the
    record's length. The test then reads the page (room for one write), sees the record land
    (FIONREAD), and fills the page again. A caller that asks for record i+1 before record i is in
    the FIFO holds it in a buffer.
  - too_long: a record longer than PIPE_BUF between two others.
  - many: WRITERS forked processes log at once into a one-page pipe; the test reads a page only
    when every one of them sleeps in write (or open, or has ended): the writers queue for each page.
"""

import array
import fcntl
import os
import random
import signal
import stat
import termios
import time

from graders.harness import osinspect
from graders.harness.outcome import Failure, Timeout, Todo

PIPE_BUF = 4096
PAGE = 4096
STEP_DEADLINE = 3.0      # s for the scenario to reach its next handshake (start-up and import included)
OPEN_DEADLINE = 1.0      # s for the caller to make the FIFO and sleep in open()
MOVE_DEADLINE = 1.0      # s for the caller to take what is in the pipe, or to land a record
CALL_DEADLINE = 1.5      # s for a call to return once it has all it needs
STOP_DEADLINE = 0.5      # s for SIGSTOP to show (state T)
ROUND_DEADLINE = 0.3     # s for every writer of `many` to queue before the test reads a page anyway
BURST = 200 << 10         # the burst: more than any read size a reader is likely to ask for (64 or 128 KiB)
BIG_PIPE = 256 << 10      # the collect FIFO's size during the burst (F_SETPIPE_SZ)
LOOK = 0.002             # s between two looks at /proc (the pause is an event wait)
WRITERS, EACH = 4, 5
MACHINE = os.uname().machine
SYSCALLS = {   # number -> (kind, index of the flags argument for open calls)
    "x86_64": {0: ("read", None), 19: ("read", None), 1: ("write", None), 20: ("writev", None),
               2: ("open", 1), 257: ("open", 2), 437: ("open", None),
               7: ("poll", None), 23: ("poll", None), 270: ("poll", None), 271: ("poll", None),
               232: ("poll", None), 281: ("poll", None), 441: ("poll", None)},
    "aarch64": {63: ("read", None), 65: ("read", None), 64: ("write", None), 66: ("writev", None),
                56: ("open", 2), 437: ("open", None), 73: ("poll", None), 72: ("poll", None),
                22: ("poll", None), 441: ("poll", None)},
}.get(MACHINE, {})
OPEN_WCHANS = ("wait_for_partner", "fifo_open")
_SEEN: dict[str, dict] = {}


# -- the control FIFO ----------------------------------------------------------------------------

class Control:
    """A FIFO held open read-write by the test: send() lets the scenario past one handshake."""

    def __init__(self, directory: str, name: str):
        self.path = os.path.join(directory, name)
        os.mkfifo(self.path, 0o644)
        self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)

    def send(self) -> None:
        os.write(self.fd, b".")

    def close(self) -> None:
        os.close(self.fd)


# -- /proc, read from here -----------------------------------------------------------------------

def _tasks(pid: int) -> list[tuple]:
    """(tid, state, wchan, syscall number or None, [arguments]) of every thread of pid."""
    found = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/stat") as f:
                text = f.read()
            with open(f"{base}/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            continue
        try:
            with open(f"{base}/syscall") as f:
                call = f.read().split()
        except OSError:   # a kernel that does not show it: wchan alone must do
            call = []
        number, args = None, []
        if call and call[0].isdigit():
            number = int(call[0])
            args = [int(arg, 16) for arg in call[1:7]]
        found.append((int(tid), text[text.rindex(")") + 2], wchan, number, args))
    return found


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


def _ident(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _mode(pid: int, fd: int) -> str:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("flags:"):
                    return {0: "read", 1: "write"}.get(int(line.split()[1], 8) & 3, "read-write")
    except OSError:
        pass
    return "unknown"


def _holds(pid: int, key) -> list[tuple[int, str]]:
    """(fd, 'read'|'write'|'read-write') of every fd of pid open on the FIFO `key` (dev, ino)."""
    found = []
    try:
        fds = osinspect.fd_targets(pid)
    except (ProcessLookupError, PermissionError):   # gone, or not ours to read (same-user mode)
        return found
    for fd in fds:
        if key is not None and _ident(f"/proc/{pid}/fd/{fd}") == key:
            found.append((fd, _mode(pid, fd)))
    return found


def _in_open(pid: int):
    """The open flags of a thread of pid asleep opening a FIFO (None if unknown), else False."""
    for _, state, wchan, number, args in _tasks(pid):
        kind, flags_at = SYSCALLS.get(number, (None, None))
        if state == "S" and (wchan in OPEN_WCHANS or kind == "open"):
            return args[flags_at] if flags_at is not None and len(args) > flags_at else None
    return False


READ_WCHANS = ("pipe_read", "anon_pipe_read", "fifo_pipe_read")
WRITE_WCHANS = ("pipe_write", "anon_pipe_write", "fifo_pipe_write")


def _in_io(pid: int, kind: str, key):
    """(fd, byte count) of a thread of pid asleep in `kind` ('read' or 'write') on the FIFO, else None.
    Where /proc/PID/syscall is not shown, the wait channel alone says it (fd and count unknown)."""
    for _, state, wchan, number, args in _tasks(pid):
        found = SYSCALLS.get(number, (None, None))[0]
        if state == "S" and number is None and wchan in (READ_WCHANS if kind == "read" else WRITE_WCHANS):
            return None, None
        if state != "S" or not args:
            continue
        if found == kind or (kind == "write" and found == "writev"):
            if _ident(f"/proc/{pid}/fd/{args[0]}") == key:
                return args[0], (args[2] if found == "write" else None)
        if kind == "read" and found == "poll":
            return None, None
    return None


def _stopped(pid: int) -> bool:
    tasks = _tasks(pid)
    return bool(tasks) and all(state in ("T", "t") for _, state, _, _, _ in tasks)


def _unread(fd: int) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def _kind_of(path: str) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "nothing"
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISREG, "a regular file"), (stat.S_ISLNK, "a symlink"),
                       (stat.S_ISDIR, "a directory"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "something else"


def _open_end(path: str, flags: int, key=None) -> int:
    """Open our end of the caller's FIFO without following a link, and make sure it is that FIFO."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if not stat.S_ISFIFO(st.st_mode) or (key is not None and (st.st_dev, st.st_ino) != key):
        os.close(fd)
        raise Failure(f"{path} was replaced while the grader used it: leave the FIFO alone")
    return fd


def _send(exercise, pid: int, signum: int) -> None:
    """Signal only the process running the submission."""
    if type(pid) is int and pid > 1 and pid != os.getpid() and pid in exercise.living():
        os.kill(pid, signum)


def _event(run, timeout: float = LOOK):
    try:
        return run.event("step", timeout=timeout, awaiting="")
    except Timeout:
        return None


def _shown(records: list[bytes]) -> str:
    if not records:
        return "[]"
    return ", ".join(f"{r[:12]!r}..({len(r)} B)" for r in records[:3]) + (", ..." if len(records) > 3 else "")


# -- collect: the test writes ---------------------------------------------------------------------

class Stuck(Exception):
    """The call cannot go on (the launch ends; the phases after it get a launch of their own)."""


def _wait_open(run, obs: dict, path: str) -> None:
    """Until the FIFO exists and a thread of the caller sleeps in open() on it (collect: for reading)."""
    deadline = time.monotonic() + OPEN_DEADLINE
    while True:
        made = _kind_of(path)
        if made != "nothing" or "made" not in obs:
            obs["made"] = made
        data = _event(run)
        if data is not None:
            obs["report"] = data
            return
        key = _ident(path) if obs["made"] == "a FIFO" else None
        if key is not None:
            flags = _in_open(run.pid)
            if flags is not False:
                obs["blocked"] = {"flags": flags}
                obs["key"] = key
                return
            held = _holds(run.pid, key)
            if held:
                obs["opened_at_once"] = held
                obs["key"] = key
                return
        if time.monotonic() >= deadline:
            obs["not_open"] = True
            return


def _wait_moved(run, obs: dict, writer: int, key, what: str) -> None:
    """Until the caller has taken every byte out of the pipe and sleeps in read again."""
    deadline = time.monotonic() + MOVE_DEADLINE
    while True:
        if _unread(writer) == 0 and _in_io(run.pid, "read", key):
            return
        data = _event(run)
        if data is not None:
            obs["report"] = data
            obs["returned_early"] = what
            raise Stuck()
        if time.monotonic() >= deadline:
            obs["not_moving"] = what
            raise Stuck()


# Records whose bytes only b"\n" may cut: a CR inside and before the newline, UTF-8 (U+2028 among it), spaces.
HARD = [b"cr\r inside \xe8\xae\xb0\xe5\xbd\x95 and at the end \r\n", b"line sep \xe2\x80\xa8 nel \xc2\x85 \x0c ff  \n",
        "\r 日志 记录 ".encode() * 200 + b"\n"]


def _records(rng: random.Random, count: int, tag: str, sizes=None, avoid: bool = False) -> list[bytes]:
    """count records of drawn sizes (or `sizes`), each a slice of one drawn text. With avoid, no record ends at
    a multiple of 4096 bytes (written into an empty pipe): every read of 4096*k bytes cuts one."""
    text = bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz0123456789 -\r", k=2 * PIPE_BUF))
    out, total = [], 0
    for i in range(count):
        size = sizes[i] if sizes else rng.randint(1, PIPE_BUF)
        if avoid and (total + size) % 4096 == 0:
            size -= 1 if size > 1 else -1
        total += size
        start = rng.randrange(PIPE_BUF)
        body = text[start:start + max(0, size - 1)]
        head = f"{tag}{i:02d} ".encode()
        out.append((head + body)[:size - 1] + b"\n" if size > len(head) else body.replace(b"\n", b"-") + b"\n")
    return out


def _watch_collect(exercise, run, control: Control, obs: dict, path: str) -> None:
    rng = random.Random()
    obs["written"] = written = []
    obs["still_reading"] = []
    control.send()
    _wait_open(run, obs, path)
    key = obs.get("key")
    if key is None or "report" in obs:
        _finish(run, obs)
        return
    writers = []
    try:
        try:
            writers.append(_open_end(path, os.O_WRONLY, key))
        except OSError as exc:
            obs["writer_failed"] = exc.errno
            _finish(run, obs)
            return
        deadline = time.monotonic() + MOVE_DEADLINE
        while not [mode for _, mode in _holds(run.pid, key)] and time.monotonic() < deadline:
            time.sleep(LOOK)
        obs["reader_modes"] = [mode for _, mode in _holds(run.pid, key)]
        for _ in range(rng.randint(2, 4)):
            try:
                writers.append(_open_end(path, os.O_WRONLY, key))
            except FileNotFoundError:
                obs["later_writer_failed"] = _kind_of(path)
                raise Stuck() from None
        obs["writers"] = len(writers)

        def put(fd: int, item: bytes) -> bool:
            try:
                os.write(fd, item)
            except BlockingIOError:
                return False
            except BrokenPipeError:
                obs["report"] = _event(run, MOVE_DEADLINE) or obs.get("report")
                obs["returned_early"] = "while the writers were still open"
                raise Stuck() from None
            written.append(item)
            return True

        # pieces: one record at a time, each once the last has been taken (the HARD ones among them)
        pieces = _records(rng, 3, "piece", [rng.randint(5, 200), 1, PIPE_BUF]) + HARD
        rng.shuffle(pieces)
        for item in pieces:
            put(rng.choice(writers), item)
            _wait_moved(run, obs, writers[0], key, "after a read that returned one short record")
        # burst: the caller stopped while the pipe fills
        _send(exercise, run.pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + STOP_DEADLINE
            while not _stopped(run.pid) and time.monotonic() < deadline:
                time.sleep(LOOK)
            try:
                fcntl.fcntl(writers[0], fcntl.F_SETPIPE_SZ, BIG_PIPE)
            except OSError:   # beyond this user's pipe limit: the burst stays within 64 KiB
                pass
            total = 0
            for item in _records(rng, 2 * BURST // PIPE_BUF, "burst", avoid=True):
                if total + len(item) > BURST or not put(rng.choice(writers), item):
                    break
                total += len(item)
            obs["burst"] = total
        finally:
            _send(exercise, run.pid, signal.SIGCONT)
        _wait_moved(run, obs, writers[0], key, "after reading a burst of records")
        # the writers close one at a time; the caller reads on until the last has closed
        rng.shuffle(writers)
        for i, fd in enumerate(writers[:-1]):
            put(fd, _records(rng, 1, f"bye{i}-")[0])
            _wait_moved(run, obs, fd, key, f"when {i + 1} of the {len(writers)} writers had closed")
            os.close(fd)
            writers[i] = None
            _wait_moved(run, obs, writers[-1], key, f"when {i + 1} of the {len(writers)} writers had closed")
            obs["still_reading"].append(len(writers) - i - 1)
        # the last record and the last close come together: the caller is stopped meanwhile, so its next
        # look at the FIFO finds both data and hang-up (poll: POLLIN | POLLHUP); the data must still be read
        _send(exercise, run.pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + STOP_DEADLINE
            while not _stopped(run.pid) and time.monotonic() < deadline:
                time.sleep(LOOK)
            put(writers[-1], _records(rng, 1, "last")[0])
            os.close(writers[-1])
            writers[-1] = None
        finally:
            _send(exercise, run.pid, signal.SIGCONT)
        obs["all_closed"] = True
    except Stuck:
        pass
    finally:
        for fd in writers:
            if fd is not None:
                os.close(fd)
    _finish(run, obs)


def _finish(run, obs: dict) -> None:
    """Wait for the call's report (unless it came already), then look at what it left; let it go on."""
    if "report" not in obs:
        data = _event(run, CALL_DEADLINE)
        if data is None:
            obs["stuck"] = _where(run.pid, obs.get("key"))
            raise Stuck()
        obs["report"] = data
    if obs["report"].get("what") != "returned":
        raise Failure(f"the grader's scenario reported {obs['report'].get('what')!r} (grader bug)")
    obs["exists_after"] = _kind_of(obs["path"])
    obs["ident_after"] = _ident(obs["path"])
    obs["held_after"] = _holds(run.pid, obs.get("key"))
    obs["returned"] = True


def _where(pid: int, key) -> str:
    held = _holds(pid, key)
    doing = []
    for tid, state, wchan, number, args in _tasks(pid):
        kind = SYSCALLS.get(number, ("?", None))[0]
        doing.append(f"thread {tid}: state {state}, " + (f"in {kind}" if number is not None else "running")
                     + (f" on fd {args[0]}" if kind in ("read", "write") and args else "")
                     + (f" (wchan {wchan})" if wchan and wchan != "0" else ""))
    ends = ", ".join(f"fd {fd} ({mode})" for fd, mode in held) or "no fd"
    return f"your process held {ends} of the FIFO; {'; '.join(doing) or 'it was gone'}"


def _watch_interrupted_open(exercise, run, control: Control, obs: dict, path: str) -> None:
    """SIGUSR1 while the caller sleeps in open(), before any writer came: its handler raises Interrupted."""
    control.send()
    _wait_open(run, obs, path)
    if obs.get("key") is not None and "report" not in obs and "blocked" in obs:
        obs["sent"] = True
        _send(exercise, run.pid, signal.SIGUSR1)
    _finish(run, obs)


def _watch_gone(run, control: Control, obs: dict) -> None:
    """log_records on a path where nothing is (the reader has gone): nothing to open, so nothing to wait for."""
    control.send()
    _finish(run, obs)


def _watch_interrupted(exercise, run, control: Control, obs: dict, path: str) -> None:
    control.send()
    _wait_open(run, obs, path)
    key = obs.get("key")
    writer = None
    if key is not None and "report" not in obs:
        try:
            writer = _open_end(path, os.O_WRONLY, key)
            os.write(writer, b"before the signal\n")
            _wait_moved(run, obs, writer, key, "after the first record")
            obs["sent"] = True
            _send(exercise, run.pid, signal.SIGUSR1)
        except Stuck:
            pass
        except OSError as exc:
            obs["writer_failed"] = exc.errno
    try:
        _finish(run, obs)
    finally:
        if writer is not None:
            os.close(writer)


# -- log_records: the test reads ------------------------------------------------------------------

def _make_fifo(directory: str, name: str) -> tuple[str, tuple]:
    path = os.path.join(directory, name)
    os.mkfifo(path)
    os.chmod(path, 0o666)        # the caller's user opens it for writing; the folder is its own
    return path, _ident(path)


def _watch_paced(run, control: Control, obs: dict, path: str, records: list[bytes]) -> None:
    key = obs["key"]
    obs["writes"] = []           # (record index, byte count seen in write())
    obs["pages"] = []            # what each page read held: (record index or None, bytes)
    control.send()
    reader = filler = None
    landed = -1                  # the last record seen in the FIFO
    expecting = None             # the record the caller holds now
    released = False             # after a failure: let everything through, judge nothing more
    pending = False              # an ask not answered yet

    def fill(room: int) -> None:
        if room:
            os.write(filler, b"#" * room)

    def take_page(index):
        data = os.read(reader, PAGE)
        obs["pages"].append((index, data))

    try:
        deadline = time.monotonic() + OPEN_DEADLINE
        while True:
            data = _event(run)
            if data is not None and data.get("what") == "returned":
                obs["report"] = data
                break
            if data is not None:                       # asked for record i
                i = data["index"]
                if not released and i > landed + 1 and i > 0:
                    obs["held_back"] = {"asked": i, "landed": landed}
                    released = True
                if not released and i > 0 and reader is None:
                    obs["held_back"] = {"asked": i, "landed": landed}
                    released = True
                expecting = i if i < len(records) else None
                if reader is None and not released:
                    pending = True           # answered once the FIFO is open and full
                else:
                    control.send()
                deadline = time.monotonic() + MOVE_DEADLINE
                continue
            if reader is None:
                flags = _in_open(run.pid)
                held = _holds(run.pid, key)
                if flags is not False or held or time.monotonic() >= deadline:
                    if flags is not False:
                        obs["blocked"] = {"flags": flags}
                    elif held:
                        obs["opened_at_once"] = held
                    else:
                        obs["not_open"] = True
                    reader = _open_end(path, os.O_RDONLY, key)
                    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, PAGE)
                    filler = _open_end(path, os.O_WRONLY, key)
                    fill(PAGE)
                    if pending:
                        control.send()
                        pending = False
                    deadline = time.monotonic() + MOVE_DEADLINE
                continue
            if released:
                try:
                    while os.read(reader, 65536):
                        pass
                except BlockingIOError:
                    pass
                if filler is not None:
                    os.close(filler)
                    filler = None
                if time.monotonic() >= deadline + CALL_DEADLINE:
                    obs["stuck"] = _where(run.pid, key)
                    raise Stuck()
                continue
            if expecting is not None:
                seen = _in_io(run.pid, "write", key)
                if seen:
                    fd, count = seen
                    size = len(records[expecting])
                    obs["writes"].append((expecting, count))
                    if count is not None and count != size:
                        released = True
                        continue
                    take_page(landed if landed >= 0 else None)
                    end = time.monotonic() + MOVE_DEADLINE
                    while _unread(reader) < size and time.monotonic() < end:
                        time.sleep(LOOK)
                    if _unread(reader) != size:
                        obs["landed_wrong"] = {"index": expecting, "unread": _unread(reader)}
                        released = True
                        continue
                    fill(PAGE - size)
                    landed, expecting = expecting, None
                    continue
            if time.monotonic() >= deadline:
                obs["stuck"] = _where(run.pid, key)
                obs["expecting"] = expecting
                raise Stuck()
        obs["held_after"] = _holds(run.pid, key)
        obs["exists_after"] = _kind_of(path)
        obs["ident_after"] = _ident(path)
        obs["returned"] = True
        if reader is not None and not released:
            take_page(landed if landed >= 0 else None)
    finally:
        if filler is not None:
            os.close(filler)
        if reader is not None:
            os.close(reader)


def _watch_too_long(run, control: Control, obs: dict, path: str) -> None:
    key = obs["key"]
    reader = _open_end(path, os.O_RDONLY, key)
    try:
        control.send()
        _finish(run, obs)
        chunks = []
        try:
            while chunk := os.read(reader, 65536):
                chunks.append(chunk)
        except BlockingIOError:
            pass
        obs["got"] = b"".join(chunks)
    finally:
        os.close(reader)


def _watch_many(run, control: Control, obs: dict, path: str) -> None:
    key = obs["key"]
    reader = _open_end(path, os.O_RDONLY, key)
    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, PAGE)
    chunks = []
    writers = []
    obs["rounds"] = 0
    try:
        control.send()
        deadline = time.monotonic() + STEP_DEADLINE
        round_start = time.monotonic()
        while True:
            data = _event(run)
            if data is not None:
                obs["report"] = data
                break
            if len(writers) < WRITERS:
                writers = _kids(run.pid)
            queued = all(_in_io(pid, "write", key) or _in_open(pid) is not False for pid in writers if _alive(pid))
            if (writers and queued) or time.monotonic() - round_start > ROUND_DEADLINE:
                try:
                    chunk = os.read(reader, PAGE)
                    if chunk:
                        chunks.append(chunk)
                        obs["rounds"] += queued
                except BlockingIOError:
                    pass
                round_start = time.monotonic()
            if time.monotonic() >= deadline:
                obs["stuck"] = _where(run.pid, key)
                raise Stuck()
        try:
            while chunk := os.read(reader, 65536):
                chunks.append(chunk)
        except BlockingIOError:
            pass
        obs["got"] = b"".join(chunks)
        obs["returned"] = True
    finally:
        os.close(reader)


def _alive(pid: int) -> bool:
    try:
        return osinspect.state(pid) not in ("Z", "X")
    except ProcessLookupError:
        return False


# -- the launch (and a new one after a call that got stuck) --------------------------------------

PHASES = ("collect", "interrupted_open", "interrupted", "paced", "too_long", "gone", "many")


def _plan(directory: str, number: int) -> dict:
    rng = random.SystemRandom()
    paths, keys = {}, {}
    for phase in ("paced", "too_long", "many"):
        paths[phase], keys[phase] = _make_fifo(directory, f"{phase}-{number}.fifo")
    for phase in ("collect", "interrupted_open", "interrupted", "gone"):
        paths[phase] = os.path.join(directory, f"{phase}-{number}-{rng.randrange(1 << 20)}.fifo")
    seeds = {phase: rng.randrange(1 << 30) for phase in PHASES}
    counts = {"paced": rng.randint(5, 8), "many": (WRITERS, EACH)}
    return {"paths": paths, "keys": keys, "seeds": seeds, "counts": counts}


def _launch(exercise, seen: dict, phases: list[str], number: int) -> int:
    plan = _plan(exercise.tmp, number)
    control = Control(exercise.tmp, f"control-{number}")
    scenario = _scenario()
    try:
        with exercise.start("fifo_log", control=control.path, phases=phases, paths=plan["paths"],
                            seeds=plan["seeds"], counts=plan["counts"], timeout=STEP_DEADLINE) as run:
            for i, phase in enumerate(phases):
                data = run.event("step", timeout=STEP_DEADLINE, awaiting=f"the grader's scenario to start {phase}")
                if data.get("what") != "calling" or data.get("phase") != phase:
                    raise Failure(f"the grader's scenario reported {data!r:.100} (grader bug)")
                obs = seen["phases"][phase] = {"path": plan["paths"][phase], "key": plan["keys"].get(phase),
                                               "seed": plan["seeds"][phase], "count": plan["counts"].get(phase)}
                try:
                    if phase == "collect":
                        _watch_collect(exercise, run, control, obs, obs["path"])
                    elif phase == "interrupted_open":
                        _watch_interrupted_open(exercise, run, control, obs, obs["path"])
                    elif phase == "gone":
                        _watch_gone(run, control, obs)
                    elif phase == "interrupted":
                        _watch_interrupted(exercise, run, control, obs, obs["path"])
                    elif phase == "paced":
                        obs["records"] = scenario.paced_records(obs["seed"], obs["count"])
                        _watch_paced(run, control, obs, obs["path"], obs["records"])
                    elif phase == "too_long":
                        obs["records"] = scenario.too_long_records(obs["seed"])
                        _watch_too_long(run, control, obs, obs["path"])
                    else:
                        obs["lists"] = scenario.many_records(obs["seed"], WRITERS, EACH)
                        _watch_many(run, control, obs, obs["path"])
                except Stuck:
                    obs["stuck"] = obs.get("stuck") or _where(run.pid, obs.get("key"))
                    return i + 1
                except Exception as exc:  # noqa: BLE001 - todo, the process killed...: this call has no verdict
                    obs["broken"] = exc
                    raise
                control.send()
            try:
                run.result(timeout=STEP_DEADLINE, awaiting="the grader's scenario to finish after the last call")
            except Failure as exc:   # e.g. a process the code started still ran at the end
                seen["end"] = exc
            return len(phases)
    finally:
        control.close()


def _session(exercise) -> dict:
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    seen = _SEEN[key] = {"phases": {}, "stop": None, "end": None}
    todo, number = list(PHASES), 0
    while todo and seen["stop"] is None:
        try:
            done = _launch(exercise, seen, todo, number)
        except (Failure, Todo) as exc:   # NotImplementedError, the process killed...: every test says so
            seen["stop"] = exc
            break
        except Exception as exc:  # noqa: BLE001 - a grading error: the same for every test
            seen["stop"] = exc
            break
        todo, number = todo[done:], number + 1
    return seen


_MODULE = []


def _scenario():
    """The scenario module, for its record makers (standard library only)."""
    if not _MODULE:
        import importlib.util
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenario_fifo_log.py")
        spec = importlib.util.spec_from_file_location("proclab_fifo_log_records", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULE.append(module)
    return _MODULE[0]


def _phase(exercise, phase: str) -> dict:
    seen = _session(exercise)
    obs = seen["phases"].get(phase)
    if obs is None:
        raise seen["stop"] or AssertionError(f"the grader never reached the {phase} call (grader bug)")
    if "broken" in obs:
        raise obs["broken"]
    report = obs.get("report") or {}
    todo = report.get("todo") or next((w["todo"] for w in report.get("writers", []) if "todo" in w), None)
    if todo:
        raise Todo(todo)
    return obs


# -- judging -------------------------------------------------------------------------------------

COLLECT = "collect(path)"
BLOCKING_OPEN = ("open the FIFO with a plain blocking open for reading (open(path, 'rb'), or os.open(path, "
                 "os.O_RDONLY)): it waits until a writer opens the other end")


def _raised(obs: dict, call: str) -> None:
    report = obs.get("report") or {}
    if "raised" in report:
        hint = ""
        if report["raised"].startswith("FileExistsError"):
            hint = ": the path did not exist before the call; make the FIFO with os.mkfifo(path) once"
        elif report["raised"].startswith("FileNotFoundError") and call.startswith("log"):
            hint = ": the FIFO exists at path; open it, do not create or remove it"
        elif report["raised"].startswith("ValueError") and call.startswith("log"):
            hint = (f": every record of this call has at most PIPE_BUF ({PIPE_BUF}) bytes, one exactly {PIPE_BUF}; "
                    "only a record longer than PIPE_BUF is refused (len(record) > select.PIPE_BUF, in bytes)")
        elif "ENXIO" in report["raised"] or "No such device or address" in report["raised"]:
            hint = (": opening a FIFO for writing with O_NONBLOCK fails with ENXIO while no reader has it open. "
                    "Open it without O_NONBLOCK: the open then waits for a reader")
        raise AssertionError(f"{call} raised {report['raised']}{hint}")
    if "bad" in report:
        raise AssertionError(f"{call} returned {report['bad']}: " + (
            "collect returns a list of bytes, one per record" if call.startswith("collect") else
            "log_records returns None"))


def _stuck(obs: dict, call: str, doing: str) -> None:
    if "stuck" in obs:
        holds_write = "(write)" in obs["stuck"] or "(read-write)" in obs["stuck"]
        hint = (": you hold a write end of the FIFO yourself (O_RDWR, or a second open for writing), so "
                "end-of-file never comes: it comes only when every writer, you included, has closed"
                if holds_write and call.startswith("collect") else "")
        raise AssertionError(f"{call} never returned {doing}: {obs['stuck']}{hint}")


def _collect_done(obs: dict, call: str = COLLECT) -> None:
    """The call returned; else the reason it did not, first."""
    _raised(obs, call)
    _stuck(obs, call, "once every writer had closed")
    if not obs.get("returned"):
        raise AssertionError(f"{call} never returned (grader bug?)")


def test_collect_makes_a_fifo_at_path(exercise):
    obs = _phase(exercise, "collect")
    made = obs.get("made")
    if made == "a FIFO":
        return
    _raised(obs, COLLECT)
    if made == "nothing" and "records" in obs.get("report", {}):
        raise AssertionError(
            f"{COLLECT} returned {_shown(obs['report']['records'])} at once, before the grader could see what it "
            "made at path or open it as a writer: make a FIFO there with os.mkfifo(path), then open it for "
            "reading with a plain blocking open, which waits until a writer opens the other end (opening a "
            "regular file, or opening with O_NONBLOCK, does not wait)")
    raise AssertionError(
        f"during {COLLECT}, path was {made}: make a named pipe (命名管道, FIFO) there with os.mkfifo(path). A "
        "FIFO has a name in the file system, so processes that do not share a parent can open it; its data "
        "never touches the disk: it goes through the kernel's pipe buffer, like an anonymous pipe's")


def test_collect_open_waits_for_a_writer(exercise):
    obs = _phase(exercise, "collect")
    if "blocked" in obs:
        modes = obs.get("reader_modes", [])
        assert modes == ["read"], (
            f"once the grader opened a writer, your process held the FIFO as {modes or 'nothing'}: open it once, "
            f"for reading only; {BLOCKING_OPEN}")
        return
    if "opened_at_once" in obs:
        fd, mode = obs["opened_at_once"][0]
        raise AssertionError(
            f"your process opened the FIFO (fd {fd}, {mode}) before any writer had opened it, without waiting: "
            f"{BLOCKING_OPEN}. O_NONBLOCK returns at once and the first read then sees end-of-file (no writer); "
            "O_RDWR makes you a writer too, so end-of-file never comes")
    _raised(obs, COLLECT)
    if "records" in obs.get("report", {}):
        raise AssertionError(
            f"{COLLECT} returned {_shown(obs['report']['records'])} before any writer had opened the FIFO: "
            f"{BLOCKING_OPEN}, then read until end-of-file")
    if obs.get("made") != "a FIFO":
        raise AssertionError(f"during {COLLECT}, path was {obs.get('made')}, not a FIFO: there was nothing "
                             "to open (see the test that the FIFO is made)")
    _stuck(obs, COLLECT, "")
    raise AssertionError(
        f"{OPEN_DEADLINE} s into {COLLECT}, the FIFO existed but no thread of your process was asleep opening it: "
        f"{BLOCKING_OPEN}")


def test_collect_reads_until_the_last_writer_closes(exercise):
    obs = _phase(exercise, "collect")
    if "later_writer_failed" in obs:
        raise AssertionError(
            f"once {COLLECT} had opened the FIFO and a first writer was in, a second writer could not open path "
            f"(FileNotFoundError: {obs['later_writer_failed']} was there). Writers come and go, and each opens the "
            "FIFO by its name: keep the FIFO at path until collect returns, and remove it only on the way out "
            "(in a finally block around the reading)")
    if "returned_early" in obs and "records" in obs.get("report", {}):
        got = obs["report"]["records"]
        raise AssertionError(
            f"{COLLECT} returned {_shown(got)} ({len(got)} records) {obs['returned_early']}, before the last of the "
            f"{obs.get('writers', 'several')} writers had closed: read until a read returns b'' (end-of-file). A "
            "read returns what is in the pipe now, so a short read, or one record, is not the end; end-of-file "
            "comes only once every writer has closed")
    if "not_moving" in obs:
        raise AssertionError(
            f"{MOVE_DEADLINE} s {obs['not_moving']}, {COLLECT} had not taken the records out of the pipe and gone "
            f"back to reading: {_where_text(obs)}")
    if "written" not in obs or "writers" not in obs:
        _collect_done(obs)
        raise AssertionError(f"{COLLECT} never let the grader's writers in (see the test of the blocking open)")
    _collect_done(obs)
    got, written = obs["report"].get("records", []), obs["written"]
    assert obs.get("all_closed"), f"{COLLECT}: the grader's writers never all closed (grader bug?)"
    mine, theirs = b"".join(got), b"".join(written)
    if len(mine) < len(theirs) and theirs.startswith(mine):   # only the end missing (else: the next test's)
        lost = len(written) - next((i for i in range(len(written), -1, -1)
                                    if b"".join(written[:i]) == mine), len(written))
        raise AssertionError(
            f"{COLLECT} returned {len(got)} records ({len(mine)} B), the writers wrote {len(written)} "
            f"({len(theirs)} B): the last {lost if lost > 0 else 'bytes'} record(s) were missing. The last writer "
            "wrote its record and closed while your process was stopped, so both were waiting when it went on: "
            "data first, then end-of-file. Read until a read returns b'' (end-of-file); poll()'s POLLHUP only says "
            "that every writer has gone, not that the pipe is empty")


def _where_text(obs: dict) -> str:
    return obs.get("stuck") or "it was not asleep in read on the FIFO"


def _record_cut(got: list[bytes], written: list[bytes]) -> None:
    """A record cut by a read (its tail alone came back), or at a b'\\r' (splitlines, text mode)."""
    i = next((i for i, (a, b) in enumerate(zip(got, written)) if a != b), None)
    if i is not None:
        mine, theirs = got[i], written[i]
        if len(mine) < len(theirs) and theirs.endswith(mine):
            raise AssertionError(
                f"{COLLECT} returned record {i + 1} as its last {len(mine)} bytes only ({mine[:30]!r}..); the writer "
                f"wrote {len(theirs)} bytes ({theirs[:30]!r}..). A read returns at most what you ask for, so it "
                "may end inside a record: the part after the last b'\\n' of one read begins the next record. "
                "Keep it for the next read, or let a buffered reader (iterating open(path, 'rb')) do it")
        if b"\r" in theirs and (mine.endswith(b"\r") or theirs.replace(b"\r", b"\n").startswith(mine)
                               or mine == theirs.replace(b"\r\n", b"\n")):
            raise AssertionError(
                f"{COLLECT} returned record {i + 1} as {mine[:40]!r}.. ({len(mine)} B), the writer wrote "
                f"{theirs[:40]!r}.. ({len(theirs)} B): a b'\\r' inside a record is no end of it. A record ends "
                "at b'\\n' and nowhere else: bytes.splitlines() also cuts at b'\\r', and text mode (universal "
                "newlines) turns b'\\r' and b'\\r\\n' into line ends. Read in binary mode and cut after each "
                "b'\\n' (iterating open(path, 'rb') does)")


def test_collect_returns_whole_records_in_arrival_order(exercise):
    obs = _phase(exercise, "collect")
    _collect_done(obs)
    got, written = obs["report"].get("records", []), obs.get("written", [])
    if got == written:
        return
    _record_cut(got, written)
    if b"".join(got) == b"".join(written):
        i = next(i for i, (a, b) in enumerate(zip(got, written)) if a != b)
        raise AssertionError(
            f"{COLLECT} returned the right bytes cut into the wrong records: record {i + 1} was {got[i][:40]!r}.. "
            f"({len(got[i])} B), the writer wrote {written[i][:40]!r}.. ({len(written[i])} B). A record ends "
            "with its b'\\n'; a read returns what is in the pipe now (several records, or part of one), so cut "
            "the stream after each b'\\n' (a buffered reader's readline, or iterating the file, does it)")
    if [r.rstrip(b"\n") for r in written] == got:
        raise AssertionError(f"{COLLECT} returned the records without their b'\\n': keep each record as written")
    missing = [r for r in written if r not in got]
    raise AssertionError(
        f"{COLLECT} returned {len(got)} records ({sum(map(len, got))} B), the writers wrote {len(written)} "
        f"({sum(map(len, written))} B); " + (f"missing: {_shown(missing)}" if missing else "in another order") +
        ": return every record, whole, in the order read, each with its b'\\n'")


def test_collect_removes_the_fifo_before_returning(exercise):
    obs = _phase(exercise, "collect")
    _raised(obs, COLLECT)
    _stuck(obs, COLLECT, "")
    assert obs.get("exists_after") == "nothing", (
        f"after {COLLECT} returned, {obs.get('exists_after')} was still at path: remove the FIFO (os.unlink) before "
        "you return. A FIFO outlives the processes that used it, like any file")


def test_collect_leaves_no_fd_open(exercise):
    obs = _phase(exercise, "collect")
    _raised(obs, COLLECT)
    _stuck(obs, COLLECT, "")
    held = obs.get("held_after") or []
    assert not held, (
        f"after {COLLECT} returned, your process still had fd {held[0][0]} open on the FIFO ({held[0][1]}): "
        "close it (with open(...) as f:, or os.close) before you return")


def _interrupted(obs: dict, call: str, where: str) -> None:
    """The phase interrupted_open: Interrupted raised in open(); the FIFO removed, no fd of it left."""
    _stuck(obs, call, "after the grader's SIGUSR1 handler raised Interrupted in it")
    if not obs.get("sent"):
        return   # never seen asleep in open(): the blocking-open test says why
    report = obs.get("report") or {}
    assert report.get("interrupted"), (
        f"{call} " + (f"raised {report['raised']}" if "raised" in report else
                      f"returned {_shown(report.get('records', []))}") +
        f", expected the Interrupted exception the grader's SIGUSR1 handler raised while collect waited in {where}"
        "(): let exceptions through (no bare except, no except Exception that returns)")
    assert obs["exists_after"] == "nothing", (
        f"after {call} raised Interrupted, {obs['exists_after']} was still at path: the FIFO exists from os.mkfifo "
        "on, so the try whose finally removes it must begin right after os.mkfifo, before the open (an exception "
        "may come while open() waits for a writer)")
    held = obs["held_after"]
    assert not held, (
        f"after {call} raised Interrupted, your process still had fd {held[0][0]} open on the FIFO: close it on "
        "every way out")


def test_collect_cleans_up_when_interrupted(exercise):
    obs = _phase(exercise, "interrupted")
    report = obs.get("report") or {}
    call = f"{COLLECT} (interrupted by an exception while it read)"
    _stuck(obs, call, "after the grader's SIGUSR1 handler raised Interrupted in it")
    _interrupted(_phase(exercise, "interrupted_open"), f"{COLLECT} (interrupted by an exception while it waited in "
                 "open() for a writer)", "open")
    if not obs.get("sent"):
        _raised(obs, call)
        raise AssertionError(f"{call}: the grader never saw your process asleep reading the FIFO after the first "
                             "record, so it could not interrupt it (see the other collect tests)")
    assert report.get("interrupted"), (
        f"{call} " + (f"raised {report['raised']}" if "raised" in report else
                      f"returned {_shown(report.get('records', []))}") +
        ", expected the Interrupted exception the grader's SIGUSR1 handler raised while collect read: let "
        "exceptions through (no bare except, no except Exception that returns)")
    assert obs["exists_after"] == "nothing", (
        f"after {call} raised Interrupted, {obs['exists_after']} was still at path: remove the FIFO in a finally "
        "block, so that it goes on every way out of collect")
    held = obs["held_after"]
    assert not held, (
        f"after {call} raised Interrupted, your process still had fd {held[0][0]} open on the FIFO: close it on "
        "every way out (with open(...) as f:, or try/finally)")


LOG = "log_records(path, records)"


def test_log_open_waits_for_a_reader(exercise):
    obs = _phase(exercise, "paced")
    if "blocked" in obs:
        flags = obs["blocked"]["flags"]
        assert flags is None or flags & 3 == os.O_WRONLY, (
            f"your process waited in open() with flags {flags:#o}, expected O_WRONLY: open the FIFO for writing only")
        return
    _raised(obs, LOG)
    if "opened_at_once" in obs:
        fd, mode = obs["opened_at_once"][0]
        raise AssertionError(
            f"your process had the FIFO open (fd {fd}, {mode}) before any reader had opened it, without waiting: "
            "open it for writing with a plain blocking open (os.open(path, os.O_WRONLY)); "
            "it waits until a reader opens the other end. O_RDWR makes you a reader of your own records")
    raise AssertionError(
        f"{OPEN_DEADLINE} s into {LOG}, no thread of your process was asleep opening the FIFO for writing: open it "
        "with a plain blocking open for writing; it waits until a reader opens the other end")


def _paced_calls(obs: dict) -> str:
    return f"{LOG} (records: a generator of {len(obs['records'])} records of 64..4096 bytes)"


def _changed(record: bytes, count: int) -> bool:
    """A write of `count` bytes for `record` looks like the record changed (stripped, a newline put back)."""
    body = record[:-1]
    return (count != len(record) and body != body.rstrip()
            and count in (len(record.rstrip()) + 1, len(record.rstrip()), len(record.strip()) + 1))


def test_log_writes_each_record_with_one_write(exercise):
    obs = _phase(exercise, "paced")
    records = obs["records"]
    if any(count is not None and _changed(records[index], count) for index, count in obs.get("writes", [])):
        return   # a record changed: the test that records go unchanged says so
    for index, count in obs.get("writes", []):
        size = len(records[index])
        if count is None or count == size:
            continue
        if count < size:
            raise AssertionError(
                f"{_paced_calls(obs)} wrote record {index + 1} ({size} bytes) with a write() of {count} bytes: the "
                "grader saw it from /proc while the write waited for room. Write each record with one os.write() "
                "of the whole record: the kernel writes up to PIPE_BUF (4096) bytes into a pipe in one piece, "
                "never mixed with another writer's bytes, but between two writes anything may come in")
        raise AssertionError(
            f"{_paced_calls(obs)} wrote {count} bytes in one write() while record {index + 1} has {size}: write "
            "exactly one record per os.write(), unchanged")
    if "landed_wrong" in obs:
        info = obs["landed_wrong"]
        raise AssertionError(
            f"after the write of record {info['index'] + 1} ({len(records[info['index']])} bytes) went through, the "
            f"FIFO held {info['unread']} bytes of it: write each record whole, with one os.write()")
    _raised(obs, LOG)
    _stuck(obs, LOG, f"(it waited for the record it had to write: {obs.get('expecting')})")
    assert len(obs.get("writes", [])) == len(records) or "held_back" in obs, (
        f"{_paced_calls(obs)}: the grader saw {len(obs.get('writes', []))} writes for {len(records)} records")


def test_log_writes_each_record_before_taking_the_next(exercise):
    obs = _phase(exercise, "paced")
    held = obs.get("held_back")
    if held:
        asked, landed = held["asked"], held["landed"]
        what = (f"record {landed + 2}" if landed + 2 <= len(obs["records"]) else "the next record")
        next_one = "the end" if asked == len(obs["records"]) else f"record {asked + 1}"
        raise AssertionError(
            f"{_paced_calls(obs)} asked the generator for {next_one} "
            f"while {what} was not in the FIFO yet (the grader had made room for it): it sat in a buffer of your "
            "process. A log must hold nothing back: write each record with os.write() as soon as you have it "
            "(a file object from open(path, 'wb') keeps up to a page in memory until it is flushed or closed)")
    _raised(obs, LOG)
    _stuck(obs, LOG, "")


def test_log_writes_records_unchanged_in_order(exercise):
    obs = _phase(exercise, "paced")
    _raised(obs, LOG)
    _stuck(obs, LOG, "")
    records = obs["records"]
    for index, count in obs.get("writes", []):
        if count is not None and _changed(records[index], count):
            raise AssertionError(
                f"{_paced_calls(obs)} wrote record {index + 1}, {records[index][-24:]!r} at its end "
                f"({len(records[index])} bytes), with a write() of {count} bytes: it changed the record (white "
                "space or a b'\\r' at its end taken away, a newline put back?). Write each record as given, byte "
                "for byte: no strip, no added newline, no decoding")
    for index, data in obs.get("pages", []):
        if index is None:
            continue
        expected = records[index]
        assert data[:len(expected)] == expected, (
            f"record {index + 1} arrived in the FIFO as {data[:40]!r}.. ({len(data)} bytes with what followed), "
            f"expected {expected[:40]!r}.. ({len(expected)} bytes): write each record as given, in order")
    long_obs = _phase(exercise, "too_long")
    first = long_obs.get("records", [b""])[0]
    if long_obs.get("returned") and long_obs.get("got") is not None and long_obs["got"][:len(first)] != first:
        raise AssertionError(f"{LOG} wrote {long_obs['got'][:40]!r}.. where the first record was {first[:40]!r}..")


def test_log_rejects_a_record_longer_than_pipe_buf(exercise):
    obs = _phase(exercise, "too_long")
    _stuck(obs, LOG, "")
    records = obs["records"]
    call = f"{LOG} with records of {len(records[0])}, {len(records[1])} and {len(records[2])} bytes"
    report = obs.get("report", {})
    got = obs.get("got", b"")
    assert report.get("raised_type") == "ValueError", (
        f"{call} " + (f"raised {report['raised']}" if "raised" in report else "returned") +
        f", expected ValueError: the second record is longer than PIPE_BUF ({PIPE_BUF} bytes), so the kernel "
        "may cut it and mix other writers' bytes into it. Check each record's length before you write it "
        "(select.PIPE_BUF) and raise ValueError")
    assert got == records[0], (
        f"{call} raised ValueError, right, but the FIFO received {len(got)} bytes ({got[:30]!r}..), expected only "
        f"the first record ({len(records[0])} bytes): nothing of the long record may be written, and nothing "
        "after it")


def test_log_closes_its_end_and_leaves_the_fifo(exercise):
    obs = _phase(exercise, "gone")
    _stuck(obs, f"{LOG} where nothing was at path", "")
    report = obs.get("report") or {}
    got = f"raised {report['raised']}" if "raised" in report else "returned"
    assert report.get("raised_type") == "FileNotFoundError" and obs.get("exists_after") == "nothing", (
        f"{LOG} where nothing was at path (the reader had gone and removed its FIFO) {got}, and left "
        f"{obs.get('exists_after')} there; expected FileNotFoundError and nothing made. log_records neither makes "
        "nor removes the FIFO: open it without O_CREAT (os.open(path, os.O_WRONLY)). With O_CREAT, or open(path, "
        "'wb'), it makes a regular file there: the records vanish into it, and the next reader's os.mkfifo fails "
        "with FileExistsError")
    for phase in ("paced", "too_long"):
        obs = _phase(exercise, phase)
        _stuck(obs, LOG, "")
        if not obs.get("returned"):
            continue
        how = "raised" if "raised" in obs.get("report", {}) else "returned"
        held = obs.get("held_after") or []
        assert not held, (
            f"after {LOG} {how}, your process still had fd {held[0][0]} open on the FIFO ({held[0][1]}): close your "
            "end before you return or raise (with, or try/finally). The reader sees end-of-file only when every "
            "writer has closed")
        assert obs.get("ident_after") == obs["key"], (
            f"after {LOG} {how}, the FIFO at path was {obs.get('exists_after')}" +
            (" (another file)" if obs.get("ident_after") else "") + ": leave it in place; it belongs to the reader, "
            "who made it and will remove it")


def test_log_records_of_concurrent_writers_never_interleave(exercise):
    obs = _phase(exercise, "many")
    _stuck(obs, f"{WRITERS} processes calling {LOG} at once", "")
    lists = obs["lists"]
    call = f"{WRITERS} processes calling {LOG} at once ({EACH} records of 1500..4096 bytes each)"
    for report in obs["report"].get("writers", []):
        assert "raised" not in report, f"in one of {call}, log_records raised {report['raised']}"
    got = obs.get("got", b"")
    lines = got.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    wanted = {r[:-1]: (k, j) for k, records in enumerate(lists) for j, r in enumerate(records)}
    seen_order = {k: [] for k in range(WRITERS)}
    for line in lines:
        if line in wanted:
            k, j = wanted[line]
            seen_order[k].append(j)
            continue
        head = line[:12]
        inner = next(((k, j) for body, (k, j) in wanted.items() if body[:9] in line[9:]), None)
        mixed = (f": inside it began record {inner[1] + 1} of writer {inner[0] + 1}" if inner else "")
        raise AssertionError(
            f"{call}: the reader got a line of {len(line)} bytes that is no record ({head!r}..{mixed}). Records of "
            "different processes were mixed: write each record with one os.write() of the whole record. The "
            f"kernel writes up to PIPE_BUF ({PIPE_BUF}) bytes into a pipe in one piece; between two writes of one "
            "record, another process's record may come in")
    for k in range(WRITERS):
        assert seen_order[k] == list(range(EACH)), (
            f"{call}: writer {k + 1}'s records arrived as {[j + 1 for j in seen_order[k]]}, expected "
            f"{list(range(1, EACH + 1))}: write every record once, in order")
    seen = _SEEN[exercise.student_file]
    if seen.get("end"):
        raise seen["end"]
