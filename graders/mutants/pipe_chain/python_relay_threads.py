"""All commands start at once, but every command gets its own Popen pipes and Python threads copy the bytes from one command to the next: intermediate output passes through Python, fd 1 of command i is not fd 0 of command i+1."""

import os
import subprocess
import threading


def _pump(src, dst) -> None:
    try:
        while True:
            data = os.read(src.fileno(), 65536)
            if not data:
                break
            try:
                dst.write(data)
                dst.flush()
            except BrokenPipeError:
                break
    finally:
        src.close()
        try:
            dst.close()
        except BrokenPipeError:
            pass


def _feed(dst, data: bytes) -> None:
    try:
        dst.write(data)
    except BrokenPipeError:
        pass
    finally:
        try:
            dst.close()
        except BrokenPipeError:
            pass


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    procs: list = []
    for argv in commands:
        try:
            procs.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        except FileNotFoundError:
            procs.append(127)
        except PermissionError:
            procs.append(126)
    live = [p for p in procs if not isinstance(p, int)]
    threads = []
    if not isinstance(procs[0], int):
        threads.append(threading.Thread(target=_feed, args=(procs[0].stdin, input)))
    for a, b in zip(procs, procs[1:]):
        if isinstance(a, int) and not isinstance(b, int):
            b.stdin.close()
        elif isinstance(b, int) and not isinstance(a, int):
            a.stdout.close()
        elif not isinstance(a, int):
            threads.append(threading.Thread(target=_pump, args=(a.stdout, b.stdin)))
    for t in threads:
        t.start()
    out = b""
    if not isinstance(procs[-1], int):
        out = procs[-1].stdout.read()
        procs[-1].stdout.close()
    for t in threads:
        t.join()
    codes = [p if isinstance(p, int) else p.wait() for p in procs]
    return out, codes
