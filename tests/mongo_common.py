"""What the MongoDB test scripts share: the server's URI (the fixture's, or
SWEFREQ_TEST_URI), a check() that counts failures, finish() that reports
them and exits, and require_faults() for the proxy's fault injection.
Importing it exits 77 (skipped) when pymongo is missing."""
import os
import sys

try:
    import pymongo  # noqa: F401
except ImportError:
    print("pymongo is not installed: skipped")
    sys.exit(77)

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


def require_faults(db):
    """The test server's fault injection (tests/faults.py) for database db;
    exits 77 with an external server, which has none."""
    from faults import Faults
    f = Faults.from_env(db)
    if not f:
        print("no fault-injection control port (external server): skipped")
        sys.exit(77)
    return f
