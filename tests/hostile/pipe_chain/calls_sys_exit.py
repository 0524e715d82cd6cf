"""Hostile: ends the interpreter instead of returning."""
import sys


def run_pipeline(commands, input=b""):
    sys.exit(0)
