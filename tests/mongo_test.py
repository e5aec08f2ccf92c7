#!/usr/bin/env python3
"""MongoDB tests of `swefreq-load load` and `verify --uri`, against a real
server (the FerretDB fixture of tests/server, or SWEFREQ_TEST_URI).

usage: mongo_test.py MODE SWEFREQ_LOAD TESTDATA_DIR BENCH_GEN_DIR
  MODE load: sample load (counts, documents equal the dump's, indexes,
             clean verify), load twice with a polling reader, errors
             (duplicate, wrong credentials, unreachable, refused shape),
             tampering caught by verify
  MODE kill: the server is killed mid-load; the loader fails clearly, the
             browser's collections are unchanged, a rerun succeeds
  MODE defects: a ':' in the password is never printed; verify --uri uses
             the load in force; an unwritable --manifest stops the load
             before the swap
Exit 77 when pymongo is missing (skipped).
"""
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

try:
    import bson
    import pymongo
except ImportError:
    print("pymongo is not installed: skipped")
    sys.exit(77)

MODE, TOOL, TD, GEN = sys.argv[1:5]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish  # noqa: E402

client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
ferret = "ferretdbVersion" in client.admin.command("buildInfo")
HIST = ["--histograms", "columns"] if ferret else []


def run(*args, timeout=300):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout)


def staging_left(db):
    return [n for n in client[db].list_collection_names() if n.startswith("swefreq_staging_")]


tmp = tempfile.mkdtemp(prefix="sfl_mongo_")
exac = os.path.join(TD, "exac_sample.vcf")
cov = os.path.join(TD, "coverage_sample.tsv")


def synthetic(sites):
    path = os.path.join(tmp, f"syn{sites}.vcf")
    with open(path, "w") as f:
        subprocess.run([sys.executable, os.path.join(GEN, "gen_exac_vcf.py"), "--sites", str(sites)],
                       stdout=f, stderr=subprocess.DEVNULL, check=True)
    return path


def test_load():
    db = "sfl_test_load"
    client.drop_database(db)
    client[db]["other"].insert_one({"_id": 1, "keep": True})
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--coverage", cov,
            "--manifest", os.path.join(tmp, "m1.json"))
    check(r.returncode == 0, f"load sample: exit {r.returncode}: {r.stderr}")
    check(client[db]["variants"].count_documents({}) == 24, "24 variants")
    check(client[db]["base_coverage"].count_documents({}) == 40, "40 coverage documents")
    check(client[db]["other"].find_one({"_id": 1}) == {"_id": 1, "keep": True}, "other collection untouched")
    client[db]["other"].drop()  # verify below would report it `unlisted`
    check(not staging_left(db), "no staging collection left")
    names = set(client[db]["variants"].index_information())
    for ix in ["_id_", "xpos_1", "xstart_1", "xstop_1", "rsid_1", "genes_1", "transcripts_1",
               "xpos_1_ref_1_alt_1"]:
        check(ix in names, f"variants index {ix}")
    check("xpos_1" in client[db]["base_coverage"].index_information(), "base_coverage xpos index")
    meta = list(client[db]["swefreq_meta"].find({"status": "complete"}))
    check(len(meta) == 1 and meta[0]["manifest"]["format"] == "swefreq-load-manifest", "load recorded")
    # Documents read back equal the dump's documents, field order included.
    out = os.path.join(tmp, "dump")
    r = run("dump", "--out", out, "--db", "d", *HIST, "--vcf", exac)
    check(r.returncode == 0, f"dump: {r.stderr}")
    with open(os.path.join(out, "d", "variants.bson"), "rb") as f:
        want = list(bson.decode_file_iter(f, codec_options=bson.CodecOptions(document_class=bson.SON)))
    opts = bson.CodecOptions(document_class=bson.SON)
    coll = client[db].get_collection("variants", codec_options=opts)
    for doc in want[::5]:
        got = coll.find_one({"_id": doc["_id"]})
        check(got is not None and list(got.items()) == list(doc.items()), f"document {doc['_id']} read back")
    # verify (libmongoc scan) against the file manifest and the recorded one.
    r = run("verify", "--uri", URI, "--db", db, "--manifest", os.path.join(tmp, "m1.json"), "--sources")
    check(r.returncode == 0 and "verify: OK" in r.stdout, f"verify: {r.returncode} {r.stdout} {r.stderr}")
    r = run("verify", "--uri", URI, "--db", db, "--json")
    check(r.returncode == 0 and '"ok" : true' in r.stdout, f"verify from swefreq_meta: {r.stdout} {r.stderr}")

    # Load twice: a reader polling during the second load sees the complete
    # old set, the complete new set, or (no atomic rename) no collection.
    syn = synthetic(1500)
    old = 24
    seen, stop = [], threading.Event()

    def poll():
        c = pymongo.MongoClient(URI)
        while not stop.is_set():
            seen.append(c[db]["variants"].count_documents({}))
            time.sleep(0.02)

    t = threading.Thread(target=poll)
    t.start()
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", syn, "--coverage", cov)
    time.sleep(0.2)
    stop.set()
    t.join()
    new = client[db]["variants"].count_documents({})
    check(r.returncode == 0, f"second load: {r.stderr}")
    check(new > old, f"second load replaced the first ({new} documents)")
    bad = sorted(set(n for n in seen if n not in (old, new, 0)))
    check(not bad, f"the poller saw partial collections: {bad[:5]}")
    check(old in seen and new in seen, f"the poller saw both sets ({len(seen)} polls)")
    check(len(list(client[db]["swefreq_meta"].find({"status": "complete"}))) == 2, "two loads recorded")

    # Errors. A duplicate variant: refused before the swap, nothing changed.
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", os.path.join(TD, "bad", "duplicate_variant.vcf"))
    check(r.returncode == 3 and "duplicate variant" in r.stderr and "line 17" in r.stderr and "line 18" in r.stderr,
          f"duplicate: {r.returncode} {r.stderr}")
    check(client[db]["variants"].count_documents({}) == new, "duplicate load left the collection as it was")
    check(not staging_left(db), "failed load dropped its staging collection")
    check(client[db]["swefreq_meta"].count_documents({"status": "failed"}) == 1, "failed load recorded")
    # Wrong credentials: a clear error, exit 7, no password anywhere.
    host = URI.split("://", 1)[1]
    r = run("load", "--uri", "mongodb://someone:Pa55word-XYZ@" + host, "--db", db, *HIST, "--vcf", exac, "--json")
    check(r.returncode == 7, f"wrong credentials: exit {r.returncode} {r.stderr}")
    check("Pa55word-XYZ" not in r.stdout + r.stderr, "password not shown")
    check("authentication" in r.stderr, f"auth message: {r.stderr}")
    # Unreachable: exit 6 within the timeout.
    t0 = time.time()
    r = run("load", "--uri", "mongodb://u:Pa55word-XYZ@127.0.0.1:9/?serverSelectionTimeoutMS=1500",
            "--db", db, *HIST, "--vcf", exac, timeout=60)
    check(r.returncode == 6 and "unreachable" in r.stderr, f"unreachable: {r.returncode} {r.stderr}")
    check(time.time() - t0 < 20, "unreachable reported within the timeout")
    check("Pa55word-XYZ" not in r.stdout + r.stderr, "password not shown (unreachable)")
    # A shape the server cannot store is refused before any write.
    if ferret:
        before = sorted(client[db].list_collection_names())
        nmeta = client[db]["swefreq_meta"].count_documents({})
        r = run("load", "--uri", URI, "--db", db, "--histograms", "pairs", "--vcf", exac)
        check(r.returncode == 8 and "--histograms" in r.stderr, f"shape: {r.returncode} {r.stderr}")
        check(sorted(client[db].list_collection_names()) == before, "nothing created")
        check(client[db]["swefreq_meta"].count_documents({}) == nmeta, "nothing recorded")

    # Tampering: change one document, delete one, insert one.
    manifest = os.path.join(tmp, "m2.json")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--coverage", cov, "--manifest", manifest)
    check(r.returncode == 0, f"reload: {r.stderr}")
    v = client[db]["variants"]
    d = v.find_one({}, sort=[("_id", 1)])
    for change in ("update", "delete", "insert"):
        if change == "update":
            v.update_one({"_id": d["_id"]}, {"$set": {"allele_num": 1234567}})
        elif change == "delete":
            v.delete_one({"_id": d["_id"]})
        else:
            v.insert_one({"_id": "1-1-A-T", "xpos": 1000000001})
        r = run("verify", "--uri", URI, "--db", db, "--manifest", manifest)
        check(r.returncode == 5 and "variants" in r.stdout and "differs" in r.stdout,
              f"verify after {change}: {r.returncode} {r.stdout}")
        # put it back
        v.delete_one({"_id": d["_id"]})
        v.delete_one({"_id": "1-1-A-T"})
        v.insert_one(d)
    r = run("verify", "--uri", URI, "--db", db, "--manifest", manifest)
    check(r.returncode == 0, f"verify after restoring: {r.stdout}")
    client.drop_database(db)


def test_kill():
    state = os.environ.get("SWEFREQ_TEST_SERVER_DIR")
    if not state:
        print("needs the own test server: skipped")
        sys.exit(77)
    db = "sfl_test_kill"
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac)
    check(r.returncode == 0, f"first load: {r.stderr}")
    syn = synthetic(3000)
    p = subprocess.Popen([TOOL, "load", "--uri", URI, "--db", db, *HIST, "--vcf", syn],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        st = [s for s in staging_left(db) if s.endswith("_variants")]  # (metrics come last)
        if st and client[db][st[0]].estimated_document_count() > 200:
            break
        time.sleep(0.1)
    check(p.poll() is None, "load still running when the server is killed")
    os.kill(int(open(os.path.join(state, "pid")).read()), 9)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, "the loader hung after the server was killed")
    check(p.returncode in (6, 8), f"loader exit {p.returncode}: {err}")
    check("server" in err or "connection" in err, f"clear message: {err}")
    subprocess.run([os.environ["SWEFREQ_TEST_RESTART_SCRIPT"], state, os.environ["SWEFREQ_TEST_SERVER_BIN"],
                    os.environ["SWEFREQ_TEST_PING_BIN"]], check=True)
    c2 = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
    check(c2[db]["variants"].count_documents({}) == 24, "browser's collection unchanged")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"verify after the kill: {r.stdout} {r.stderr}")
    # The dead loader could not release its lock (the server was down):
    # the rerun is refused until the lock is stale, or breaks it. (The
    # restart and the verify above can take over a minute on a loaded
    # machine, the default staleness: a longer one keeps the lock fresh.)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", syn, "--lock-timeout", "3600")
    check(r.returncode == 9 and "locked" in r.stderr, f"rerun while the lock is fresh: {r.stderr}")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", syn, "--break-lock")
    check(r.returncode == 0, f"rerun: {r.stderr}")
    check(c2[db]["variants"].count_documents({}) > 3000, "rerun loaded the new data")
    check(not [n for n in c2[db].list_collection_names() if n.startswith("swefreq_staging_")],
          "leftover staging collections cleaned")
    statuses = sorted(d["status"] for d in c2[db]["swefreq_meta"].find({"status": {"$exists": True}}))
    check(statuses == ["complete", "complete", "interrupted"], f"load records {statuses}")
    last = c2[db]["swefreq_meta"].find_one({"status": "complete"}, sort=[("finished", -1)])
    ack = last.get("acknowledged", {})
    check(ack.get("documents", 0) > 3000 and ack.get("voffset", 0) > 0,
          f"acknowledged position recorded: {ack}")
    c2.drop_database(db)


def test_defects():
    db = "sfl_test_defects"
    client.drop_database(db)
    # A ':' in the password: the driver's URI parse error quotes it.
    host = URI.split("://", 1)[1]
    bad = "mongodb://user:pa:S3cretPW@" + host
    for args in (["load", "--uri", bad, "--db", db, *HIST, "--vcf", exac],
                 ["load", "--uri", bad, "--db", db, *HIST, "--vcf", exac, "--json"],
                 ["verify", "--uri", bad, "--db", db],
                 ["verify", "--uri", bad, "--db", db, "--json"],
                 ["recover", "--uri", bad, "--db", db, "--json"]):
        r = run(*args)
        check(r.returncode == 2 and "S3cretPW" not in r.stdout + r.stderr and "Password ***" in r.stderr,
              f"{' '.join(args[:1] + args[3:])}: password redacted: {r.returncode} {r.stdout} {r.stderr}")
        if "--json" in args:
            check('"exit_code" : 2' in r.stdout and "Password ***" in r.stdout, f"--json error: {r.stdout}")
    # verify --uri follows the pointer to the load in force, not the latest
    # "finished" (two loads within one second could not be told apart).
    r1 = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac)
    syn = synthetic(100)
    r2 = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", syn)
    check(r1.returncode == 0 and r2.returncode == 0, f"two loads: {r1.stderr} {r2.stderr}")
    meta = client[db]["swefreq_meta"]
    first, second = sorted(meta.find({"status": "complete"}), key=lambda d: d["started"])
    meta.update_one({"_id": first["_id"]}, {"$set": {"finished": second["finished"] + datetime.timedelta(seconds=1)}})
    check(meta.find_one({"_id": "current"})["load_id"] == second["_id"], "current names the second load")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"verify uses the load in force: {r.returncode} {r.stdout} {r.stderr}")
    # --manifest FILE that cannot be written: refused before the swap.
    n = client[db]["variants"].count_documents({})
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--manifest",
            os.path.join(tmp, "no-such-dir", "m.json"))
    check(r.returncode == 4 and "not changed" in r.stderr, f"--manifest unwritable: {r.returncode} {r.stderr}")
    check(client[db]["variants"].count_documents({}) == n, "the data was not replaced")
    check(meta.find_one({"_id": "current"})["load_id"] == second["_id"], "the load in force is unchanged")
    failed = list(meta.find({"status": "failed"}))
    check(len(failed) == 1 and failed[0]["error"]["name"] == "write" and failed[0]["error"]["domain"] == 3,
          f"the failed record holds the write error: {failed and failed[0].get('error')}")
    check(not staging_left(db) and meta.find_one({"_id": "lock"}) is None, "staging dropped, lock released")
    client.drop_database(db)


try:
    {"load": test_load, "kill": test_kill, "defects": test_defects}[MODE]()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
finish(f"mongo_test {MODE}")
