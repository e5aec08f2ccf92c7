"""What the MongoDB test scripts share: the server's URI (the fixture's, or
SWEFREQ_TEST_URI), check() and finish() (testlib.py), and require_faults()
for the proxy's fault injection.
Importing it exits 77 (skipped) when pymongo is missing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import check, finish  # noqa: E402,F401  (re-exported)

try:
    import pymongo  # noqa: F401
except ImportError:
    print("pymongo is not installed: skipped")
    sys.exit(77)

if os.environ.get("SWEFREQ_TEST_URI"):
    URI = os.environ["SWEFREQ_TEST_URI"]
else:
    URI = open(os.environ["SWEFREQ_TEST_URI_FILE"]).read().strip()

def require_faults(db):
    """The test server's fault injection (tests/faults.py) for database db;
    exits 77 with an external server, which has none."""
    from faults import Faults
    f = Faults.from_env(db)
    if not f:
        print("no fault-injection control port (external server): skipped")
        sys.exit(77)
    return f


def connect():
    """A client of the test server, whether it is FerretDB, and the load
    options the server needs (FerretDB cannot store the histogram pairs)."""
    import pymongo
    client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
    ferret = "ferretdbVersion" in client.admin.command("buildInfo")
    return client, ferret, (["--histograms", "columns"] if ferret else [])
