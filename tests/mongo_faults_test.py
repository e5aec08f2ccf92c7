#!/usr/bin/env python3
"""What a concurrent load, a signal or a kill -9 leaves behind, each forced
at one exact server command by the test server's proxy (tests/faults.py).

usage: mongo_faults_test.py MODE SWEFREQ_LOAD TESTDATA_DIR BENCH_GEN_DIR
  MODE lock:    two loads at once (insert held, swap held), a stale lock,
                a fresh forged lock, --lock-timeout, --break-lock
  MODE signal:  SIGINT/SIGTERM while an insert, createIndexes, the staging
                find/getMore or renameCollection is held
  MODE journal: kill -9 between drop and rename, between the two
                collections' renames, after both renames; then verify,
                recover, load
  MODE droptarget: the same on the dropTarget path (emulated by the proxy)
Exit 77 when pymongo is missing or the server has no fault injection.
"""
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish, require_faults  # noqa: E402
import pymongo  # noqa: E402

MODE = sys.argv[1]
faults = require_faults(f"sfl_faults_{MODE}")
MODE, TOOL, TD, GEN = sys.argv[1:5]
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
HIST = ["--histograms", "columns"]
EXAC = os.path.join(TD, "exac_sample.vcf")
COV = os.path.join(TD, "coverage_sample.tsv")
tmp = tempfile.mkdtemp(prefix="sfl_faults_")


def run(*args, timeout=120):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout)


def start(db, *args):
    return subprocess.Popen([TOOL, "load", "--uri", URI, "--db", db, *HIST, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_proc(p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, f"the loader did not end within {timeout} s: {err}")
    return p.returncode, out, err


def staging(db):
    return sorted(n for n in client[db].list_collection_names() if n.startswith("swefreq_staging_"))


def records(db, **filt):
    q = {"status": {"$exists": True}}
    q.update(filt)
    return list(client[db]["swefreq_meta"].find(q))


def lock_doc(db):
    return client[db]["swefreq_meta"].find_one({"_id": "lock"})


def synthetic(sites):
    path = os.path.join(tmp, f"syn{sites}.vcf")
    if not os.path.exists(path):
        with open(path, "w") as f:
            subprocess.run([sys.executable, os.path.join(GEN, "gen_exac_vcf.py"), "--sites", str(sites)],
                           stdout=f, stderr=subprocess.DEVNULL, check=True)
    return path


def fresh(db):
    """A database with the sample loaded (24 variants, 40 coverage rows)."""
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC, "--coverage", COV)
    check(r.returncode == 0, f"{db}: first load: {r.stderr}")


def held(rule, what):
    st = faults.wait(rule, timeout=60)
    check(st is not None, f"{what}: the proxy never saw the command")
    return st


def forge_lock(db, age_s, load_id="deadbeef1"):
    now = datetime.datetime.now(datetime.timezone.utc)
    hb = now - datetime.timedelta(seconds=age_s)
    client[db]["swefreq_meta"].insert_one({"_id": "lock", "load_id": load_id, "command": "load",
                                           "host": "elsewhere", "pid": 4242, "started": hb,
                                           "heartbeat": hb})
    client[db]["swefreq_meta"].insert_one({"_id": load_id, "status": "loading", "started": hb})
    client[db].create_collection(f"swefreq_staging_{load_id}_variants")
    client[db][f"swefreq_staging_{load_id}_variants"].insert_one({"_id": "x"})


# ---- lock ------------------------------------------------------------------

def test_lock():
    db = "sfl_faults_lock"
    fresh(db)
    syn = synthetic(400)
    # 1. Two loads at once: the first is held at its first staging insert.
    rule = faults.arm("insert", coll="swefreq_staging_", action="hold")
    a = start(db, "--vcf", syn)
    held(rule, "first load's insert")
    st_a = staging(db)
    check(len(st_a) == 2, f"the first load's staging exists (variants, metrics): {st_a}")
    hb1 = lock_doc(db)
    check(hb1 and hb1["pid"] == a.pid and hb1["command"] == "load", f"lock names the holder: {hb1}")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC)
    check(r.returncode == 9, f"second load refused with exit 9: {r.returncode} {r.stderr}")
    check(f"pid {a.pid}" in r.stderr and hb1["load_id"] in r.stderr and "last heartbeat" in r.stderr
          and "since" in r.stderr, f"the refusal names the holder: {r.stderr}")
    check(staging(db) == st_a, "the second load did not touch the first load's staging")
    check(len(records(db)) == 2, "the refused load recorded nothing")
    # The heartbeat moves while the first load waits.
    time.sleep(6)
    hb2 = lock_doc(db)
    check(hb2 and hb2["heartbeat"] > hb1["heartbeat"], f"heartbeat refreshed: {hb1} -> {hb2}")
    faults.release(rule)
    rc, _, err = finish_proc(a)
    check(rc == 0, f"the first load completed: {rc} {err}")
    check(client[db]["variants"].count_documents({}) > 24, "the first load's data is live")
    check(lock_doc(db) is None, "lock released after success")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"verify after the concurrent attempt: {r.stdout} {r.stderr}")

    # 2. A second load while the first is held mid-swap.
    rule = faults.arm("renameCollection", action="hold")
    a = start(db, "--vcf", EXAC, "--coverage", COV)
    held(rule, "first load's rename")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", syn)
    check(r.returncode == 9 and "locked" in r.stderr, f"load during a swap refused: {r.returncode} {r.stderr}")
    r = run("recover", "--uri", URI, "--db", db)
    check(r.returncode == 9, f"recover during a swap refused: {r.returncode} {r.stderr}")
    faults.release(rule)
    rc, _, err = finish_proc(a)
    check(rc == 0, f"the held load completed its swap: {rc} {err}")
    check(client[db]["variants"].count_documents({}) == 24, "its data is live")
    check(client[db]["base_coverage"].count_documents({}) == 40, "its coverage is live")

    # 3. A stale lock (forged, heartbeat 2 minutes old) is taken over, and
    # only then is the dead load's staging dropped and its record marked.
    forge_lock(db, 120)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC)
    check(r.returncode == 0 and "took over the stale lock" in r.stderr, f"stale lock: {r.returncode} {r.stderr}")
    check(staging(db) == [], "the dead load's staging was dropped")
    dead = client[db]["swefreq_meta"].find_one({"_id": "deadbeef1"})
    check(dead["status"] == "interrupted", f"the dead load is marked interrupted: {dead}")
    last = sorted(records(db, status="complete"), key=lambda d: d["finished"])[-1]
    check(last.get("lock", {}).get("took_over", {}).get("load_id") == "deadbeef1",
          f"the take-over is recorded: {last.get('lock')}")
    client[db]["swefreq_meta"].delete_one({"_id": "deadbeef1"})

    # 4. A fresh forged lock: refused, nothing touched; --lock-timeout makes
    # it stale; --break-lock takes it and is recorded.
    forge_lock(db, 5, "deadbeef2")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC)
    check(r.returncode == 9 and "host elsewhere, pid 4242" in r.stderr, f"fresh lock: {r.returncode} {r.stderr}")
    check(len(staging(db)) == 1, "a refused load drops nothing")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC, "--lock-timeout", "2")
    check(r.returncode == 0, f"--lock-timeout 2 makes a 5 s old heartbeat stale: {r.stderr}")
    client[db]["swefreq_meta"].delete_one({"_id": "deadbeef2"})
    forge_lock(db, 0, "deadbeef3")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC, "--break-lock", "--json")
    check(r.returncode == 0 and "broke (--break-lock) the lock" in r.stderr, f"--break-lock: {r.stderr}")
    last = sorted(records(db, status="complete"), key=lambda d: d["finished"])[-1]
    check(last.get("lock", {}).get("break_lock") is True and
          last["lock"].get("took_over", {}).get("load_id") == "deadbeef3", f"--break-lock recorded: {last.get('lock')}")
    check(staging(db) == [] and lock_doc(db) is None, "staging dropped, lock released")

    # 5. The victim of --break-lock: a load held at its index build loses
    # its lock to a --break-lock load, which completes. Released after its
    # next heartbeat, the victim notices, exits 9 without renaming
    # anything, drops only its own staging and leaves the new data and the
    # lock table alone.
    rule = faults.arm("createIndexes", coll="swefreq_staging_", action="hold")
    a = start(db, "--vcf", syn)
    held(rule, "the victim's index build")
    victim = lock_doc(db)
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC, "--coverage", COV,
            "--break-lock")
    check(r.returncode == 0 and "broke (--break-lock) the lock" in r.stderr,
          f"the breaking load completes: {r.returncode} {r.stderr}")
    cur = current_id(db)
    time.sleep(7)  # past the victim's next heartbeat
    faults.release(rule)
    rc, _, err = finish_proc(a)
    check(rc == 9 and "lock" in err, f"the victim stops with exit 9 naming the lock: {rc} {err}")
    check(current_id(db) == cur and client[db]["variants"].count_documents({}) == 24 and
          client[db]["base_coverage"].count_documents({}) == 40,
          "the breaking load's data stays in force")
    check(staging(db) == [] and lock_doc(db) is None, f"no staging, no lock left: {staging(db)}")
    rec = client[db]["swefreq_meta"].find_one({"_id": victim["load_id"]}) if victim else None
    check(rec is not None and rec["status"] in ("interrupted", "failed"),
          f"the victim's record says it did not complete: {rec and rec.get('status')}")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"verify after the broken lock: {r.stdout} {r.stderr}")

    # 6. A failed load releases the lock and records its real error.
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", os.path.join(TD, "bad", "duplicate_variant.vcf"))
    check(r.returncode == 3, f"duplicate: {r.returncode}")
    check(lock_doc(db) is None, "lock released after a failure")
    failed = [f for f in records(db, status="failed") if f.get("error", {}).get("name") != "locked"]
    check(len(failed) == 1 and failed[0]["error"]["name"] == "duplicate" and
          "line 18" in failed[0]["error"]["message"] and failed[0]["error"]["domain"] == 2,
          f"the failed record holds the real error: {failed and failed[0].get('error')}")
    client.drop_database(db)


# ---- signal ------------------------------------------------------------------

def current_id(db):
    cur = client[db]["swefreq_meta"].find_one({"_id": "current"})
    return cur and cur["load_id"]


def test_signal():
    db = "sfl_faults_signal"
    fresh(db)
    small = synthetic(100)
    big = synthetic(1100)  # > 1000 variants: the staging scan needs a getMore
    # Before the swap, a signal stops the load within a bounded time even
    # though the command is held forever: staging dropped, record
    # "interrupted", exit 130, the browser's collections unchanged.
    for command, sig in (("insert", signal.SIGINT), ("createIndexes", signal.SIGTERM),
                         ("find", signal.SIGINT), ("getMore", signal.SIGTERM)):
        what = f"{signal.Signals(sig).name} while {command} is held"
        before = current_id(db)
        rule = faults.arm(command, coll="swefreq_staging_", action="hold")
        p = start(db, "--vcf", big if command == "getMore" else small)
        if not held(rule, what):
            p.kill()
            continue
        t0 = time.time()
        p.send_signal(sig)
        rc, _, err = finish_proc(p, 30)
        took = time.time() - t0
        faults.release(rule, forward=False)
        check(rc == 130, f"{what}: exit {rc}: {err}")
        check(took < 8, f"{what}: the loader took {took:.1f} s to stop")
        check("not changed" in err, f"{what}: says nothing changed: {err}")
        check(staging(db) == [], f"{what}: staging dropped: {staging(db)}")
        check(lock_doc(db) is None, f"{what}: lock released")
        last = sorted(records(db), key=lambda d: d["_id"])[-1]
        check(last["status"] == "interrupted" and last.get("error", {}).get("code") == 50
              and last.get("error", {}).get("domain") == 8,
              f"{what}: record interrupted: {last.get('status')} {last.get('error')}")
        check(client[db]["variants"].count_documents({}) == 24 and current_id(db) == before,
              f"{what}: the browser's collections unchanged")
    # Once the swap has begun it finishes, then exit 130 saying so.
    manifest = os.path.join(tmp, "swap.json")
    rule = faults.arm("renameCollection", action="hold")
    p = start(db, "--vcf", small, "--coverage", COV, "--manifest", manifest)
    if held(rule, "SIGINT during the swap"):
        p.send_signal(signal.SIGINT)
        time.sleep(1.0)
        check(p.poll() is None, "the loader waits for the swap to finish")
        faults.release(rule)
    rc, _, err = finish_proc(p, 60)
    check(rc == 130 and "new data is live" in err, f"signal during the swap: {rc} {err}")
    n = client[db]["variants"].count_documents({})
    check(n > 100 and client[db]["base_coverage"].count_documents({}) == 40, f"new data live ({n})")
    last = sorted(records(db), key=lambda d: d["_id"])[-1]
    check(last["status"] == "complete" and current_id(db) == last["_id"], f"recorded complete: {last['status']}")
    check(os.path.exists(manifest) and not os.path.exists(manifest + ".partial"), "--manifest renamed into place")
    check(lock_doc(db) is None and staging(db) == [], "lock released, no staging")
    r = run("verify", "--uri", URI, "--db", db, "--manifest", manifest)
    check(r.returncode == 0, f"verify after the interrupted swap: {r.stdout} {r.stderr}")
    client.drop_database(db)


# ---- journal -------------------------------------------------------------------

def kill_at(db, rule, forward, *args):
    """Starts a load, kills it (kill -9) while the proxy holds the command
    of `rule`, then releases that command (forward: it runs after the
    death). Returns the dead load's id."""
    p = start(db, *args)
    ok = held(rule, f"kill -9 at rule {rule}")
    lid = lock_doc(db)["load_id"] if ok else None
    p.kill()
    p.wait()
    faults.release(rule, forward=forward)
    if forward:  # wait until the released rename has run: no staging left
        deadline = time.time() + 20
        while staging(db) and time.time() < deadline:
            time.sleep(0.05)
    return lid


def check_pending(db, lid, what):
    """verify reports the unfinished swap (exit 5) and changes nothing;
    load is refused while the dead loader's lock is fresh."""
    before = sorted(client[db].list_collection_names())
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 5 and "cut short" in r.stderr and lid in r.stderr,
          f"{what}: verify reports the unfinished swap: {r.returncode} {r.stderr}")
    check(sorted(client[db].list_collection_names()) == before, f"{what}: verify changed nothing")
    r = run("verify", "--uri", URI, "--db", db, "--json")
    check(r.returncode == 5 and '"swap_pending" : true' in r.stdout and lid in r.stdout,
          f"{what}: verify --json reports it: {r.stdout}")
    rec = client[db]["swefreq_meta"].find_one({"_id": lid})
    check(rec["status"] == "swapping" and len(rec["swap"]["collections"]) == 3 and "manifest" in rec,
          f"{what}: the journal holds the swap: {rec.get('status')} {rec.get('swap')}")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC)
    check(r.returncode == 9, f"{what}: a load while the dead loader's lock is fresh: {r.returncode}")


def check_settled(db, lid, variants, coverage, what):
    check(client[db]["variants"].count_documents({}) == variants and
          client[db]["base_coverage"].count_documents({}) == coverage,
          f"{what}: collections {client[db]['variants'].count_documents({})}/"
          f"{client[db]['base_coverage'].count_documents({})}, want {variants}/{coverage}")
    check(client[db]["swefreq_meta"].find_one({"_id": lid})["status"] == "complete",
          f"{what}: the dead load's record is complete")
    check(staging(db) == [] and lock_doc(db) is None, f"{what}: no staging, no lock")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"{what}: verify: {r.stdout} {r.stderr}")


def test_journal():
    db = "sfl_faults_journal"
    small = synthetic(100)
    new = ["--vcf", small, "--coverage", COV, "--coverage-step", "10"]  # 4 coverage documents
    n_new = None

    # 1. Killed between the drop of variants and its rename (the second
    # renameCollection of the variants staging on the drop-then-rename
    # path): variants is absent. recover finishes the swap.
    fresh(db)
    rule = faults.arm("renameCollection", nth=2, coll="_variants", action="hold")
    lid = kill_at(db, rule, False, *new)
    check("variants" not in client[db].list_collection_names(), "kill between drop and rename: variants absent")
    check_pending(db, lid, "drop|rename")
    time.sleep(1.5)
    r = run("recover", "--uri", URI, "--db", db, "--lock-timeout", "1")
    check(r.returncode == 0 and f"finished the swap of load {lid}" in r.stderr and "took over the stale lock" in r.stderr,
          f"recover: {r.returncode} {r.stderr}")
    n_new = client[db]["variants"].count_documents({})
    check(n_new > 100, f"drop|rename: the new variants are live ({n_new})")
    check_settled(db, lid, n_new, 4, "drop|rename")
    check(client[db]["swefreq_meta"].find_one({"_id": "current"})["load_id"] == lid, "current points at it")

    # 2. Killed between the two collections' renames: new variants, old
    # base_coverage. The next load finishes that swap first, then loads.
    fresh(db)
    rule = faults.arm("renameCollection", nth=1, coll="_base_coverage", action="hold")
    lid = kill_at(db, rule, False, *new)
    check(client[db]["variants"].count_documents({}) == n_new and
          client[db]["base_coverage"].count_documents({}) == 40, "kill between the renames: a mixed release")
    check_pending(db, lid, "between renames")
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", EXAC, "--coverage", COV, "--break-lock")
    check(r.returncode == 0 and f"finished the swap of interrupted load {lid}" in r.stderr,
          f"load after the kill: {r.returncode} {r.stderr}")
    check_settled(db, lid, 24, 40, "between renames")
    cur = client[db]["swefreq_meta"].find_one({"_id": "current"})["load_id"]
    check(cur != lid, "current points at the newer load")

    # 3. Killed after the renames (the last is metrics'), before "complete":
    # the new data is live without a manifest in force. recover --json
    # marks it complete.
    rule = faults.arm("renameCollection", nth=2, coll="_metrics", action="hold")
    lid = kill_at(db, rule, True, *new)
    check(staging(db) == [] and client[db]["base_coverage"].count_documents({}) == 4,
          "kill after both renames: both collections are new")
    check_pending(db, lid, "after renames")
    r = run("recover", "--uri", URI, "--db", db, "--break-lock", "--json")
    try:
        js = __import__("json").loads(r.stdout)
    except ValueError:
        js = {}
    check(r.returncode == 0 and js.get("finished_load") == lid and js.get("renamed") == "" and js.get("ok") is True,
          f"recover --json: {r.returncode} {r.stdout} {r.stderr}")
    check_settled(db, lid, n_new, 4, "after renames")
    # 4. Killed right after the journal was written, before any rename:
    # recover renames both.
    fresh(db)
    rule = faults.arm("update", coll="swefreq_meta", has="swapping", action="hold")
    lid = kill_at(db, rule, False, *new)  # forward=False: drop the connection...
    check(client[db]["swefreq_meta"].find_one({"_id": lid})["status"] == "loading",
          "a journal write that never reached the server journals nothing")
    r = run("recover", "--uri", URI, "--db", db, "--break-lock")
    check(r.returncode == 0 and "no unfinished swap" in r.stderr and "3 leftover staging" in r.stderr,
          f"recover without a journal drops the staging: {r.returncode} {r.stderr!r}")
    check(client[db]["variants"].count_documents({}) == 24 and staging(db) == [], "the old data stays")
    rule = faults.arm("update", coll="swefreq_meta", has="swapping", action="hold")
    p = start(db, *new)
    if held(rule, "journal write"):
        lid = lock_doc(db)["load_id"]
        p.kill()
        p.wait()
        faults.release(rule)  # ...or forward it after the death: journalled, nothing renamed
        deadline = time.time() + 20
        while (client[db]["swefreq_meta"].find_one({"_id": lid}) or {}).get("status") != "swapping" \
                and time.time() < deadline:
            time.sleep(0.05)
        check(len(staging(db)) == 3 and client[db]["variants"].count_documents({}) == 24,
              "journalled, nothing renamed yet")
        check_pending(db, lid, "after the journal")
        r = run("recover", "--uri", URI, "--db", db, "--break-lock")
        check(r.returncode == 0 and f"finished the swap of load {lid}" in r.stderr, f"recover: {r.stderr}")
        check_settled(db, lid, n_new, 4, "after the journal")

    # 5. The journal write refused by the server: the load stops, keeps its
    # staging (the write might have been stored) and says to run recover,
    # which finds no journal and drops the staging.
    fresh(db)
    faults.arm("update", coll="swefreq_meta", has="swapping", action="error", code=2, message="no journal")
    r = run("load", "--uri", URI, "--db", db, *HIST, *new)
    check(r.returncode == 8 and "recover" in r.stderr and "no journal" in r.stderr,
          f"journal write refused: {r.returncode} {r.stderr}")
    check(len(staging(db)) == 3 and lock_doc(db) is None, "staging kept, lock released")
    r = run("recover", "--uri", URI, "--db", db)
    check(r.returncode == 0 and "3 leftover staging" in r.stderr, f"recover drops it: {r.stderr}")
    check(client[db]["variants"].count_documents({}) == 24, "the old data stays")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"verify: {r.stdout} {r.stderr}")

    # Nothing left: recover says so.
    r = run("recover", "--uri", URI, "--db", db)
    check(r.returncode == 0 and "no unfinished swap" in r.stderr, f"recover with nothing to do: {r.stderr}")
    client.drop_database(db)


def test_droptarget():
    """The same journal on the dropTarget path, which the proxy emulates
    (FerretDB lacks it): one atomic rename per collection."""
    db = "sfl_faults_droptarget"
    faults.emulate_drop_target(db)
    small = synthetic(100)
    new = ["--vcf", small, "--coverage", COV, "--coverage-step", "10"]
    fresh(db)
    seen = faults.arm("renameCollection", nth=1000, coll=db, action="drop")  # only counts
    r = run("load", "--uri", URI, "--db", db, *HIST, *new, "--verbose")
    n_new = client[db]["variants"].count_documents({})
    count = [x for x in faults.rules() if x["id"] == seen][0]["seen"]
    check(r.returncode == 0 and count == 3 and "swapping in" in r.stderr and "dropping" not in r.stderr,
          f"one renameCollection (dropTarget) per collection: {count} {r.stderr}")
    check(n_new > 100 and client[db]["base_coverage"].count_documents({}) == 4, "dropTarget load")

    # Killed between the two renames: new variants, old base_coverage.
    fresh(db)
    rule = faults.arm("renameCollection", coll="_base_coverage", action="hold")
    lid = kill_at(db, rule, False, *new)
    check(client[db]["variants"].count_documents({}) == n_new and
          client[db]["base_coverage"].count_documents({}) == 40, "dropTarget, between the renames: mixed")
    check_pending(db, lid, "dropTarget between renames")
    r = run("recover", "--uri", URI, "--db", db, "--break-lock")
    check(r.returncode == 0 and f"finished the swap of load {lid}" in r.stderr, f"recover: {r.stderr}")
    check_settled(db, lid, n_new, 4, "dropTarget between renames")

    # Killed after the renames (the last is metrics'), before "complete".
    fresh(db)
    rule = faults.arm("renameCollection", coll="_metrics", action="hold")
    lid = kill_at(db, rule, True, *new)
    check(staging(db) == [] and client[db]["base_coverage"].count_documents({}) == 4,
          "dropTarget, after both renames: both new")
    check_pending(db, lid, "dropTarget after renames")
    time.sleep(1.5)
    r = run("load", "--uri", URI, "--db", db, *HIST, *new, "--lock-timeout", "1")
    check(r.returncode == 0 and f"finished the swap of interrupted load {lid}" in r.stderr, f"load: {r.stderr}")
    check_settled(db, lid, n_new, 4, "dropTarget after renames")
    faults.emulate_drop_target("")
    client.drop_database(db)


try:
    {"lock": test_lock, "signal": test_signal, "journal": test_journal,
     "droptarget": test_droptarget}[MODE]()
finally:
    faults.clear()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
finish(f"mongo_faults_test {MODE}")
