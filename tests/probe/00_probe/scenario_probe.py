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
