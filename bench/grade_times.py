"""Speed goals, measured (not asserted): python bench/grade_times.py [--runs N].

Times whole `python -m graders.harness grade` runs, as `nox -s grade` runs them with a warm
venv (nox itself adds about a second), then each exercise's own grading time: the sum of its
checks' durations in report.json, the solution graded alone in one pytest (the course's goal
is 1 s an exercise). The budgets are the course's speed goals on 2 cores.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from graders.harness import catalogue  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [
    ("solutions, the whole curriculum", ["--target", "solutions"], 15.0),
    ("solutions, the four anchor exercises", ["reaper", "pipe_chain", "graceful_worker", "bank",
                                              "--target", "solutions"], 5.0),
    ("stubs, the whole curriculum", [], 15.0),
    ("one exercise (pipe_chain, solution)", ["pipe_chain", "--target", "solutions"], 3.0),
    ("every exercise hangs (at import)", ["--target", "HANGING"], 180.0),
]
PER_EXERCISE_BUDGET = 1.0
HANGS = '"""A submission that hangs at import."""\nimport time\n\nwhile True:\n    time.sleep(0.1)\n'


def hanging_target(folder: str) -> str:
    """A target folder in which every exercise's file hangs at import."""
    for ex in catalogue.load():
        os.makedirs(os.path.join(folder, ex.topic), exist_ok=True)
        with open(os.path.join(folder, ex.topic, ex.file), "w") as f:
            f.write(HANGS)
    return folder


def timed(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as hanging:
        args = [hanging_target(hanging) if arg == "HANGING" else arg for arg in args]
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "graders.harness", "grade", "-q", "--out", out, *args],
                       cwd=REPO, check=False)
        return time.monotonic() - started


def check_times(runs: int) -> dict[str, list[float]]:
    """Each exercise's solution graded alone RUNS times: the sum of its checks' durations."""
    found: dict[str, list[float]] = {}
    for ex in catalogue.load():
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as out:
                subprocess.run([sys.executable, "-m", "graders.harness", "grade", "-q", "--out", out, ex.id,
                                "--target", "solutions"], cwd=REPO, check=False)
                with open(os.path.join(out, "report.json")) as f:
                    entry = next(e for e in json.load(f)["exercises"] if e["id"] == ex.id)
                found.setdefault(ex.id, []).append(sum(t.get("duration", 0.0) for t in entry["tests"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'case':<40} {'median':>8} {'max':>8} {'budget':>8}")
    for name, grade_args, budget in CASES:
        runs = 1 if budget > 10 else args.runs
        times = [timed(grade_args) for _ in range(runs)]
        verdict = "ok" if max(times) <= budget else "OVER"
        print(f"{name:<40} {statistics.median(times):>7.2f}s {max(times):>7.2f}s {budget:>7.1f}s  {verdict}")
    print(f"\n{'exercise (its checks, solution)':<40} {'median':>8} {'max':>8} {'budget':>8}")
    for ident, times in check_times(args.runs).items():
        median, budget = statistics.median(times), PER_EXERCISE_BUDGET
        verdict = "ok" if median <= budget else "OVER"
        print(f"{ident:<40} {median:>7.2f}s {max(times):>7.2f}s {budget:>7.1f}s  {verdict}")


if __name__ == "__main__":
    main()
