"""Style: per-account Lock; take the first lock blocking, the others with a non-blocking try; on failure release everything and back off for a random moment (no global order needed).
Fix the race in a bank.

The Bank below works perfectly as long as one thread uses it. With several
threads it loses money, creates money, lets balances go negative, and its
total() can count money that is halfway through a transfer. Your job is to
add locking. Read exercises/05_sync/README.md first.

_pause()
--------
_pause() stands for "the scheduler may switch to another thread right here".
The code calls it between every read of a balance and the write that depends
on it. Keep every _pause() call exactly where it is, and call it by its name
(`_pause()`, looked up in this module each time): the grader replaces this
function with its own, to hold a thread inside your critical section or to
make two threads meet there.

Contract
--------
Bank(balances: dict[str, int])
    Accounts and their starting balances (all >= 0).

transfer(src: str, dst: str, amount: int) -> bool
    Move `amount` from account `src` to account `dst`.
    * Returns True and moves the money when src holds at least `amount`.
    * Returns False and changes nothing when src holds less than `amount`.
    * Raises KeyError when src or dst is not an account, and ValueError when
      amount <= 0; in both cases nothing changes.
    * Returns or raises, it leaves no lock held.
    * transfer(a, a, x) is allowed: it returns True when a holds at least x
      (False otherwise) and changes nothing. It must not wait for itself.

balance(account: str) -> int
    The balance of one account; KeyError for an unknown account.

total() -> int
    The sum of all balances, as one consistent snapshot: never counting money
    that has left one account and not yet reached the other.

With any number of threads calling these methods at the same time:
    * no update is lost and no money is created: the total never changes;
    * no balance ever goes below 0;
    * transfer(a, b, x) and transfer(b, a, y) running together never
      deadlock (and neither does anything else);
    * total() either waits for transfers in progress or returns the sum
      from before or after them, never one from the middle;
    * locking is per account: while a transfer between A and B is inside its
      critical section (held there by the grader's _pause), a transfer
      between C and D still completes.
"""

import random
import threading
import time


def _pause() -> None:
    """Give other threads a chance to run here (the grader replaces this)."""
    time.sleep(0)


class Bank:
    def __init__(self, balances: dict[str, int]) -> None:
        self._balances = dict(balances)
        self._locks = {name: threading.Lock() for name in self._balances}

    def _take(self, names) -> list:
        locks = [self._locks[n] for n in dict.fromkeys(names)]   # each lock once
        while True:
            locks[0].acquire()
            taken = [locks[0]]
            for lock in locks[1:]:
                if not lock.acquire(blocking=False):
                    break
                taken.append(lock)
            if len(taken) == len(locks):
                return taken
            for lock in reversed(taken):
                lock.release()
            time.sleep(random.uniform(0.0001, 0.002))
            random.shuffle(locks)  # the next attempt may start elsewhere

    @staticmethod
    def _give(taken) -> None:
        for lock in reversed(taken):
            lock.release()

    def transfer(self, src: str, dst: str, amount: int) -> bool:
        if src not in self._balances or dst not in self._balances:
            raise KeyError(src if src not in self._balances else dst)
        if amount <= 0:
            raise ValueError(f"amount must be positive, not {amount}")
        taken = self._take((src, dst))
        try:
            have = self._balances[src]
            _pause()
            if have < amount:
                return False
            if src == dst:
                return True
            self._balances[src] = have - amount
            _pause()
            got = self._balances[dst]
            _pause()
            self._balances[dst] = got + amount
            return True
        finally:
            self._give(taken)

    def balance(self, account: str) -> int:
        taken = self._take((account,))
        try:
            return self._balances[account]
        finally:
            self._give(taken)

    def total(self) -> int:
        taken = self._take(list(self._balances))
        try:
            result = 0
            for account in self._balances:
                _pause()
                result += self._balances[account]
            return result
        finally:
            self._give(taken)
