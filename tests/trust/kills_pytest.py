"""Hostile (reaper): SIGKILLs its ancestors in the grader: the warden, pytest and the grading command
(every ancestor whose command line names the graders). As a separate user it can reach none of
them but its warden; as the same user it kills pytest, and the run must fail closed."""
import os
import signal


def _ancestors():
    pid = os.getpid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"graders" not in f.read():
                    return
            yield pid
        except (OSError, ValueError, IndexError):
            return


def install_reaper():
    for pid in reversed(list(_ancestors())):  # the grading command first, the warden last
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return {}
