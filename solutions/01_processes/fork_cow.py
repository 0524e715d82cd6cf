"""Watch fork share memory until somebody writes: copy-on-write.

cow_fork() fills a private buffer, forks, and lets the child write a few bytes into its copy
while the grader watches both processes from outside: the kernel copies only the pages the
child writes to; the parent's buffer never changes.
"""

import os


def cow_fork(size, fill, offsets, mark, checkpoint):
    # bytearray memory is private to this process (malloc, MAP_PRIVATE). Writing `fill` into
    # every byte makes the kernel give every page a frame now, before fork: an untouched page
    # would not be in memory at all, and there would be nothing to share.
    buf = bytearray([fill]) * size

    pid = os.fork()
    if pid == 0:
        # The child. Its page table points at the parent's frames, all of them read-only.
        code = 1
        try:
            checkpoint("forked", buf)          # everything still shared
            for offset in offsets:
                # The first write to a shared page faults; the kernel copies that one page
                # (4 KiB) for the child and lets the write go on in the copy.
                buf[offset] = mark
            checkpoint("written", buf)         # only the written pages are the child's own
            code = 0
        finally:
            # Never return into the caller's code: a forked child that returns would go on
            # running the parent's program (its finally blocks, its tests, ...).
            os._exit(code)

    # The parent: do not touch buf (a write here would copy pages too). Wait for the child:
    # until then it is our child, and once it exits, a zombie until we reap it.
    os.waitpid(pid, 0)
    return buf
