"""The student's workflow, .github/workflows/grade.yml, generated from the catalogue.

Its Classroom reporter needs one runner per exercise and one `<ID>_RESULTS` env line per runner; written by
hand they drift from graders/catalogue.toml. So the whole file is rendered here:

    python -m graders.harness.workflows            exit 1 and show the differences when grade.yml is stale
    python -m graders.harness.workflows --write    write grade.yml from the catalogue

Actions are pinned by full commit hash, each with the release it is (read from the actions' own tags).
"""

import argparse
import difflib
import os
import re
import sys

from graders.harness import catalogue

GRADE_YML = os.path.join(catalogue.REPO, ".github", "workflows", "grade.yml")
ACTIONS = {
    "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
    "setup-python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
    "upload-artifact": "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0",
    # The only release tag of the reporter is v1 (no vX.Y.Z); this is the commit it points at.
    "reporter": "classroom-resources/autograding-grading-reporter@d13b5912daf5042ac1b71bc38bdb4a6bcd61d8ca # v1",
}
RUNNER_ID = re.compile(r"[a-z0-9_]+")  # a step output name and, upper-cased, an env name

TEMPLATE = """\
# GENERATED from graders/catalogue.toml by `python -m graders.harness.workflows --write`: change
# graders/harness/workflows.py or the catalogue and regenerate; tests/test_workflows.py fails when they differ.
#
# Grades a student's push with the graders of the course template, so that editing graders/, the harness,
# noxfile.py or pyproject.toml changes nothing but a warning. The push is checked out into student/, and the
# graders into grader/: the template repository at a pinned ref, which the instructor sets once as repository
# or organisation variables (Settings > Secrets and variables > Actions > Variables):
#   PROCLAB_TEMPLATE  owner/name of the template repository; it must be public, since this job's token
#                     reads no repository but the student's
#   PROCLAB_REF       a tag or commit of it
# Without them (the template repository itself) grader/ is the push again and a warning says so.
# graders/harness/ci_grade.py does the grading: the student's exercise files (ordinary files under exercises/,
# as the template's catalogue names them) over the template's stubs, graded as a separate user. The job
# summary says which graders graded and shows the score table, failures are annotated on the student's lines,
# .grade/ is kept as an artifact, and each exercise is sent to GitHub Classroom as one runner worth its points.
name: grade
on:
  push:
  workflow_dispatch:
permissions: {}
# One grading at a time per branch, in push order, so the last result Classroom receives is the last push's;
# a push still waiting when a newer one arrives is not graded (the newer one is).
concurrency:
  group: ${{ github.workflow }}-${{ github.ref }}
  cancel-in-progress: false
jobs:
  grade:
    name: grade
    # GitHub Classroom's own commits (the one that creates the repository) are not graded.
    if: github.actor != 'github-classroom[bot]'
    runs-on: ubuntu-latest
    timeout-minutes: 15
    permissions:
      # actions/checkout reads the student's repository, which is private in a classroom. Nothing else uses
      # the token: the reporter only prints the ::notice lines that Classroom reads (it needs neither
      # checks: write nor actions: read), and annotations, the job summary and the artifact go through the
      # runner's own credentials.
      contents: read
    env:
      PROCLAB_TEMPLATE: ${{ vars.PROCLAB_TEMPLATE }}
      PROCLAB_REF: ${{ vars.PROCLAB_REF }}
    steps:
      - name: Check out the student's push
        uses: @checkout@
        with:
          path: student
          persist-credentials: false
      - name: Check out the graders (the template at PROCLAB_REF, or this push when the variables are not set)
        id: grader
        uses: @checkout@
        with:
          repository: >-
            ${{ vars.PROCLAB_TEMPLATE != '' && vars.PROCLAB_REF != '' && vars.PROCLAB_TEMPLATE || github.repository }}
          ref: ${{ vars.PROCLAB_TEMPLATE != '' && vars.PROCLAB_REF != '' && vars.PROCLAB_REF || github.sha }}
          path: grader
          persist-credentials: false
      - name: Say why the graders could not be checked out
        if: failure() && steps.grader.outcome == 'failure'
        run: >-
          echo "::error title=The graders could not be checked out::PROCLAB_TEMPLATE='$PROCLAB_TEMPLATE'
          PROCLAB_REF='$PROCLAB_REF': the template must be a public repository and PROCLAB_REF a tag or commit of
          it (without both variables, the push itself is checked out)."
      - uses: @setup-python@
        with:
          python-version: "3.12"
      - name: Install the graders' dependencies
        working-directory: grader
        run: python -m graders.harness.ci_grade install
      # As root the grader runs the student's code as a user of its own, in its own namespaces and
      # cgroups (separate-user mode): it cannot reach the grader, its results or the job's files.
      - name: Grade exercises/ of the push with the graders
        id: grade
        working-directory: grader
        continue-on-error: true
        env:
          PROCLAB_COMMIT: ${{ steps.grader.outputs.commit }}  # the commit the graders were checked out at
        run: |
          keep=GITHUB_ACTIONS,GITHUB_STEP_SUMMARY,GITHUB_OUTPUT,PROCLAB_TEMPLATE,PROCLAB_REF,PROCLAB_COMMIT
          sudo --preserve-env="$keep" env "PATH=$PATH" python -m graders.harness.ci_grade grade --student ../student
      - name: Keep the reports (.grade/)
        uses: @upload-artifact@
        if: ${{ !cancelled() }}
        with:
          name: grade-report
          path: grader/.grade/
          include-hidden-files: true
      - name: Report to GitHub Classroom (one runner per exercise)
        uses: @reporter@
        if: ${{ !cancelled() && steps.grade.outcome != 'skipped' }}
        env:
@results_env@
        with:
          runners: @runners@
      - name: Fail the job when an exercise does not pass
        if: steps.grade.outcome == 'failure'
        run: exit 1
"""


def render(exercises=None) -> str:
    """grade.yml for these exercises (the catalogue's by default)."""
    exercises = exercises if exercises is not None else catalogue.load()
    if not exercises:
        raise ValueError("the catalogue lists no exercise: the Classroom reporter needs at least one runner")
    bad = [ex.id for ex in exercises if not RUNNER_ID.fullmatch(ex.id)]
    if bad:
        raise ValueError(f"exercise ids {bad} cannot name Classroom runners: use lower-case letters, digits and _")
    text = TEMPLATE
    for key, pinned in ACTIONS.items():
        text = text.replace(f"@{key}@", pinned)
    results = "\n".join(f"          {ex.id.upper()}_RESULTS: ${{{{ steps.grade.outputs.{ex.id} }}}}"
                        for ex in exercises)
    return text.replace("@results_env@", results).replace("@runners@", ",".join(ex.id for ex in exercises))


def check(path: str = GRADE_YML, exercises=None) -> list[str]:
    """The differences between PATH and what the catalogue generates, as unified-diff lines; [] when none."""
    shown = os.path.relpath(path, catalogue.REPO)
    try:
        with open(path, encoding="utf-8") as f:
            actual = f.read()
    except FileNotFoundError:
        return [f"{shown} is missing"]
    return list(difflib.unified_diff(actual.splitlines(), render(exercises).splitlines(), lineterm="",
                                     fromfile=f"{shown} (as it is)", tofile=f"{shown} (from the catalogue)"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.harness.workflows", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write grade.yml from the catalogue")
    args = parser.parse_args(argv)
    if args.write:
        with open(GRADE_YML, "w", encoding="utf-8") as f:
            f.write(render())
        print(f"wrote {os.path.relpath(GRADE_YML)} from the catalogue")
        return 0
    differences = check()
    if differences:
        print("\n".join(differences))
        print("grade.yml differs from what graders/catalogue.toml generates: "
              "python -m graders.harness.workflows --write regenerates it")
        return 1
    print("grade.yml agrees with the catalogue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
