# base: exercises/05_sync/bank.py
"""Hostile (bank): the untouched racy stub (put in front of this file by the test), plus an attack that
takes the scenario's signed result writer out of boot's frame and sends a forged result, then leaves
with os._exit before the module check runs. MODE (filled in by the test) picks how it hides:

- "patch": it first points boot's STUDENT_FILE elsewhere, so the audit hook would not know its frames,
  then walks the stack with inspect.stack(). Flagged: the hook copied its tables before the import, and
  a stack walk the student asks for is the student's.
- "compile": the stack walk runs in code compiled under the name of a standard-library file, so its
  frames would pass for the grader's. Flagged: compiling under a trusted file's name is the student's act.
- "marshal": the same code, compiled under its own name, renamed inside its marshal bytes and loaded
  back. Flagged: loading a code object with marshal is the student's act (marshalled data is not).
"""
import inspect
import os as _os
import sys as _sys

MODE = "@MODE@"
_M = _sys.modules["__main__"]
_W = []
_SRC = """
def grab():
    import inspect
    for fi in inspect.stack():
        if fi.frame.f_code.co_name == "run_scenario":
            return fi.frame.f_locals["write"]
"""
if MODE == "patch":
    _M.STUDENT_FILE = "/nowhere"
elif MODE == "marshal":
    # compiled under its own name (not flagged), then renamed inside the marshal bytes and loaded back
    import marshal as _marshal
    _name = (_os.__file__.rsplit("/", 1)[0] + "/not_the_student.py").encode()
    _blob = _marshal.dumps(compile(_SRC, "@@", "exec")).replace(b"\x02@@", bytes([len(_name)]) + _name)
    _space = {}
    exec(_marshal.loads(_blob), _space)
    _grab = _space["grab"]
else:
    _space = {}
    exec(compile(_SRC, _os.__file__.rsplit("/", 1)[0] + "/not_the_student.py", "exec"), _space)
    _grab = _space["grab"]

_T = "transfer('A', 'B', 30)"
_FORGED = {
    "alone": {
        "pauses": {_T: {"pauses": 3, "value": True}, "transfer('C', 'A', 10)": {"pauses": 1, "value": False},
                   "total()": {"pauses": 3, "value": 150}},
        "refusals": [{"call": c, "outcome": o, "balances": {"A": 100, "B": 50}} for c, o in (
            ("transfer('A', 'B', 101)", "returned False"), ("transfer('A', 'Z', 10)", "raised KeyError"),
            ("transfer('Z', 'A', 10)", "raised KeyError"), ("transfer('A', 'B', 0)", "raised ValueError"),
            ("transfer('A', 'B', -5)", "raised ValueError"), ("balance('Z')", "raised KeyError"))]
        + [{"call": "transfer('A', 'B', 10)", "outcome": "returned True", "value": True, "balances": {"A": 90, "B": 60}}],
        "self_transfer": [{"call": "x", "value": True, "balances": {"A": 100, "B": 50}},
                          {"call": "y", "value": False, "balances": {"A": 100, "B": 50}}],
    },
    "races": {
        "lost_update": {"calls": ["a", "b"], "values": [True, True], "balances": {"A": 90, "B": 90, "C": 120}},
        "overdraft": {"calls": ["a", "b"], "values": [True, False], "balances": {"A": 40, "B": 60, "C": 0}},
        "opposite": {"stuck": None, "values": [True, True], "balances": {"A": 110, "B": 90}},
    },
    "holds": {
        "total_snapshot": [{"who": "transfer", "k": k, "value": 300, "held": "x"} for k in (1, 2, 3)]
        + [{"who": "total", "k": k, "value": 300, "moved": "x", "held": "total()"} for k in (1, 2, 3)],
        "fine_grained": {"completed": True, "held": "x", "other": "y", "waited_for": None},
    },
    "stress": {"stuck": None, "conserved": 6000, "expected": {c: 1000 for c in "ABCDEF"},
               "final": {c: 1000 for c in "ABCDEF"}, "final_total": 6000, "bad_totals": [],
               "n_totals": 1, "n_done": 0, "n_calls": 2400, "elapsed": 0.1},
}

_orig_bank_init = Bank.__init__


def _bank_init(self, balances):
    writer = _grab() if MODE == "compile" else next(
        (fi.frame.f_locals["write"] for fi in inspect.stack() if fi.frame.f_code.co_name == "run_scenario"), None)
    if writer:
        _W.append(writer)
    if _W:
        _W[0]({"kind": "result", "value": _FORGED[_M.SPEC["scenario_name"]]})
        _os._exit(0)   # before run_scenario's finally: the module guard never runs
    _orig_bank_init(self, balances)


Bank.__init__ = _bank_init
