"""Nothing is left behind: subreaper, kill + reap every descendant, remove IPC leftovers."""

import ctypes
import os
import signal
import time

import psutil

from graders.harness import osinspect

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Orphans of our descendants (double-forked daemons) are re-parented to us, not to PID 1."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def living_descendants(root: int | None = None) -> list[psutil.Process]:
    """Descendants that are alive (a zombie leader with live threads is), deepest first."""
    found = []
    for pid in osinspect.descendants(root or os.getpid()):
        try:
            if osinspect.alive(pid):
                found.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return found


def kill_descendants(root: int | None = None, patience: float = 5.0) -> None:
    """Stop every descendant with SIGSTOP until no new one appears (a fork bomb or a process hopping
    to new pids cannot outrun a frozen tree), then SIGKILL them all, wake them, and reap."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        stopped: set[int] = set()
        while time.monotonic() < deadline:
            fresh = [p.pid for p in living_descendants(root) if p.pid not in stopped]
            if not fresh:
                break
            for pid in fresh:
                _signal(pid, signal.SIGSTOP)
            stopped.update(fresh)
        if not stopped:
            break
        for sig in (signal.SIGKILL, signal.SIGCONT):
            for pid in stopped:
                _signal(pid, sig)
        reap_zombies()
        time.sleep(0.001)
    reap_zombies()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def reclaim_run(pid: int) -> None:
    """Everything a grading run (pytest, pid PID) made, once it has ended, however it ended: kill what
    is left in its cgroups and of its separate uid, then remove the cgroups and its folders."""
    import glob
    import shutil

    from graders.harness import containment, identity

    for path in glob.glob(f"/sys/fs/cgroup/*/proclab-{pid}-*") + glob.glob(f"/sys/fs/cgroup/proclab-{pid}-*"):
        for name in ("cgroup.procs", "tasks"):
            try:
                with open(os.path.join(path, name)) as f:
                    for task in f.read().split():
                        _signal(int(task), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    if os.geteuid() == 0:
        uid = identity.UID_BASE + pid
        for _ in range(3):  # stop them all first, so none forks past the kill
            found = [p for p in osinspect.all_pids() if _owner(p) == uid]
            for task in found:
                _signal(task, signal.SIGSTOP)
            for task in found:
                _signal(task, signal.SIGKILL)
                _signal(task, signal.SIGCONT)
    reap_zombies()
    time.sleep(0.01)
    for path in glob.glob(f"/sys/fs/cgroup/*/proclab-{pid}-*") + glob.glob(f"/sys/fs/cgroup/proclab-{pid}-*"):
        containment.remove_folder(path)
    for base in (identity.RUN_BASE, "/tmp"):
        shutil.rmtree(os.path.join(base, f"proclab-{pid}"), ignore_errors=True)


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def sweep_stale() -> None:
    """Remove what an earlier grading run left when it was killed outright (SIGKILL, power off):
    its folders and cgroups carry its pid in their name."""
    import glob
    import re
    import shutil

    dead, folders = set(), []
    for path in glob.glob("/tmp/proclab-*") + glob.glob("/run/proclab-*") + \
            glob.glob("/sys/fs/cgroup/*/proclab-*") + glob.glob("/sys/fs/cgroup/proclab-*"):
        match = re.match(r"proclab-(\d+)(-|$)", os.path.basename(path))
        if match and not psutil.pid_exists(int(match.group(1))):
            dead.add(int(match.group(1)))
            if not path.startswith("/sys/"):
                folders.append(path)  # also the gradebook's proclab-PID-book-* copies
    for pid in dead:
        reclaim_run(pid)
    for path in folders:
        shutil.rmtree(path, ignore_errors=True)


OWN_CHILDREN: dict = {}  # pid -> subprocess.Popen of our own children: their status is theirs to keep


def reap_zombies() -> None:
    """Reap every exited descendant re-parented to us; hand our own children's status to their Popen,
    so that a later poll() still tells how they ended (not 0, as after ECHILD)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        popen = OWN_CHILDREN.pop(pid, None)
        if popen is not None and popen.returncode is None:
            popen.returncode = os.waitstatus_to_exitcode(status)
        if pid == 0:
            return


_SYSV_KINDS = ("shm", "sem", "msg")
SHARED_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")  # where any user may create files
PYTHON_SHM_PREFIXES = ("psm_", "sem.mp-", "mp-")  # names multiprocessing gives its segments and semaphores
MAX_ENTRIES = 20000


def _sysv_table(kind: str) -> list[dict[str, int]]:
    try:
        with open(f"/proc/sysvipc/{kind}") as f:
            header, *lines = f.read().splitlines()
    except (OSError, ValueError):
        return []
    names = header.split()
    rows = []
    for line in lines:
        values = line.split()
        if len(values) == len(names):
            rows.append({k: int(v) for k, v in zip(names, values) if v.lstrip("-").isdigit()})
    return rows


def _remove_sysv(kind: str, ident: int) -> None:
    IPC_RMID = 0
    if kind == "sem":
        _libc.semctl(ident, 0, IPC_RMID)
    elif kind == "shm":
        _libc.shmctl(ident, IPC_RMID, None)
    else:
        _libc.msgctl(ident, IPC_RMID, None)


def _remove_path(path: str) -> None:
    import shutil
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


class Leftovers:
    """What a test's submission left in shared places: removed by owner (separate-user mode), or, in
    same-user mode, only what can be traced to the submission, never another program's files or IPC.

    separate-user: every file, FIFO, socket or folder owned by the submission's uid in /tmp, /var/tmp,
    /dev/shm, /run/lock (and world-writable folders inside them); its SysV objects and POSIX message
    queues live in its own IPC namespace and vanish with it.
    same-user: new entries that a process of the submission still had open or mapped when the test
    ended, new /dev/shm entries with multiprocessing's names, and new SysV objects created by the
    student's uid during the test (shared memory: only those whose creator pid was the submission's).
    """

    def __init__(self, ident, started: float):
        self.ident = ident
        self.started = started
        self.before_shm = set() if ident.separate else set(self._listdir("/dev/shm"))
        self.before_sysv = {} if ident.separate else {k: {r.get(_id_column(k)) for r in _sysv_table(k)}
                                                       for k in _SYSV_KINDS}
        self.seen_pids: set[int] = set()

    @staticmethod
    def _listdir(path: str) -> list[str]:
        try:
            return os.listdir(path)
        except OSError:
            return []

    def held_by(self, pids) -> set[str]:
        """Paths in the shared folders that these processes hold open or mapped (same-user mode)."""
        self.seen_pids.update(pids)
        if self.ident.separate:
            return set()
        held = set()
        for pid in pids:
            try:
                targets = list(osinspect.fd_targets(pid).values())
                with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:  # any file name
                    targets += [line.split(None, 5)[-1].strip() for line in f if "/" in line]
            except (OSError, ProcessLookupError):
                continue
            held.update(t.removesuffix(" (deleted)") for t in targets if t.startswith(SHARED_DIRS))
        return held

    def remove(self, held: set[str]) -> None:
        if self.ident.separate:
            self._remove_owned()
        else:
            self._remove_traced(held)

    def _remove_owned(self) -> None:
        import stat as stat_
        uid, budget = self.ident.uid, [MAX_ENTRIES]

        def sweep(folder: str) -> None:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                return
            for entry in entries:
                budget[0] -= 1
                if budget[0] < 0:
                    return
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if info.st_uid == uid:
                    _remove_path(entry.path)
                elif stat_.S_ISDIR(info.st_mode) and info.st_mode & stat_.S_IWOTH:
                    sweep(entry.path)  # e.g. /tmp/.X11-unix: anyone may create inside

        for folder in SHARED_DIRS:
            sweep(folder)

    def _remove_traced(self, held: set[str]) -> None:
        uid = os.getuid()
        for name in set(self._listdir("/dev/shm")) - self.before_shm:
            path = os.path.join("/dev/shm", name)
            try:
                mine = os.lstat(path).st_uid == uid
            except OSError:
                continue
            if mine and (path in held or name.startswith(PYTHON_SHM_PREFIXES)):
                _remove_path(path)
        for path in held:
            if os.path.dirname(path) in SHARED_DIRS and not path.startswith("/dev/shm/"):
                _remove_path(path)
        for kind in _SYSV_KINDS:
            for row in _sysv_table(kind):
                ident = row.get(_id_column(kind))
                if ident in self.before_sysv.get(kind, ()) or row.get("cuid") != uid:
                    continue
                if kind == "shm" and row.get("cpid") not in self.seen_pids:
                    continue
                if row.get("ctime", 0) >= int(self.started) - 1:
                    _remove_sysv(kind, ident)


def _id_column(kind: str) -> str:
    return {"shm": "shmid", "sem": "semid", "msg": "msqid"}[kind]
