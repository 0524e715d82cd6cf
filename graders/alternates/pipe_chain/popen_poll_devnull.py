"""Style: subprocess.Popen per command, /dev/null as stdin when there is no input, codes collected by polling Popen.poll()."""

import os
import subprocess
import threading
import time


def _feed(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    feed_fd = None
    if input:
        stdin, feed_fd = os.pipe()
    else:
        stdin = subprocess.DEVNULL
    started: list = []          # a Popen, or the code of a command that could not start
    for argv in commands:
        read_end, write_end = os.pipe()
        try:
            started.append(subprocess.Popen(argv, stdin=stdin, stdout=write_end))
        except FileNotFoundError:
            started.append(127)
        except OSError:
            started.append(126)
        finally:
            if stdin != subprocess.DEVNULL:
                os.close(stdin)
            os.close(write_end)
        stdin = read_end
    feeder = None
    if feed_fd is not None:
        feeder = threading.Thread(target=_feed, args=(feed_fd, input))
        feeder.start()
    chunks = []
    with open(stdin, "rb", buffering=0) as out:
        while chunk := out.read(65536):
            chunks.append(chunk)
    if feeder:
        feeder.join()
    while any(not isinstance(p, int) and p.poll() is None for p in started):
        time.sleep(0.002)
    return b"".join(chunks), [p if isinstance(p, int) else p.returncode for p in started]
