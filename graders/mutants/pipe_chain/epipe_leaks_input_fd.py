"""The feeder closes the input pipe only after a complete write; on EPIPE (first command exits early) the write end leaks."""


import os
import signal
import threading


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.close(fd)
    except BrokenPipeError:
        pass


def _exec_child(argv: list[str], stdin_fd: int, stdout_fd: int) -> None:
    try:
        os.dup2(stdin_fd, 0)
        os.dup2(stdout_fd, 1)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except FileNotFoundError:
        os._exit(127)
    except BaseException:
        os._exit(126)
    os._exit(126)


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    in_r, in_w = os.pipe()
    pids = []
    prev_r = in_r
    for argv in commands:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            _exec_child(argv, prev_r, w)
        pids.append(pid)
        os.close(prev_r)
        os.close(w)
        prev_r = r
    out_r = prev_r
    feeder = threading.Thread(target=_feed, args=(in_w, input))
    feeder.start()
    chunks = []
    while True:
        data = os.read(out_r, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(out_r)
    feeder.join()
    codes = []
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        codes.append(os.waitstatus_to_exitcode(status))
    return b"".join(chunks), codes
