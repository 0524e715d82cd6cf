# base: solutions/02_states/reaper.py
"""Hostile (reaper): a correct reaper (the reference solution, put in front of this file by the test)
that also leaves a daemon running, and freezes its warden with SIGSTOP so the grader never hears that
the scenario process ended. The grader wakes a stopped warden and fails the test: nothing is left."""
import os
import signal

_correct_install_reaper = install_reaper  # noqa: F821 - defined by the base


def install_reaper():
    import time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(30)
        os._exit(0)
    os.wait()
    os.kill(os.getppid(), signal.SIGSTOP)
    return _correct_install_reaper()

