"""The four statuses and the exceptions that carry them out of a test."""

PASS, FAIL, TODO, ERROR = "pass", "fail", "todo", "error"


class Outcome(Exception):
    """A verdict with a sentence for the student."""

    status = FAIL

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Failure(Outcome):
    """The student's code ran and did something the contract forbids."""


class Timeout(Failure):
    """A wait ran out: the message names what was still awaited."""


class Todo(Outcome):
    """Nothing to grade yet: an untouched stub, or NotImplementedError."""

    status = TODO


class GradingError(Outcome):
    """The code could not be graded (it does not import), or the grader broke."""

    status = ERROR


def status_of(exc: BaseException) -> str:
    if isinstance(exc, Outcome):
        return exc.status
    if isinstance(exc, AssertionError):
        return FAIL
    return ERROR


def message_of(exc: BaseException) -> str:
    """The student-facing sentence: for a rewritten assert, the message without pytest's explanation."""
    if isinstance(exc, Outcome):
        return exc.message
    text = str(exc)
    if isinstance(exc, AssertionError):
        head, sep, _ = text.partition("\nassert ")
        text = head if sep else text
        return text.strip() or "an assertion failed"
    return f"the grader crashed ({type(exc).__name__}: {text}); please report this"
