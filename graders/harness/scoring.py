"""Scores: from the verdicts pytest recorded to the report.json document. Fails closed."""

from graders.harness.catalogue import Exercise
from graders.harness.outcome import ERROR, FAIL, PASS, TODO


def exercise_status(tests: list[dict]) -> str:
    statuses = {t["status"] for t in tests}
    if not tests:
        return ERROR
    if statuses == {PASS}:
        return PASS
    if FAIL in statuses:
        return FAIL
    if ERROR in statuses:
        return ERROR
    return TODO


def interrupted_sentence(crashed: str | None) -> str:
    why = f" ({crashed})" if crashed else ""
    return (f"not graded: the grading run was interrupted before this check gave its verdict{why}; "
            "a check that did not finish earns nothing")


def _entry(ex: Exercise, status: str, score: float, tests: list[dict], flags: list[str]) -> dict:
    return {"id": ex.id, "topic": ex.topic, "title": ex.title, "file": ex.relpath, "status": status,
            "score": score, "max_score": ex.points, "tests": tests, "flags": flags}


def _test(record: dict) -> dict:
    test = {"name": record.get("test", "?"), "status": record.get("status", ERROR),
            "message": record.get("message", ""), "duration": record.get("duration", 0.0)}
    if test["status"] not in (PASS, FAIL, TODO, ERROR):
        test["status"] = ERROR
    if "log" in record:
        test["log"] = record["log"]
    return test


def build(exercises: list[Exercise], records: list[dict], collected: list[dict] | None,
          isolation: str, crashed: str | None = None) -> dict:
    """The report.json document. Fails closed: an exercise gets points only when every test that
    pytest collected for it reported exactly one verdict; anything less (a crash, a kill, a lost
    or doubled record) makes it `error` with 0 points. A flagged exercise earns nothing."""
    entries = []
    for ex in exercises:
        expected = [t["test"] for t in (collected or []) if t.get("id") == ex.id]
        mine = [r for r in records if r.get("id") == ex.id]
        flags = []
        for record in mine:
            flags += [f for f in record.get("flags", []) if f not in flags]
        counts = {name: sum(r.get("test") == name for r in mine) for name in expected}
        stray = [r for r in mine if r.get("test") not in counts]
        if not expected:
            message = crashed or "not graded: the grading run stopped before this exercise"
            tests = [{"name": "graded", "status": ERROR, "duration": 0.0, "message": message}]
            entries.append(_entry(ex, ERROR, 0, tests, flags))
            continue
        if any(n != 1 for n in counts.values()) or stray:
            tests = [_test(r) for r in mine if counts.get(r.get("test")) == 1]
            tests += [{"name": name, "status": ERROR, "duration": 0.0, "message": interrupted_sentence(crashed)}
                      for name, n in counts.items() if n == 0]
            tests += [{"name": name, "status": ERROR, "duration": 0.0,
                       "message": f"the grader received {n} verdicts for this check, where exactly one was due: "
                                  "the results were tampered with or the grader broke; no points"}
                      for name, n in counts.items() if n > 1]
            if stray:
                tests.append({"name": "unexpected", "status": ERROR, "duration": 0.0,
                              "message": f"{len(stray)} verdict(s) arrived for checks that were never collected"})
            entries.append(_entry(ex, ERROR, 0, tests, flags))
            continue
        tests = [_test(r) for r in mine]
        status = exercise_status(tests)
        passed = sum(t["status"] == PASS for t in tests)
        score = round(ex.points * passed / len(tests), 2)
        if flags:
            score = 0
            status = FAIL if status in (PASS, TODO) else status
        entries.append(_entry(ex, status, score, tests, flags))
    doc = {
        "score": round(sum(e["score"] for e in entries), 2),
        "max_score": sum(e["max_score"] for e in entries),
        "isolation": isolation,
        "exercises": entries,
    }
    if crashed:
        doc["crashed"] = crashed
    return doc
