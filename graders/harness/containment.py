"""Containment by the kernel: one set of cgroups per test holds every process the submission starts.

Membership, not parentage, says what belongs to the submission: a process whose main thread has
left (state Z) while another thread runs on is still in the cgroup, and so is a double-forked
daemon. At the end of the test the cgroup is frozen, everything in it killed, and emptied. It also
caps the number of tasks (pids controller) and the memory of the whole submission (memory controller).

cgroup v2 where /sys/fs/cgroup is the unified hierarchy (GitHub's runners), the v1 controllers
otherwise (pids, memory, freezer). Needs root; without it the harness falls back to walking its
descendants and to RLIMIT_NPROC (see sandbox.py).
"""

import os
import signal
import time

ROOT = "/sys/fs/cgroup"
TASK_BUDGET = 256           # processes + threads alive at once, per test (the reaper forks 50)
MEMORY_LIMIT = 2 << 30      # bytes, all of the submission's processes together
V1_CONTROLLERS = ("pids", "memory", "freezer")


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def available(root: str = ROOT) -> bool:
    if os.geteuid() != 0:
        return False
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return os.access(root, os.W_OK)
    return os.access(os.path.join(root, "pids"), os.W_OK)


class Cgroups:
    """The cgroups of one test. ROOT may name another cgroup v2 hierarchy (the self-tests use one)."""

    def __init__(self, name: str, root: str = ROOT):
        self.v2 = os.path.exists(os.path.join(root, "cgroup.controllers"))
        self.paths: dict[str, str] = {}
        if self.v2:
            try:  # let children of the root use the pids and memory controllers
                _write(os.path.join(root, "cgroup.subtree_control"), "+pids +memory")
            except OSError:
                pass
            path = os.path.join(root, name)
            os.mkdir(path)
            self.paths["unified"] = path
            self._limit(path, "pids.max", str(TASK_BUDGET))
            self._limit(path, "memory.max", str(MEMORY_LIMIT))
            self._limit(path, "memory.swap.max", "0")
        else:
            for controller in V1_CONTROLLERS:
                parent = os.path.join(root, controller)
                if os.access(parent, os.W_OK):
                    path = os.path.join(parent, name)
                    os.mkdir(path)
                    self.paths[controller] = path
            if "pids" not in self.paths:
                raise OSError("no pids cgroup could be made")
            self._limit(self.paths["pids"], "pids.max", str(TASK_BUDGET))
            if "memory" in self.paths:
                self._limit(self.paths["memory"], "memory.limit_in_bytes", str(MEMORY_LIMIT))

    @staticmethod
    def _limit(folder: str, name: str, value: str) -> None:
        try:
            _write(os.path.join(folder, name), value)
        except OSError:
            pass  # a controller this kernel lacks: the others still hold

    @property
    def _main(self) -> str:
        return self.paths.get("unified") or self.paths["pids"]

    def procs_files(self) -> list[str]:
        """Where a new process writes its pid to join (all of them, before it execs anything)."""
        return [os.path.join(p, "cgroup.procs") for p in self.paths.values()]

    def pids(self) -> set[int]:
        """Every process in the cgroup, zombie leaders with live threads included."""
        return {int(x) for x in _read(os.path.join(self._main, "cgroup.procs")).split()}

    def tasks(self) -> set[int]:
        name = "cgroup.threads" if self.v2 else "tasks"
        return {int(x) for x in _read(os.path.join(self._main, name)).split()}

    def over_budget(self) -> bool:
        """Did the kernel refuse a fork because pids.max was reached?"""
        for line in _read(os.path.join(self._main, "pids.events")).splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and value.strip() not in ("", "0"):
                return True
        return False

    def _freeze(self, frozen: bool) -> None:
        if self.v2:
            self._limit(self._main, "cgroup.freeze", "1" if frozen else "0")
        elif "freezer" in self.paths:
            self._limit(self.paths["freezer"], "freezer.state", "FROZEN" if frozen else "THAWED")
            if frozen:  # wait (briefly) until every task is frozen: none can fork in between
                deadline = time.monotonic() + 1.0
                while _read(os.path.join(self.paths["freezer"], "freezer.state")).strip() == "FREEZING":
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.001)

    def kill_all(self, reap, patience: float = 5.0) -> bool:
        """Freeze, SIGKILL everything, thaw, and wait until the cgroup is empty; True when it is."""
        deadline = time.monotonic() + patience
        kill_file = os.path.join(self._main, "cgroup.kill")
        while time.monotonic() < deadline:
            if not self.tasks() and not self.pids():
                return True
            if self.v2 and os.path.exists(kill_file):
                self._limit(self._main, "cgroup.kill", "1")
            self._freeze(True)
            # Also each task by hand: cgroup.kill walks thread-group leaders and passes over a zombie
            # leader whose other threads still run (measured on 6.18).
            for task in self.tasks() | self.pids():
                try:
                    os.kill(task, signal.SIGKILL)
                except OSError:
                    pass
            self._freeze(False)
            reap()
            time.sleep(0.002)
        return not self.tasks() and not self.pids()

    def remove(self) -> None:
        for path in self.paths.values():
            remove_folder(path)


def remove_folder(path: str) -> None:
    """rmdir a cgroup, retrying briefly while the kernel lets go of its last tasks."""
    for _ in range(50):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.002)
