"""Style: per-account locks in sorted order, each taken by polling with a timed acquire until it is free.

Correct: a busy account makes the transfer ask again and again (every 0.05 s), never give up.
"""

import threading
import time
from contextlib import contextmanager


def _pause() -> None:
    """Give other threads a chance to run here (the grader replaces this)."""
    time.sleep(0)


class Bank:
    def __init__(self, balances: dict[str, int]) -> None:
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
        taken = []
        try:
            for account in sorted(set(accounts)):
                lock = self._locks[account]
                while not lock.acquire(timeout=0.05):
                    pass  # still busy: ask again (a transfer waits for a busy account, it never gives up)
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()

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
