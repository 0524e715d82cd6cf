"""When Popen raises FileNotFoundError the read end meant as that command's stdin is never closed (the close sits after the Popen call, not in finally): one fd leaks per missing command."""


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
    procs: list = []  # a Popen, or the int code of a command that could not start
    prev_r = in_r
    for argv in commands:
        r, w = os.pipe()
        try:
            procs.append(subprocess.Popen(argv, stdin=prev_r, stdout=w))
        except FileNotFoundError:
            procs.append(127)
            os.close(w)
            prev_r = r
            continue
        except PermissionError:
            procs.append(126)
            prev_r = r
            continue
        os.close(prev_r)
        os.close(w)
        prev_r = r
    out_r = prev_r
    feeder = threading.Thread(target=_feed, args=(in_w, input))
    feeder.start()
    chunks = []
    with open(out_r, "rb", buffering=0) as out:
        while True:
            data = out.read(65536)
            if not data:
                break
            chunks.append(data)
    feeder.join()
    codes = [p if isinstance(p, int) else p.wait() for p in procs]
    return b"".join(chunks), codes
