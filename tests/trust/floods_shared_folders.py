"""Hostile (reaper): 20,050 hard links in /tmp (one inode, fast: a way to exhaust a sweep's budget), and
markers in /var/tmp, /dev/shm and /run/lock. In separate-user mode these folders are private tmpfs
mounts of the sandbox, so nothing reaches the machine's own folders at all."""
import os

NAME = "proclab-hostile-flood"


def install_reaper():
    for folder in ("/var/tmp", "/dev/shm", "/run/lock"):
        with open(f"{folder}/{NAME}", "w") as f:
            f.write("left behind\n")
    base = f"/tmp/{NAME}"
    os.close(os.open(base, os.O_CREAT | os.O_WRONLY, 0o644))
    for i in range(20050):
        os.link(base, f"{base}-{i:05d}")
    raise NotImplementedError("install_reaper")  # the point was the leftovers, not the grade
