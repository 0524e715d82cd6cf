"""Not hostile (bank): a correct solution written in a natural, chatty style: logging, warnings,
traceback.print_exc and print_stack for debugging, a namedtuple, a dataclass, an enum, a helper thread
started and joined, a subprocess. It must pass with no flag: a false flag costs a student every point.
"""
import collections
import dataclasses
import enum
import logging
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


import threading
import time
from contextlib import ExitStack, contextmanager


def _pause() -> None:
    """Give other threads a chance to run here (the grader replaces this)."""
    time.sleep(0)


class Bank:
    def __init__(self, balances: dict[str, int]) -> None:
        _chatty_debugging()
        self._balances = dict(balances)
        # One lock per account: transfers between other accounts never wait for us.
        self._locks = {account: threading.Lock() for account in self._balances}

    @contextmanager
    def _holding(self, accounts):
        """Hold the locks of `accounts`, each once, always taken in sorted order.

        One global order means no two threads can each hold a lock the other is
        waiting for, so opposite transfers cannot deadlock. The set makes
        transfer(a, a, x) take a's lock once: a Lock taken twice by the same
        thread waits for itself forever.
        """
        with ExitStack() as stack:
            for account in sorted(set(accounts)):
                stack.enter_context(self._locks[account])
            yield

    def transfer(self, src: str, dst: str, amount: int) -> bool:
        if src not in self._balances or dst not in self._balances:
            raise KeyError(src if src not in self._balances else dst)
        if amount <= 0:
            raise ValueError(f"amount must be positive, not {amount}")
        # The check and both updates form one critical section: another thread
        # must not see (or change) src or dst until all of it is done.
        with self._holding((src, dst)):
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
        # Reading one int from a dict is a single step under the GIL: no lock needed.
        return self._balances[account]

    def total(self) -> int:
        # Every lock at once: no transfer is half-done while we add up.
        with self._holding(self._balances):
            result = 0
            for account in self._balances:
                _pause()
                result += self._balances[account]
            return result
