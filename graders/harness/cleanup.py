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


def kill_descendants(root: int | None = None, grace: float = 0.2, patience: float = 5.0) -> None:
    """SIGCONT (a stopped process cannot act on SIGTERM), SIGTERM, then SIGKILL, until none is left.

    Loops because a fork bomb keeps making new processes while we kill the old ones.
    """
    deadline = time.monotonic() + patience
    first_round = True
    while time.monotonic() < deadline:
        procs = living_descendants(root)
        if not procs:
            break
        for sig in ((signal.SIGCONT, signal.SIGTERM) if first_round else (signal.SIGKILL,)):
            for proc in procs:
                try:
                    proc.send_signal(sig)
                except psutil.Error:
                    pass
        if first_round:
            _, alive = psutil.wait_procs(procs, timeout=grace)
            for proc in alive:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            first_round = False
        reap_zombies()
        time.sleep(0.001)
    reap_zombies()


def sweep_stale() -> None:
    """Remove what an earlier grading run left when it was killed outright (SIGKILL, power off):
    its private folders and pids cgroups carry its pid in their name."""
    import glob
    import re
    import shutil
    import tempfile

    for path in glob.glob(os.path.join(tempfile.gettempdir(), "proclab-*")) + glob.glob("/tmp/proclab-*") + \
            glob.glob("/sys/fs/cgroup/*/proclab-*") + glob.glob("/sys/fs/cgroup/proclab-*"):
        match = re.match(r"proclab-(\d+)-", os.path.basename(path))
        if not match or psutil.pid_exists(int(match.group(1))):
            continue
        if path.startswith("/sys/"):
            try:
                os.rmdir(path)
            except OSError:
                pass
        else:
            shutil.rmtree(path, ignore_errors=True)


def reap_zombies() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
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
                with open(f"/proc/{pid}/maps") as f:
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
