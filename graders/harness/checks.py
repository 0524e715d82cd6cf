"""Does the catalogue agree with the files? Each problem says how to fix it (used by verify)."""

import ast
import glob
import os
import re
import sys
import tempfile

from graders.harness import catalogue

MIN_HINTS = 3
MIN_MUTANTS = 15
MIN_ALTERNATES = 4
CJK = re.compile(r"[\u4e00-\u9fff]")


def _docstring(path: str) -> str | None:
    try:
        with open(path) as f:
            return ast.get_docstring(ast.parse(f.read()))
    except (OSError, SyntaxError):
        return None


def catalogue_problems(exercises=None, repo: str = catalogue.REPO) -> list[str]:
    exercises = exercises or catalogue.load()
    problems = []
    ids = [ex.id for ex in exercises]
    for ident in {i for i in ids if ids.count(i) > 1}:
        problems.append(f"id {ident!r} is declared twice in graders/catalogue.toml: ids must be unique")
    for ex in exercises:
        stub = os.path.join(repo, "exercises", ex.topic, ex.file)
        solution = os.path.join(repo, "solutions", ex.topic, ex.file)
        where = f"[{ex.id}]"
        if not os.path.exists(stub):
            problems.append(f"{where} stub {ex.relpath} is missing: create it, or fix `topic`/`file`")
        else:
            with open(stub) as f:
                text = f.read()
            if "TODO" not in text:
                problems.append(f"{where} {ex.relpath} has no `TODO` marker: mark where the student works")
            if not _docstring(stub):
                problems.append(f"{where} {ex.relpath} has no module docstring stating the contract")
            actual = catalogue.sha256_of(stub)
            if ex.stub_sha256 != actual:
                problems.append(f"{where} stub_sha256 does not match {ex.relpath}: after editing the stub, "
                                f'set stub_sha256 = "{actual}" in graders/catalogue.toml')
        if not os.path.exists(solution):
            problems.append(f"{where} solution solutions/{ex.topic}/{ex.file} is missing: write the reference")
        if not os.path.exists(os.path.join(repo, "exercises", ex.topic, "README.md")):
            problems.append(f"{where} exercises/{ex.topic}/README.md is missing: explain the topic")
        for path, what in ((ex.grader, "grader"), (ex.scenario, "scenario")):
            if not os.path.exists(path):
                problems.append(f"{where} {what} {os.path.relpath(path, repo)} is missing")
        if len(ex.hints) < MIN_HINTS or any(not h.strip() for h in ex.hints):
            problems.append(f"{where} needs at least {MIN_HINTS} non-empty hints")
        if len(ex.hints_zh) != len(ex.hints) or not all(CJK.search(h) for h in ex.hints_zh):
            problems.append(f"{where} hints_zh must translate each of its {len(ex.hints)} hints into Chinese, "
                            "in the same order")
        if not CJK.search(ex.title_zh):
            problems.append(f"{where} needs title_zh: its title in Chinese")
        if not os.path.exists(os.path.join(repo, "exercises", ex.topic, "README.zh-CN.md")):
            problems.append(f"{where} exercises/{ex.topic}/README.zh-CN.md is missing: every topic README "
                            "has a Chinese twin that says the same")
        if not ex.concepts or not all(CJK.search(c) for c in ex.concepts):
            problems.append(f"{where} every concept needs the seed's Chinese term beside the English one")
        if ex.points <= 0 or ex.timeout <= 0:
            problems.append(f"{where} points and timeout must be positive")
        from graders.harness import mutants as mutant_store
        mutants = mutant_store.mutant_files(ex)
        if len(mutants) < MIN_MUTANTS:
            problems.append(f"{where} has {len(mutants)} mutants in {os.path.relpath(ex.mutants_dir, repo)}/, "
                            f"needs at least {MIN_MUTANTS}: add plausible wrong implementations, one bug each")
        alternates = mutant_store.alternate_files(ex)
        if len(alternates) < MIN_ALTERNATES:
            problems.append(f"{where} has {len(alternates)} correct alternates in graders/alternates/{ex.id}/, "
                            f"needs at least {MIN_ALTERNATES}: add correct implementations in other styles")
        for path in mutants + alternates:
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem in sys.stdlib_module_names:
                problems.append(f"{where} {os.path.relpath(path, repo)} is named like the standard library's "
                                f"`{stem}`: graded under that name it would import itself; rename it")
        for mutant in mutants:
            if not mutant_store.bug_of(mutant):
                problems.append(f"{where} mutant {os.path.relpath(mutant, repo)} needs its bug named: a docstring "
                                "(.py) or a first line `# Bug: ...` (.patch)")
            elif mutant.endswith(".patch"):
                try:
                    with tempfile.TemporaryDirectory() as scratch:
                        mutant_store.materialize(ex, mutant, scratch, repo)
                except (mutant_store.PatchError, OSError) as exc:
                    problems.append(f"{where} mutant {os.path.relpath(mutant, repo)} does not apply: {exc}")
    problems += _strays(exercises, repo)
    problems += _mentions(exercises, repo)
    problems += document_problems(exercises, repo)
    return problems


def _strays(exercises, repo: str) -> list[str]:
    """Files that look like an exercise but are not in the catalogue."""
    known_files = {os.path.join(ex.topic, ex.file) for ex in exercises}
    known_ids = {ex.id for ex in exercises}
    problems = []
    for tree in ("exercises", "solutions"):
        for path in glob.glob(os.path.join(repo, tree, "*", "*.py")):
            if os.path.relpath(path, os.path.join(repo, tree)) not in known_files:
                problems.append(f"{os.path.relpath(path, repo)} is not in graders/catalogue.toml: "
                                "declare it or remove it")
    for path in glob.glob(os.path.join(catalogue.GRADERS, "*", "test_*.py")):
        if os.path.basename(path)[5:-3] not in known_ids:
            problems.append(f"{os.path.relpath(path, repo)} grades no catalogued exercise")
    for path in glob.glob(os.path.join(catalogue.GRADERS, "mutants", "*")):
        if os.path.basename(path) not in known_ids:
            problems.append(f"{os.path.relpath(path, repo)} holds mutants of no catalogued exercise")
    return problems


def _mentions(exercises, repo: str) -> list[str]:
    """The README's exercise table and the Classroom runners in grade.yml name every exercise."""
    problems = []
    for rel, pattern, fix in (
        ("README.md", "| {id} |", "add a row to the exercise table"),
        (".github/workflows/grade.yml", "{id}", "add a Classroom runner for it"),
    ):
        path = os.path.join(repo, rel)
        if not os.path.exists(path):
            problems.append(f"{rel} is missing")
            continue
        with open(path) as f:
            text = f.read()
        for ex in exercises:
            if pattern.format(id=ex.id) not in text:
                problems.append(f"{rel} does not mention {ex.id}: {fix}")
    return problems


# The curriculum's planned exercise ids: a document may name one only once it is in the catalogue.
PLANNED_IDS = {"parallel_map", "bounded_buffer", "whoami", "fork_cow", "spawn_exec", "ptree", "subreaper", "states",
               "reaper", "pipe_chain", "coprocess", "fifo_log", "mem_pipe", "graceful_worker", "notify", "rt_signals",
               "bank", "shm_counter", "semaphore_pool", "philosophers", "msg_framing", "shm_ring", "unix_server",
               "ctx_switches", "mmap_share"}
SKIPPED_DIRS = {".git", ".nox", ".grade", "__pycache__", ".ruff_cache", ".benchmarks", "mutants", "alternates"}
OUTSIDE_CITATION = re.compile("DESIG" + r"N(\.md)?\b|" + "\u00a7" + r"\s?\d")  # spelled so it does not cite itself


def _documents(repo: str, suffixes: tuple[str, ...]):
    for folder, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(suffixes):
                yield os.path.join(folder, name)


def document_problems(exercises, repo: str) -> list[str]:
    """Documents true at every commit: no document names a planned exercise that does not exist yet, and
    nothing cites a document outside the repository."""
    known = {ex.id for ex in exercises}
    problems = []
    for path in _documents(repo, (".md",)):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        rel = os.path.relpath(path, repo)
        for ident in sorted(PLANNED_IDS - known):
            # as an exercise is named: `id`, a table cell, `-- id` in a command, id.py
            if re.search(rf"`{ident}`|\|\s*{ident}\s*\||--\s+{ident}\b|\b{ident}\.py\b", text):
                problems.append(f"{rel} names exercise {ident!r}, which the catalogue does not have yet: "
                                "describe what is planned without its id, or add the exercise")
    for path in _documents(repo, (".md", ".py", ".toml", ".yml")):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if OUTSIDE_CITATION.search(line):
                    problems.append(f"{os.path.relpath(path, repo)}:{number} cites a design document outside the "
                                    "repository: say it in the repository's own words or link to graders/README.md")
    return problems
