"""What scenario code (graders/NN_topic/scenario_<id>.py) imports: it runs beside the student's code."""

import time


class Fail(Exception):
    """Raise with a sentence for the student: the test fails with exactly that sentence."""


def wait_until(predicate, timeout: float, interval: float = 0.005):
    """Poll `predicate` until it returns something truthy or `timeout` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
