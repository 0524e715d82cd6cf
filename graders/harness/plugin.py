"""The pytest plugin of a grading run: the `exercise` fixture, per-test cleanup, status recording.

Loaded with `-p graders.harness.plugin` by grading.py, never by a plain `pytest`.
"""

import json
import os
import time

import pytest

from graders.harness import catalogue, cleanup, identity, submission
from graders.harness.outcome import PASS, Failure, GradingError, Timeout, Todo, message_of, status_of
from graders.harness.sandbox import Sandbox

EXERCISES = catalogue.by_id()
STICKY: dict[tuple[str, str], Exception] = {}  # (id, file) -> the outcome every later test of it gets at once
IDENTITY: identity.Identity | None = None
RESULTS = None  # the pipe to the grading CLI: one JSON line per record
MESSAGE_LIMIT = 20000  # characters of a message that travel on (reports show 2,000; logs keep the output)


def pytest_addoption(parser):
    group = parser.getgroup("proclab")
    group.addoption("--target", default=os.path.join(catalogue.REPO, "exercises"),
                    help="the tree with the exercises/ layout to grade")
    group.addoption("--submit", action="append", default=[], metavar="ID=PATH",
                    help="grade PATH as exercise ID (mutants, hostile submissions)")
    group.addoption("--results-fd", type=int, default=None,
                    help="an inherited pipe: the collected tests, one verdict per test, then 'done'")
    group.addoption("--hide", action="append", default=[], help="a folder student code must not see")
    group.addoption("--logs", default=None, help="save the output of failing tests under this folder")


def pytest_configure(config):
    global IDENTITY, RESULTS
    identity.protect_self()
    cleanup.become_subreaper()
    cleanup.sweep_stale()
    IDENTITY = identity.Identity(hide=config.getoption("hide"))
    fd = config.getoption("results_fd")
    if fd is not None:
        os.set_inheritable(fd, False)
        RESULTS = os.fdopen(fd, "w", buffering=1)


def pytest_unconfigure(config):
    if IDENTITY:
        IDENTITY.close()
    send({"kind": "done"})


def send(record: dict) -> None:
    if RESULTS is not None:
        RESULTS.write(json.dumps(record) + "\n")
        RESULTS.flush()


def variant_of(item) -> str | None:
    """The submitted file a test grades (a sweep's records name it, so that files graded in several
    pytest runs at once are told apart); None when it grades the target tree."""
    callspec = getattr(item, "callspec", None)
    if callspec and "exercise" in callspec.params:
        return callspec.params["exercise"]
    paths = submitted(item.config, exercise_of(item))
    return paths[0] if paths else None


def pytest_collection_finish(session):
    tests = [{"id": exercise_of(item).id, "test": item.name,
              **({"variant": variant_of(item)} if variant_of(item) else {})}
             for item in session.items]
    send({"kind": "collected", "tests": tests, "isolation": IDENTITY.mode if IDENTITY else identity.SAME})


def exercise_of(item) -> catalogue.Exercise:
    name = os.path.basename(str(item.fspath))
    return EXERCISES[name[len("test_"):-len(".py")]]


def submitted(config, ex: catalogue.Exercise) -> list[str]:
    """The files given with --submit for this exercise (several: each is graded as a variant)."""
    return [os.path.abspath(entry.partition("=")[2]) for entry in config.getoption("submit")
            if entry.partition("=")[0] == ex.id]


def student_file(config, ex: catalogue.Exercise) -> str:
    paths = submitted(config, ex)
    return paths[0] if paths else ex.path_in(os.path.abspath(config.getoption("target")))


def pytest_generate_tests(metafunc):
    """Several files submitted for one exercise (verify's mutant sweeps): every test runs once per file,
    in one pytest run, so a batch of mutants costs one start-up."""
    if "exercise" not in metafunc.fixturenames:
        return
    paths = submitted(metafunc.config, EXERCISES[os.path.basename(metafunc.definition.path)[5:-3]])
    if len(paths) > 1:
        ids = [os.path.splitext(os.path.basename(p))[0] for p in paths]
        metafunc.parametrize("exercise", paths, indirect=True, ids=ids)


@pytest.fixture
def exercise(request):
    ex = exercise_of(request.node)
    path = getattr(request, "param", None) or student_file(request.config, ex)
    sticky = (ex.id, path)
    if sticky in STICKY:
        raise STICKY[sticky]
    target = os.path.abspath(request.config.getoption("target"))
    root = os.path.dirname(path) if submitted(request.config, ex) else target
    try:
        code = submission.read_graded_file(root, os.path.relpath(path, root))
    except submission.BadSubmission as exc:
        STICKY[sticky] = GradingError(exc.message)
        raise STICKY[sticky] from None
    if catalogue.is_untouched_stub(ex, code):
        raise Todo(f"not started: {ex.relpath} is still the stub (read exercises/{ex.topic}/README.md first)")
    sandbox = Sandbox(path, code, ex.scenario, ex.timeout, IDENTITY)
    request.node.proclab_sandbox = sandbox
    yield sandbox
    record = getattr(request.node, "proclab_record", None)  # made by makereport, before teardown
    logs = request.config.getoption("logs")
    failed = record is not None and record["status"] != PASS
    keep = os.path.join(logs, ex.id, f"{request.node.name}.log") if logs and failed else None
    if sandbox.close(keep_output=keep):
        inside = os.path.abspath(keep).startswith(os.getcwd() + os.sep)
        record["log"] = os.path.relpath(keep) if inside else os.path.abspath(keep)
        record["message"] += f" [what your code printed, tracebacks included: {record['log']}]"


def _sticky(key: tuple[str, str], exc: BaseException) -> None:
    """After a timeout, an untouched stub, or a file that does not import, skip the waiting."""
    if isinstance(exc, Timeout):
        STICKY[key] = Failure(f"not run: an earlier test of {key[0]} timed out ({exc.message})")
    elif isinstance(exc, (Todo, GradingError)) or getattr(exc, "at_import", False):
        STICKY[key] = exc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if call.when == "setup":
        item.proclab_started = time.monotonic() - call.duration
    if not (call.when == "call" or (call.when == "setup" and report.failed)):
        return
    ex = exercise_of(item)
    if report.passed:
        status, message = PASS, ""
    else:
        exc = call.excinfo.value
        status, message = status_of(exc), message_of(exc)
        variant = getattr(item, "callspec", None)
        path = variant.params.get("exercise") if variant else None
        _sticky((ex.id, path or student_file(item.config, ex)), exc)
    item.proclab_record = {"kind": "verdict", "id": ex.id, "test": item.name, "status": status,
                           "message": message[:MESSAGE_LIMIT]}
    if variant_of(item):
        item.proclab_record["variant"] = variant_of(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    record = getattr(item, "proclab_record", None)
    if record is None:
        return
    record["duration"] = round(time.monotonic() - getattr(item, "proclab_started", time.monotonic()), 3)
    sandbox = getattr(item, "proclab_sandbox", None)
    record["flags"] = list(sandbox.flags) if sandbox else []
    send(record)
