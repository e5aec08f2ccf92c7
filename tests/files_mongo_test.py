#!/usr/bin/env python3
"""File handling of the commands that talk to a server, against the test
server: export never follows a link, restore checks a dump before it
sends anything, and a duplicate key names its collection and _id.

usage: files_mongo_test.py SWEFREQ_LOAD TESTDATA_DIR

- `export` onto OUT/NAME that is a link to a folder holding an unrelated
  file and an earlier dump: exit 4 ("symbolic link"), the folder
  byte-identical; leftovers of a dead export planted as links to it are
  removed as links;
- `restore` of a dump with one malformed BSON document: exit 3 at once,
  naming the file and the document's byte offset, no retries, and the
  target database exactly as before (every collection and swefreq_meta);
- `restore` of a dump whose variants.bson repeats a document (its manifest
  made to match): exit 8 naming the collection and the _id;
- `load` of a dbSNP file with a repeated row: exit 3 with file and line,
  the database unchanged.
Exit 77 when pymongo is missing (skipped).
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish  # noqa: E402
import digest_kat  # noqa: E402  (the format-2 digest, computed without swefreq-load)

import bson  # noqa: E402
import pymongo  # noqa: E402

TOOL, TD = sys.argv[1:3]
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
ferret = "ferretdbVersion" in client.admin.command("buildInfo")
HIST = ["--histograms", "columns"] if ferret else []
SWEGEN = os.path.join(TD, "swegen_sample.vcf")
COV = os.path.join(TD, "coverage_sample.tsv")


def run(*args, timeout=120):
    e = dict(os.environ)
    e.pop("SWEFREQ_EXPECT_ROLE", None)
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=e)


def tree(folder):
    out = {}
    for root, dirs, files in os.walk(folder):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, folder)
            if os.path.islink(p):
                out[rel] = "-> " + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def snapshot(db):
    return {name: sorted(repr(d) for d in client[db][name].find())
            for name in sorted(client[db].list_collection_names())}


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


tmp = tempfile.mkdtemp(prefix="sfl_files_mongo_")
db, tgt = "sfl_files_src", "sfl_files_tgt"
try:
    for d in (db, tgt):
        client.drop_database(d)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", SWEGEN, "--coverage", COV, "--quiet")
    check(r.returncode == 0, f"load: {r.returncode} {r.stderr}")
    r = run("load", "--uri", URI, "--db", tgt, *HIST, "--coverage", COV, "--quiet")
    check(r.returncode == 0, f"load of the target: {r.returncode} {r.stderr}")

    # export onto a link.
    good = os.path.join(tmp, "good")
    r = run("export", "--uri", URI, "--db", db, "--out", good)
    check(r.returncode == 0, f"export: {r.returncode} {r.stderr}")
    other = os.path.join(tmp, "other")
    shutil.copytree(os.path.join(good, db), other)
    open(os.path.join(other, "unrelated.txt"), "w").write("keep me\n")
    before = tree(other)
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    os.symlink(other, os.path.join(out, db))
    r = run("export", "--uri", URI, "--db", db, "--out", out)
    check(r.returncode == 4 and "symbolic link" in r.stderr,
          f"export onto OUT/NAME -> other/: {r.returncode} {r.stderr!r}")
    check(tree(other) == before, "export onto a link: other/ byte-identical")
    check(os.listdir(out) == [db], f"export onto a link: nothing else in OUT: {os.listdir(out)}")
    out2 = os.path.join(tmp, "out2")
    os.mkdir(out2)
    pid = dead_pid()
    for name in (f".{db}.export-{pid}", f".{db}.old-{pid}"):
        os.symlink(other, os.path.join(out2, name))
    r = run("export", "--uri", URI, "--db", db, "--out", out2)
    check(r.returncode == 0 and sorted(os.listdir(out2)) == [db],
          f"export beside leftover links: {r.returncode} {os.listdir(out2)} {r.stderr}")
    check(tree(other) == before, "export's leftover links: other/ byte-identical")

    # restore of a dump with one malformed document.
    bad = os.path.join(tmp, "bad", db)
    shutil.copytree(os.path.join(good, db), bad)
    vb = os.path.join(bad, "variants.bson")
    data = bytearray(open(vb, "rb").read())
    off = 0
    for _ in range(2):  # the third document
        off += struct.unpack_from("<i", data, off)[0]
    # its _id string (the first element: type, "_id\0", int32 length) gets
    # a length past the document's end
    check(data[off + 4] == 2 and data[off + 5:off + 9] == b"_id\0", "the _id is the first field")
    struct.pack_into("<i", data, off + 9, 1 << 20)
    open(vb, "wb").write(bytes(data))
    before_db = snapshot(tgt)
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", bad, timeout=60)
    check(r.returncode == 3 and f"{vb}: document 3 at byte {off} is not valid BSON" in r.stderr,
          f"malformed document: exit {r.returncode} {r.stderr!r}")
    check("retrying" not in r.stderr and "lost the connection" not in r.stderr,
          f"no retries: {r.stderr!r}")
    check(snapshot(tgt) == before_db, "malformed document: the target database unchanged")

    # restore of a dump that repeats a document, its manifest made to match.
    dup = os.path.join(tmp, "dup", db)
    shutil.copytree(os.path.join(good, db), dup)
    vb = os.path.join(dup, "variants.bson")
    data = open(vb, "rb").read()
    first = data[:struct.unpack_from("<i", data, 0)[0]]
    open(vb, "ab").write(first)
    the_id = bson.decode(first)["_id"]
    r = run("verify", "--dump", dup, "--json")
    rep = json.loads(r.stdout)
    man = json.load(open(os.path.join(dup, "manifest.json")))
    for c in man["collections"]:
        for item in rep["collections"]:
            if item["name"] == c["name"]:
                # verify reports fingerprints: the full digest from digest_kat
                with open(os.path.join(dup, c["name"] + ".bson"), "rb") as f:
                    c["count"], c["digest"] = item["actual_count"], digest_kat.digest_text(f.read())
                c["bytes"] = os.path.getsize(os.path.join(dup, c["name"] + ".bson"))
    json.dump(man, open(os.path.join(dup, "manifest.json"), "w"))
    r = run("verify", "--dump", dup)
    check(r.returncode == 0, f"the duplicate's manifest matches: {r.stdout} {r.stderr}")
    before_db = snapshot(tgt)
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", dup, timeout=120)
    check(r.returncode == 8 and "variants" in r.stderr and the_id in r.stderr
          and "duplicate" in r.stderr and "duplicate variant:" not in r.stderr,
          f"duplicate document: exit {r.returncode} {r.stderr!r}")
    print("restore of a repeated document says:", r.stderr.strip())
    after = snapshot(tgt)
    browser = {k: v for k, v in after.items() if k != "swefreq_meta"}
    check(browser == {k: v for k, v in before_db.items() if k != "swefreq_meta"},
          "duplicate document: the browser's collections unchanged")

    # load of a dbSNP file with a repeated row.
    rows = open(os.path.join(TD, "dbsnp_sample.tsv")).read().splitlines()
    d = os.path.join(tmp, "dup_dbsnp.tsv")
    open(d, "w").write("\n".join(rows[:3] + [rows[2]] + rows[3:]) + "\n")
    before_db = snapshot(tgt)
    r = run("load", "--uri", URI, "--db", tgt, "--dbsnp", d, "--quiet")
    check(r.returncode == 3 and f"{d}: line 4:" in r.stderr and "duplicate dbSNP id" in r.stderr,
          f"load of a repeated dbSNP row: {r.returncode} {r.stderr!r}")
    after = snapshot(tgt)
    check({k: v for k, v in after.items() if k != "swefreq_meta"} ==
          {k: v for k, v in before_db.items() if k != "swefreq_meta"},
          "repeated dbSNP row: the browser's collections unchanged")
finally:
    for d in (db, tgt):
        client.drop_database(d)
    shutil.rmtree(tmp, ignore_errors=True)

finish("files_mongo_test")
