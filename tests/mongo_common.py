"""What the MongoDB test scripts share: the server's URI (the fixture's, or
SWEFREQ_TEST_URI), a check() that counts failures, and finish() that
reports them and exits."""
import os
import sys

if os.environ.get("SWEFREQ_TEST_URI"):
    URI = os.environ["SWEFREQ_TEST_URI"]
else:
    URI = open(os.environ["SWEFREQ_TEST_URI_FILE"]).read().strip()

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
