import os
import sys


def echo(student, ctx, value):
    return {"value": student.echo(value), "pid": os.getpid(), "ppid": os.getppid(),
            "unbuffered": os.environ.get("PYTHONUNBUFFERED"), "cwd": os.getcwd(), "tmp": ctx.tmp,
            "stdout_tty": sys.stdout.isatty()}


def child_status(student, ctx):
    ctx.event("started", pid=os.getpid())
    return student.spawn_and_wait()


def dispositions(student, ctx):
    from graders.harness import osinspect
    return sorted(osinspect.signal_masks(os.getpid())["SigIgn"])


def os_shapes(student, ctx):
    """Hold a known shape still while the test reads it from outside: a child asleep on a pipe,
    a zombie child, SIGUSR1 blocked, a handler for SIGUSR2."""
    import signal
    import time
    read_fd, write_fd = os.pipe()
    sleeper = os.fork()
    if sleeper == 0:
        os.read(read_fd, 1)
        os._exit(0)
    zombie = os.fork()
    if zombie == 0:
        os._exit(0)
    while open(f"/proc/{zombie}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.001)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    signal.signal(signal.SIGUSR2, lambda *_: None)
    ctx.event("shaped", sleeper=sleeper, zombie=zombie, read_fd=read_fd, write_fd=write_fd)
    os.read(os.open(os.path.join(ctx.tmp, "go"), os.O_RDONLY), 1)  # the test opens the FIFO: done
    os.write(write_fd, b"x")
    os.waitpid(sleeper, 0)
    os.waitpid(zombie, 0)
    return True
