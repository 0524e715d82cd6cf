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


def build(exercises: list[Exercise], records: list[dict], crashed: str | None = None) -> dict:
    """The report.json document (DESIGN §7 fields, plus `concepts`, `hint` and `crashed`)."""
    entries = []
    for ex in exercises:
        tests = [{k: r[k] for k in ("name", "status", "message", "duration", "log") if k in r}
                 for r in ({"name": rec["test"], **rec} for rec in records if rec["id"] == ex.id)]
        status = exercise_status(tests)
        if not tests:
            tests = [{"name": "graded", "status": ERROR, "duration": 0.0,
                      "message": crashed or "not graded: the grading run stopped before this exercise"}]
        passed = sum(t["status"] == PASS for t in tests)
        entries.append({
            "id": ex.id, "topic": ex.topic, "title": ex.title, "file": ex.relpath,
            "status": status,
            "score": round(ex.points * passed / len(tests), 2),
            "max_score": ex.points,
            "tests": tests,
        })
    doc = {
        "score": round(sum(e["score"] for e in entries), 2),
        "max_score": sum(e["max_score"] for e in entries),
        "exercises": entries,
    }
    if crashed:
        doc["crashed"] = crashed
    return doc
