"""Grader for bank: a Bank whose transfer(), balance() and total() are safe under threads.

Every race is forced, never hoped for (see scenario_bank.py): the grader replaces the
student's _pause() to make two threads meet inside the critical section, or to hold one
thread there, and it watches the student's locks, so a deadlock is reported the moment it
exists, naming who holds what. Only the last test is a plain stress test.
"""

PAUSE_POINTS = {
    "transfer('A', 'B', 30)": (3, "after reading A, after writing A, after reading B"),
    "transfer('C', 'A', 10)": (1, "after reading C's balance, before refusing"),
    "total()": (3, "before reading each of the 3 balances"),
}
HELD_AT = {
    1: "after reading A's balance",
    2: "after taking 10 from A, before adding it to B",
    3: "after reading B's balance, before adding 10 to it",
}
LOCK_ORDER = ("take the locks in one global order, e.g. sorted by account name, "
              "whatever the direction of the transfer")


_RUNS: dict = {}


def _part(exercise, scenario: str, part: str, awaiting: str):
    """One part of a folded scenario, run once per graded file and reused by its other tests."""
    key = (getattr(exercise, "student_file", None), scenario)
    if key not in _RUNS:
        try:
            _RUNS[key] = exercise.run(scenario, awaiting=awaiting)
        except Exception as exc:  # the same verdict for every test that needs this run
            _RUNS[key] = exc
    result = _RUNS[key]
    if isinstance(result, Exception):
        raise result
    value = result[part]
    if isinstance(value, dict) and "fail" in value:
        raise AssertionError(value["fail"])
    return value


def _alone(exercise, part):
    return _part(exercise, "alone", part, "transfer(), balance() and total(), called in one thread, to return")


def _races(exercise, part):
    return _part(exercise, "races", part, "two transfers run at the same time to return")


def _holds(exercise, part):
    return _part(exercise, "holds", part,
                 "transfer() and total() to return while another call is held inside its critical section")


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _balances(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(d.items()))


def test_every_pause_call_is_kept(exercise):
    r = _alone(exercise, "pauses")
    for call, (need, where) in PAUSE_POINTS.items():
        got = r[call]["pauses"]
        assert got >= need, (
            f"{call} called _pause() {got} time(s), the original code calls it {need} time(s) ({where}): "
            "keep every _pause() call where it was; the grader uses them to hold your threads inside "
            "the critical section")
    moved, refused, total = (r[call]["value"] for call in PAUSE_POINTS)
    assert moved is True, f"transfer('A', 'B', 30) with 100 in A returned {moved!r}, expected True"
    assert refused is False, f"transfer('C', 'A', 10) with 0 in C returned {refused!r}, expected False"
    assert total == 150, f"total() returned {total!r} for balances A=70, B=80, C=0, expected 150"


def test_refused_calls_raise_or_return_false_and_change_nothing(exercise):
    records = _alone(exercise, "refusals")
    start = {"A": 100, "B": 50}
    expected = {
        "transfer('A', 'B', 101)": ("returned False", "A holds only 100"),
        "transfer('A', 'Z', 10)": ("raised KeyError", "'Z' is not an account"),
        "transfer('Z', 'A', 10)": ("raised KeyError", "'Z' is not an account"),
        "transfer('A', 'B', 0)": ("raised ValueError", "an amount must be positive"),
        "transfer('A', 'B', -5)": ("raised ValueError", "an amount must be positive"),
        "balance('Z')": ("raised KeyError", "'Z' is not an account"),
    }
    for rec in records[:-1]:
        want, why = expected[rec["call"]]
        assert rec["outcome"] == want, (
            f"{rec['call']} {rec['outcome']} on a bank with A=100, B=50; expected it to have {want} ({why})")
        assert rec["balances"] == start, (
            f"after {rec['call']} {rec['outcome']}, the balances are {_balances(rec['balances'])}, "
            f"expected them unchanged ({_balances(start)}): check everything before changing anything")
    last = records[-1]
    assert last["value"] is True and last["balances"] == {"A": 90, "B": 60}, (
        f"after those refused calls, {last['call']} {last['outcome']} and balance() gives "
        f"{_balances(last['balances'])}; expected True and A=90, B=60")


def test_transfer_to_the_same_account_changes_nothing(exercise):
    records = _alone(exercise, "self_transfer")
    ok, too_much = records
    assert ok["value"] is True and ok["balances"] == {"A": 100, "B": 50}, (
        f"{ok['call']} with 100 in A returned {ok['value']!r} and left {_balances(ok['balances'])}; "
        "expected True and nothing changed (A=100, B=50)")
    assert too_much["value"] is False and too_much["balances"] == {"A": 100, "B": 50}, (
        f"{too_much['call']} with 100 in A returned {too_much['value']!r} and left "
        f"{_balances(too_much['balances'])}; expected False and nothing changed (A=100, B=50)")


def test_concurrent_credits_lose_no_update(exercise):
    r = _races(exercise, "lost_update")
    first, second = r["calls"]
    both = f"{first} and {second}, run at the same time on A=100, B=100, C=100,"
    assert r["values"] == [True, True], f"{both} returned {r['values']}; expected [True, True]"
    b = r["balances"]
    if b["C"] < 120 and b["A"] == 90 and b["B"] == 90:
        raise AssertionError(
            f"{both} left C={b['C']}, not 120: both threads read C's old balance before either wrote it "
            "back, so one credit was lost (a lost update). Reading a balance and writing it back must be "
            "one critical section: hold the lock of dst as well as src for the whole transfer")
    assert b == {"A": 90, "B": 90, "C": 120}, (
        f"{both} left {_balances(b)}; expected A=90, B=90, C=120: each balance must be read and "
        "written back under its account's lock")


def test_two_withdrawals_never_overdraw(exercise):
    r = _races(exercise, "overdraft")
    first, second = r["calls"]
    both = f"{first} and {second}, run at the same time with 100 in A,"
    b, values = r["balances"], r["values"]
    negative = {k: v for k, v in b.items() if v < 0}
    assert not negative, (
        f"{both} left {_balances(b)}: A went below 0. Both threads checked A's balance, both saw 100, and "
        "both withdrew 60 (an overdraft). The check and the update must be one critical section: hold "
        "A's lock from reading the balance to writing it back")
    assert sum(b.values()) == 100, (
        f"{both} returned {values} and left {_balances(b)}: {sum(b.values())} in total, not 100. Both read "
        "A=100 before either wrote it back, so both withdrawals \"succeeded\" and money was created. Hold "
        "A's lock from reading the balance to writing it back")
    assert sorted(values) == [False, True] and b["A"] == 40, (
        f"{both} returned {values} and left {_balances(b)}; expected exactly one of them to succeed "
        "(A=40) and the other to return False")


def test_opposite_transfers_never_deadlock(exercise):
    r = _races(exercise, "opposite")
    assert r["stuck"] is None, (
        f"transfer('A', 'B', 10) and transfer('B', 'A', 20), started together, never returned: "
        f"{r['stuck']}. Each holds its first lock and waits for the other's; {LOCK_ORDER}")
    assert r["values"] == [True, True] and r["balances"] == {"A": 110, "B": 90}, (
        f"transfer('A', 'B', 10) and transfer('B', 'A', 20), run together on A=100, B=100, returned "
        f"{r['values']} and left {_balances(r['balances'])}; expected [True, True] and A=110, B=90")


def test_total_never_sees_money_in_flight(exercise):
    records = _holds(exercise, "total_snapshot")
    for rec in records:
        if rec["who"] == "transfer":
            k = rec["k"]
            assert rec["value"] == 300, (
                f"total() returned {rec['value']} while {rec['held']} was held at its {_ordinal(k)} "
                f"_pause() ({HELD_AT[k]}); expected 300: it counted money in flight. "
                "total() must hold every account's lock (in the same global order as transfer) "
                "while it adds up")
        else:
            assert rec["value"] == 300, (
                f"total() returned {rec['value']}, expected 300: while it was held part-way through adding "
                f"up, {rec['moved']} ran to completion, so total() added balances from before that "
                "transfer to balances from after it. Hold every account's lock for the whole sum, "
                "not one lock at a time")


def test_locking_is_per_account(exercise):
    r = _holds(exercise, "fine_grained")
    assert r["completed"], (
        f"{r['other']} did not complete while {r['held']} was held inside its critical section (at its "
        f"first _pause()): {r['waited_for']}. Transfers between different accounts must not wait for each "
        "other: give every account its own lock and take only the two a transfer needs")


def test_money_is_conserved_under_many_threads(exercise):
    r = exercise.run("stress", awaiting="8 threads doing 300 random transfers each to finish")
    assert r["stuck"] is None, (
        f"8 threads doing random transfers (and one calling total() all along) did not all finish: "
        f"{r['stuck']}")
    who = f"after {r['n_calls']} random transfers by 8 threads ({r['n_done']} returned True)"
    negative = {k: v for k, v in r["final"].items() if v < 0}
    assert not negative, f"{who}, balances went below 0: {_balances(r['final'])}"
    assert r["final"] == r["expected"], (
        f"{who}, the balances are {_balances(r['final'])} (total {sum(r['final'].values())}), but the "
        f"transfers that returned True should have left {_balances(r['expected'])} (total "
        f"{r['conserved']}): updates were lost or money was created; lock both accounts for the whole "
        "transfer")
    assert not r["bad_totals"], (
        f"{who}, total(), called while they ran, returned {r['bad_totals']} instead of {r['conserved']}: "
        "hold every account's lock while adding up")
    assert r["final_total"] == r["conserved"], (
        f"{who}, total() returned {r['final_total']} instead of {r['conserved']}")
