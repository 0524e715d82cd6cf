"""Scenarios for bank: they run beside the student's module, in the sandbox (stdlib only).

Races are forced, not hoped for. The grader replaces the student's `_pause()` (looked up as
a module global at every call) and watches the student's locks:

* Locks made while `Bank(...)` is constructed (threading.Lock / threading.RLock, also inside
  Condition, Semaphore...) and raw locks found afterwards in the module, the class or the
  instance are wrapped in `_Watched`, which behaves like the real lock but records who holds
  it and who waits for it. That gives an exact wait-for graph: a deadlock is seen the moment
  it exists, and "this thread is blocked on a lock" is a handshake, not a guess.
* A *meeting* `_pause()` makes two worker threads wait for each other inside `_pause()`: with
  correct locking the partner is blocked on a lock (seen at once) or finished, so the wait
  ends immediately; without it both are inside the critical section together and the lost
  update or overdraft happens every time.
* A *holding* `_pause()` keeps one thread at its k-th `_pause()` until the scenario lets go.
* The *lock meeting* (opposite transfers, total() against a transfer) makes each worker, the
  first time it asks for a second lock while holding one, wait until the other does the same (or
  is blocked, or done): locks taken in (src, dst) order, or in dict order in one method and sorted
  in the other, then deadlock every time.
* Locks made after `Bank(...)` returned (made lazily, on first use) are watched too, and two
  meeting workers also meet inside `threading.Lock()`: two threads making a lock for the same
  account at the same moment each get their own, every time, unless the student protects that.
* Waits inside `threading.Condition.wait` (also a Semaphore's) are seen: a worker there is blocked,
  for ever when the wait has no timeout. A lock acquire that fails (non-blocking, or timed out)
  and any acquire after it are counted, so "gives up" and "retries" are told apart without a clock.

Account names and amounts are chosen by the test for each run (`names`: letter -> account name,
`k`: the scale of every amount) and echoed back, so a result made up or replayed does not fit.

Any wait on something the grader cannot see (a lock made lazily, a spin loop) ends after
UNSEEN seconds, so unusual correct solutions stay correct, only slower.
"""

import random
import sys
import threading
import time

from graders.harness.scenario import Fail

_REAL_LOCK = threading.Lock
_REAL_RLOCK = threading.RLock
_LOCK_TYPE = type(_REAL_LOCK())
_RLOCK_TYPE = type(_REAL_RLOCK())

UNSEEN = 0.3  # how long a meeting waits for a partner doing something the grader cannot see
DEADLINE = 2.0  # how long a worker may take when nothing it waits for is visible


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


# --- the arena: shared bookkeeping of workers and watched locks --------------------------

class Arena:
    def __init__(self):
        self.cond = threading.Condition(_REAL_LOCK())
        self.waiting = {}  # thread -> (lock, forever: bool) while blocked in acquire
        self.cond_waiting = {}  # thread -> forever: bool while inside Condition.wait
        self.constructed = False  # Bank(...) has returned: locks made from now on are made lazily
        self.late_locks = 0  # locks the student's code made after Bank(...) returned
        self.locks = []  # every _Watched
        self.lock_meeting = False  # opposite-transfer scenario only
        self.meeting_waiter = None  # the Worker waiting in meet(), if any
        self.meeting_generation = 0

    # Threads, not idents, are the keys: an ident is reused once its thread has ended.
    @staticmethod
    def label(thread) -> str:
        if isinstance(thread, Worker):
            return thread.label
        return "the grader's main thread" if thread is threading.main_thread() else "another thread"

    # states other threads wait for
    def blocked(self, w) -> bool:
        return w in self.waiting or w in self.cond_waiting

    def stuck(self, w) -> bool:
        """w cannot go on by itself right now (or never will): a meeting partner need not wait for it."""
        return w.finished or w.held or self.blocked(w)

    def wait(self, predicate, timeout: float):
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def deadlock(self):
        """A cycle in the wait-for graph of forever-waits, as [(thread, lock), ...], or None."""
        for start in list(self.waiting):
            chain, thread, seen = [], start, set()
            while thread in self.waiting and thread not in seen:
                seen.add(thread)
                lock, forever = self.waiting[thread]
                if not forever:
                    break
                chain.append((thread, lock))
                thread = lock.owner
                if thread is start:
                    return chain
        return None

    def describe_deadlock(self, chain) -> str:
        if len(chain) == 1:
            thread, lock = chain[0]
            return (f"{self.label(thread)} waits for {lock.label}, which that same thread already holds: "
                    "a threading.Lock taken twice by one thread waits for itself forever")
        parts = [f"{self.label(thread)} holds {chain[i - 1][1].label} and waits for {lock.label}"
                 for i, (thread, lock) in enumerate(chain)]
        return "; ".join(parts)

    def describe_wait(self, w) -> str:
        entry = self.waiting.get(w)
        if entry is None:
            if w in self.cond_waiting:
                return f"{w.label} waits inside a threading.Condition (or Semaphore) wait"
            return f"{w.label} was still running"
        lock, _ = entry
        owner = lock.owner
        held_by = "nobody (it was just released)" if owner is None else self.label(owner)
        if isinstance(owner, Worker) and owner.finished:
            held_by += ", which has already returned without releasing it"
        return f"{w.label} waits for {lock.label}, held by {held_by}"

    # the two kinds of meeting
    def meet(self, w) -> bool:
        """Wait until the partner also meets (both go on), is stuck, or UNSEEN passes."""
        partner = w.partner
        if partner is None:
            return False
        with self.cond:
            if self.meeting_waiter is partner:
                self.meeting_waiter = None
                self.meeting_generation += 1
                self.cond.notify_all()
                return True
            self.meeting_waiter = w
            generation = self.meeting_generation
            deadline = time.monotonic() + UNSEEN
            while self.meeting_generation == generation and not self.stuck(partner):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            if self.meeting_generation == generation:
                self.meeting_waiter = None
                return False
            return True

    def pause(self) -> None:
        """The grader's _pause(): counts, meets or holds, as the calling worker asks."""
        w = threading.current_thread()
        if not isinstance(w, Worker):
            return
        with self.cond:
            w.pauses += 1
            if w.mode == "hold" and w.pauses == w.hold_at:
                w.held = True
                self.cond.notify_all()
                self.cond.wait_for(lambda: w.released, 30)
                w.held = False
                return
        if w.mode == "meet":
            self.meet(w)

    def before_blocking_acquire(self, lock, w) -> None:
        if not self.lock_meeting or not isinstance(w, Worker) or w.partner is None or w.lock_met:
            return
        with self.cond:
            holds_other = any(other.owner is w and other is not lock for other in self.locks)
        if holds_other:
            w.lock_met = True
            self.meet(w)


class Worker(threading.Thread):
    """Runs one call of the student's code; never raises, records the outcome."""

    def __init__(self, arena, label, fn, *args, mode=None, hold_at=None):
        super().__init__(daemon=True, name=label)
        self.arena, self.label, self.fn, self.args = arena, label, fn, args
        self.mode, self.hold_at = mode, hold_at
        self.partner = None
        self.pauses = 0
        self.held = self.released = self.finished = self.lock_met = False
        self.failed = 0  # lock acquires that gave up (non-blocking or timed) on a lock held by another thread
        self.retried = False  # asked for a lock again after one of those, or waited on a Condition twice
        self.cond_waits = 0
        self.value = self.error = None

    def run(self):
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:  # noqa: BLE001 - reported by the scenario
            self.error = exc
        finally:
            with self.arena.cond:
                self.finished = True
                self.arena.cond.notify_all()

    def release(self):
        with self.arena.cond:
            self.released = True
            self.arena.cond.notify_all()

    def outcome(self) -> str:
        if not self.finished:
            return "did not return"
        if self.error is not None:
            return f"raised {type(self.error).__name__}"
        return f"returned {self.value!r}"


def pair(a, b):
    a.partner, b.partner = b, a


# --- watched locks ------------------------------------------------------------------------

class _Watched:
    """A real lock plus bookkeeping: who holds it (owner) and who waits for it (arena.waiting)."""

    reentrant = False
    in_condition = False  # a threading.Condition (or Semaphore) was built on it

    def __init__(self, arena, real, label=None):
        self._arena, self._real, self.label = arena, real, label or "a lock made in Bank.__init__"
        self.owner, self._depth = None, 0
        with arena.cond:
            arena.locks.append(self)

    def _took(self, thread):
        with self._arena.cond:
            self.owner = thread
            self._depth += 1

    def _attempt(self, me):
        """Before an acquire: one after a failed one is a retry."""
        if isinstance(me, Worker) and me.failed and not me.retried:
            with self._arena.cond:
                me.retried = True
                self._arena.cond.notify_all()

    def _gave_up(self, me):
        if isinstance(me, Worker) and self.owner is not me:
            with self._arena.cond:
                me.failed += 1
                self._arena.cond.notify_all()

    def acquire(self, blocking=True, timeout=-1):
        arena, me = self._arena, threading.current_thread()
        self._attempt(me)
        if self.in_condition and _called_by_condition_wait():  # Condition.wait takes its lock back
            _condition_wait_ends(arena, me)
        if not blocking or timeout == 0:
            got = self._real.acquire(blocking, timeout)
            if got:
                self._took(me)
            else:
                self._gave_up(me)
            return got
        arena.before_blocking_acquire(self, me)
        if self._real.acquire(False):
            self._took(me)
            return True
        with arena.cond:
            arena.waiting[me] = (self, timeout is None or timeout < 0)
            arena.cond.notify_all()
        try:
            got = self._real.acquire(True, timeout)
        finally:
            with arena.cond:
                arena.waiting.pop(me, None)
                arena.cond.notify_all()
        if got:
            self._took(me)
        else:
            self._gave_up(me)
        return got

    def release(self):
        with self._arena.cond:
            self._check_release()
            self._depth -= 1
            if self._depth <= 0:
                self.owner, self._depth = None, 0
            self._real.release()
        wait = _called_by_condition_wait() if self.in_condition else None
        if wait is not None:  # Condition.wait lets go of its lock (a plain lock's Condition)
            _condition_wait_starts(self._arena, threading.current_thread(), wait)

    def forgive(self) -> bool:
        """Release a lock left held by a worker that has returned; False when that is impossible."""
        if self.reentrant:
            return False
        with self._arena.cond:
            if self._real.locked():
                self._real.release()
            self.owner, self._depth = None, 0
            self._arena.cond.notify_all()
        return True

    def _check_release(self):
        if not self._real.locked():
            self._real.release()  # raises the real RuntimeError

    def locked(self):
        return self._real.locked()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def __getattr__(self, name):
        if name == "_real":
            raise AttributeError(name)
        if name == "_release_save":  # threading.Condition(lock) looks for it: this lock is a Condition's
            self.in_condition = True
        return getattr(self._real, name)

    def __repr__(self):
        return f"<grader-watched {self._real!r}>"


class _WatchedR(_Watched):
    reentrant = True

    def _check_release(self):
        if not self._real._is_owned():
            self._real.release()  # raises the real RuntimeError

    def locked(self):
        return self.owner is not None

    # what threading.Condition uses when its lock is reentrant
    def _is_owned(self):
        return self._real._is_owned()

    def _release_save(self):
        with self._arena.cond:
            state = self._real._release_save()
            self.owner, self._depth = None, 0
        wait = _called_by_condition_wait()
        if wait is not None:
            _condition_wait_starts(self._arena, threading.current_thread(), wait)
        return state

    def _acquire_restore(self, state):
        arena, me = self._arena, threading.current_thread()
        _condition_wait_ends(arena, me)
        with arena.cond:
            arena.waiting[me] = (self, True)
            arena.cond.notify_all()
        try:
            self._real._acquire_restore(state)
        finally:
            with arena.cond:
                arena.waiting.pop(me, None)
        with arena.cond:
            self.owner, self._depth = me, state[0]


_CONDITION_WAIT = threading.Condition.wait.__code__


def _called_by_condition_wait():
    """The frame of threading.Condition.wait when it called us (within 3 frames), else None."""
    frame = sys._getframe(2)
    for _ in range(3):
        if frame is None:
            return None
        if frame.f_code is _CONDITION_WAIT:
            return frame
        frame = frame.f_back
    return None


def _condition_wait_starts(arena, me, wait_frame):
    if not isinstance(me, Worker):
        return
    forever = wait_frame.f_locals.get("timeout") is None
    with arena.cond:
        me.cond_waits += 1
        if me.cond_waits > 1:
            me.retried = True
        arena.cond_waiting[me] = forever
        arena.cond.notify_all()


def _condition_wait_ends(arena, me):
    if isinstance(me, Worker) and me in arena.cond_waiting:
        with arena.cond:
            arena.cond_waiting.pop(me, None)
            arena.cond.notify_all()


def _wrap(arena, value, label):
    if type(value) is _LOCK_TYPE:
        return _Watched(arena, value, label)
    if type(value) is _RLOCK_TYPE:
        return _WatchedR(arena, value, label)
    return None


def _label_and_wrap(arena, container, key, value, label):
    """Wrap a raw lock found in container[key] (dict or list), or label a watched one."""
    if isinstance(value, _Watched):
        if value.label == "a lock made in Bank.__init__":
            value.label = label
        return
    wrapped = _wrap(arena, value, label)
    if wrapped is not None:
        container[key] = wrapped


def _adopt(arena, owner, name, value, label):
    """Watch a lock that outlives one Bank (module or class level) in this arena."""
    if isinstance(value, _Watched):  # watched by an earlier arena of this process
        with arena.cond:
            value._arena = arena
            arena.locks.append(value)
        return
    wrapped = _wrap(arena, value, label)
    if wrapped is not None:
        setattr(owner, name, wrapped)


_INSTALLED = []  # (module, name, real value) replaced by make_bank, put back by restore_locks()


def restore_locks():
    """Put threading.Lock / RLock (and the student's own names for them) back: at the end of every scenario."""
    while _INSTALLED:
        owner, name, value = _INSTALLED.pop()
        setattr(owner, name, value)


def make_bank(student, arena, balances):
    """Construct the student's Bank with every lock it makes watched, then and later (until
    restore_locks()). A lock made later by a meeting worker is a meeting point."""
    restore_locks()
    names = [n for n, v in vars(student).items() if v is _REAL_LOCK or v is _REAL_RLOCK]

    def for_the_bank() -> bool:
        """Made by the student's code (directly, or inside a Condition or Semaphore it made), not by
        threading's own machinery (a Thread's or Event's internal locks must stay real)."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == threading.__file__:
            if frame.f_code.co_qualname.startswith(("Thread.", "Event.", "Barrier.", "Timer.", "_")):
                return False
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename == student.__file__

    def late(lock):
        """A lock made after Bank(...) returned: two meeting workers meet right here."""
        if arena.constructed:
            with arena.cond:
                arena.late_locks += 1
                lock.label = "a lock your code made after Bank(...) returned"
            w = threading.current_thread()
            if isinstance(w, Worker) and w.mode == "meet":
                arena.meet(w)
        return lock

    def lock_factory():
        return late(_Watched(arena, _REAL_LOCK())) if for_the_bank() else _REAL_LOCK()

    def rlock_factory(*args, **kwargs):
        if for_the_bank():
            return late(_WatchedR(arena, _REAL_RLOCK(*args, **kwargs)))
        return _REAL_RLOCK(*args, **kwargs)

    _INSTALLED.extend([(threading, "Lock", _REAL_LOCK), (threading, "RLock", _REAL_RLOCK)])
    _INSTALLED.extend((student, n, getattr(student, n)) for n in names)
    threading.Lock, threading.RLock = lock_factory, rlock_factory
    for n in names:
        setattr(student, n, lock_factory if getattr(student, n) is _REAL_LOCK else rlock_factory)
    try:
        bank = student.Bank(dict(balances))
    except BaseException:
        restore_locks()
        raise
    arena.constructed = True
    # raw locks made elsewhere: at module level, as class attributes, with _thread directly
    for n, v in list(vars(student).items()):
        _adopt(arena, student, n, v, f"the module-level lock {n}")
    for klass in type(bank).__mro__[:-1]:
        for n, v in list(vars(klass).items()):
            _adopt(arena, klass, n, v, f"the class attribute {klass.__name__}.{n}")
    attrs = getattr(bank, "__dict__", {})
    for n, v in list(attrs.items()):
        _label_and_wrap(arena, attrs, n, v, f"the lock self.{n}")
        if isinstance(v, dict):
            for k, item in list(v.items()):
                _label_and_wrap(arena, v, k, item, f"the lock of {k!r}")
        elif isinstance(v, list):
            for i, item in enumerate(v):
                _label_and_wrap(arena, v, i, item, f"the lock self.{n}[{i}]")
    student._pause = arena.pause
    return bank


# --- helpers ------------------------------------------------------------------------------

def settle(arena, workers, timeout=DEADLINE):
    """Wait until every worker returned, or a deadlock exists, or timeout. A lock left held by a
    worker that has returned is released on its behalf (that leak is the business of the test
    about it, which calls each method alone), unless it is an RLock. Returns None when all
    returned, else a sentence saying what is stuck."""
    def over():
        return (all(w.finished for w in workers) or arena.deadlock() is not None
                or any(w in arena.waiting and _orphaned(arena, w) for w in workers))

    deadline = time.monotonic() + timeout
    while True:
        arena.wait(over, max(0.0, deadline - time.monotonic()))
        with arena.cond:
            orphans = [arena.waiting[w][0] for w in workers if w in arena.waiting and _orphaned(arena, w)]
        if not orphans or all(w.finished for w in workers) or not all(lock.forgive() for lock in orphans):
            break
    with arena.cond:
        if all(w.finished for w in workers):
            return None
        chain = arena.deadlock()
        if chain is not None:
            return "deadlock: " + arena.describe_deadlock(chain)
        return "; ".join(arena.describe_wait(w) for w in workers if not w.finished)


def _orphaned(arena, w):
    lock, _ = arena.waiting[w]
    return isinstance(lock.owner, Worker) and lock.owner.finished and not lock.reentrant


def reraise(*workers, expected=()):
    """Unexpected exceptions from the student's code are reported as themselves."""
    for w in workers:
        if w.error is not None and not isinstance(w.error, expected):
            raise w.error


def leaked_locks(arena, w):
    with arena.cond:
        return [lock for lock in arena.locks if lock.owner is w]


def leak_sentence(w, leaked) -> str:
    them = "it" if len(leaked) == 1 else "one of them"
    return (f"{w.label} {w.outcome()} with {' and '.join(lock.label for lock in leaked)} still held, so "
            f"the next call that needs {them} waits for ever")


def call_alone(arena, label, fn, *args, expected=(), after=None, leaks=None, **kw):
    """Run one call in a worker thread, alone; Fail if it never returns. A lock it keeps is
    released on its behalf (and its sentence appended to `leaks` when given): only the test
    about leaks reports them; an RLock cannot be released for it, so that leak fails here."""
    w = Worker(arena, label, fn, *args, **kw)
    w.start()
    stuck = settle(arena, [w])
    if stuck is not None:
        context = f" (right after {after.label} {after.outcome()})" if after is not None else ""
        raise Fail(f"{label}, called alone in one thread{context}, never returned: {stuck}")
    reraise(w, expected=expected)
    leaked = leaked_locks(arena, w)
    if leaked:
        if leaks is not None:
            leaks.append(leak_sentence(w, leaked))
        if not all(lock.forgive() for lock in leaked):
            raise Fail(f"{leak_sentence(w, leaked)}: every way out of a critical section (return False, an "
                       "exception) must release what it took; `with lock:` does that for you")
    return w


def balances_of(arena, bank, accounts):
    w = call_alone(arena, "balance()", lambda: {a: bank.balance(a) for a in accounts})
    return w.value


def returned_or_blocked(arena, w):
    """The predicate 'w has returned, or waits for a lock': the handshake that replaces a sleep."""
    return lambda: w.finished or arena.blocked(w)


def start_(*workers):
    for w in workers:
        w.start()
    return workers


def transfer_worker(arena, bank, src, dst, amount, **kw):
    return Worker(arena, f"transfer({src!r}, {dst!r}, {amount})", bank.transfer, src, dst, amount, **kw)


# --- scenarios ----------------------------------------------------------------------------
# Three runs fold several checks each, the stress test is a fourth (one fresh interpreter costs
# ~0.1 s): a part that fails reports its sentence as {"fail": ...} and the other parts still run, each on a new Bank.
# Every part gets `names` (letter -> account name, chosen by the test) and `k` (every amount is
# a multiple of k); the accounts are given to Bank() in letter order, which is not sorted order.

def _parts(student, ctx, names, k, *parts):
    out = {"plan": {"names": dict(names), "k": k}}
    try:
        for name in parts:
            try:
                out[name] = globals()[name](student, ctx, names, k)
            except Fail as exc:
                out[name] = {"fail": str(exc)}
    finally:
        restore_locks()
    return out


def alone(student, ctx, names, k):
    """One thread at a time: _pause() calls kept, refusals, the whole balance, transfer(a, a, x), leaks."""
    return _parts(student, ctx, names, k, "pauses", "refusals", "exact", "self_transfer", "leaks")


def races(student, ctx, names, k):
    """Two threads forced to collide: lost update, overdraft, a self-transfer beside a transfer out,
    total() against a transfer, opposite transfers (the last two may deadlock)."""
    return _parts(student, ctx, names, k, "lost_update", "overdraft", "self_vs_out", "total_vs_transfer",
                  "opposite")


def holds(student, ctx, names, k):
    """One thread held inside _pause(): total() snapshot, per-account locking, waiting for a busy account."""
    return _parts(student, ctx, names, k, "total_snapshot", "fine_grained", "busy")


def _bank(student, arena, names, **start):
    """A Bank of the accounts named by the letters in `start`, given in letter order."""
    return make_bank(student, arena, {names[letter]: amount for letter, amount in sorted(start.items())})


def pauses(student, ctx, names, k):
    """How many times each call reaches _pause(), one thread at a time."""
    A, B, C = names["A"], names["B"], names["C"]
    arena = Arena()
    bank = _bank(student, arena, names, A=100 * k, B=50 * k, C=0)
    counts, previous = {}, None
    for role, label, fn, args in (("move", f"transfer({A!r}, {B!r}, {30 * k})", bank.transfer, (A, B, 30 * k)),
                                  ("refuse", f"transfer({C!r}, {A!r}, {10 * k})", bank.transfer, (C, A, 10 * k)),
                                  ("total", "total()", bank.total, ())):
        previous = call_alone(arena, label, fn, *args, mode="count", after=previous)
        counts[role] = {"call": label, "pauses": previous.pauses, "value": previous.value}
    return counts


def _one_by_one(student, names, start, calls, leaks=None):
    """Each call alone on one Bank, then the balances: [{call, outcome, value, balances}]."""
    arena = Arena()
    bank = _bank(student, arena, names, **start)
    accounts = [names[letter] for letter in sorted(start)]
    records, previous = [], None
    for label, method, args in calls:
        previous = call_alone(arena, label, getattr(bank, method), *args, expected=(KeyError, ValueError),
                              after=previous, leaks=leaks)
        records.append({"call": label, "outcome": previous.outcome(), "value": previous.value,
                        "balances": balances_of(arena, bank, accounts)})
    return records


def _transfer(src, dst, amount):
    return (f"transfer({src!r}, {dst!r}, {amount})", "transfer", (src, dst, amount))


def refusals(student, ctx, names, k):
    """Refused calls: what each returns or raises, and whether anything changed."""
    A, B, Z = names["A"], names["B"], names["Z"]
    return _one_by_one(student, names, {"A": 100 * k, "B": 50 * k}, [
        _transfer(A, B, 100 * k + 1), _transfer(A, Z, 10 * k), _transfer(Z, A, 10 * k), _transfer(A, B, 0),
        _transfer(A, B, -5 * k), (f"balance({Z!r})", "balance", (Z,)), _transfer(A, B, 10 * k)])


def exact(student, ctx, names, k):
    """A transfer of exactly the whole balance."""
    A, B = names["A"], names["B"]
    return _one_by_one(student, names, {"A": 100 * k, "B": 50 * k}, [_transfer(A, B, 100 * k)])


def self_transfer(student, ctx, names, k):
    """transfer(a, a, x): less than, exactly, more than the balance; returns, and changes nothing."""
    A = names["A"]
    return _one_by_one(student, names, {"A": 100 * k, "B": 50 * k},
                       [_transfer(A, A, 30 * k), _transfer(A, A, 100 * k), _transfer(A, A, 500 * k)])


def leaks(student, ctx, names, k):
    """Every way out of every method, one call at a time: which locks each one left held."""
    A, B, Z = names["A"], names["B"], names["Z"]
    found = []
    _one_by_one(student, names, {"A": 100 * k, "B": 50 * k}, [
        _transfer(A, B, 500 * k), _transfer(A, Z, 10 * k), _transfer(Z, B, 10 * k), _transfer(A, B, 0),
        _transfer(A, B, -5 * k), _transfer(A, A, 500 * k), _transfer(A, A, 10 * k), _transfer(A, B, 10 * k),
        (f"balance({A!r})", "balance", (A,)), (f"balance({Z!r})", "balance", (Z,)),
        ("total()", "total", ())], leaks=found)
    return {"leaks": found}


def _race(student, names, start, calls):
    """Two transfers that meet at every _pause() (and inside any lock made lazily)."""
    arena = Arena()
    bank = _bank(student, arena, names, **start)
    w1, w2 = (transfer_worker(arena, bank, *(names[c] if isinstance(c, str) else c for c in call), mode="meet")
              for call in calls)
    pair(w1, w2)
    start_(w1, w2)
    stuck = settle(arena, [w1, w2])
    if stuck is not None:
        raise Fail(f"{w1.label} and {w2.label}, run at the same time, did not both return: {stuck}")
    reraise(w1, w2)
    return {"calls": [w1.label, w2.label], "values": [w1.value, w2.value], "late_locks": arena.late_locks,
            "balances": balances_of(arena, bank, [names[letter] for letter in sorted(start)])}


def lost_update(student, ctx, names, k):
    return _race(student, names, {"A": 100 * k, "B": 100 * k, "C": 100 * k}, [("A", "C", 10 * k), ("B", "C", 10 * k)])


def overdraft(student, ctx, names, k):
    """The same two accounts in the same direction: whatever order the locks are taken in, and even
    when they are made lazily, both transfers ask for the same lock first."""
    return _race(student, names, {"A": 100 * k, "B": 0}, [("A", "B", 60 * k), ("A", "B", 70 * k)])


def self_vs_out(student, ctx, names, k):
    return _race(student, names, {"A": 100 * k, "B": 0}, [("A", "A", 30 * k), ("A", "B", 60 * k)])


def _lock_meeting(student, names, start, make_workers):
    arena = Arena()
    bank = _bank(student, arena, names, **start)
    arena.lock_meeting = True
    w1, w2 = make_workers(arena, bank)
    pair(w1, w2)
    start_(w1, w2)
    stuck = settle(arena, [w1, w2])
    if stuck is not None:
        return {"stuck": stuck, "calls": [w1.label, w2.label]}
    reraise(w1, w2)
    return {"stuck": None, "calls": [w1.label, w2.label], "values": [w1.value, w2.value],
            "balances": balances_of(arena, bank, [names[letter] for letter in sorted(start)])}


def opposite(student, ctx, names, k):
    """transfer(A, B) and transfer(B, A) each ask for their second lock at the same moment."""
    A, B = names["A"], names["B"]
    return _lock_meeting(student, names, {"A": 100 * k, "B": 100 * k}, lambda arena, bank: (
        transfer_worker(arena, bank, A, B, 10 * k), transfer_worker(arena, bank, B, A, 20 * k)))


def total_vs_transfer(student, ctx, names, k):
    """total() and transfer(B, A) each ask for their second lock at the same moment; the Bank was
    given A before B, and A sorts after B: dict order and sorted order disagree."""
    A, B = names["A"], names["B"]
    result = _lock_meeting(student, names, {"A": 100 * k, "B": 100 * k}, lambda arena, bank: (
        Worker(arena, "total()", bank.total), transfer_worker(arena, bank, B, A, 10 * k)))
    result["order"] = [A, B]
    return result


def _hold(arena, w, what):
    """Start w and wait until it is held at its k-th _pause()."""
    w.start()
    arena.wait(lambda: w.held or w.finished or arena.deadlock() is not None, DEADLINE)
    if w.held:
        return
    if w.finished:
        reraise(w)
        raise Fail(f"{w.label} returned after only {w.pauses} _pause() call(s), so the grader could not hold "
                   f"it at its {_ordinal(w.hold_at)} one to check {what}: keep every _pause() call of the "
                   "original code")
    raise Fail(f"{w.label} did not reach its {_ordinal(w.hold_at)} _pause() call: {settle(arena, [w], 0)}")


def total_snapshot(student, ctx, names, k):
    """total() while a transfer is held at each _pause(), and a transfer while total() is held."""
    A, B, C = names["A"], names["B"], names["C"]
    arena = Arena()
    bank = _bank(student, arena, names, A=100 * k, B=100 * k, C=100 * k)
    records = []
    for at in (1, 2, 3):
        mover = transfer_worker(arena, bank, A, B, 10 * k, mode="hold", hold_at=at)
        _hold(arena, mover, "total()")
        adder = Worker(arena, "total()", bank.total)
        adder.start()
        arena.wait(returned_or_blocked(arena, adder), UNSEEN)
        during = adder.finished
        mover.release()
        stuck = settle(arena, [mover, adder])
        if stuck is not None:
            raise Fail(f"total() was called while {mover.label} was held at its {_ordinal(at)} _pause(); "
                       f"after the grader let the transfer go on, not everything returned: {stuck}")
        reraise(mover, adder)
        records.append({"held": mover.label, "k": at, "value": adder.value, "during": during,
                        "who": "transfer"})
    for at in (1, 2, 3):
        adder = Worker(arena, "total()", bank.total, mode="hold", hold_at=at)
        _hold(arena, adder, "that no transfer runs in the middle of total()")
        mover = transfer_worker(arena, bank, A, C, 10 * k)
        mover.start()
        arena.wait(returned_or_blocked(arena, mover), UNSEEN)
        during = mover.finished
        adder.release()
        stuck = settle(arena, [mover, adder])
        if stuck is not None:
            raise Fail(f"{mover.label} was called while total() was held at its {_ordinal(at)} _pause(); "
                       f"after the grader let total() go on, not everything returned: {stuck}")
        reraise(mover, adder)
        records.append({"held": "total()", "k": at, "value": adder.value, "during": during,
                        "moved": mover.label, "who": "total"})
    return records


def fine_grained(student, ctx, names, k):
    """transfer(C, D) while transfer(A, B) is held at its first _pause()."""
    A, B, C, D = names["A"], names["B"], names["C"], names["D"]
    arena = Arena()
    bank = _bank(student, arena, names, A=100 * k, B=100 * k, C=100 * k, D=100 * k)
    held = transfer_worker(arena, bank, A, B, 10 * k, mode="hold", hold_at=1)
    _hold(arena, held, "that other transfers still run")
    other = transfer_worker(arena, bank, C, D, 10 * k)
    other.start()
    arena.wait(returned_or_blocked(arena, other), 1.0)
    with arena.cond:
        result = {"held": held.label, "other": other.label, "completed": other.finished,
                  "waited_for": None if other.finished else arena.describe_wait(other)}
    held.release()
    stuck = settle(arena, [held, other])
    if stuck is not None and result["completed"]:
        raise Fail(f"after the grader let {held.label} go on, it did not return: {stuck}")
    reraise(held, other)
    return result


def busy(student, ctx, names, k):
    """transfer(A, C) while transfer(A, B) is held inside its critical section, with money enough for
    both. The grader keeps holding until the waiting transfer returned, waits for ever (a blocking
    acquire, an untimed Condition wait), or asks for a lock again after one of its attempts gave
    up: a transfer that gives up on a busy account is seen returning, however long it waited."""
    A, B, C = names["A"], names["B"], names["C"]
    arena = Arena()
    bank = _bank(student, arena, names, A=100 * k, B=0, C=0)
    held = transfer_worker(arena, bank, A, B, 10 * k, mode="hold", hold_at=1)
    _hold(arena, held, "that a transfer waiting for a busy account still completes")
    waiter = transfer_worker(arena, bank, A, C, 20 * k)
    waiter.start()

    def decided():
        entry = arena.waiting.get(waiter)
        return (waiter.finished or waiter.retried or (entry is not None and entry[1])
                or arena.cond_waiting.get(waiter) is True)

    def timed_wait():  # a visible wait that ends by itself: its own timeout bounds it, not the grader
        entry = arena.waiting.get(waiter)
        return (entry is not None and not entry[1]) or arena.cond_waiting.get(waiter) is False

    deadline = time.monotonic() + DEADLINE  # only for waits the grader cannot see
    with arena.cond:
        while not decided():
            left = deadline - time.monotonic()
            if not timed_wait() and left <= 0:
                break
            arena.cond.wait(None if timed_wait() else left)
        gave_up = waiter.finished
        attempts = waiter.failed
    held.release()
    stuck = settle(arena, [held, waiter])
    if stuck is not None:
        raise Fail(f"{waiter.label} was called while {held.label} was held inside its critical section; after "
                   f"the grader let {held.label} go on, not everything returned: {stuck}")
    reraise(held, waiter)
    return {"held": held.label, "call": waiter.label, "value": waiter.value, "returned_while_held": gave_up,
            "failed_attempts": attempts, "balances": balances_of(arena, bank, [A, B, C])}


def stress(student, ctx, names, k, threads=8, transfers=300, seed=None):
    """Many threads, many random transfers, total() read all along: a realistic check."""
    try:
        return _stress(student, names, k, threads, transfers, seed)
    finally:
        restore_locks()


def _stress(student, names, k, threads, transfers, seed):
    accounts = {names[letter]: 1000 * k for letter in "ABCDEF"}
    conserved = sum(accounts.values())
    arena = Arena()
    bank = make_bank(student, arena, accounts)

    def nothing():
        pass

    student._pause = nothing  # a plain function call: the window where a switch can happen
    accounts_list = list(accounts)
    gate = threading.Barrier(threads + 1)
    moves = []
    totals = []
    seed = random.randrange(1 << 30) if seed is None else seed

    def mover(rng):
        me = threading.current_thread()
        gate.wait(DEADLINE)
        done = []
        for _ in range(transfers):
            src, dst = rng.sample(accounts_list, 2)
            amount = rng.randint(1, 400 * k)
            me.label = f"transfer({src!r}, {dst!r}, {amount}) (one of {threads} threads doing random transfers)"
            if bank.transfer(src, dst, amount):
                done.append((src, dst, amount))
            forgive_leaks(me)
        return done

    def auditor():
        me = threading.current_thread()
        gate.wait(DEADLINE)
        while any(not w.finished for w in running) and len(totals) < 200:
            totals.append(bank.total())
            forgive_leaks(me)

    def forgive_leaks(me):
        """A lock left held by a call that returned: the leak test's business, not this one's."""
        for lock in leaked_locks(arena, me):
            lock.forgive()

    running = [Worker(arena, f"mover {i}", mover, random.Random(seed * 100 + i)) for i in range(threads)]
    audit = Worker(arena, "total()", auditor)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        started = time.monotonic()
        start_(*running, audit)
        stuck = settle(arena, [*running, audit], 1.5 * DEADLINE)
        elapsed = time.monotonic() - started
    finally:
        sys.setswitchinterval(old)
    plan = {"names": dict(names), "k": k}
    if stuck is not None:
        return {"plan": plan, "stuck": stuck}
    reraise(*running, audit)
    expected = dict(accounts)
    for w in running:
        for src, dst, amount in w.value:
            expected[src] -= amount
            expected[dst] += amount
            moves.append(amount)
    final = balances_of(arena, bank, accounts_list)
    final_total = call_alone(arena, "total()", bank.total).value
    return {"plan": plan, "stuck": None, "conserved": conserved, "expected": expected, "final": final,
            "final_total": final_total, "bad_totals": [t for t in totals if t != conserved][:5],
            "n_totals": len(totals), "n_done": len(moves), "n_calls": threads * transfers,
            "elapsed": round(elapsed, 3)}
