"""Style: per-account locks made lazily, on first use, under a guard lock made in __init__.

Correct: two threads asking for the same account's lock at the same moment get the same lock,
because making it (check, create, store) is itself a critical section under the guard.
"""

import threading
import time
from contextlib import ExitStack, contextmanager


def _pause() -> None:
    """Give other threads a chance to run here (the grader replaces this)."""
    time.sleep(0)


class Bank:
    def __init__(self, balances: dict[str, int]) -> None:
        self._balances = dict(balances)
        # One lock per account: transfers between other accounts never wait for us.
        self._locks = {}  # made on first use
        self._guard = threading.Lock()

    def _lock(self, account):
        with self._guard:
            lock = self._locks.get(account)
            if lock is None:
                lock = self._locks[account] = threading.Lock()
            return lock

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
                stack.enter_context(self._lock(account))
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
