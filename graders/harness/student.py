"""The student's small commands: list, hint, reset. Standard library only, so that nox runs them
without a virtual environment (about a second on first use)."""

import json
import os
import shutil
import subprocess
import sys
import time

from graders.harness import catalogue, i18n

GRADE_DIR = os.environ.get("PROCLAB_GRADE_DIR") or os.path.join(catalogue.REPO, ".grade")


def _load_json(name: str) -> dict:
    try:
        with open(os.path.join(GRADE_DIR, name)) as f:
            value = json.load(f)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_json(name: str, value: dict) -> None:
    os.makedirs(GRADE_DIR, exist_ok=True)
    tmp = os.path.join(GRADE_DIR, f".{name}.tmp")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(tmp, os.path.join(GRADE_DIR, name))


def unfinished(exercises: list[catalogue.Exercise]) -> catalogue.Exercise | None:
    """The first of EXERCISES whose last grading was not a pass."""
    progress = _load_json("progress.json")
    return next((ex for ex in exercises if progress.get(ex.id, {}).get("status") != "pass"), None)


def title(ex: catalogue.Exercise) -> str:
    return ex.title_zh if i18n.lang() == i18n.ZH and ex.title_zh else ex.title


def list_exercises() -> int:
    progress = _load_json("progress.json")
    exercises = catalogue.load()
    print(f"{'#':>2} {i18n.pad(i18n.t('topic'), 12)} {i18n.pad(i18n.t('exercise'), 18)} "
          f"{i18n.pad(i18n.t('status'), 9)} {i18n.pad(i18n.t('points'), 7, right=True)}  {i18n.t('list.title')}")
    for n, ex in enumerate(exercises, 1):
        seen = progress.get(ex.id, {})
        status = i18n.status(seen.get("status", "-"))
        points = f"{seen.get('score', 0):g}/{ex.points}"
        print(f"{n:>2} {ex.topic:<12} {ex.id:<18} {i18n.pad(status, 9)} {points:>7}  {title(ex)}")
    upcoming = unfinished(exercises)
    if upcoming:
        print("\n" + i18n.t("list.next", id=upcoming.id, topic=upcoming.topic, file=upcoming.relpath))
    else:
        print("\n" + i18n.t("list.done"))
    return 0


def _exercise_named(name: str | None) -> catalogue.Exercise | None:
    """An id as itself; a topic (03_pipes or pipes) as its first unfinished exercise (else its first);
    nothing as the next unfinished exercise of the course."""
    exercises = catalogue.load()
    if name is None:
        return unfinished(exercises)
    by_id = catalogue.by_id(exercises)
    if name in by_id:
        return by_id[name]
    topic = [ex for ex in exercises if name in (ex.topic, ex.topic[3:])]
    if not topic:
        sys.exit(i18n.t("unknown", name=name))
    return unfinished(topic) or topic[0]


def hint(name: str | None, number: int | None = None, show_all: bool = False) -> int:
    ex = _exercise_named(name)
    if ex is None:
        print(i18n.t("hint.all_done"))
        return 0
    hints = ex.hints_zh if i18n.lang() == i18n.ZH and len(ex.hints_zh) == len(ex.hints) else ex.hints
    total = len(hints)
    given_all = _load_json("hints.json")
    given = given_all.get(ex.id, 0) if isinstance(given_all.get(ex.id), int) else 0
    given = max(0, min(given, total))
    if show_all:
        if not given:
            print(i18n.t("hint.none_yet", id=ex.id))
        for n in range(1, given + 1):
            _show(ex, hints, n)
        return 0
    if number is not None:
        if not 1 <= number <= total:
            sys.exit(i18n.t("hint.range", id=ex.id, total=total))
        shown = number
    elif given >= total:
        print(i18n.t("hint.none_left", id=ex.id, total=total))
        return 0
    else:
        shown = given + 1
    _show(ex, hints, shown)
    given_all[ex.id] = max(given, shown)
    _save_json("hints.json", given_all)
    if shown == total:
        print(i18n.t("hint.last", concepts="; ".join(ex.concepts)))
    else:
        print(i18n.t("hint.more", id=ex.id))
    return 0


def _show(ex: catalogue.Exercise, hints: list[str], n: int) -> None:
    print(f"{i18n.t('hint.head', id=ex.id, n=n, total=len(hints))}\n\n  {hints[n - 1]}\n")


def pristine_stub(ex: catalogue.Exercise) -> bytes | None:
    """The original stub, found in the repository's git history by its hash in the catalogue."""
    deadline = time.monotonic() + 20
    try:
        revs = subprocess.run(["git", "-C", catalogue.REPO, "rev-list", "--all", "--", ex.relpath],
                              capture_output=True, timeout=10, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    for rev in revs:
        if time.monotonic() > deadline:
            return None
        try:
            blob = subprocess.run(["git", "-C", catalogue.REPO, "show", f"{rev.decode()}:{ex.relpath}"],
                                  capture_output=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if blob and catalogue.sha256_of(blob) == ex.stub_sha256:
            return blob
    return None


def reset(name: str | None) -> int:
    if not name:
        sys.exit(i18n.t("reset.which"))
    ex = catalogue.by_id().get(name)
    if ex is None:
        sys.exit(i18n.t("unknown", name=name))
    path = os.path.join(catalogue.REPO, ex.relpath)
    try:
        with open(path, "rb") as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    if current is not None and catalogue.sha256_of(current) == ex.stub_sha256:
        print(i18n.t("reset.same", file=ex.relpath))
        return 0
    stub = pristine_stub(ex)
    if stub is None:
        sys.exit(i18n.t("reset.nostub", file=ex.relpath, topic=ex.topic, name=ex.file))
    backup = None
    if current is not None:
        folder = os.path.join(GRADE_DIR, "backup")
        os.makedirs(folder, exist_ok=True)
        backup = os.path.join(folder, f"{ex.id}-{time.strftime('%Y%m%d-%H%M%S')}.py")
        n = 1
        while os.path.exists(backup):
            n += 1
            backup = os.path.join(folder, f"{ex.id}-{time.strftime('%Y%m%d-%H%M%S')}-{n}.py")
        shutil.copyfile(path, backup)
        backup = os.path.relpath(backup, catalogue.REPO)
    with open(path, "wb") as f:
        f.write(stub)
    print(i18n.t("reset.done", file=ex.relpath, backup=backup or "-"))
    return 0
