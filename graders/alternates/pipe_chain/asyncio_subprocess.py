"""Style: asyncio.create_subprocess_exec, os.pipe() between commands, asyncio streams at both ends."""

import asyncio
import os


async def _run(commands: list[list[str]], data: bytes) -> tuple[bytes, list[int]]:
    n = len(commands)
    procs: list = []
    prev_r = None
    for i, argv in enumerate(commands):
        r = w = None
        if i < n - 1:
            r, w = os.pipe()
        try:
            p = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if i == 0 else prev_r,
                stdout=asyncio.subprocess.PIPE if i == n - 1 else w,
            )
            procs.append(p)
        except FileNotFoundError:
            procs.append(127)
        except PermissionError:
            procs.append(126)
        finally:
            if prev_r is not None:
                os.close(prev_r)
            if w is not None:
                os.close(w)
        prev_r = r

    async def feed() -> None:
        first = procs[0]
        if isinstance(first, int):
            return
        try:
            first.stdin.write(data)
            await first.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            first.stdin.close()

    async def drain() -> bytes:
        last = procs[-1]
        if isinstance(last, int):
            return b""
        return await last.stdout.read()

    _, out = await asyncio.gather(feed(), drain())
    codes = [p if isinstance(p, int) else await p.wait() for p in procs]
    return out, codes


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    return asyncio.run(_run(commands, input))
