"""python -m graders.harness grade|list|hint|reset|watch|export|gradebook|check|sweep: the commands behind
the nox sessions. Modules are imported by the command that needs them: list, hint and reset need
nothing outside the standard library, so they run without a virtual environment."""

import argparse
import json
import os
import sys

from graders.harness import catalogue
from graders.harness.student import GRADE_DIR


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # SIGTERM too: the grading run then kills and removes all it started


def cmd_grade(args) -> int:
    import signal

    from graders.harness import grading
    signal.signal(signal.SIGTERM, _interrupt)
    return grading.grade(args.names, args.target, args.submit, args.out, verbose=args.verbose, quiet=args.quiet,
                         hide=args.hide, jobs=args.jobs)


def cmd_list(args) -> int:
    from graders.harness import student
    return student.list_exercises()


def cmd_hint(args) -> int:
    from graders.harness import student
    return student.hint(args.id, args.number, args.all)


def cmd_reset(args) -> int:
    from graders.harness import student
    return student.reset(args.id)


def cmd_export(args) -> int:
    from graders.harness import export
    if args.gradescope:
        return export.gradescope(args.gradescope)
    if not args.dest:
        sys.exit("name the folder: nox -s export -- DEST (or --gradescope DEST.zip)")
    return export.template(args.dest)


def cmd_gradebook(args) -> int:
    from graders.harness import batch
    return batch.gradebook(args.folder, args.csv, args.jobs)


def cmd_watch(args) -> int:
    from graders.harness import watching
    return watching.watch(os.path.abspath(args.target))


def cmd_sweep(args) -> int:
    from graders.harness import grading
    found = grading.sweep(args.submissions, args.out)
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(found, f, indent=2, ensure_ascii=False)
    for path, result in found.items():
        print(f"{result['status']:<6} {result['id']:<16} {os.path.relpath(path)}")
    return 0


def cmd_check(args) -> int:
    from graders.harness import checks
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
    p.add_argument("--jobs", type=int, default=None,
                   help="grading processes at once (default: the number of CPUs; PROCLAB_JOBS sets it too)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; reports only")
    p.set_defaults(func=cmd_grade)
    sub.add_parser("list", help="every exercise with its last status").set_defaults(func=cmd_list)
    p = sub.add_parser("hint", help="the next hint (of ID, of a topic's first unfinished exercise, or of the "
                                    "next unfinished exercise); ID N shows hint N again; --all every hint so far")
    p.add_argument("id", nargs="?", help="exercise id or topic (default: the next unfinished exercise)")
    p.add_argument("number", nargs="?", type=int, help="show hint NUMBER again")
    p.add_argument("--all", action="store_true", help="every hint given so far")
    p.set_defaults(func=cmd_hint)
    p = sub.add_parser("reset", help="put the original stub back, keeping your file in .grade/backup/")
    p.add_argument("id", nargs="?")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("export", help="write the student template to DEST, or the Gradescope bundle")
    p.add_argument("dest", nargs="?")
    p.add_argument("--gradescope", metavar="DEST.zip",
                   help="write the Gradescope autograder bundle instead")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("gradebook", help="grade every submission folder in FOLDER (each from a private copy) "
                                         "into a CSV and a class page")
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
    try:
        sys.exit(args.func(args))
    except KeyboardInterrupt:
        sys.exit(130)
