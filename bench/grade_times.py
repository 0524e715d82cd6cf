"""Speed goals, measured (not asserted): python bench/grade_times.py [--runs N].

Times whole `python -m graders.harness grade` runs, as `nox -s grade` runs them with a warm
venv (nox itself adds about a second). The budgets are the course's speed goals on 2 cores.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [
    ("solutions, the whole curriculum", ["--target", "solutions"], 15.0),
    ("solutions, the four anchor exercises", ["reaper", "pipe_chain", "graceful_worker", "bank",
                                              "--target", "solutions"], 5.0),
    ("stubs, the whole curriculum", [], 15.0),
    ("one exercise (pipe_chain, solution)", ["pipe_chain", "--target", "solutions"], 3.0),
    ("every exercise hangs", ["--target", "tests/hanging"], 180.0),
]


def timed(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "graders.harness", "grade", "-q", "--out", out, *args],
                       cwd=REPO, check=False)
        return time.monotonic() - started


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


if __name__ == "__main__":
    main()
