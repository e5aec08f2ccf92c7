#!/usr/bin/env python3
"""deploy/check-sharded.sh against the fixture's server, which is not a
mongos (FerretDB has no sharding): it must refuse clearly and write
nothing (docs/scale.md, "Checking a cluster").

usage: check_sharded_test.py SWEFREQ_LOAD SCRIPT

- bash -n accepts the script;
- with the URI in a file (SWEFREQ_MONGO_URI_FILE): exit 9, it names the
  server (FerretDB), shows swefreq-load's own refusal of --shard-key
  (exit 9, nothing written) and says to run it against a mongos; the
  scratch database has no collection afterwards;
- a URI on its command line is refused (exit 2) without echoing it; no
  URI at all is exit 2 naming SWEFREQ_MONGO_URI_FILE.
Exit 77 when pymongo is missing (skipped).
"""
import os
import stat
import subprocess
import sys
import tempfile

TOOL, SCRIPT = sys.argv[1:3]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish  # noqa: E402
import pymongo  # noqa: E402

client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
if client.admin.command("hello").get("msg") == "isdbgrid":
    print("the test server is a mongos: skipped")
    sys.exit(77)
DB = "sfl_check_sharded"
client.drop_database(DB)

r = subprocess.run(["bash", "-n", SCRIPT], capture_output=True, text=True)
check(r.returncode == 0, f"bash -n: {r.stderr}")

tmp = tempfile.mkdtemp(prefix="sfl_check_sharded_")
uri_file = os.path.join(tmp, "uri")
with open(uri_file, "w") as f:
    f.write(URI + "\n")
os.chmod(uri_file, stat.S_IRUSR | stat.S_IWUSR)
env = {k: v for k, v in os.environ.items() if not k.startswith("SWEFREQ_MONGO_URI")}
env.update(SWEFREQ_LOAD=TOOL, SWEFREQ_PYTHON=sys.executable)


def run(*args, **extra):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=120,
                          env={**env, **extra})


r = run("--db", DB, SWEFREQ_MONGO_URI_FILE=uri_file)
out = r.stdout + r.stderr
check(r.returncode == 9, f"against FerretDB: exit {r.returncode}: {out}")
check("server: FerretDB" in out, f"names the server: {out}")
check("needs a mongos of a sharded cluster" in out and "nothing was written" in out,
      f"shows swefreq-load's refusal: {out}")
check("a sharded load is refused (exit 9) and nothing was written" in out
      and "not a mongos: run this against the mongos of a sharded cluster" in out,
      f"says what to do: {out}")
check(client[DB].list_collection_names() == [], f"nothing in {DB}: {client[DB].list_collection_names()}")

secret = "mongodb://u:s3cr3t@h1:27017/"
r = run("--db", DB, secret, SWEFREQ_MONGO_URI_FILE=uri_file)
check(r.returncode == 2 and "never taken on the command line" in r.stderr
      and "s3cr3t" not in r.stdout + r.stderr, f"a URI as argument: {r.returncode} {r.stderr}")
r = run("--uri", secret)
check(r.returncode == 2 and "s3cr3t" not in r.stdout + r.stderr, f"--uri: {r.returncode} {r.stderr}")
r = run("--db", DB)
check(r.returncode == 2 and "SWEFREQ_MONGO_URI_FILE" in r.stderr, f"no URI: {r.returncode} {r.stderr}")

client.drop_database(DB)
finish("check_sharded")
