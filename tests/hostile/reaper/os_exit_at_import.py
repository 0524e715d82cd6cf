"""Hostile: leaves the interpreter with os._exit while being imported."""
import os

os._exit(0)
