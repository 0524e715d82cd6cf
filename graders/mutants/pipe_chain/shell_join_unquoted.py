"""Each command is run as `sh -c " ".join(argv)` (unquoted): a shell sits between caller and command and the argument list is re-split and expanded."""

import os
import subprocess
import threading


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    in_r, in_w = os.pipe()
    procs = []
    prev_r = in_r
    for argv in commands:
        r, w = os.pipe()
        try:
            procs.append(subprocess.Popen(" ".join(argv), shell=True, stdin=prev_r, stdout=w))
        finally:
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
    return b"".join(chunks), [p.wait() for p in procs]
