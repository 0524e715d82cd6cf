"""Hostile (reaper): moves itself into the root cgroups (where no budget holds), then forks 400
children that sleep. A separate user may not write the root cgroup.procs, so the test's pids budget
still holds and the children are killed with the cgroup."""
import glob
import os
import time


def install_reaper():
    for path in glob.glob("/sys/fs/cgroup/*/cgroup.procs") + ["/sys/fs/cgroup/cgroup.procs"]:
        if path.count("/") <= 5:
            try:
                with open(path, "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass
    for _ in range(400):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    raise NotImplementedError("install_reaper")  # the point was the leftovers, not the grade
