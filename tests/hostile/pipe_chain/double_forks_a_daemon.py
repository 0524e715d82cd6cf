"""Hostile: a correct pipeline that also leaves a double-forked daemon running.

The daemon is re-parented to the grader's subreaper (or held by the test's cgroup), reported as left
running, and killed. The reference solution is copied in below, renamed, so this file stands alone.
"""


import os
import signal
import threading


def _reference_run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    if not commands:
        raise ValueError("run_pipeline needs at least one command")

    # os.pipe() returns (read end, write end), both close-on-exec: a child keeps only the two
    # ends it dup2()s onto fd 0 and fd 1; every other copy vanishes when it calls exec.
    stdin_fd, feed_fd = os.pipe()            # we write `input` into feed_fd
    pids = []
    for argv in commands:
        next_stdin, stdout_fd = os.pipe()
        pids.append(_start(argv, stdin_fd, stdout_fd))
        # The child has its own copies now. Close ours at once: a reader sees end-of-file only
        # when *every* copy of the write end is closed, and a writer gets SIGPIPE only when
        # every copy of the read end is.
        os.close(stdin_fd)
        os.close(stdout_fd)
        stdin_fd = next_stdin
    output_fd = stdin_fd                     # the read end of the last command's stdout

    # Every command runs now. Feed the input from a thread while this thread reads the output:
    # a pipe holds only 64 KiB, so writing all the input before reading could block forever.
    # (The thread starts only after the last fork: never fork a process that has threads.)
    feeder = threading.Thread(target=_feed, args=(feed_fd, input))
    feeder.start()
    chunks = []
    while chunk := os.read(output_fd, 65536):
        chunks.append(chunk)
    os.close(output_fd)
    feeder.join()

    # Reap every child, in order: waitpid frees the zombie and hands over its status.
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    return b"".join(chunks), codes


def _start(argv: list[str], stdin_fd: int, stdout_fd: int) -> int:
    """fork + exec one command with the given stdin and stdout; return its pid."""
    pid = os.fork()
    if pid:
        return pid
    # The child: it must never return into the caller's code, whatever happens.
    try:
        os.dup2(stdin_fd, 0)
        os.dup2(stdout_fd, 1)
        # Python ignores SIGPIPE, and an ignored signal stays ignored across exec. Restore the
        # default so a writer whose reader has gone dies of SIGPIPE, as under a shell.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"{argv[0]}: {exc.strerror}\n".encode())
        # bash's convention: 127 command not found, 126 found but not executable.
        os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
    finally:
        os._exit(127)


def _feed(fd: int, data: bytes) -> None:
    """Write all of `data` into fd, then close it so the first command sees end-of-file."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # the first command exited without reading everything (e.g. it was not found)
    finally:
        os.close(fd)


def run_pipeline(commands, input=b""):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.waitpid(-1, 0)
    return _reference_run_pipeline(commands, input)
