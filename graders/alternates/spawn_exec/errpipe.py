"""Correct alternate, style: subprocess's close-on-exec error pipe."""

import errno
import os


def spawn(argv: list[str], preexec_fn=None) -> int:
    errr, errw = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(errr)
        os.close(errw)
        raise
    if pid == 0:
        code = 126
        try:
            os.close(errr)
            if preexec_fn is not None:
                preexec_fn()
            os.closerange(3, errw)
            os.closerange(errw + 1, os.sysconf("SC_OPEN_MAX"))
            os.execvp(argv[0], argv)
        except OSError as e:
            code = 127 if e.errno == errno.ENOENT else 126
            try:
                os.write(errw, b"%d" % (e.errno or 0))
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(errw)
    try:
        report = b""
        while chunk := os.read(errr, 64):
            report += chunk
    finally:
        os.close(errr)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
