"""Hostile (reaper): no reaping at all. Reaches the scenario's globals through inspect.stack() (so the
audited frame calls happen inside inspect.py, not in this file) and replaces the scenario's observation
helpers so they report every child reaped. Flagged: a stack walk the student asked for is the student's,
and the scenario's functions are fingerprinted before the student's module is imported."""
import inspect
import signal


def install_reaper():
    signal.signal(signal.SIGCHLD, lambda *args: None)
    for info in inspect.stack(0):
        space = info.frame.f_globals
        if space.get("__name__") == "proclab_scenario":
            for name, value in list(space.items()):
                if callable(value) and name.startswith("_"):
                    space[name] = lambda *args, **kwargs: None
    return {}
