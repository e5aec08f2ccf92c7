#!/usr/bin/env python3
"""--shard-key on a server that is not a mongos (issue 24, sharded
clusters): refused with exit 9 before anything is written.

usage: mongo_shard_test.py SWEFREQ_LOAD TESTDATA_DIR

The fixture's server is FerretDB (no sharding: its hello has no msg
"isdbgrid"), so every --shard-key load must be refused, and:
- on a database never loaded: exit 9, a message that says a mongos is
  needed and that nothing was written, and the database still has no
  collection at all (no swefreq_meta, no staging, no lock);
- on a loaded database: every collection, swefreq_meta included, is
  byte-identical before and after (documents as raw BSON, and indexes),
  for hashed and range, with and without regions, and with --json the
  outcome is one object with exit_code 9; verify --uri still passes;
- a bad value (--shard-key zoned) is a usage error (exit 2) naming the
  choices;
- a load without --shard-key on the same server still works.
Exit 77 when pymongo is missing (skipped).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TOOL, TD = sys.argv[1:3]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, connect, finish  # noqa: E402 (exits 77 without pymongo)
from bson.codec_options import CodecOptions  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

client, ferret, HIST = connect()
if "isdbgrid" == client.admin.command("hello").get("msg"):
    print("the test server is a mongos: this test is for servers that are not: skipped")
    sys.exit(77)
FRESH, LOADED = "sfl_shard_fresh", "sfl_shard_loaded"
DBSNP = os.path.join(TD, "dbsnp_sample.tsv")
# Regions need indexed files: bgzipped copies with their tabix indexes.
tmp = tempfile.mkdtemp(prefix="sfl_shard_")
VCF, COV = os.path.join(tmp, "exac.vcf.gz"), os.path.join(tmp, "coverage.tsv.gz")
for src, dst, tabix in ((os.path.join(TD, "exac_sample.vcf"), VCF, ["-p", "vcf"]),
                        (os.path.join(TD, "coverage_sample.tsv"), COV, ["-s1", "-b2", "-e2"])):
    with open(dst, "wb") as out:
        subprocess.run(["bgzip", "-c", src], stdout=out, check=True)
    subprocess.run(["tabix", "-f", *tabix, dst], check=True)


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=300)


def snapshot(db):
    """Every collection of db: its documents' bytes (sorted) and its indexes."""
    d = client.get_database(db, codec_options=CodecOptions(document_class=RawBSONDocument))
    out = {}
    for name in sorted(d.list_collection_names()):
        docs = sorted(x.raw for x in d[name].find({}))
        idx = sorted(json.dumps(i, sort_keys=True, default=str) for i in client[db][name].list_indexes())
        out[name] = (docs, idx)
    return out


for d in (FRESH, LOADED):
    client.drop_database(d)

# A database never loaded: refused, and it stays empty.
r = run("load", "--uri", URI, "--db", FRESH, *HIST, "--vcf", VCF, "--shard-key", "hashed")
check(r.returncode == 9, f"fresh database, --shard-key hashed: exit {r.returncode} {r.stderr}")
check("needs a mongos of a sharded cluster" in r.stderr and "nothing was written" in r.stderr
      and "--shard-key" in r.stderr and "isdbgrid" in r.stderr,
      f"the message says why and that nothing was written: {r.stderr}")
check("sfl_mongo_options_t" not in r.stderr, f"the CLI names its own flag: {r.stderr}")
check(client[FRESH].list_collection_names() == [],
      f"nothing written to the fresh database: {client[FRESH].list_collection_names()}")

# A loaded database: byte-identical after each refusal.
r = run("load", "--uri", URI, "--db", LOADED, *HIST, "--vcf", VCF, "--coverage", COV,
        "--dbsnp", DBSNP)
check(r.returncode == 0, f"a plain load: {r.returncode} {r.stderr}")
before = snapshot(LOADED)
check("swefreq_meta" in before and "variants" in before, f"loaded: {sorted(before)}")
cases = [
    ["--shard-key", "hashed"],
    ["--shard-key", "range"],
    ["--shard-key", "range", "--region", "1:69000-69500", "--region", "1:69501-70000"],
    ["--shard-key", "hashed", "--json"],
]
for extra in cases:
    r = run("load", "--uri", URI, "--db", LOADED, *HIST, "--vcf", VCF, "--coverage", COV,
            "--dbsnp", DBSNP, *extra)
    check(r.returncode == 9, f"{extra}: exit {r.returncode} {r.stderr}")
    check(snapshot(LOADED) == before, f"{extra}: the database changed")
    if "--json" in extra:
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        try:
            out = json.loads(lines[0]) if len(lines) == 1 else {}
        except ValueError:
            out = {}
        check(out.get("exit_code") == 9 and out.get("ok") is False
              and "needs a mongos" in str(out.get("error")),
              f"--json outcome: {r.stdout}")
    else:
        check("needs a mongos" in r.stderr, f"{extra}: message: {r.stderr}")
r = run("verify", "--uri", URI, "--db", LOADED)
check(r.returncode == 0, f"verify after the refusals: {r.returncode} {r.stdout} {r.stderr}")

# A bad value is a usage error, before any connection.
r = run("load", "--uri", URI, "--db", FRESH, *HIST, "--vcf", VCF, "--shard-key", "zoned")
check(r.returncode == 2 and "--shard-key must be hashed or range, not 'zoned'" in r.stderr,
      f"--shard-key zoned: {r.returncode} {r.stderr}")
check(client[FRESH].list_collection_names() == [], "still nothing in the fresh database")

# Without --shard-key the same load works on this server.
r = run("load", "--uri", URI, "--db", FRESH, *HIST, "--vcf", VCF)
check(r.returncode == 0, f"the load without --shard-key: {r.returncode} {r.stderr}")

for d in (FRESH, LOADED):
    client.drop_database(d)
shutil.rmtree(tmp, ignore_errors=True)
finish("mongo_shard")
