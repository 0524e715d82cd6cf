"""Who the student's code runs as, and what it can see.

separate-user: the grader is root (CI with sudo, a container, the instructor's gradebook). Every
process of the submission runs as a user of its own (a fresh uid/gid per grading run, no
supplementary groups, no capabilities, no_new_privs), in its own mount and IPC namespaces:
/proc shows it only its own processes (hidepid), the grader's repository and any folder named
with --hide are covered by an empty read-only tmpfs, and SysV objects and POSIX message queues
it makes vanish with its namespace. It cannot signal, trace or write to the grader, its result
pipes, .grade/, graders/, solutions/, the venv, or another submission.

same-user: the grader is an ordinary user (a student's laptop). The student's code runs as the
student, who cannot be separated from themselves; the report says so.
"""

import ctypes
import os
import shutil
import stat
import sys

SEPARATE, SAME = "separate-user", "same-user"
UID_BASE = 1_500_000_000  # far above any account's uid; one per grading run (pid added)
RUN_BASE = "/run"         # where, as root, a run keeps the stage and the tests' private folders
PRIVATE_TMPFS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # fresh and empty for each sandbox
TMPFS_SIZE = b"size=512m,mode=1777"

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = \
    1, 2, 4, 8, 32, 4096, 0x4000, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4

HARNESS = os.path.dirname(os.path.abspath(__file__))
SANDBOX_MODULES = ("__init__.py", "frames.py", "scenario.py", "osinspect.py", "boot.py")


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def protect_self() -> None:
    """Make this process non-dumpable: processes of the same user can then neither trace it nor
    open its /proc/PID/fd, mem or environ (what a same-user submission would reach for)."""
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def world_reachable(path: str) -> bool:
    """Can a user with no groups reach PATH (search every folder on the way, read the end)?"""
    path = os.path.realpath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        try:
            mode = os.stat(os.sep.join(parts[:i]) or os.sep).st_mode
        except OSError:
            return False
        need = stat.S_IXOTH if stat.S_ISDIR(mode) else stat.S_IROTH
        if not mode & need:
            return False
    return True


def _first_closed_folder(path: str) -> str:
    """The outermost folder on PATH's way that a user with no groups may not search (e.g. /root)."""
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        folder = os.sep.join(parts[:i])
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return path


class Identity:
    """The isolation of one grading run (one pytest process)."""

    def __init__(self, hide: list[str] | None = None):
        # As root, always a separate user: root code under test could undo every other protection.
        if os.geteuid() == 0:
            self.mode = SEPARATE
            self.uid = self.gid = UID_BASE + os.getpid()
            # Off /tmp, which the sandbox gets as a private tmpfs; readable by this run's group only
            # (another submission graded at the same time has another uid and gid).
            self.base = os.path.join(RUN_BASE if os.path.isdir(RUN_BASE) else "/tmp", f"proclab-{os.getpid()}")
        else:
            self.mode = SAME
            self.uid, self.gid = os.getuid(), os.getgid()
            self.base = os.path.join("/tmp", f"proclab-{os.getpid()}")
        self.stage = os.path.join(self.base, "stage")
        self.hide = [os.path.realpath(p) for p in (hide or []) if os.path.isdir(p)]
        self._students = 0
        self._copies: dict[tuple[str, str], str] = {}
        self._build_stage()

    @property
    def separate(self) -> bool:
        return self.mode == SEPARATE

    # -- the stage: what the sandbox needs, readable by the student's user, writable by nobody else --

    def _build_stage(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)
        os.mkdir(self.base, 0o750)
        self._own(self.base)
        harness = os.path.join(self.stage, "graders", "harness")
        for folder in (self.stage, os.path.join(self.stage, "graders"), harness):
            self._mkdir(folder)
        for name in SANDBOX_MODULES:
            self._put(os.path.join(HARNESS, name), os.path.join(harness, name))
        base = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
        self.python = base
        self.python_bind = None
        if self.separate and not (world_reachable(base) and world_reachable(sys.base_prefix)):
            # e.g. pyenv under /root (mode 0700). The interpreter must keep its own path (its libpython
            # is found by an absolute RUNPATH), so in the sandbox the closed folder on the way is covered
            # by an empty tmpfs, and the interpreter's prefix is bound back at its own path inside it.
            prefix = os.path.realpath(sys.base_prefix)
            mount_point = os.path.join(self.stage, "python")
            self._mkdir(mount_point)
            self.python_bind = (prefix, mount_point, _first_closed_folder(prefix))

    def _own(self, path: str) -> None:
        """root:<the run's group>, so the submission's user may read it and nobody else (0750/0640)."""
        if self.separate:
            os.chown(path, 0, self.gid)

    def _mkdir(self, path: str) -> None:
        os.mkdir(path, 0o750)
        os.chmod(path, 0o750)
        self._own(path)

    def _put(self, src: str, dest: str, data: bytes | None = None) -> None:
        if data is None:
            with open(src, "rb") as f:
                data = f.read()
        with open(dest, "wb") as f:
            f.write(data)
        os.chmod(dest, 0o640)
        self._own(dest)

    def private_tmp(self, kind: str = "") -> str:
        """A fresh folder for one test (its cwd and TMPDIR, or the grader's log folder when kind='log')."""
        import tempfile
        path = tempfile.mkdtemp(prefix=f"{kind or 'tmp'}-", dir=self.base)
        if kind == "log":
            os.chmod(path, 0o700)
        else:
            self.private_dir(path)
        return path

    @property
    def boot(self) -> str:
        return os.path.join(self.stage, "graders", "harness", "boot.py")

    def scenario(self, path: str) -> str:
        """A copy of a scenario file on the stage, with the helper files beside it (not the graders' tests)."""
        source = os.path.dirname(path)
        folder = os.path.join(self.stage, "scenarios", os.path.basename(source))
        if not os.path.isdir(folder):
            if not os.path.isdir(os.path.dirname(folder)):
                self._mkdir(os.path.dirname(folder))
            self._mkdir(folder)
            for name in os.listdir(source):
                if name.endswith(".py") and not name.startswith("test_") and name != "conftest.py":
                    self._put(os.path.join(source, name), os.path.join(folder, name))
        return os.path.join(folder, os.path.basename(path))

    def student(self, name: str, data: bytes) -> str:
        """The student's file, copied onto the stage (the original may sit where their user cannot read).
        The same file gets the same path all run long: graders key shared observations by it."""
        import hashlib
        key = (name, hashlib.sha256(data).hexdigest())
        if key in self._copies:
            return self._copies[key]
        self._students += 1
        folder = os.path.join(self.stage, "students", str(self._students))
        if not os.path.isdir(os.path.dirname(folder)):
            self._mkdir(os.path.dirname(folder))
        self._mkdir(folder)
        dest = os.path.join(folder, name)
        self._put("", dest, data)
        self._copies[key] = dest
        return dest

    def private_dir(self, path: str) -> None:
        """Hand a fresh folder (the test's cwd and TMPDIR) to the student's user."""
        if self.separate:
            os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o700)

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    # -- entering the sandbox (runs in the forked child, before exec, as root) --

    def enter(self, cgroup_procs: list[str]) -> None:
        pid = str(os.getpid())
        for path in cgroup_procs:
            with open(path, "w") as f:
                f.write(pid)
        if not self.separate:
            return
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
        _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        if self.python_bind:  # first, while its own path still shows it
            prefix, mount_point, _ = self.python_bind
            _check(_libc.mount(prefix.encode(), mount_point.encode(), None, MS_BIND | MS_REC, None),
                   "bind the interpreter")
        from graders.harness.catalogue import REPO
        inside = [h for h in self.hide if os.path.commonpath([h, REPO]) == REPO]  # already under the cover
        for path in [REPO, *[h for h in self.hide if h not in inside]]:
            _check(_libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               b"size=16k,mode=0555"), f"hide {path}")
        _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"hidepid=2"),
               "mount /proc with hidepid=2")
        if self.python_bind:
            prefix, mount_point, closed = self.python_bind
            _check(_libc.mount(b"tmpfs", closed.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64k,mode=0755"),
                   f"cover {closed}")
            os.makedirs(prefix, mode=0o755, exist_ok=True)
            _check(_libc.mount(mount_point.encode(), prefix.encode(), None, MS_BIND | MS_REC, None),
                   "bind the interpreter back at its own path")
            _check(_libc.mount(None, prefix.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None),
                   "read-only interpreter")
        if not self.base.startswith("/tmp/"):
            # Whatever the submission leaves in the shared scratch folders vanishes with its namespace.
            for path in PRIVATE_TMPFS:
                if os.path.isdir(path):
                    _check(_libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, TMPFS_SIZE),
                           f"a private {path}")
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)  # all three non-zero: every capability is dropped
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
