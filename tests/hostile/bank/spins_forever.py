"""Hostile: an endless busy loop in every method (CPU-bound, ignores nothing)."""
import threading  # noqa: F401


def _pause():
    pass


class Bank:
    def __init__(self, balances):
        while True:
            pass
