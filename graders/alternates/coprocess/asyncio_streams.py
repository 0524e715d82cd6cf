"""Style: asyncio streams over the two pipes of a subprocess.Popen child: one coroutine writes
every question (awaiting drain, so it waits while the pipe is full) and closes the child's stdin,
another reads lines with StreamReader.readline, both run by asyncio.gather on one thread; the
child is waited for with Popen.wait after the event loop is closed (no executor, no watcher
thread)."""

import asyncio
import subprocess


async def _talk(p: subprocess.Popen, questions: list[str]) -> list[str]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 30)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), p.stdout)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, p.stdin)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)

    async def send() -> None:
        try:
            for q in questions:
                writer.write(q.encode("utf-8") + b"\n")
                await writer.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass                              # the child is gone: stop writing
        finally:
            writer.close()                    # end-of-file for the child

    async def receive() -> list[str]:
        answers = []
        while len(answers) < len(questions):
            line = await reader.readline()
            if not line.endswith(b"\n"):
                break
            answers.append(line[:-1].decode("utf-8"))
        return answers

    _, answers = await asyncio.gather(send(), receive())
    return answers


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        answers = asyncio.run(_talk(p, questions))
    finally:
        for f in (p.stdin, p.stdout):
            try:
                f.close()
            except OSError:
                pass
        rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError(f"the child answered {len(answers)} of {len(questions)} questions")
    return answers, rc
