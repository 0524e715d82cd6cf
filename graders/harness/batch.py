"""Many gradings: `gradebook` (a folder of submissions into a CSV) and `watch` (re-grade on save)."""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from graders.harness import catalogue


def _grade_one(folder: str) -> dict:
    """Each submission in its own grading process, reports in a private folder."""
    target = os.path.join(folder, "exercises") if os.path.isdir(os.path.join(folder, "exercises")) else folder
    with tempfile.TemporaryDirectory(prefix="proclab-book-") as out:
        subprocess.run([sys.executable, "-m", "graders.harness", "grade", "--quiet", "--target", target,
                        "--out", out], cwd=catalogue.REPO, stdin=subprocess.DEVNULL)
        try:
            with open(os.path.join(out, "report.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"score": 0, "max_score": 0, "exercises": [], "crashed": "no report"}


def gradebook(root: str, dest: str, jobs: int = 2) -> int:
    folders = sorted(os.path.join(root, name) for name in os.listdir(root)
                     if os.path.isdir(os.path.join(root, name)) and not name.startswith("."))
    exercises = catalogue.load()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        reports = list(pool.map(_grade_one, folders))
    with open(dest, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", *[ex.id for ex in exercises], "score", "max_score", "statuses"])
        for folder, rep in zip(folders, reports):
            scores = {e["id"]: e["score"] for e in rep["exercises"]}
            statuses = " ".join(f"{e['id']}={e['status']}" for e in rep["exercises"])
            writer.writerow([os.path.basename(folder), *[scores.get(ex.id, 0) for ex in exercises],
                             rep["score"], rep["max_score"], statuses])
    print(f"{len(folders)} submissions graded into {dest}")
    return 0


def watch(target: str, interval: float = 0.5) -> int:
    """Re-grade the exercise whose file was saved last; Ctrl-C stops."""
    exercises = catalogue.load()

    def mtimes():
        found = {}
        for ex in exercises:
            try:
                found[ex.id] = os.stat(ex.path_in(target)).st_mtime_ns
            except FileNotFoundError:
                pass
        return found

    seen = mtimes()
    print(f"watching {os.path.relpath(target)}: save an exercise file to grade it (Ctrl-C stops)")
    try:
        while True:
            time.sleep(interval)
            now = mtimes()
            changed = [ident for ident, stamp in now.items() if seen.get(ident) != stamp]
            seen = now
            for ident in changed:
                subprocess.run([sys.executable, "-m", "graders.harness", "grade", ident, "--target", target],
                               cwd=catalogue.REPO, stdin=subprocess.DEVNULL)
    except KeyboardInterrupt:
        return 0
