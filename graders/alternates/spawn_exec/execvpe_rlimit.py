"""Correct alternate, style: explicit environment and the fd limit from getrlimit."""

import errno
import os
import resource


def spawn(argv: list[str], preexec_fn=None) -> int:
    pid = os.fork()
    if pid != 0:
        while True:
            wpid, status = os.waitpid(pid, 0)
            if wpid == pid:
                return os.waitstatus_to_exitcode(status)
    try:
        if preexec_fn is not None:
            preexec_fn()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        top = hard if hard != resource.RLIM_INFINITY else 1 << 20
        os.closerange(3, max(top, soft, 1 << 16))
        os.execvpe(argv[0], argv, os.environ)
    except OSError as e:
        os._exit(127 if e.errno == errno.ENOENT else 126)
    except BaseException:  # noqa: BLE001
        os._exit(126)
    os._exit(126)  # not reached: a successful exec never returns
