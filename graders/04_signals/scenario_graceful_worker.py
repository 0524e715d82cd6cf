"""Scenario side of graceful_worker: nothing runs here.

graceful_worker is a program: test_graceful_worker.py starts it with exercise.program([...]),
signals it with kill and inspects its output file and /proc from outside, so every check
lives on the test side. This module exists because every exercise has a scenario file.
"""
