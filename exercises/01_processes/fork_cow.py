"""Watch fork share memory until somebody writes: copy-on-write.

After os.fork() the child has a copy of the parent's memory: its data, its heap and its
stack. The kernel does not copy a single byte at fork time, though. Parent and child share
every page, marked read-only, and a page is copied the first time one of them writes to it:
copy-on-write (写时复制). Read exercises/01_processes/README.md first.

Contract
--------
cow_fork(size, fill, offsets, mark, checkpoint) -> the parent's buffer

* Makes a buffer of `size` bytes (a multiple of mmap.PAGESIZE) that is private to this
  process: a bytearray, or an anonymous mmap made with flags=mmap.MAP_PRIVATE
  (mmap.mmap(-1, size) alone is MAP_SHARED: real shared memory, never copied). Before
  forking, sets every byte of it to `fill`, so that every page is in memory when fork
  happens.
* Forks exactly one child, with os.fork().
* The child, right after fork and before writing anything, calls
  checkpoint("forked", buf) with its buffer; then writes the byte `mark` at each offset in
  `offsets` (one byte per offset, nothing else); then calls checkpoint("written", buf);
  then ends with os._exit(0). It never returns, nor raises, into the code that called
  cow_fork, even when checkpoint raises: any exception, KeyboardInterrupt and SystemExit
  included, ends the child with os._exit too (put its work in try/finally). Each call of
  checkpoint blocks until the grader has looked at both processes from outside, then
  returns None.
* The parent never writes into the buffer after fork: the child's writes land in the
  child's own copies of those pages and stay invisible to the parent.
* The parent waits for the child, so that when cow_fork returns the child has been
  reaped (it is not left a zombie). It waits for that child by its pid: the caller may
  have other children of its own (a zombie among them), which cow_fork leaves alone.
* Returns the parent's buffer: `size` bytes, every one of them still `fill`.

What the grader sees meanwhile in /proc/PID/pagemap and /proc/PID/smaps_rollup: at
"forked", parent and child share every page of the buffer; at "written", exactly the pages
that hold one of the offsets are the child's own (Private_Dirty), the others are still
shared (Shared_Dirty).

Example
-------
    buf = cow_fork(8 << 20, 0x5A, [4096 * 3 + 10, 4096 * 700], 0xA5, checkpoint)
    buf[4096 * 3 + 10] == 0x5A     # the child wrote 0xA5 there, in its own copy of page 3
"""

import mmap  # noqa: F401  (mmap.PAGESIZE, mmap.MAP_PRIVATE)
import os  # noqa: F401  (os.fork, os.waitpid, os._exit)


def cow_fork(size, fill, offsets, mark, checkpoint):
    # TODO: make the private buffer and fill it; fork; in the child: checkpoint("forked", buf),
    # write `mark` at each offset, checkpoint("written", buf), os._exit(0); in the parent: wait
    # for the child, then return the buffer.
    raise NotImplementedError("cow_fork")
