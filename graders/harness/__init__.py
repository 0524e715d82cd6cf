"""proclab's grading harness: run student code in isolation, inspect the OS, score, report."""
