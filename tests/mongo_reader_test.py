#!/usr/bin/env python3
"""A damaged input never loads as complete (against a real server).

usage: mongo_reader_test.py SWEFREQ_LOAD TESTDATA_DIR

The issue's repro: 40,000 records bgzipped, 2,000 bytes cut out of the
last full data block with the end-of-file marker kept. `load` of it, at
--threads 1, 2 and 8, must exit 3 naming the bad block, record the load
as failed (never complete), and leave the browser's collections as the
previous load made them, which `verify --uri --sources` still proves.
Exit 77 when pymongo is missing (skipped).
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import pymongo
except ImportError:
    print("pymongo is not installed: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import Checks, sample_header, write_sites  # noqa: E402

TOOL, TD = sys.argv[1], sys.argv[2]
T = Checks("mongo_reader_test", TOOL)
check, run = T.check, T.run
URI = os.environ.get("SWEFREQ_TEST_URI") or open(os.environ["SWEFREQ_TEST_URI_FILE"]).read().strip()
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
HIST = ["--histograms", "columns"] if "ferretdbVersion" in client.admin.command("buildInfo") else []
DB = "sfl_test_reader"

tmp = tempfile.mkdtemp(prefix="sfl_mongo_reader_")
try:
    client.drop_database(DB)
    good = os.path.join(TD, "swegen_sample.vcf")
    manifest = os.path.join(tmp, "good.json")
    r = run("load", "--uri", URI, "--db", DB, *HIST, "--vcf", good, "--manifest", manifest)
    check(r.returncode == 0, f"load of the sample: exit {r.returncode} {r.stderr}")
    before = client[DB]["variants"].count_documents({})

    vcf = os.path.join(tmp, "gen.vcf")
    write_sites(vcf, sample_header(TD), 40000, more_info=True)
    gz = vcf + ".gz"
    subprocess.run(["bgzip", "-c", vcf], stdout=open(gz, "wb"), check=True)
    data = open(gz, "rb").read()
    blocks, off = [], 0
    while off < len(data):
        bsize = struct.unpack("<H", data[off + 16:off + 18])[0] + 1
        blocks.append((off, bsize))
        off += bsize
    start, bsize = [b for b in blocks if b[1] > 4000][-1]
    cut = os.path.join(tmp, "cut.vcf.gz")
    open(cut, "wb").write(data[:start + bsize - 2000] + data[start + bsize:])

    meta = client[DB]["swefreq_meta"]
    for i, t in enumerate(("1", "2", "8")):
        r = run("load", "--uri", URI, "--db", DB, *HIST, "--threads", t, "--vcf", cut)
        check(r.returncode == 3 and f"the block at compressed byte {start} is bad" in r.stderr,
              f"load of the damaged file, {t} threads: exit {r.returncode} {r.stderr!r}")
        check(client[DB]["variants"].count_documents({}) == before,
              f"{t} threads: the variants collection changed")
        # ("started" has one-second resolution: count the records instead)
        complete = meta.count_documents({"status": "complete"})
        failed = meta.count_documents({"status": "failed"})
        check(complete == 1 and failed == i + 1,
              f"{t} threads: {complete} complete and {failed} failed load records")
        check(not [n for n in client[DB].list_collection_names() if n.startswith("swefreq_staging_")],
              f"{t} threads: staging left")
    r = run("verify", "--uri", URI, "--db", DB, "--manifest", manifest, "--sources")
    check(r.returncode == 0, f"verify against the sample's manifest: {r.stdout} {r.stderr}")
finally:
    client.drop_database(DB)
    shutil.rmtree(tmp, ignore_errors=True)

T.done()
