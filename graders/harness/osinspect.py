"""Read the kernel's view of a process from /proc. Standard library only: scenarios use it too.

Every function takes a pid and raises ProcessLookupError when the process is gone.
"""

import os
import platform
import re

_SIGNAL_FIELDS = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def _read(pid: int, name: str) -> str:
    try:
        # A process may name itself with any bytes (invalid UTF-8, CR, newlines): read them all, whatever the
        # locale, and let no name make a reader raise.
        with open(f"/proc/{pid}/{name}", encoding="utf-8", errors="replace", newline="") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessLookupError(pid) from None


def stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name; [0] is the state letter, [1] the ppid.

    The name sits in parentheses and may itself contain ') ', so split after the last ')'.
    """
    text = _read(pid, "stat")
    return text[text.rindex(")") + 2:].split()


def state(pid: int) -> str:
    """The state letter: R running, S sleeping, D disk sleep, T stopped, t traced, Z zombie, X dead."""
    return stat_fields(pid)[0]


def ppid(pid: int) -> int:
    return int(stat_fields(pid)[1])


def pgid(pid: int) -> int:
    return int(stat_fields(pid)[2])


def sid(pid: int) -> int:
    return int(stat_fields(pid)[3])


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _parent_map() -> dict[int, int]:
    parents = {}
    for pid in all_pids():
        try:
            parents[pid] = ppid(pid)
        except (ProcessLookupError, ValueError, IndexError):
            pass
    return parents


def children(pid: int) -> list[int]:
    """Direct children, zombies included, in pid order."""
    return sorted(child for child, parent in _parent_map().items() if parent == pid)


def descendants(pid: int) -> list[int]:
    """Every descendant, deepest first (kill and reap in that order)."""
    parents = _parent_map()
    kids: dict[int, list[int]] = {}
    for child, parent in parents.items():
        kids.setdefault(parent, []).append(child)
    order, stack = [], [(pid, 0)]
    while stack:
        current, depth = stack.pop()
        for child in kids.get(current, ()):
            order.append((depth + 1, child))
            stack.append((child, depth + 1))
    return [child for _, child in sorted(order, reverse=True)]


def zombies(pids) -> list[int]:
    found = []
    for pid in pids:
        try:
            if state(pid) == "Z":
                found.append(pid)
        except ProcessLookupError:
            pass
    return found


def comm(pid: int) -> str:
    """The command name (works on zombies too)."""
    text = _read(pid, "stat")
    return text[text.index("(") + 1:text.rindex(")")]


def alive(pid: int) -> bool:
    """Running, sleeping or stopped, or a zombie leader whose other threads still run (a process whose
    main thread left with the raw exit system call): only a zombie with no live thread is dead."""
    try:
        if state(pid) != "Z":
            return True
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except (ProcessLookupError, FileNotFoundError):
        return False


def cmdline(pid: int) -> list[str]:
    """The argument vector (empty for a zombie)."""
    return [arg for arg in _read(pid, "cmdline").split("\0")][:-1]


def exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None


def fd_targets(pid: int) -> dict[int, str]:
    """fd -> what it points at, e.g. {0: 'pipe:[1234]', 1: '/tmp/x'}; fds that close meanwhile are dropped."""
    base = f"/proc/{pid}/fd"
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    targets = {}
    for name in names:
        try:
            targets[int(name)] = os.readlink(f"{base}/{name}")
        except (FileNotFoundError, ProcessLookupError):
            pass  # closed since the listing (for pid == self: the listing's own fd)
    return targets


def pipe_inode(pid: int, fd: int):
    """The inode of the pipe on `fd`, or None when it is not a pipe (or not open)."""
    match = re.fullmatch(r"pipe:\[(\d+)\]", fd_targets(pid).get(fd, ""))
    return int(match.group(1)) if match else None


def open_fds(pid: int) -> set[int]:
    return set(fd_targets(pid))


def status_fields(pid: int) -> dict[str, str]:
    fields = {}
    for line in _read(pid, "status").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _mask_to_signals(hexmask: str) -> set[int]:
    mask = int(hexmask, 16)
    return {n for n in range(1, 65) if mask & (1 << (n - 1))}


def signal_masks(pid: int) -> dict[str, set[int]]:
    """{'SigBlk': {...}, 'SigCgt': {...}, ...}: the signal numbers in each /proc/PID/status mask."""
    fields = status_fields(pid)
    return {name: _mask_to_signals(fields[name]) for name in _SIGNAL_FIELDS if name in fields}


def voluntary_switches(pid: int) -> int:
    return int(status_fields(pid)["voluntary_ctxt_switches"])


def thread_count(pid: int) -> int:
    return int(status_fields(pid)["Threads"])


# wait4 and waitid, by system-call number: a thread asleep in one of them shows its number in /proc/.../syscall
# where wchan shows nothing (kernels built without wchan symbols, or a restricted view).
_WAIT_CALLS = {"x86_64": {61, 247}, "aarch64": {260, 95}, "arm64": {260, 95}}.get(platform.machine(), set())


def threads(pid: int) -> list[tuple[str, str]]:
    """(state letter, what it sleeps in) for every thread of PID: its wchan, or 'wait' when the thread is in a
    wait system call (wait4, waitid) and wchan shows nothing. [] when PID is gone; a thread that ends
    meanwhile is left out."""
    found = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(f"{base}/stat", "rb") as f:
                text = f.read()
            state = text[text.rindex(b")") + 2:].split()[0].decode()
            with open(f"{base}/wchan") as f:
                wchan = f.read().strip()
            if wchan in ("", "0"):
                with open(f"{base}/syscall") as f:
                    number = f.read().split()[0]
                wchan = "wait" if number.isdigit() and int(number) in _WAIT_CALLS else wchan
        except (OSError, ValueError, IndexError):
            continue
        found.append((state, wchan))
    return found


def in_wait(pid: int) -> bool:
    """Some thread of PID sleeps in a wait call (wait4, waitid: the kernel's do_wait): it waits for a child."""
    return any(state == "S" and wchan in ("do_wait", "wait") for state, wchan in threads(pid))


_CLOCK_TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def _read_path(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return f.read()


def task_sample(pid: int, tid: int):
    """(state letter, CPU time in ms, context switches) of one thread, or None once it is gone. The CPU time is
    exact (sched's se.sum_exec_runtime) where the kernel shows it, else utime+stime in clock ticks."""
    base = f"/proc/{pid}/task/{tid}"
    try:
        stat = _read_path(f"{base}/stat")
        fields = stat[stat.rindex(")") + 2:].split()
        status = _read_path(f"{base}/status")
        switches = sum(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))
        cpu = (int(fields[11]) + int(fields[12])) * _CLOCK_TICK_MS
        try:
            for line in _read_path(f"{base}/sched").splitlines():   # exact, where the kernel shows it
                if line.startswith("se.sum_exec_runtime"):
                    cpu = float(line.split()[-1])
                    break
        except OSError:
            pass
        return fields[0], cpu, switches
    except (OSError, ValueError, IndexError):
        return None


# Blocking system calls that can take a timeout, by machine: number -> (name, argument holding the timeout in
# /proc/PID/task/TID/syscall (1 = the first), how that argument says "no timeout": "null" pointer or "neg" -1).
# None: the call itself is a sleep.
_TIMED_CALLS = {
    "x86_64": {202: ("futex", 4, "null"), 35: ("nanosleep", None, None), 230: ("clock_nanosleep", None, None),
               23: ("select", 5, "null"), 270: ("pselect6", 5, "null"), 7: ("poll", 3, "neg"),
               271: ("ppoll", 3, "null"), 232: ("epoll_wait", 4, "neg"), 281: ("epoll_pwait", 4, "neg"),
               441: ("epoll_pwait2", 4, "null"), 128: ("rt_sigtimedwait", 3, "null")},
    "aarch64": {98: ("futex", 4, "null"), 101: ("nanosleep", None, None), 115: ("clock_nanosleep", None, None),
                72: ("pselect6", 5, "null"), 73: ("ppoll", 3, "null"), 22: ("epoll_pwait", 4, "neg"),
                441: ("epoll_pwait2", 4, "null"), 137: ("rt_sigtimedwait", 3, "null")},
}.get(os.uname().machine, {})


def wait_kind(pid: int, tid: int):
    """How a sleeping thread waits, from /proc/PID/task/TID/syscall: ("timed", call) when the system call it
    sleeps in ends on its own after a while (a wait with a timeout, a sleep), ("untimed", call) when only
    another thread or a signal can end it, None when this side cannot tell (running, unknown machine...)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/syscall") as f:
            fields = f.read().split()
        nr = int(fields[0])
    except (OSError, ValueError, IndexError):
        return None
    known = _TIMED_CALLS.get(nr)
    if known is None:
        return ("untimed", f"system call {nr}") if nr >= 0 else None
    name, arg, none = known
    if arg is None:
        return "timed", name
    try:
        value = int(fields[arg], 16)
    except (ValueError, IndexError):
        return None
    if none == "null":
        return ("untimed" if value == 0 else "timed"), name
    low = value & 0xFFFFFFFF
    return ("untimed" if low >= 0x80000000 else "timed"), name


def task_samples(pid: int) -> dict[int, tuple]:
    """task_sample of every thread of PID, by thread id ({} once PID is gone)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return {}
    samples = {}
    for tid in tids:
        seen = task_sample(pid, tid)
        if seen is not None:
            samples[tid] = seen
    return samples
