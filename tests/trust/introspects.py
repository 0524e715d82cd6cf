"""Hostile (reaper): walks up into the scenario's frame and the garbage collector to find the
grader's context and result writer, and patches os.waitpid so the scenario's observations lie.
Each of these is seen by the audit hook or the module check, and the exercise earns nothing."""
import gc
import os
import sys

_real_waitpid = os.waitpid


def install_reaper():
    caller = sys._getframe(1)
    found = [o for o in gc.get_objects() if type(o).__name__ == "Context"]
    os.waitpid = lambda pid, options: _real_waitpid(pid, options)
    return {"caller": caller.f_code.co_name, "contexts": len(found)} and {}
