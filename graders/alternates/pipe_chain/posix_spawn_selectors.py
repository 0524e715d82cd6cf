"""Style: os.posix_spawnp with dup2 file actions and setsigdef=SIGPIPE; a selectors loop feeds and drains."""

import os
import selectors
import signal


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    in_r, in_w = os.pipe()
    entries: list[tuple[str, int]] = []  # ("pid", pid) or ("code", code)
    prev_r = in_r
    for argv in commands:
        r, w = os.pipe()
        try:
            pid = os.posix_spawnp(
                argv[0], argv, os.environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, prev_r, 0), (os.POSIX_SPAWN_DUP2, w, 1)],
                setsigdef=[signal.SIGPIPE],
            )
            entries.append(("pid", pid))
        except FileNotFoundError:
            entries.append(("code", 127))
        except OSError:
            entries.append(("code", 126))
        finally:
            os.close(prev_r)
            os.close(w)
        prev_r = r
    out_r = prev_r

    os.set_blocking(in_w, False)
    os.set_blocking(out_r, False)
    view = memoryview(input)
    chunks = []
    with selectors.DefaultSelector() as sel:
        if view:
            sel.register(in_w, selectors.EVENT_WRITE)
        else:
            os.close(in_w)
        sel.register(out_r, selectors.EVENT_READ)
        while sel.get_map():
            for key, _ in sel.select():
                if key.fd == in_w:
                    try:
                        n = os.write(in_w, view[:65536])
                        view = view[n:]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        view = view[:0]
                    if not view:
                        sel.unregister(in_w)
                        os.close(in_w)
                else:
                    try:
                        data = os.read(out_r, 65536)
                    except BlockingIOError:
                        continue
                    if data:
                        chunks.append(data)
                    else:
                        sel.unregister(out_r)
                        os.close(out_r)
    codes = []
    for kind, val in entries:
        if kind == "pid":
            _, status = os.waitpid(val, 0)
            codes.append(os.waitstatus_to_exitcode(status))
        else:
            codes.append(val)
    return b"".join(chunks), codes
