"""Hostile: prints without end (the file-size limit and the log file, not a pipe, hold it)."""


def run_pipeline(commands, input=b""):
    while True:
        print("y" * 4096)
