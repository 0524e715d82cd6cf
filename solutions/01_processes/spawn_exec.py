"""Run a program in a child process: fork, then exec (exec 系统调用), then wait.

spawn(argv, preexec_fn=None) forks a child, which calls preexec_fn (if any), then closes every
fd above 2 and replaces its program with argv (os.execvp, PATH searched); the parent waits for
that child to end and returns the exit status, or -N for a child killed by signal N. A command
that cannot be found gives 127; one that cannot be executed, or a preexec_fn that raises, 126.
"""

import errno
import os


def spawn(argv: list[str], preexec_fn=None) -> int:
    pid = os.fork()

    if pid == 0:
        # The child: still a copy of the caller, running the caller's code. Whatever happens
        # below, it must never come back into the caller's code (it would run it a second
        # time), so every path ends in exec or in os._exit.
        code = 126        # whatever goes wrong before exec (preexec_fn raising included): 126
        try:
            if preexec_fn is not None:
                preexec_fn()
            # Python makes its own fds close-on-exec (O_CLOEXEC), but the caller (or preexec_fn,
            # just now) may have made some inheritable, with any number below the fd limit:
            # close everything above stdin, stdout and stderr, as subprocess's close_fds=True
            # does, after preexec_fn.
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            # exec replaces the program (code, memory, argv) and keeps the process: same pid,
            # same parent, same environment (os.execvp passes os.environ), same cwd, fds 0-2.
            # It looks argv[0] up in the directories of PATH, in order, as a shell does: a file
            # there without execute permission is skipped. argv goes on unchanged, argv[0] too.
            os.execvp(argv[0], argv)
            # Not reached: a successful exec never returns.
        except OSError as exc:
            # ENOENT: not found anywhere on PATH (or no such file); anything else (EACCES:
            # no execute permission, ENOEXEC...) means found, but it cannot run. Shells say
            # 127 and 126.
            code = 127 if exc.errno == errno.ENOENT else 126
        finally:
            os._exit(code)

    # The parent: wait for this child (and only this one: os.wait() would take any child of
    # the caller) until it has ended (options 0: a stop is not an end), then decode the wait
    # status: the exit status 0..255, or -N when signal N killed it (the core-dump flag left out).
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
