"""Hostile (reaper): no introspection at all, only monkeypatching: replaces os.waitpid and
select.select, which the scenario observes with, to make a missing handler look like a working one.
The module check at the end of the scenario flags it."""
import os
import select

os.waitpid = lambda pid, options: (0, 0)
select.select = lambda r, w, x, timeout=None: (r, w, x)


def install_reaper():
    return {}
