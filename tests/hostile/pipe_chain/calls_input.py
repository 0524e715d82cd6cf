"""Hostile: waits for keyboard input that never comes."""


def run_pipeline(commands, input=b""):
    answer = __import__("builtins").input("continue? ")
    return answer.encode(), [0] * len(commands)
