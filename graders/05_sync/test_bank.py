"""Grader for bank: a Bank whose transfer(), balance() and total() are safe under threads.

Every race is forced, never hoped for (see scenario_bank.py): the grader replaces the
student's _pause() to make two threads meet inside the critical section, or to hold one
thread there, and it watches the student's locks, so a deadlock is reported the moment it
exists, naming who holds what. Only the last test is a plain stress test.

Each test is named after the sentence of the contract (the stub's docstring) it checks. The
account names and the amounts are drawn afresh for every graded file (names in an order that
is not sorted, amounts multiples of a random k) and checked against what comes back.
"""

import random

LOCK_ORDER = ("take the locks in one global order, e.g. sorted by account name, "
              "whatever the direction of the transfer")
NAME_POOL = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
             "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yvonne")


def _new_plan() -> dict:
    """Letters A-F name the accounts (given to Bank() in that order, A sorting after B), Z an unknown one."""
    rng = random.SystemRandom()
    while True:
        names = dict(zip("ABCDEFZ", rng.sample(NAME_POOL, 7)))
        if names["A"] > names["B"]:
            return {"names": names, "k": rng.randint(1, 9)}


_PLANS: dict = {}
_RUNS: dict = {}


def _plan(exercise) -> dict:
    key = getattr(exercise, "student_file", None)
    if key not in _PLANS:
        _PLANS[key] = _new_plan()
    return _PLANS[key]


def _check_plan(r, plan):
    assert r.get("plan") == plan, (
        f"the grader asked for accounts {plan['names']} and amounts scaled by {plan['k']}, but the scenario "
        f"reported {r.get('plan')}: the result did not come from this run")


def _part(exercise, scenario: str, part: str, awaiting: str):
    """One part of a folded scenario, run once per graded file and reused by its other tests."""
    plan = _plan(exercise)
    key = (getattr(exercise, "student_file", None), scenario)
    if key not in _RUNS:
        try:
            _RUNS[key] = exercise.run(scenario, awaiting=awaiting, **plan)
        except Exception as exc:  # the same verdict for every test that needs this run
            _RUNS[key] = exc
    result = _RUNS[key]
    if isinstance(result, Exception):
        raise result
    _check_plan(result, plan)
    value = result[part]
    if isinstance(value, dict) and "fail" in value:
        raise AssertionError(value["fail"])
    return value, plan["names"], plan["k"]


def _alone(exercise, part):
    return _part(exercise, "alone", part, "transfer(), balance() and total(), called in one thread, to return")


def _races(exercise, part):
    return _part(exercise, "races", part, "two calls run at the same time to return")


def _holds(exercise, part):
    return _part(exercise, "holds", part,
                 "transfer() and total() to return while another call is held inside its critical section")


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _balances(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.items())


def _t(src, dst, amount) -> str:
    return f"transfer({src!r}, {dst!r}, {amount})"


def _labels(records, calls, what):
    got = [rec["call"] for rec in records]
    assert got == calls, f"the grader asked for {calls} {what}, the scenario reported {got}: not this run's result"


# --- one call at a time -------------------------------------------------------------------

def test_every_pause_call_is_kept(exercise):
    r, n, k = _alone(exercise, "pauses")
    A, B, C = n["A"], n["B"], n["C"]
    start = f"{A}={100 * k}, {B}={50 * k}, {C}=0"
    expect = {"move": (_t(A, B, 30 * k), 3,
                       "after reading the source, after writing it, after reading the destination"),
              "refuse": (_t(C, A, 10 * k), 1, "after reading the source's balance, before refusing"),
              "total": ("total()", 3, "before reading each of the 3 balances")}
    for role, (call, need, where) in expect.items():
        assert r[role]["call"] == call, f"the grader asked for {call}, the scenario reported {r[role]['call']}"
        got = r[role]["pauses"]
        assert got >= need, (
            f"{call} called _pause() {got} time(s), the original code calls it {need} time(s) ({where}): "
            "keep every _pause() call where it was; the grader uses them to hold your threads inside "
            "the critical section")
    moved, refused, total = (r[role]["value"] for role in expect)
    assert moved is True, f"{_t(A, B, 30 * k)} on {start} returned {moved!r}, expected True"
    assert refused is False, f"{_t(C, A, 10 * k)} with 0 in {C!r} returned {refused!r}, expected False"
    assert total == 150 * k, (
        f"total() returned {total!r} for balances {A}={70 * k}, {B}={80 * k}, {C}=0, expected {150 * k}")


def test_refused_calls_raise_or_return_false_and_change_nothing(exercise):
    records, n, k = _alone(exercise, "refusals")
    A, B, Z = n["A"], n["B"], n["Z"]
    start = {A: 100 * k, B: 50 * k}
    expected = [
        (_t(A, B, 100 * k + 1), "returned False", f"{A!r} holds only {100 * k}"),
        (_t(A, Z, 10 * k), "raised KeyError", f"{Z!r} is not an account"),
        (_t(Z, A, 10 * k), "raised KeyError", f"{Z!r} is not an account"),
        (_t(A, B, 0), "raised ValueError", "an amount must be positive"),
        (_t(A, B, -5 * k), "raised ValueError", "an amount must be positive"),
        (f"balance({Z!r})", "raised KeyError", f"{Z!r} is not an account"),
    ]
    _labels(records, [call for call, _, _ in expected] + [_t(A, B, 10 * k)], "one after the other")
    for rec, (call, want, why) in zip(records, expected):
        assert rec["outcome"] == want, (
            f"{call} {rec['outcome']} on a bank with {_balances(start)}; expected it to have {want} ({why})")
        assert rec["balances"] == start, (
            f"after {call} {rec['outcome']}, the balances are {_balances(rec['balances'])}, "
            f"expected them unchanged ({_balances(start)}): check everything before changing anything")
    last = records[-1]
    after = {A: 90 * k, B: 60 * k}
    assert last["value"] is True and last["balances"] == after, (
        f"after those refused calls, {last['call']} {last['outcome']} and balance() gives "
        f"{_balances(last['balances'])}; expected True and {_balances(after)}")


def test_returns_true_and_moves_the_money_when_src_holds_at_least_amount(exercise):
    records, n, k = _alone(exercise, "exact")
    A, B = n["A"], n["B"]
    call = _t(A, B, 100 * k)
    _labels(records, [call], "alone")
    rec, after = records[0], {A: 0, B: 150 * k}
    assert rec["value"] is True and rec["balances"] == after, (
        f"{call} on a bank with {A}={100 * k}, {B}={50 * k} {rec['outcome']} and left "
        f"{_balances(rec['balances'])}; expected True and {_balances(after)}: {A!r} holds exactly the "
        "amount, which is enough (refuse only when src holds *less* than amount)")


def test_transfer_to_the_same_account_changes_nothing(exercise):
    records, n, k = _alone(exercise, "self_transfer")
    A, B = n["A"], n["B"]
    start = {A: 100 * k, B: 50 * k}
    cases = [(_t(A, A, 30 * k), True), (_t(A, A, 100 * k), True), (_t(A, A, 500 * k), False)]
    _labels(records, [call for call, _ in cases], "one after the other")
    for rec, (call, want) in zip(records, cases):
        assert rec["value"] is want and rec["balances"] == start, (
            f"{call} with {100 * k} in {A!r} {rec['outcome']} and left {_balances(rec['balances'])}; "
            f"expected {want} (True when the account holds at least the amount) and nothing changed "
            f"({_balances(start)})")


def test_returns_or_raises_it_leaves_no_lock_held(exercise):
    r, n, k = _alone(exercise, "leaks")
    leaks = r["leaks"]
    assert not leaks, (
        f"{leaks[0]}" + (f" (and {len(leaks) - 1} more call(s) like it)" if len(leaks) > 1 else "") +
        ": every way out of a method (return True or False, an exception) must release every lock it "
        "took; `with lock:` (or try/finally) does that for you")


# --- two threads forced to collide --------------------------------------------------------

LAZY = (" Your locks are made after Bank() returned, on first use: two threads making the lock of the same account "
        "at the same moment each got their own, so neither kept the other out; make every lock in __init__ (or "
        "protect their creation with a lock made there).")


def test_concurrent_credits_lose_no_update(exercise):
    r, n, k = _races(exercise, "lost_update")
    A, B, C = n["A"], n["B"], n["C"]
    calls = [_t(A, C, 10 * k), _t(B, C, 10 * k)]
    assert r["calls"] == calls, f"the grader asked for {calls}, the scenario reported {r['calls']}"
    both = f"{calls[0]} and {calls[1]}, run at the same time on {A}={100 * k}, {B}={100 * k}, {C}={100 * k},"
    assert r["values"] == [True, True], f"{both} returned {r['values']}; expected [True, True]"
    b = r["balances"]
    after = {A: 90 * k, B: 90 * k, C: 120 * k}
    lazy = LAZY if r["late_locks"] else ""
    if b[C] < 120 * k and b[A] == 90 * k and b[B] == 90 * k:
        raise AssertionError(
            f"{both} left {C}={b[C]}, not {120 * k}: both threads read the old balance of {C!r} before either "
            "wrote it back, so one credit was lost (a lost update). Reading a balance and writing it back must be "
            "one critical section: hold the lock of dst as well as src for the whole transfer." + lazy)
    assert b == after, (
        f"{both} left {_balances(b)}; expected {_balances(after)}: each balance must be read and "
        "written back under its account's lock." + lazy)


def test_two_withdrawals_never_overdraw(exercise):
    r, n, k = _races(exercise, "overdraft")
    A, B = n["A"], n["B"]
    calls = [_t(A, B, 60 * k), _t(A, B, 70 * k)]
    assert r["calls"] == calls, f"the grader asked for {calls}, the scenario reported {r['calls']}"
    both = f"{calls[0]} and {calls[1]}, run at the same time with {100 * k} in {A!r},"
    b, values = r["balances"], r["values"]
    lazy = LAZY if r["late_locks"] else ""
    negative = {name: v for name, v in b.items() if v < 0}
    assert not negative, (
        f"{both} left {_balances(b)}: {A!r} went below 0. Both threads checked its balance, both saw {100 * k}, "
        "and both withdrew (an overdraft). The check and the update must be one critical section: "
        f"hold the lock of {A!r} from reading the balance to writing it back." + lazy)
    assert sum(b.values()) == 100 * k, (
        f"{both} returned {values} and left {_balances(b)}: {sum(b.values())} in total, not {100 * k}. Both "
        f"read {A}={100 * k} before either wrote it back, so both withdrawals \"succeeded\" and money was "
        f"created. Hold the lock of {A!r} from reading the balance to writing it back." + lazy)
    one = {(True, False): {A: 40 * k, B: 60 * k}, (False, True): {A: 30 * k, B: 70 * k}}.get(tuple(values))
    assert one is not None and b == one, (
        f"{both} returned {values} and left {_balances(b)}; expected exactly one of them to succeed "
        f"({A}={40 * k}, {B}={60 * k} or {A}={30 * k}, {B}={70 * k}) and the other to return False")


def test_transfer_to_the_same_account_beside_a_transfer_out_loses_no_update(exercise):
    r, n, k = _races(exercise, "self_vs_out")
    A, B = n["A"], n["B"]
    calls = [_t(A, A, 30 * k), _t(A, B, 60 * k)]
    assert r["calls"] == calls, f"the grader asked for {calls}, the scenario reported {r['calls']}"
    after = {A: 40 * k, B: 60 * k}
    assert r["values"] == [True, True] and r["balances"] == after, (
        f"{calls[0]} and {calls[1]}, run at the same time on {A}={100 * k}, {B}=0, returned {r['values']} "
        f"and left {_balances(r['balances'])} ({sum(r['balances'].values())} in total); expected "
        f"[True, True] and {_balances(after)}. transfer(a, a, x) reads and writes a's balance too: it must "
        f"hold a's lock (once) like any other transfer, or another transfer out of {A!r} is lost or undone")


def test_opposite_transfers_never_deadlock(exercise):
    r, n, k = _races(exercise, "opposite")
    A, B = n["A"], n["B"]
    calls = [_t(A, B, 10 * k), _t(B, A, 20 * k)]
    assert r["calls"] == calls, f"the grader asked for {calls}, the scenario reported {r['calls']}"
    assert r["stuck"] is None, (
        f"{calls[0]} and {calls[1]}, started together, never returned: {r['stuck']}. Each holds its first "
        f"lock and waits for the other's; {LOCK_ORDER}")
    after = {A: 110 * k, B: 90 * k}
    assert r["values"] == [True, True] and r["balances"] == after, (
        f"{calls[0]} and {calls[1]}, run together on {A}={100 * k}, {B}={100 * k}, returned "
        f"{r['values']} and left {_balances(r['balances'])}; expected [True, True] and {_balances(after)}")


def test_total_and_a_transfer_never_deadlock(exercise):
    r, n, k = _races(exercise, "total_vs_transfer")
    A, B = n["A"], n["B"]
    calls = ["total()", _t(B, A, 10 * k)]
    assert r["calls"] == calls and r["order"] == [A, B], (
        f"the grader asked for {calls} on Bank({{{A!r}: ..., {B!r}: ...}}), the scenario reported "
        f"{r['calls']} on {r['order']}")
    assert r["stuck"] is None, (
        f"total() and {calls[1]}, started together on Bank({{{A!r}: {100 * k}, {B!r}: {100 * k}}}) (accounts "
        f"given in that order, not sorted), never returned: {r['stuck']}. total() and transfer() take their "
        f"locks in different orders (e.g. one in the order the Bank was given its accounts, the other sorted): "
        f"{LOCK_ORDER}, and use that same order in every method")
    assert r["values"] == [200 * k, True] and r["balances"] == {A: 110 * k, B: 90 * k}, (
        f"total() and {calls[1]}, run together on {A}={100 * k}, {B}={100 * k}, returned {r['values']} and "
        f"left {_balances(r['balances'])}; expected [{200 * k}, True] and {A}={110 * k}, {B}={90 * k}")


# --- one call held inside its critical section ---------------------------------------------

HELD_AT = {
    1: "after reading {A}'s balance",
    2: "after taking {x} from {A}, before adding it to {B}",
    3: "after reading {B}'s balance, before adding {x} to it",
}


def test_total_never_sees_money_in_flight(exercise):
    records, n, k = _holds(exercise, "total_snapshot")
    A, B = n["A"], n["B"]
    for rec in records:
        if rec["who"] == "transfer":
            at = rec["k"]
            assert rec["held"] == _t(A, B, 10 * k), f"the grader held {_t(A, B, 10 * k)}, not {rec['held']}"
            assert rec["value"] == 300 * k, (
                f"total() returned {rec['value']} while {rec['held']} was held at its {_ordinal(at)} "
                f"_pause() ({HELD_AT[at].format(A=A, B=B, x=10 * k)}); expected {300 * k}: it counted money "
                "in flight. total() must hold every account's lock (in the same global order as transfer) "
                "while it adds up")
        else:
            assert rec["value"] == 300 * k, (
                f"total() returned {rec['value']}, expected {300 * k}: while it was held part-way through adding "
                f"up, {rec['moved']} ran to completion, so total() added balances from before that "
                "transfer to balances from after it. Hold every account's lock for the whole sum, "
                "not one lock at a time")


def test_locking_is_per_account(exercise):
    r, n, k = _holds(exercise, "fine_grained")
    assert r["held"] == _t(n["A"], n["B"], 10 * k) and r["other"] == _t(n["C"], n["D"], 10 * k), (
        f"the grader asked for {_t(n['A'], n['B'], 10 * k)} and {_t(n['C'], n['D'], 10 * k)}, the scenario "
        f"reported {r['held']} and {r['other']}")
    assert r["completed"], (
        f"{r['other']} did not complete while {r['held']} was held inside its critical section (at its "
        f"first _pause()): {r['waited_for']}. Transfers between different accounts must not wait for each "
        "other: give every account its own lock and take only the two a transfer needs")


def test_a_transfer_that_waits_for_a_busy_account_returns_true_when_the_money_is_there(exercise):
    r, n, k = _holds(exercise, "busy")
    A, B, C = n["A"], n["B"], n["C"]
    held, call = _t(A, B, 10 * k), _t(A, C, 20 * k)
    assert r["held"] == held and r["call"] == call, (
        f"the grader asked for {held} and {call}, the scenario reported {r['held']} and {r['call']}")
    after = {A: 70 * k, B: 10 * k, C: 20 * k}
    if r["value"] is not True and r["returned_while_held"]:
        tried = f" after {r['failed_attempts']} lock attempt(s) that gave up" if r["failed_attempts"] else ""
        raise AssertionError(
            f"{call} was called while {held} was held inside its critical section (by the grader's _pause), "
            f"with {100 * k} in {A!r}; it returned {r['value']!r}{tried} while the other transfer still held "
            f"{A!r}, but {A!r} held enough money. A transfer that finds an account busy must wait for it "
            "(a blocking acquire, or try again until it gets it), not give up: return False only when src "
            "holds less than the amount")
    assert r["value"] is True and r["balances"] == after, (
        f"{call}, called while {held} was held inside its critical section, returned {r['value']!r} and, "
        f"once both were done, the balances were {_balances(r['balances'])}; expected True and {_balances(after)}")


# --- many threads -------------------------------------------------------------------------

def test_money_is_conserved_under_many_threads(exercise):
    plan = _plan(exercise)
    r = exercise.run("stress", awaiting="8 threads doing 300 random transfers each to finish", **plan)
    _check_plan(r, plan)
    assert r["stuck"] is None, (
        f"8 threads doing random transfers (and one calling total() all along) did not all finish: "
        f"{r['stuck']}")
    who = f"after {r['n_calls']} random transfers by 8 threads ({r['n_done']} returned True)"
    assert set(r["final"]) == {plan["names"][letter] for letter in "ABCDEF"}, (
        f"the grader made accounts {sorted(plan['names'][letter] for letter in 'ABCDEF')}, the scenario "
        f"reported {sorted(r['final'])}: not this run's result")
    negative = {name: v for name, v in r["final"].items() if v < 0}
    assert not negative, f"{who}, balances went below 0: {_balances(r['final'])}"
    assert r["final"] == r["expected"], (
        f"{who}, the balances are {_balances(r['final'])} (total {sum(r['final'].values())}), but the "
        f"transfers that returned True should have left {_balances(r['expected'])} (total "
        f"{r['conserved']}): updates were lost or money was created; lock both accounts for the whole "
        "transfer")
    assert r["conserved"] == 6000 * plan["k"], f"the scenario reported a total of {r['conserved']}, not this run's"
    assert not r["bad_totals"], (
        f"{who}, total(), called while they ran, returned {r['bad_totals']} instead of {r['conserved']}: "
        "hold every account's lock while adding up")
    assert r["final_total"] == r["conserved"], (
        f"{who}, total() returned {r['final_total']} instead of {r['conserved']}")
