"""Bug: uses asyncio.create_subprocess_exec, whose child watcher on Python 3.11 (ThreadedChildWatcher) runs a waitpid thread that may still be alive when ask_all returns, breaking "every thread ask_all started has ended" (shows only sometimes, a race, and only on Pythons whose asyncio uses that watcher; the demo holds the window open).
Talk to a child process through two pipes, line by line: a coprocess (协同进程)."""
import asyncio


async def _talk(argv, questions):
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, limit=1 << 30)

    async def send():
        try:
            for q in questions:
                proc.stdin.write(q.encode("utf-8") + b"\n")
                await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            proc.stdin.close()

    async def receive():
        answers = []
        while len(answers) < len(questions):
            line = await proc.stdout.readline()
            if not line.endswith(b"\n"):
                break
            answers.append(line[:-1].decode("utf-8"))
        return answers

    _, answers = await asyncio.gather(send(), receive())
    rc = await proc.wait()
    return answers, rc


def ask_all(argv, questions):
    answers, rc = asyncio.run(_talk(argv, questions))
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers, rc
