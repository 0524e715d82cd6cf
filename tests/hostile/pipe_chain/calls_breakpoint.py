"""Hostile: a leftover breakpoint()."""


def run_pipeline(commands, input=b""):
    breakpoint()
    return b"", [0] * len(commands)
