"""Style: os.fork + os.execv on a PATH search done in the child, non-blocking selectors feeder."""

import os
import selectors
import signal


def _child(argv: list[str], fd0: int, fd1: int) -> None:
    code = 127
    try:
        os.dup2(fd0, 0)
        os.dup2(fd1, 1)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        name = argv[0]
        dirs = [""] if "/" in name else os.get_exec_path()
        for d in dirs:
            path = os.path.join(d, name) if d else name
            try:
                os.execv(path, argv)
            except FileNotFoundError:
                continue
            except NotADirectoryError:
                continue
            except OSError:
                code = 126
    finally:
        os._exit(code)


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    links = [os.pipe() for _ in range(len(commands) + 1)]
    pids = []
    for i, argv in enumerate(commands):
        pid = os.fork()
        if pid == 0:
            _child(argv, links[i][0], links[i + 1][1])
        pids.append(pid)
        os.close(links[i][0])
        os.close(links[i + 1][1])
        if i + 1 < len(commands):
            pass  # links[i+1][0] is handed to the next child, closed after its fork
    in_w = links[0][1]
    out_r = links[-1][0]
    os.set_blocking(in_w, False)
    os.set_blocking(out_r, False)
    sel = selectors.DefaultSelector()
    pos = 0
    if input:
        sel.register(in_w, selectors.EVENT_WRITE)
    else:
        os.close(in_w)
    sel.register(out_r, selectors.EVENT_READ)
    out = bytearray()
    try:
        while sel.get_map():
            for key, _ in sel.select():
                if key.fd == in_w:
                    try:
                        pos += os.write(in_w, input[pos:pos + 65536])
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        pos = len(input)
                    if pos >= len(input):
                        sel.unregister(in_w)
                        os.close(in_w)
                else:
                    try:
                        data = os.read(out_r, 65536)
                    except BlockingIOError:
                        continue
                    if data:
                        out += data
                    else:
                        sel.unregister(out_r)
                        os.close(out_r)
    finally:
        sel.close()
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    return bytes(out), codes
