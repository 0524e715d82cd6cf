"""Correct alternate, style: a compact version that copies argv into a tuple and uses
os.WIFSIGNALED/os.WTERMSIG via a small table of handlers; the whole child is one function
that can only end in os._exit."""

import os


def _child(argv, preexec_fn):
    try:
        if preexec_fn:
            preexec_fn()
        os.closerange(3, 1 << 20)
        os.execvp(argv[0], argv)
    except FileNotFoundError:
        os._exit(127)
    except OSError:
        os._exit(126)
    except BaseException:  # noqa: BLE001
        os._exit(126)
    finally:
        os._exit(126)


def spawn(argv: list[str], preexec_fn=None) -> int:
    argv = tuple(argv)
    pid = os.fork()
    if not pid:
        _child(argv, preexec_fn)
    status = os.waitpid(pid, 0)[1]
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
