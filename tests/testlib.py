"""What every Python test script shares, with or without a server: check()
counts a check and prints a failure, finish() reports the counts and exits
(1 when a check failed)."""
import sys

_counts = {"checks": 0, "failures": 0}


def check(cond, what):
    _counts["checks"] += 1
    if not cond:
        _counts["failures"] += 1
        print(f"FAIL: {what}", flush=True)
    return bool(cond)


def finish(name):
    print(f"{name}: {_counts['checks']} checks, {_counts['failures']} failed")
    sys.exit(1 if _counts["failures"] else 0)
