"""python -m graders.harness grade|list|hint|export|check: the commands behind the nox sessions."""

import argparse
import json
import os
import shutil
import sys

from graders.harness import batch, catalogue, checks, grading

GRADE_DIR = os.path.join(catalogue.REPO, ".grade")


def cmd_grade(args) -> int:
    return grading.grade(args.names, args.target, args.submit, args.out, verbose=args.verbose, quiet=args.quiet,
                         hide=args.hide)


def cmd_list(args) -> int:
    try:
        with open(os.path.join(GRADE_DIR, "progress.json")) as f:
            progress = json.load(f)
    except (OSError, ValueError):
        progress = {}
    exercises = catalogue.load()
    print(f"{'#':>2} {'topic':<12} {'exercise':<18} {'status':<9} {'points':>7}  title")
    upcoming = None
    for n, ex in enumerate(exercises, 1):
        seen = progress.get(ex.id, {})
        status = seen.get("status", "-")
        points = f"{seen.get('score', 0):g}/{ex.points}"
        print(f"{n:>2} {ex.topic:<12} {ex.id:<18} {status:<9} {points:>7}  {ex.title}")
        if upcoming is None and status != "pass":
            upcoming = ex
    if upcoming:
        print(f"\nNext: {upcoming.id}: read exercises/{upcoming.topic}/README.md, edit {upcoming.relpath}, "
              f"then `nox -s grade -- {upcoming.id}`.")
    else:
        print("\nAll exercises pass.")
    return 0


def cmd_hint(args) -> int:
    ex = catalogue.by_id().get(args.id)
    if ex is None:
        sys.exit(f"unknown exercise {args.id!r}; `nox -s list` shows them all")
    os.makedirs(GRADE_DIR, exist_ok=True)
    path = os.path.join(GRADE_DIR, "hints.json")
    try:
        with open(path) as f:
            given = json.load(f)
    except (OSError, ValueError):
        given = {}
    n = min(given.get(ex.id, 0), len(ex.hints) - 1)
    print(f"{ex.id} — hint {n + 1} of {len(ex.hints)}:\n\n  {ex.hints[n]}\n")
    if n + 1 < len(ex.hints):
        print(f"Run `nox -s hint -- {ex.id}` again for the next one.")
    else:
        print(f"That was the last hint. Concepts: {'; '.join(ex.concepts)}.")
    given[ex.id] = n + 1
    with open(path, "w") as f:
        json.dump(given, f)
    return 0


def cmd_export(args) -> int:
    """The student template: everything but solutions/, mutants and the maintainers' tests."""
    dest = os.path.abspath(args.dest)
    if os.path.exists(dest) and os.listdir(dest):
        sys.exit(f"{dest} exists and is not empty")
    skip = {"solutions", "mutants", "tests", ".git", ".grade", ".nox", ".ci", "__pycache__", "ci.yml"}
    shutil.copytree(catalogue.REPO, dest, dirs_exist_ok=True,
                    ignore=lambda folder, names: [n for n in names if n in skip])
    print(f"student template written to {dest}")
    return 0


def cmd_gradebook(args) -> int:
    return batch.gradebook(args.folder, args.csv, args.jobs)


def cmd_watch(args) -> int:
    return batch.watch(os.path.abspath(args.target))


def cmd_sweep(args) -> int:
    found = grading.sweep(args.submissions, args.out)
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(found, f, indent=2, ensure_ascii=False)
    for path, result in found.items():
        print(f"{result['status']:<6} {result['id']:<16} {os.path.relpath(path)}")
    return 0


def cmd_check(args) -> int:
    problems = checks.catalogue_problems()
    for problem in problems:
        print(f"- {problem}")
    print("catalogue and files agree" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m graders.harness")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("grade", help="grade exercises (all, or the ids/topics named)")
    p.add_argument("names", nargs="*", help="exercise ids or topics (e.g. pipe_chain, 03_pipes, pipes)")
    p.add_argument("--target", default=os.path.join(catalogue.REPO, "exercises"),
                   help="a tree with the exercises/ layout (default: exercises)")
    p.add_argument("--submit", action="append", default=[], metavar="ID=PATH",
                   help="grade PATH in place of exercise ID's file")
    p.add_argument("--out", default=GRADE_DIR, help="where reports go (default: .grade)")
    p.add_argument("--hide", action="append", default=[], metavar="PATH",
                   help="a folder student code must not see (separate-user mode), e.g. other submissions")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per test as it finishes")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; reports only")
    p.set_defaults(func=cmd_grade)
    sub.add_parser("list", help="every exercise with its last status").set_defaults(func=cmd_list)
    p = sub.add_parser("hint", help="the next hint for an exercise")
    p.add_argument("id")
    p.set_defaults(func=cmd_hint)
    p = sub.add_parser("export", help="write the student template to DEST")
    p.add_argument("dest")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("gradebook", help="grade every submission folder in FOLDER into a CSV, each from a private copy")
    p.add_argument("folder")
    p.add_argument("--csv", default="gradebook.csv", help="where the CSV goes (default: gradebook.csv)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of CPUs)")
    p.set_defaults(func=cmd_gradebook)
    p = sub.add_parser("watch", help="re-grade an exercise whenever its file is saved")
    p.add_argument("--target", default=os.path.join(catalogue.REPO, "exercises"))
    p.set_defaults(func=cmd_watch)
    sub.add_parser("check", help="check that the catalogue and the files agree").set_defaults(func=cmd_check)
    p = sub.add_parser("sweep", help="grade many files in one run (mutants): ID=PATH ..., into OUT/sweep.json")
    p.add_argument("submissions", nargs="+", metavar="ID=PATH")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_sweep)
    args = parser.parse_args(argv)
    sys.exit(args.func(args))
