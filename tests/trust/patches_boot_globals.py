"""Hostile (bank): the untouched racy stub, plus an attack. It first points boot's STUDENT_FILE
elsewhere (so the audit hook would not know its frames), then takes the signed writer through
inspect.stack() and sends a forged result. Flagged: the hook copied its tables before the import, and
a stack walk the student asks for is the student's."""

import threading  # noqa: F401  (you will need threading.Lock or threading.RLock)
import time


def _pause() -> None:
    """Give other threads a chance to run here (the grader replaces this)."""
    time.sleep(0)


class Bank:
    def __init__(self, balances: dict[str, int]) -> None:
        self._balances = dict(balances)
        # TODO: create one lock per account (here, once: not lazily later).

    def transfer(self, src: str, dst: str, amount: int) -> bool:
        if src not in self._balances or dst not in self._balances:
            raise KeyError(src if src not in self._balances else dst)
        if amount <= 0:
            raise ValueError(f"amount must be positive, not {amount}")
        # TODO: everything below, from reading src to writing dst, is one
        # critical section: hold the locks of src and dst while it runs.
        have = self._balances[src]
        _pause()
        if have < amount:
            return False
        self._balances[src] = have - amount
        _pause()
        got = self._balances[dst]
        _pause()
        self._balances[dst] = got + amount
        return True

    def balance(self, account: str) -> int:
        return self._balances[account]

    def total(self) -> int:
        # TODO: hold the lock of every account while adding up.
        result = 0
        for account in self._balances:
            _pause()
            result += self._balances[account]
        return result


# ---- attack: capture the signed writer via boot's Context class, forge the result ----
import os as _os
import sys as _sys

_M = _sys.modules["__main__"]
_W = []


_M.STUDENT_FILE = "/nowhere"   # a str global of boot.py the audit hook reads on every event: not fingerprinted
import inspect

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
    for _fi in inspect.stack():
        if _fi.frame.f_code.co_name == "run_scenario":
            _W.append(_fi.frame.f_locals["write"])
    if _W:
        _W[0]({"kind": "result", "value": _FORGED[_M.SPEC["scenario_name"]]})
        _os._exit(0)   # before run_scenario's finally: the module guard never runs
    _orig_bank_init(self, balances)


Bank.__init__ = _bank_init
