"""Hostile (graceful_worker): writes megabytes to stdout with no newline while the grader waits for
`ready`, to grow the grader's buffer without end. The grader stops reading after 1 MiB without a
newline and fails the test."""
import os

chunk = b"y" * (1 << 20)
while True:
    os.write(1, chunk)
