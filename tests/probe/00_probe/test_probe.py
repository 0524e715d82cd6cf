import os


def test_echo_round_trips_bytes(exercise):
    r = exercise.run("echo", value=b"\x00\xffabc")
    assert r["value"] == b"\x00\xffabc"
    assert r["ppid"] != os.getpid(), "the student's parent must be the warden, never pytest"
    assert r["unbuffered"] is None
    assert r["cwd"] == r["tmp"]


def test_child_status(exercise):
    with exercise.start("child_status") as running:
        data = running.event("started")
        assert data["pid"] == running.pid
        assert running.result() == 7


def test_program_prints_ready(exercise):
    with exercise.program([]) as prog:
        assert prog.readline() == "ready"
        assert prog.readline() == "True"
        assert prog.wait() == 0


def test_the_wardens_ignored_signals_do_not_reach_student_code(exercise):
    import signal
    ignored = set(exercise.run("dispositions"))
    warden_only = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGALRM}
    assert not ignored & warden_only, f"ignored signals: {sorted(ignored)}"
