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


def test_osinspect_agrees_with_psutil_and_the_kernel(exercise):
    import signal

    import psutil

    from graders.harness import osinspect
    os.mkfifo(os.path.join(exercise.tmp, "go"))
    with exercise.start("os_shapes") as running:
        shape = running.event("shaped")
        me, sleeper, zombie = running.pid, shape["sleeper"], shape["zombie"]
        proc = psutil.Process(me)
        assert osinspect.ppid(me) == proc.ppid()
        assert osinspect.pgid(me) == os.getpgid(me)
        assert osinspect.sid(me) == os.getsid(me)
        assert osinspect.children(me) == sorted(c.pid for c in proc.children())
        assert set(osinspect.descendants(me)) == {c.pid for c in proc.children(recursive=True)}
        assert osinspect.zombies([sleeper, zombie]) == [zombie]
        assert osinspect.state(sleeper) == "S" and psutil.Process(sleeper).status() == psutil.STATUS_SLEEPING
        assert osinspect.cmdline(me) == proc.cmdline()
        assert osinspect.exe(me) == proc.exe()
        inode = osinspect.pipe_inode(me, shape["read_fd"])
        assert inode is not None and inode == osinspect.pipe_inode(sleeper, shape["read_fd"])
        assert inode == osinspect.pipe_inode(me, shape["write_fd"])
        assert osinspect.pipe_inode(me, 0) is None  # stdin is /dev/null
        assert {shape["read_fd"], shape["write_fd"]} <= osinspect.open_fds(me)
        masks = osinspect.signal_masks(me)
        assert signal.SIGUSR1 in masks["SigBlk"] and signal.SIGUSR2 in masks["SigCgt"]
        assert signal.SIGUSR2 not in masks["SigBlk"]
        assert osinspect.voluntary_switches(me) == proc.num_ctx_switches().voluntary
        assert osinspect.thread_count(me) == proc.num_threads()
        os.close(os.open(os.path.join(exercise.tmp, "go"), os.O_WRONLY))
        assert running.result() is True
