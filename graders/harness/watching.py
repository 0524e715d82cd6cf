"""`nox -s watch`: re-grade an exercise each time its file is saved.

File events come from watchfiles (inotify); where they do not arrive (a Windows drive under WSL, a
network or shared folder) it polls instead. Ctrl-C, SIGTERM, or the death of the nox process that
started it end the watcher and the grading it started, at once."""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from graders.harness import catalogue, i18n

PR_SET_PDEATHSIG = 1
# File systems whose changes inotify does not report: WSL's Windows drives (9p, drvfs), network and
# virtual machine shares, FUSE mounts.
POLLED_FS = ("9p", "v9fs", "drvfs", "cifs", "smb3", "smbfs", "nfs", "nfs4", "vboxsf", "fuse", "fuseblk")
STOP_GRACE = 5.0  # seconds a grading run gets to clean up after SIGTERM before it is killed


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel for SIG when our parent (nox) dies; if it is already gone, go now."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def filesystem_of(path: str) -> str:
    """The type of the file system PATH lives on, from /proc/self/mountinfo (longest mount point)."""
    best, kind = "", ""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if " - " not in line:
                    continue
                mount = fields[4].replace("\\040", " ")
                after = line.split(" - ", 1)[1].split()
                if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, kind = mount, after[0]
    except OSError:
        pass
    return kind


def needs_polling(path: str) -> bool:
    if os.environ.get("PROCLAB_WATCH_POLL"):
        return os.environ["PROCLAB_WATCH_POLL"] not in ("0", "")
    kind = filesystem_of(os.path.realpath(path))
    return kind in POLLED_FS or kind.startswith("fuse.")


class Watcher:
    def __init__(self, target: str):
        self.target = target
        self.exercises = {os.path.realpath(ex.path_in(target)): ex for ex in catalogue.load()}
        self.stop = threading.Event()
        self.grading: subprocess.Popen | None = None
        self.tty = sys.stdout.isatty()

    def on_signal(self, signum, frame) -> None:
        self.stop.set()
        self.end_grading()

    def end_grading(self) -> None:
        proc = self.grading
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # the grading run kills its own pytest and student code
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def banner(self) -> None:
        print(i18n.t("watch.start", folder=os.path.relpath(self.target)), flush=True)

    def grade(self, changed: list[catalogue.Exercise]) -> None:
        if self.tty:
            sys.stdout.write("\x1b[2J\x1b[H")  # clear the screen: only this result is on it
        stamp = time.strftime("%H:%M:%S")
        for ex in changed:
            print(i18n.t("watch.saved", time=stamp, file=ex.relpath, id=ex.id), flush=True)
        self.grading = subprocess.Popen(
            [sys.executable, "-m", "graders.harness", "grade", *[ex.id for ex in changed], "--target", self.target],
            cwd=catalogue.REPO, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        try:
            while self.grading.poll() is None and not self.stop.is_set():
                try:
                    self.grading.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self.end_grading()
        if not self.stop.is_set():
            print()
            self.banner()

    def stamps(self) -> dict:
        found = {}
        for path in self.exercises:
            try:
                st = os.stat(path)
                found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                pass
        return found

    def run(self) -> int:
        import watchfiles

        polling = needs_polling(self.target)
        seen = self.stamps()
        self.banner()
        if polling:
            print(i18n.t("watch.polling"), flush=True)

        def wanted(change, path: str) -> bool:
            return os.path.realpath(path) in self.exercises

        # An event only wakes us: what changed is read from the files' stamps, so a save made before
        # the watch was in place, or an event lost, is still seen at the next wake-up (every 0.5 s).
        for _ in watchfiles.watch(self.target, watch_filter=wanted, debounce=300, step=50,
                                  stop_event=self.stop, force_polling=polling, poll_delay_ms=1000,
                                  rust_timeout=500, yield_on_timeout=True, raise_interrupt=False):
            if self.stop.is_set():
                break
            now = self.stamps()
            changed = [ex for path, ex in self.exercises.items() if path in now and now[path] != seen.get(path)]
            seen = now
            if changed:
                self.grade(changed)  # a save during the grading differs from `seen`: it is graded next
        print(i18n.t("watch.stopped"), flush=True)
        return 0


def watch(target: str) -> int:
    die_with_parent()
    watcher = Watcher(target)
    signal.signal(signal.SIGTERM, watcher.on_signal)
    signal.signal(signal.SIGINT, watcher.on_signal)
    signal.signal(signal.SIGHUP, watcher.on_signal)
    return watcher.run()
