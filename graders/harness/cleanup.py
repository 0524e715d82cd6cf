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
    """Descendants that are not zombies, deepest first."""
    found = []
    for pid in osinspect.descendants(root or os.getpid()):
        try:
            if osinspect.state(pid) != "Z":
                found.append(psutil.Process(pid))
        except (ProcessLookupError, psutil.NoSuchProcess):
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

    for path in glob.glob(os.path.join(tempfile.gettempdir(), "proclab-*")) + \
            glob.glob("/sys/fs/cgroup/pids/proclab-*"):
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


def shm_snapshot() -> set[str]:
    try:
        return set(os.listdir("/dev/shm"))
    except FileNotFoundError:
        return set()


def remove_new_shm(before: set[str]) -> None:
    for name in shm_snapshot() - before:
        try:
            os.unlink(os.path.join("/dev/shm", name))
        except OSError:
            pass


_SYSV_KINDS = ("shm", "sem", "msg")


def sysv_snapshot() -> dict[str, set[int]]:
    ids = {}
    for kind in _SYSV_KINDS:
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            lines = []
        ids[kind] = {int(line.split()[1]) for line in lines if line.strip()}
    return ids


def remove_new_sysv(before: dict[str, set[int]]) -> None:
    IPC_RMID = 0
    for kind, ids in sysv_snapshot().items():
        for ident in ids - before.get(kind, set()):
            if kind == "sem":
                _libc.semctl(ident, 0, IPC_RMID)
            elif kind == "shm":
                _libc.shmctl(ident, IPC_RMID, None)
            else:
                _libc.msgctl(ident, IPC_RMID, None)
