"""Reading a submission's graded files safely: regular files inside the submission only, never blocking."""

import contextlib
import os
import stat

LIMIT = 1 << 20


class BadSubmission(Exception):
    """A graded file that cannot be graded; .message is one sentence for the student."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _shown(relpath: str) -> str:
    """The path as the student sees it in their checkout."""
    return relpath if relpath.startswith("exercises/") else f"exercises/{relpath}"


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in the student's words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _escaping_link(root: str, relpath: str, real_root: str) -> tuple[str, str] | None:
    """The first symbolic link on the way to ROOT/RELPATH that leads outside ROOT: (its relpath, its text)."""
    parts = relpath.split("/")
    for n in range(1, len(parts) + 1):
        path = os.path.join(root, *parts[:n])
        if os.path.islink(path) and not _inside(os.path.realpath(path), real_root):
            return "/".join(parts[:n]), os.readlink(path)
    return None


def _read_upto(fd: int, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = os.read(fd, min(1 << 16, size - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_graded_file(root: str, relpath: str, limit: int = LIMIT) -> bytes:
    """The bytes of ROOT/RELPATH (relpath like '03_pipes/pipe_chain.py'), or BadSubmission when it is missing,
    is not a regular file (a FIFO, a socket, a device, a directory), resolves (symlinks followed) to a place
    outside ROOT, or is larger than limit. Never blocks: a FIFO is detected without waiting for a writer."""
    name = _shown(relpath)
    fix = f"put your code back in a regular file (git checkout -- {name} restores the stub)"
    path = os.path.join(root, relpath)
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if not _inside(real, real_root):
        link = _escaping_link(root, relpath, real_root)
        if link is None:
            raise BadSubmission(f"{name} lies outside your submission: graded files must be ordinary files "
                                f"inside it; {fix}")
        where, text = link
        if where == relpath:
            raise BadSubmission(f"{name} is a symbolic link to {text} outside your submission: graded files must "
                                f"be ordinary files inside it; {fix}")
        raise BadSubmission(f"{_shown(where)} is a symbolic link to {text} outside your submission, so {name} is "
                            f"not in your submission: replace the link with your own folder "
                            f"(rm {_shown(where)} && git checkout -- {_shown(where)} restores it)")
    try:
        kind = _kind(os.stat(real).st_mode)  # before opening: opening a device can have effects of its own
    except FileNotFoundError:
        raise BadSubmission(f"{name} is missing: git checkout -- {name} restores the stub") from None
    except OSError as exc:
        raise BadSubmission(f"{name} cannot be read ({exc.strerror}): {fix}") from None
    if kind:
        raise BadSubmission(f"{name} is {kind}, not a regular file: graded files must be ordinary files; {fix}")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise BadSubmission(f"{name} cannot be read ({exc.strerror}): {fix}") from None
    try:
        kind = _kind(os.fstat(fd).st_mode)  # it may have been swapped since the stat
        if kind:
            raise BadSubmission(f"{name} is {kind}, not a regular file: graded files must be ordinary files; {fix}")
        data = _read_upto(fd, limit + 1)
    except OSError as exc:
        raise BadSubmission(f"{name} cannot be read ({exc.strerror}): {fix}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise BadSubmission(f"{name} is larger than {limit} bytes, more than any graded file needs: "
                            f"keep data out of it; git checkout -- {name} restores the stub")
    return data


def _make_folders(dest_root: str, relfolder: str) -> None:
    path = dest_root
    for part in filter(None, relfolder.split("/")):
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            continue
        os.chmod(path, 0o755)  # mkdir's mode is reduced by the umask


def private_copy(src_root: str, dest_root: str, relpaths: list[str]) -> dict[str, str]:
    """Copy each graded file that read_graded_file accepts into DEST_ROOT/RELPATH (fresh regular files, mode 0644,
    folders 0755); return {relpath: sentence} for each one refused (nothing is written for those)."""
    refused = {}
    for relpath in relpaths:
        try:
            data = read_graded_file(src_root, relpath)
        except BadSubmission as exc:
            refused[relpath] = exc.message
            continue
        _make_folders(dest_root, os.path.dirname(relpath))
        dest = os.path.join(dest_root, relpath)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    return refused
