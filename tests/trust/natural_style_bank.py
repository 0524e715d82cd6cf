# base: solutions/05_sync/bank.py
"""Not hostile (bank): a correct solution written in a natural, chatty style: logging, warnings,
traceback.print_exc and print_stack for debugging, a namedtuple, a dataclass, an enum, a helper thread
started and joined, a subprocess, data saved and loaded with marshal. The reference solution is put in front of
this file by the test. It must pass with no flag: a false flag costs a student every point.
"""
import collections
import dataclasses
import enum
import logging
import marshal
import subprocess
import sys
import threading as _threading
import traceback
import warnings

logging.basicConfig(level=logging.DEBUG)
log = logging.getLogger(__name__)
Move = collections.namedtuple("Move", "src dst amount")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "bank"


class Kind(enum.Enum):
    SAVINGS = 1


def _chatty_debugging():
    log.debug("building a bank: %s %s %s", Move("a", "b", 1), Config(), Kind.SAVINGS)
    warnings.warn("debug build")
    try:
        {}["missing"]
    except KeyError:
        traceback.print_exc()
        log.exception("caught on purpose")
    traceback.print_stack(file=sys.stderr)
    helper = _threading.Thread(target=lambda: None)
    helper.start()
    helper.join()
    subprocess.run(["true"], check=True)
    snapshot = {"accounts": ["a", "b"], "limits": (1.5, 10 ** 30, -3), "note": b"\xff\x00c", "ok": True}
    assert marshal.loads(marshal.dumps(snapshot)) == snapshot


_QuietBank = Bank  # noqa: F821 - defined by the base


class Bank(_QuietBank):
    def __init__(self, balances):
        _chatty_debugging()
        super().__init__(balances)
