"""Hostile: leaves a double-forked daemon running (re-parented to the subreaper, then killed)."""
import os
import subprocess


def run_pipeline(commands, input=b""):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.wait()
    procs = subprocess.run(commands[-1], input=input, capture_output=True)
    return procs.stdout, [procs.returncode] * len(commands)
