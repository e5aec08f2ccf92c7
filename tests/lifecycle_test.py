#!/usr/bin/env python3
"""The deployment lifecycle (roles, seal, promote, unseal, status, export,
restore, verify's index and role checks), against the test server.

usage: lifecycle_test.py MODE SWEFREQ_LOAD TESTDATA_DIR
  MODE roles: every cross-talk case stops before any write (the server's
              collections and swefreq_meta compared before and after):
              --expect-role mismatches (option and SWEFREQ_EXPECT_ROLE) on
              every command, a load onto a sealed database, recover on a
              sealed database; promote on a database that differs changes
              nothing; unseal needs a reason and records it; verify reports
              a missing or changed index (exit 5) and the role and seal;
              status never writes.
  MODE transfer: export and restore on the fixture server with its fault
              injection: a write to the database during the export (the
              proxy holds the export's read of variants while a document is
              changed) is detected, exit 5, no dump under the final names;
              a tampered database is not exported; a restore killed (kill
              -9) mid-way leaves the target's collections as they were,
              SIGTERM stops it cleanly (exit 130);
              damaged and altered dumps are refused before the swap; a
              folder written by `dump` restores like an export; a
              restore onto a sealed database stops before any write.
  MODE e2e:   the whole lifecycle against two servers on two loopback
              ports (the fixture's is development; a second one is started
              and stopped here as live): load, verify, export, restore,
              promote, verify live; the cross-talk cases; a tampered
              document and a dropped index each fail the nightly verify.
  MODE scripts: deploy/dev-load.sh, dev-export.sh (signing),
              live-restore-and-promote.sh and live-verify.sh across three
              servers (two live ones started here), with their exit codes:
              0 through the lifecycle, 9 when a script of one system is
              pointed at the other's server, 10 for a changed, unsigned or
              foreign-signed dump (no reference written, no .new file), 5
              from live-verify.sh after a tampered document; release 2 to a
              new server and in place (a new database) keeps the old
              server's reference and nightly verify passing.
  MODE volume: the clone made at the volume level: a server's data folder
              copied to another server (both started here), then promote
              on the clone (it carries the development role): refused with
              --expect-role live (exit 9), exit 5 and nothing changed while
              one document differs, then live and sealed; the nightly verify
              passes and a development load is refused.
  MODE format1: a format-1 dump (testdata/format1_dump, written by the
              version before manifest format 2) restores, verifies, exports
              and promotes, checked with format 1's own hashes, and every
              report (text and --json of restore, verify, status, export,
              promote) says "not forgery-resistant (format 1)"; a change is
              still caught; a database that mixes a format-1 restore and a
              format-2 load has a format-1 manifest in force with each entry
              checked by its own kind; once reloaded, the warning is gone.
  MODE replay: issue 20, a replay of an older signed release, across two
              servers (development: the fixture, live: a second server):
              releases numbered by `export --release N --release-db NAME`;
              on live, with a trusted key, the nightly verify given an older
              signed manifest exits 5; restore of an older release, promote
              of an older release of the same data (after unseal), restore
              of it after demote, a release for another database, and a
              manifest without a release number once one is recorded are all
              refused with exit 9 naming both releases, the database
              unchanged; the same release again (re-seal) and a newer one
              pass; a fresh database takes an unnumbered manifest with a
              warning; a bad "release" in a manifest is exit 3.
  MODE swap:  issue 20 review, the carried dump swapped after it was
              checked: `restore --manifest FILE` (the checked copy) refuses
              a dump whose manifest.json is not FILE byte for byte (exit 5)
              or whose .bson differs from FILE (exit 5), the database
              unchanged; FILE without its .sig is exit 10, FILE a link exit
              3. With the fault proxy holding restore's first read of
              swefreq_meta while the test replaces the dump's files with an
              older signed release, the checked release is what is
              installed; holding its lock insert while the test overwrites
              the open files in place, exit 5 before the swap.
              deploy/live-restore-and-promote.sh, its dump swapped for an
              older signed release just before it runs restore, leaves the
              live server and the references untouched (main installed the
              older release's data on live).
  MODE access: deploy/access-control.py (a read-only web user and a loader
              user); exit 77 (skipped, with the script's message) on a server
              without createUser, as the FerretDB test server.
Exit 77 when pymongo is missing (skipped).
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish  # noqa: E402

import pymongo  # noqa: E402

MODE, TOOL, TD = sys.argv[1:4]
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
ferret = "ferretdbVersion" in client.admin.command("buildInfo")
HIST = ["--histograms", "columns"] if ferret else []
tmp = tempfile.mkdtemp(prefix="sfl_lifecycle_")
exac = os.path.join(TD, "exac_sample.vcf")
cov = os.path.join(TD, "coverage_sample.tsv")


def run(*args, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("SWEFREQ_EXPECT_ROLE", None)
    e.update(env or {})
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=e)


def snapshot(cl, db):
    """Every collection of db (swefreq_meta included) with all its
    documents, and each collection's indexes."""
    out = {}
    for name in sorted(cl[db].list_collection_names()):
        docs = sorted((repr(d) for d in cl[db][name].find()))
        idx = sorted(cl[db][name].index_information())
        out[name] = (docs, idx)
    return out


def role_record(cl, db):
    return cl[db]["swefreq_meta"].find_one({"_id": "role"})


def load(db, *extra, env=None, uri=None):
    return run("load", "--uri", uri or URI, "--db", db, *HIST, "--vcf", exac, "--coverage", cov,
               "--quiet", *extra, env=env)


def test_roles():
    db = "sfl_lc_roles"
    client.drop_database(db)
    man = os.path.join(tmp, "roles.json")
    r = load(db, "--expect-role", "development", "--manifest", man)
    check(r.returncode == 0, f"first load: {r.returncode} {r.stderr}")
    rec = role_record(client, db)
    check(rec and rec["role"] == "development" and rec["sealed"] is False,
          f"first load gives the role development: {rec}")
    check(rec and len(rec["history"]) == 1 and rec["history"][0]["command"] == "load",
          f"history of the first load: {rec}")

    # --expect-role live on a development database: every command stops first.
    before = snapshot(client, db)
    cases = [
        ("load", ["load", "--uri", URI, "--db", db, *HIST, "--vcf", exac]),
        ("verify", ["verify", "--uri", URI, "--db", db]),
        ("recover", ["recover", "--uri", URI, "--db", db]),
        ("status", ["status", "--uri", URI, "--db", db]),
        ("promote", ["promote", "--uri", URI, "--db", db, "--manifest", man]),
        ("unseal", ["unseal", "--uri", URI, "--db", db, "--reason", "x"]),
    ]
    for name, args in cases:
        r = run(*args, "--expect-role", "live")
        check(r.returncode == 9 and "development" in r.stderr and "not live" in r.stderr,
              f"{name} --expect-role live on development: {r.returncode} {r.stderr}")
        r = run(*args, env={"SWEFREQ_EXPECT_ROLE": "live"})
        check(r.returncode == 9, f"{name} with SWEFREQ_EXPECT_ROLE=live: {r.returncode} {r.stderr}")
    check(snapshot(client, db) == before, "role mismatches changed nothing")
    r = run("status", "--uri", URI, "--db", db, env={"SWEFREQ_EXPECT_ROLE": "production"})
    check(r.returncode == 2 and "SWEFREQ_EXPECT_ROLE" in r.stderr, f"bad env: {r.returncode}")
    r = run("load", "--uri", URI, "--db", db, "--role", "live", *HIST, "--vcf", exac)
    check(r.returncode == 9 and "already a development" in r.stderr,
          f"--role live on an existing development database: {r.returncode} {r.stderr}")
    check(snapshot(client, db) == before, "--role mismatch changed nothing")

    # promote against a manifest that differs: exit 5, nothing changed.
    with open(man) as f:
        m = json.load(f)
    # another valid format-2 digest: the empty set's
    m["collections"][0]["digest"] = ("lthash16-1024/sha256-chacha20:" +
                                     base64.b64encode(bytes(2048)).decode())
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as f:
        json.dump(m, f)
    r = run("promote", "--uri", URI, "--db", db, "--manifest", bad)
    check(r.returncode == 5 and "nothing was changed" in r.stderr,
          f"promote on a difference: {r.returncode} {r.stderr}")
    check(snapshot(client, db) == before, "a failed promote changed nothing")
    # promote needs a manifest file.
    r = run("promote", "--uri", URI, "--db", db)
    check(r.returncode == 2, f"promote without --manifest: {r.returncode}")

    # promote: live and sealed, with the manifest's digest.
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man, "--expect-role",
            "development", "--json")
    check(r.returncode == 0, f"promote: {r.returncode} {r.stderr}")
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(out.get("promoted") is True and out.get("verify", {}).get("ok") is True,
          f"promote --json: {r.stdout}")
    rec = role_record(client, db)
    check(rec["role"] == "live" and rec["sealed"] is True and rec["sealed_by"]["command"] == "promote",
          f"sealed live: {rec}")
    h = rec["history"][-1]
    check(h["command"] == "promote" and h["role"] == "live" and len(h["manifest_digest"]) == 64
          and h["version"], f"promote in the history: {h}")

    # A development load pointed at the live server: refused before writing.
    sealed = snapshot(client, db)
    for extra in ([], ["--expect-role", "development"], ["--break-lock"]):
        r = load(db, *extra)
        check(r.returncode == 9, f"load {extra} onto sealed live: {r.returncode} {r.stderr}")
    r = load(db)
    check("sealed" in r.stderr and "live" in r.stderr and "promote" in r.stderr and db in r.stderr,
          f"the refusal names database, role, when and how: {r.stderr}")
    check(snapshot(client, db) == sealed, "refused loads changed nothing (collections, swefreq_meta)")
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man)
    check(r.returncode == 9 and "sealed" in r.stderr, f"promote of a sealed database: {r.returncode}")
    # recover with nothing to do runs without writing; with leftovers it is refused.
    r = run("recover", "--uri", URI, "--db", db, "--expect-role", "live")
    check(r.returncode == 0, f"recover on a settled sealed database: {r.returncode} {r.stderr}")
    check(snapshot(client, db) == sealed, "recover on a sealed database wrote nothing")
    client[db]["swefreq_staging_x_variants"].insert_one({"_id": 1})
    left = snapshot(client, db)
    r = run("recover", "--uri", URI, "--db", db)
    check(r.returncode == 9 and "sealed" in r.stderr, f"recover with work on sealed: {r.returncode} {r.stderr}")
    check(snapshot(client, db) == left, "refused recover changed nothing")
    client[db]["swefreq_staging_x_variants"].drop()

    # status never writes; it shows role, history, loads and the manifest in force.
    r = run("status", "--uri", URI, "--db", db, "--json", "--expect-role", "live")
    check(r.returncode == 0, f"status: {r.returncode} {r.stderr}")
    st = json.loads(r.stdout) if r.returncode == 0 else {}
    check(st.get("role") == "live" and st.get("sealed") is True, f"status role: {st.get('role')}")
    check(len(st.get("role_record", {}).get("history", [])) == 2, "status history")
    loads = st.get("loads", [])
    check(len(loads) == 1 and loads[0]["status"] == "complete" and loads[0]["command"] == "load"
          and len(loads[0]["sources"]) == 2 and len(loads[0]["collections"]) == 3,  # and metrics
          f"status loads: {loads}")
    check(st.get("manifest_digest") == rec["manifest_digest"] and st.get("manifest"),
          "status: the manifest in force")
    r = run("status", "--uri", URI, "--db", db)
    check(r.returncode == 0 and "role     live" in r.stdout and "sealed   yes" in r.stdout
          and "promote  live" in r.stdout and "complete" in r.stdout
          and "variants 24" in r.stdout and "exac_sample.vcf" in r.stdout,
          f"status text: {r.stdout}")
    check(snapshot(client, db) == sealed, "status wrote nothing")

    # verify reports role and seal; --expect-role live passes on sealed live.
    r = run("verify", "--uri", URI, "--db", db, "--manifest", man, "--expect-role", "live", "--json")
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and v.get("database", {}).get("role") == "live"
          and v["database"].get("sealed") is True, f"verify live sealed: {r.returncode} {r.stdout}")

    # unseal needs a reason, records it; live but unsealed fails the nightly verify.
    r = run("unseal", "--uri", URI, "--db", db)
    check(r.returncode == 2, f"unseal without reason: {r.returncode}")
    check(snapshot(client, db) == sealed, "unseal without reason changed nothing")
    r = run("unseal", "--uri", URI, "--db", db, "--reason", "correct one typo in rsid")
    check(r.returncode == 0, f"unseal: {r.returncode} {r.stderr}")
    rec = role_record(client, db)
    check(rec["sealed"] is False and rec["role"] == "live"
          and rec["history"][-1].get("reason") == "correct one typo in rsid",
          f"unseal recorded: {rec['history'][-1]}")
    r = run("unseal", "--uri", URI, "--db", db, "--reason", "again")
    check(r.returncode == 2, f"unseal of an unsealed database: {r.returncode}")
    r = run("verify", "--uri", URI, "--db", db, "--expect-role", "live")
    check(r.returncode == 5 and "not sealed" in r.stdout, f"verify live unsealed: {r.returncode} {r.stdout}")
    r = load(db, "--expect-role", "live")
    check(r.returncode == 0, f"load after unseal: {r.returncode} {r.stderr}")
    r = run("promote", "--uri", URI, "--db", db, "--manifest", man, "--expect-role", "live")
    check(r.returncode == 0, f"promote again: {r.returncode} {r.stderr}")

    # verify checks indexes: a dropped or changed index fails (exit 5).
    client[db]["variants"].drop_index("rsid_1")
    r = run("verify", "--uri", URI, "--db", db, "--json")
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    bad_idx = [i for i in v.get("indexes", []) if i["status"] != "ok"]
    check(r.returncode == 5 and bad_idx == [{"name": "variants.rsid_1", "status": "index missing"}],
          f"missing index: {r.returncode} {bad_idx}")
    client[db]["variants"].create_index([("rsid", -1)], name="rsid_1")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 5 and "variants.rsid_1: index differs" in r.stdout,
          f"changed index: {r.returncode} {r.stdout}")
    client.drop_database(db)


def browser(cl, db):
    """The browser's collections of db: documents and indexes."""
    return {c: (sorted(repr(d) for d in cl[db][c].find()), sorted(cl[db][c].index_information()))
            for c in ("variants", "base_coverage") if c in cl[db].list_collection_names()}


def files_in(d):
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_transfer():
    from mongo_common import require_faults
    db = "sfl_lc_transfer"
    faults = require_faults(db)
    faults.clear()
    client.drop_database(db)
    r = load(db)
    check(r.returncode == 0, f"load: {r.returncode} {r.stderr}")
    out = os.path.join(tmp, "export")

    # A write during the export: the proxy holds the read of variants; a
    # document changes; then the read runs.
    rule = faults.arm("find", coll="variants", action="hold")
    p = subprocess.Popen([TOOL, "export", "--uri", URI, "--db", db, "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    held = faults.wait(rule, timeout=60)
    check(held and held.get("held"), f"export's read of variants held: {held}")
    doc = client[db]["variants"].find_one()
    client[db]["variants"].update_one({"_id": doc["_id"]}, {"$set": {"rsid": "rs_changed"}})
    faults.release(rule, forward=True)
    _, err = p.communicate(timeout=120)
    check(p.returncode == 5 and "variants" in err and "changed" in err,
          f"write during export detected: {p.returncode} {err}")
    check(files_in(os.path.join(out, db)) == [] and files_in(out) == [],
          f"no dump left, no hidden folder: {files_in(out)} {files_in(os.path.join(out, db))}")
    # The database is now tampered: export refuses it too, until it is put back.
    r = run("export", "--uri", URI, "--db", db, "--out", out)
    check(r.returncode == 5 and files_in(os.path.join(out, db)) == [],
          f"tampered database not exported: {r.returncode}")
    client[db]["variants"].replace_one({"_id": doc["_id"]}, doc)
    faults.clear()
    r = run("export", "--uri", URI, "--db", db, "--out", out, "--expect-role", "development")
    check(r.returncode == 0, f"export: {r.returncode} {r.stderr}")
    dump = os.path.join(out, db)
    check(files_in(dump) == ["base_coverage.bson", "base_coverage.metadata.json", "manifest.json",
                             "metrics.bson", "metrics.metadata.json", "variants.bson",
                             "variants.metadata.json"], f"dump files: {files_in(dump)}")
    r = run("verify", "--dump", dump)
    check(r.returncode == 0, f"the export verifies as a dump: {r.returncode} {r.stdout}")
    # A failed export over an earlier one leaves the earlier one intact.
    cdoc = client[db]["base_coverage"].find_one()
    client[db]["base_coverage"].update_one({"_id": cdoc["_id"]}, {"$set": {"mean": -1.0}})
    r = run("export", "--uri", URI, "--db", db, "--out", out)
    check(r.returncode == 5 and files_in(out) == [db], f"failed re-export: {r.returncode} {files_in(out)}")
    client[db]["base_coverage"].replace_one({"_id": cdoc["_id"]}, cdoc)
    r = run("verify", "--dump", dump)
    check(r.returncode == 0, f"the earlier export is intact: {r.returncode} {r.stdout}")
    # What a killed export leaves (its hidden folder; the earlier dump moved
    # aside when it died between its renames) is cleaned up by the next one.
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.makedirs(os.path.join(out, f".{db}.export-{dead.pid}"))
    open(os.path.join(out, f".{db}.export-{dead.pid}", "variants.bson"), "wb").close()
    os.rename(dump, os.path.join(out, f".{db}.old-{dead.pid}"))
    client[db]["base_coverage"].update_one({"_id": cdoc["_id"]}, {"$set": {"mean": -1.0}})
    r = run("export", "--uri", URI, "--db", db, "--out", out)
    check(r.returncode == 5 and files_in(out) == [db] and "put back" in r.stderr,
          f"a killed export's leftovers: {r.returncode} {files_in(out)} {r.stderr}")
    client[db]["base_coverage"].replace_one({"_id": cdoc["_id"]}, cdoc)
    r = run("verify", "--dump", dump)
    check(r.returncode == 0, f"the earlier export was put back intact: {r.returncode} {r.stdout}")
    r = run("export", "--uri", URI, "--db", db, "--out", out, "--manifest-not-an-option")
    check(r.returncode == 2, "export: unknown option is a usage error")
    with open(os.path.join(dump, "variants.metadata.json")) as f:
        meta = json.load(f)
    check(sorted(i["name"] for i in meta["indexes"]) == sorted(client[db]["variants"].index_information()),
          "metadata holds the indexes on the server")

    # Restore into another database: same data, a load record "restore".
    tgt = "sfl_lc_transfer_t"
    client.drop_database(tgt)
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", out, "--insert-threads", "3")
    check(r.returncode == 0, f"restore: {r.returncode} {r.stderr}")
    check(browser(client, tgt) == browser(client, db), "restored = exported")
    recs = list(client[tgt]["swefreq_meta"].find({"command": "restore", "status": "complete"}))
    check(len(recs) == 1 and recs[0]["dump"] == dump, f"restore recorded: {recs}")
    r = run("verify", "--uri", URI, "--db", tgt, "--manifest", os.path.join(dump, "manifest.json"))
    check(r.returncode == 0, f"verify after restore: {r.returncode} {r.stdout}")
    good = browser(client, tgt)

    # A restore killed mid-way (kill -9 while an insert into staging is
    # held) leaves the target's collections as they were; SIGTERM there
    # stops it cleanly (exit 130, staging dropped, record interrupted).
    ftgt = require_faults(tgt)
    for n, how in enumerate(("kill", "terminate"), 1):
        rule = ftgt.arm("insert", coll="swefreq_staging_", action="hold")
        p = subprocess.Popen([TOOL, "restore", "--uri", URI, "--db", tgt, "--dump", dump],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = ftgt.wait(rule, timeout=60)
        check(held and held.get("held"), f"restore's insert held: {held}")
        getattr(p, how)()
        try:
            _, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            check(False, f"{how}: the restore did not stop within 30 s")
        ftgt.release(rule, forward=False)
        check(browser(client, tgt) == good, f"{how}: the browser's collections unchanged")
        if how == "terminate":  # a clean stop: exit 130, staging dropped, lock released
            check(p.returncode == 130 and "interrupted" in err and "not changed" in err,
                  f"SIGTERM: {p.returncode} {err}")
            check(not [c for c in client[tgt].list_collection_names() if c.startswith("swefreq_staging_")]
                  and client[tgt]["swefreq_meta"].find_one({"_id": "lock"}) is None,
                  "SIGTERM: no staging, no lock left")
            check(client[tgt]["swefreq_meta"].count_documents(
                  {"command": "restore", "status": "interrupted"}) == n,
                  "SIGTERM: the restore recorded itself interrupted")
        r = run("recover", "--uri", URI, "--db", tgt, "--break-lock")
        check(r.returncode == 0 and not [c for c in client[tgt].list_collection_names()
                                         if c.startswith("swefreq_staging_")],
              f"recover drops the {how}ed restore's staging: {r.returncode} {r.stderr}")
        check(client[tgt]["swefreq_meta"].count_documents(
              {"command": "restore", "status": "interrupted"}) == n,
              f"the {how}ed restore is marked interrupted")
        check(browser(client, tgt) == good, f"{how}, recover: the browser's collections unchanged")
        ftgt.clear()

    # Damaged and altered dumps are refused before the swap.
    cut = os.path.join(tmp, "cut", db)
    shutil.copytree(dump, cut)
    with open(os.path.join(cut, "variants.bson"), "r+b") as f:
        f.truncate(os.path.getsize(os.path.join(cut, "variants.bson")) - 100)
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", cut)
    check(r.returncode == 3 and "cut short" in r.stderr, f"cut dump: {r.returncode} {r.stderr}")
    check(browser(client, tgt) == good, "cut dump: unchanged")
    alt = os.path.join(tmp, "alt", db)
    shutil.copytree(dump, alt)
    data = bytearray(open(os.path.join(alt, "variants.bson"), "rb").read())
    i = data.find(b"rs")
    data[i + 2:i + 3] = b"9" if data[i + 2:i + 3] != b"9" else b"8"
    open(os.path.join(alt, "variants.bson"), "wb").write(bytes(data))
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", alt)
    check(r.returncode == 5 and "does not match" in r.stderr, f"altered dump: {r.returncode} {r.stderr}")
    check(browser(client, tgt) == good, "altered dump: unchanged")

    # A dump written from the files (`dump`, no server) restores the same way.
    r = run("dump", "--out", os.path.join(tmp, "fromfiles"), "--db", "x", *HIST, "--vcf", exac,
            "--coverage", cov, "--quiet")
    check(r.returncode == 0, f"dump: {r.returncode} {r.stderr}")
    ftgt2 = "sfl_lc_transfer_f"
    client.drop_database(ftgt2)
    r = run("restore", "--uri", URI, "--db", ftgt2, "--dump", os.path.join(tmp, "fromfiles"))
    check(r.returncode == 0 and browser(client, ftgt2) == good,
          f"restore of a `dump` folder: {r.returncode} {r.stderr}")
    client.drop_database(ftgt2)

    # Restore onto a sealed database: stops before any write.
    r = run("promote", "--uri", URI, "--db", tgt, "--manifest", os.path.join(dump, "manifest.json"))
    check(r.returncode == 0, f"promote: {r.returncode} {r.stderr}")
    before = snapshot(client, tgt)
    r = run("restore", "--uri", URI, "--db", tgt, "--dump", dump)
    check(r.returncode == 9 and "sealed" in r.stderr, f"restore onto sealed: {r.returncode} {r.stderr}")
    check(snapshot(client, tgt) == before, "restore onto sealed changed nothing")
    client.drop_database(db)
    client.drop_database(tgt)


def second_server(name="live-server", script="start.sh"):
    """Starts a second test server (the live system's) on another loopback
    port, in its own state folder; returns (uri, stop function)."""
    srv, ping = os.environ.get("SWEFREQ_TEST_SERVER_BIN"), os.environ.get("SWEFREQ_TEST_PING_BIN")
    if not srv or not ping:
        print("no test server binary (external server): skipped")
        sys.exit(77)
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server")
    state = os.path.join(tmp, name)
    r = subprocess.run(["bash", os.path.join(here, script), state, srv, ping],
                       capture_output=True, text=True, timeout=150)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        check(False, "second server started")
        finish("lifecycle e2e")

    def stop():
        subprocess.run(["bash", os.path.join(here, "stop.sh"), state], timeout=60)
    return open(os.path.join(state, "uri")).read().strip(), stop


def test_e2e():
    live_uri, stop = second_server()
    try:
        e2e(live_uri)
    finally:
        stop()


def e2e(LIVE):
    db = "swefreq"
    live = pymongo.MongoClient(LIVE, serverSelectionTimeoutMS=5000)
    check(LIVE != URI, "two servers on two ports")
    client.drop_database("sfl_lc_e2e")
    dev_db = "sfl_lc_e2e"
    dev_env = {"SWEFREQ_EXPECT_ROLE": "development"}
    live_env = {"SWEFREQ_EXPECT_ROLE": "live"}
    man = os.path.join(tmp, "dev-manifest.json")
    # 1. load development; 2. verify it.
    r = load(dev_db, "--manifest", man, env=dev_env)
    check(r.returncode == 0, f"1. load development: {r.returncode} {r.stderr}")
    r = run("verify", "--uri", URI, "--db", dev_db, "--sources", env=dev_env)
    check(r.returncode == 0, f"2. verify development: {r.returncode} {r.stdout}")
    # 3. export (the files are all that crosses).
    out = os.path.join(tmp, "carry")
    r = run("export", "--uri", URI, "--db", dev_db, "--out", out, env=dev_env)
    check(r.returncode == 0, f"3. export: {r.returncode} {r.stderr}")
    dump = os.path.join(out, dev_db)
    dump_manifest = os.path.join(dump, "manifest.json")
    # 4. restore into live (a new database gets the expected role).
    r = run("restore", "--uri", LIVE, "--db", db, "--dump", dump, env=live_env)
    check(r.returncode == 0, f"4. restore into live: {r.returncode} {r.stderr}")
    # 5. promote against the manifest file that came with the dump.
    r = run("promote", "--uri", LIVE, "--db", db, "--manifest", dump_manifest, env=live_env)
    check(r.returncode == 0, f"5. promote: {r.returncode} {r.stderr}")
    # 6. verify live (the nightly job).
    nightly = ["verify", "--uri", LIVE, "--db", db, "--manifest", dump_manifest, "--json"]
    r = run(*nightly, env=live_env)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and v.get("ok") is True and v["database"]["role"] == "live"
          and v["database"]["sealed"] is True, f"6. verify live: {r.returncode} {r.stdout}")
    check(browser(live, db) == browser(client, dev_db), "live equals development")

    # Cross-talk: each stops before any write on the other system.
    live_before, dev_before = snapshot(live, db), snapshot(client, dev_db)
    r = load(db, env=dev_env, uri=LIVE)  # a development load pointed at the live server
    r2 = run("load", "--uri", LIVE, "--db", db, *HIST, "--vcf", exac)  # no --expect-role
    r3 = run("restore", "--uri", LIVE, "--db", db, "--dump", dump, env=live_env)
    check((r.returncode, r2.returncode, r3.returncode) == (9, 9, 9),
          f"dev load / load / restore onto sealed live: {r.returncode} {r2.returncode} {r3.returncode}")
    r = run("export", "--uri", LIVE, "--db", db, "--out", os.path.join(tmp, "x"), env=dev_env)
    check(r.returncode == 9, f"a development export pointed at live: {r.returncode}")
    r = load(dev_db, env=live_env)  # a live script pointed at development
    check(r.returncode == 9, f"a live load pointed at development: {r.returncode}")
    check(snapshot(live, db) == live_before, "live unchanged by the cross-talk attempts")
    check(snapshot(client, dev_db) == dev_before, "development unchanged by the cross-talk attempts")

    # 7. tamper with one live document: the nightly verify fails (exit 5).
    d = live[db]["variants"].find_one()
    live[db]["variants"].update_one({"_id": d["_id"]}, {"$set": {"allele_freq": 0.5}})
    r = run(*nightly, env=live_env)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 5 and v.get("ok") is False and
          [c["status"] for c in v.get("collections", []) if c["name"] == "variants"] == ["digest differs"],
          f"7. tampered document: {r.returncode} {r.stdout}")
    live[db]["variants"].replace_one({"_id": d["_id"]}, d)
    r = run(*nightly, env=live_env)
    check(r.returncode == 0, f"put back: {r.returncode}")
    # 8. drop one index: it fails again.
    live[db]["base_coverage"].drop_index("xpos_1")
    r = run(*nightly, env=live_env)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 5 and {"name": "base_coverage.xpos_1", "status": "index missing"}
          in v.get("indexes", []), f"8. dropped index: {r.returncode} {r.stdout}")
    client.drop_database(dev_db)
    client.drop_database(db)


DEPLOY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy")


def script(name, *args, env, timeout=120):
    e = dict(os.environ)
    e.pop("SWEFREQ_EXPECT_ROLE", None)
    e.update({"SWEFREQ_LOAD": os.path.abspath(TOOL)})
    e.update(env)
    return subprocess.run(["bash", os.path.join(DEPLOY, name), *args], capture_output=True,
                          text=True, timeout=timeout, env=e)


def test_scripts():
    live_uri, stop = second_server()
    try:
        live_b, stop_b = second_server("live-server-b")
        try:
            scripts(live_uri, live_b)
        finally:
            stop_b()
    finally:
        stop()


def keypair(name):
    """An Ed25519 key pair made with openssl, as docs/deploy.md says."""
    key, pub = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True,
                   capture_output=True)
    os.chmod(key, 0o600)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return key, pub


def tree(d):
    """Every file under d with its bytes."""
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, d)] = open(p, "rb").read()
    return out


def scripts(LIVE, LIVE_B):
    db = "sfl_lc_scripts"
    client.drop_database(db)
    live = pymongo.MongoClient(LIVE, serverSelectionTimeoutMS=5000)
    key, pub = keypair("release")
    okey, _ = keypair("intruder")
    refdir = os.path.join(tmp, "reference")
    dev = {"SWEFREQ_MONGO_URI": URI, "SWEFREQ_DB": db, "SWEFREQ_SIGNING_KEY": key,
           "SWEFREQ_MANIFEST": os.path.join(tmp, "release.json")}
    lv = {"SWEFREQ_MONGO_URI": LIVE, "SWEFREQ_DB": db, "SWEFREQ_TRUSTED_KEYS": pub,
          "SWEFREQ_REFERENCE_DIR": refdir, "SWEFREQ_SERVER": "live-a"}
    ref_a = os.path.join(refdir, "live-a", db, "manifest.json")
    r = script("dev-load.sh", *HIST, "--vcf", exac, "--coverage", cov, "--quiet", env=dev)
    check(r.returncode == 0 and "verify: OK" in r.stdout, f"dev-load.sh: {r.returncode} {r.stderr}")
    carry = os.path.join(tmp, "carry-scripts")
    r = script("dev-export.sh", carry, env={**dev, "SWEFREQ_TRUSTED_KEYS": pub})
    check(r.returncode == 0 and os.path.exists(os.path.join(carry, db, "manifest.json.sig")),
          f"dev-export.sh signs the export: {r.returncode} {r.stderr}")
    r = script("dev-export.sh", os.path.join(tmp, "unsigned"), env={**dev, "SWEFREQ_SIGNING_KEY": ""})
    check(r.returncode != 0 and "SWEFREQ_SIGNING_KEY" in r.stderr, "dev-export.sh needs the signing key")
    # Failures before the release: nothing under the reference folder, no
    # `.new` or temporary file, the live server untouched.
    live_before = snapshot(live, db)
    r = script("live-restore-and-promote.sh", os.path.join(carry, db),
               env={**lv, "SWEFREQ_MONGO_URI": URI})
    check(r.returncode == 9 and "development" in r.stderr,
          f"live-restore-and-promote.sh pointed at development, saying why: {r.returncode} {r.stderr}")
    forged = os.path.join(tmp, "forged", db)
    shutil.copytree(os.path.join(carry, db), forged)
    with open(os.path.join(forged, "manifest.json"), "a") as f:
        f.write(" ")
    r = script("live-restore-and-promote.sh", forged, env=lv)
    check(r.returncode == 10, f"a changed manifest: exit 10: {r.returncode} {r.stderr}")
    subprocess.run([TOOL, "sign", "--manifest", os.path.join(forged, "manifest.json"), "--key", okey,
                    "--quiet"], check=True)
    r = script("live-restore-and-promote.sh", forged, env=lv)
    check(r.returncode == 10, f"signed by a key not trusted: exit 10: {r.returncode}")
    os.unlink(os.path.join(forged, "manifest.json.sig"))
    r = script("live-restore-and-promote.sh", forged, env=lv)
    check(r.returncode == 10, f"unsigned: exit 10: {r.returncode}")
    # Not a regular file where the manifest or its signature belongs: a
    # link to /dev/zero (would fill TMPDIR), a FIFO (would block), a link
    # to a real manifest, or more than 64 MiB: exit 3 at once, naming it.
    odd = os.path.join(tmp, "odd", db)
    shutil.copytree(os.path.join(carry, db), odd)
    om = os.path.join(odd, "manifest.json")
    os.rename(om, om + ".keep")
    os.rename(om + ".sig", om + ".sig.keep")
    def odd_case(path, make, what):
        make(path)
        if not path.endswith(".sig"):
            shutil.copy(om + ".sig.keep", om + ".sig")
        else:
            shutil.copy(om + ".keep", om)
        try:
            r = script("live-restore-and-promote.sh", odd, env=lv, timeout=30)
            check(r.returncode == 3 and path in r.stderr,
                  f"live-restore-and-promote.sh, {what}: exit 3 naming it: {r.returncode} {r.stderr}")
        except subprocess.TimeoutExpired:
            check(False, f"live-restore-and-promote.sh, {what}: hung")
        for p in (om, om + ".sig"):
            if os.path.lexists(p):
                os.unlink(p)
    for path in (om, om + ".sig"):
        odd_case(path, lambda p: os.symlink("/dev/zero", p), f"{path} a link to /dev/zero")
        odd_case(path, os.mkfifo, f"{path} a FIFO")
        odd_case(path, lambda p: os.symlink(om + ".keep" if p == om else om + ".sig.keep", p),
                 f"{path} a link to the real file")
    def big(p):
        with open(p, "wb") as f:
            f.truncate((64 << 20) + 1)
    odd_case(om, big, "a manifest over 64 MiB")
    # A swap after the check: the file is regular when checked, and a FIFO
    # by the time it is copied (head and dd are wrapped on PATH to swap it
    # just before they run). The copy must not block: exit 3 naming it.
    os.rename(om + ".keep", om)
    os.rename(om + ".sig.keep", om + ".sig")
    wrap = os.path.join(tmp, "swapbin")
    os.makedirs(wrap, exist_ok=True)
    for tool in ("head", "dd"):
        real = shutil.which(tool)
        with open(os.path.join(wrap, tool), "w") as f:
            f.write(f"""#!/bin/sh
case "$*" in *"$SFL_SWAP_TARGET"*)
  if [ ! -e "$SFL_SWAP_TARGET.swapped" ]; then
    : > "$SFL_SWAP_TARGET.swapped"; mv "$SFL_SWAP_TARGET" "$SFL_SWAP_TARGET.keep"
    mkfifo "$SFL_SWAP_TARGET"
  fi;;
esac
exec {real} "$@"
""")
        os.chmod(os.path.join(wrap, tool), 0o755)
    for path in (om, om + ".sig"):
        swap_env = {**lv, "PATH": wrap + os.pathsep + os.environ["PATH"], "SFL_SWAP_TARGET": path}
        try:
            r = script("live-restore-and-promote.sh", odd, env=swap_env, timeout=30)
            check(r.returncode == 3 and path in r.stderr and os.path.exists(path + ".swapped"),
                  f"{path} swapped to a FIFO after the check: exit 3 naming it: {r.returncode} {r.stderr}")
        except subprocess.TimeoutExpired:
            check(False, f"{path} swapped to a FIFO after the check: hung")
        if os.path.exists(path + ".keep"):
            os.unlink(path)
            os.rename(path + ".keep", path)
        if os.path.exists(path + ".swapped"):
            os.unlink(path + ".swapped")
    os.rename(om, om + ".keep")
    os.rename(om + ".sig", om + ".sig.keep")
    r = script("live-restore-and-promote.sh", os.path.join(carry, db), env={**lv, "SWEFREQ_TRUSTED_KEYS": ""})
    check(r.returncode != 0 and "SWEFREQ_TRUSTED_KEYS" in r.stderr, "the live script needs a trusted key")
    check(tree(refdir) == {} and snapshot(live, db) == live_before,
          f"failed releases wrote no reference, no .new file, nothing on live: {list(tree(refdir))}")

    # Release 1 onto live-a.
    r = script("live-restore-and-promote.sh", os.path.join(carry, db), env=lv)
    check(r.returncode == 0 and sorted(tree(refdir)) == [f"live-a/{db}/manifest.json",
                                                          f"live-a/{db}/manifest.json.sig"],
          f"live-restore-and-promote.sh: {r.returncode} {r.stderr} {sorted(tree(refdir))}")
    rec = live[db]["swefreq_meta"].find_one({"_id": "role"})
    check(rec["sealed"] and rec.get("signer_key_id"), f"sealed with the signer recorded: {rec}")
    r = script("live-verify.sh", env=lv)
    v = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 0 and v.get("ok") is True and v.get("release", {}).get("status") == "ok",
          f"live-verify.sh: {r.returncode} {r.stdout}")
    log = os.path.join(tmp, "verify.json")
    r = script("live-verify.sh", env={**lv, "SWEFREQ_VERIFY_LOG": log})
    check(r.returncode == 0 and json.load(open(log)).get("ok") is True, "live-verify.sh to a log")
    # Each system's scripts pointed at the other's server stop (exit 9).
    live_before, dev_before, ref_before = snapshot(live, db), snapshot(client, db), tree(refdir)
    r = script("dev-load.sh", *HIST, "--vcf", exac, "--quiet", env={**dev, "SWEFREQ_MONGO_URI": LIVE})
    check(r.returncode == 9, f"dev-load.sh pointed at live: {r.returncode}")
    r = script("live-restore-and-promote.sh", os.path.join(carry, db),
               env={**lv, "SWEFREQ_MONGO_URI": URI})
    check(r.returncode == 9, f"live-restore-and-promote.sh pointed at development: {r.returncode}")
    r = script("live-verify.sh", env={**lv, "SWEFREQ_MONGO_URI": URI,
                                      "SWEFREQ_LIVE_MANIFEST": os.path.join(carry, db, "manifest.json")})
    check(r.returncode == 9, f"live-verify.sh pointed at development: {r.returncode}")
    check(snapshot(live, db) == live_before and snapshot(client, db) == dev_before
          and tree(refdir) == ref_before, "the scripts of one system changed nothing on the other")
    # A sealed live database refuses a second restore (9): its reference stays.
    r = script("live-restore-and-promote.sh", os.path.join(carry, db), env=lv)
    check(r.returncode == 9 and tree(refdir) == ref_before, f"onto sealed live: {r.returncode}")

    # Release 2 (other data) onto a NEW server, live-b: live-a's reference is
    # kept and its nightly verify keeps passing until cron is switched.
    r = script("dev-load.sh", *HIST, "--vcf", exac, "--quiet", env=dev)
    check(r.returncode == 0, f"dev-load.sh, release 2: {r.returncode} {r.stderr}")
    carry2 = os.path.join(tmp, "carry-2")
    r = script("dev-export.sh", carry2, env=dev)
    check(r.returncode == 0, f"dev-export.sh, release 2: {r.returncode} {r.stderr}")
    lv_b = {**lv, "SWEFREQ_MONGO_URI": LIVE_B, "SWEFREQ_SERVER": "live-b"}
    r = script("live-restore-and-promote.sh", os.path.join(carry2, db), env=lv_b)
    check(r.returncode == 0, f"release 2 onto live-b: {r.returncode} {r.stderr}")
    after = tree(refdir)
    check(after[f"live-a/{db}/manifest.json"] == ref_before[f"live-a/{db}/manifest.json"]
          and f"live-b/{db}/manifest.json" in after and len(after) == 4,
          f"live-a's reference kept, live-b's written: {sorted(after)}")
    r = script("live-verify.sh", env=lv)
    check(r.returncode == 0, f"the old live server's nightly verify still passes: {r.returncode} {r.stdout}")
    r = script("live-verify.sh", env=lv_b)
    check(r.returncode == 0, f"the new live server's nightly verify: {r.returncode} {r.stdout}")
    # Pointed at live-a with live-b's reference (cron switched half-way): 5.
    r = script("live-verify.sh", env={**lv_b, "SWEFREQ_MONGO_URI": LIVE})
    check(r.returncode == 5, f"live-a against live-b's reference: {r.returncode}")
    # In place: release 2 into a new database on live-a; the old database's
    # reference and nightly verify are untouched.
    lv_in = {**lv, "SWEFREQ_DB": db + "_r2"}
    r = script("live-restore-and-promote.sh", os.path.join(carry2, db), env=lv_in)
    check(r.returncode == 0 and tree(refdir)[f"live-a/{db}/manifest.json"]
          == ref_before[f"live-a/{db}/manifest.json"], f"in place, a new database: {r.returncode} {r.stderr}")
    for e in (lv, lv_in):
        r = script("live-verify.sh", env=e)
        check(r.returncode == 0, f"nightly verify of {e['SWEFREQ_DB']} on live-a: {r.returncode}")
    check(not [f for f in tree(refdir) if "/." in "/" + f or f.endswith(".new")],
          f"no temporary file left in the reference folder: {sorted(tree(refdir))}")
    d = live[db]["variants"].find_one()
    live[db]["variants"].update_one({"_id": d["_id"]}, {"$set": {"pos": -1}})
    r = script("live-verify.sh", env=lv)
    check(r.returncode == 5, f"live-verify.sh after tampering: {r.returncode}")
    client.drop_database(db)


def test_volume():
    dev_uri, stop_dev = second_server("volume-dev")
    live_uri, stop_live = second_server("volume-live")
    try:
        volume(dev_uri, stop_dev, live_uri, stop_live)
    finally:
        stop_dev()
        stop_live()


def volume(DEV, stop_dev, LIVE, stop_live):
    db = "swefreq"
    man = os.path.join(tmp, "volume.json")
    r = load(db, "--manifest", man, env={"SWEFREQ_EXPECT_ROLE": "development"}, uri=DEV)
    check(r.returncode == 0, f"load development: {r.returncode} {r.stderr}")
    # The clone: the development server's volume copied to the live server.
    stop_dev()
    stop_live()
    src, dst = os.path.join(tmp, "volume-dev", "data"), os.path.join(tmp, "volume-live", "data")
    for f in os.listdir(src):
        shutil.copy2(os.path.join(src, f), os.path.join(dst, f))
    _, stop_live2 = second_server("volume-live", "restart.sh")
    live = pymongo.MongoClient(LIVE, serverSelectionTimeoutMS=5000)
    rec = live[db]["swefreq_meta"].find_one({"_id": "role"})
    check(rec and rec["role"] == "development" and live[db]["variants"].count_documents({}) == 24,
          f"the clone carries the development database: {rec}")
    r = run("promote", "--uri", LIVE, "--db", db, "--manifest", man, "--expect-role", "live")
    check(r.returncode == 9, f"promote --expect-role live of the clone: {r.returncode}")
    d = live[db]["variants"].find_one()
    live[db]["variants"].update_one({"_id": d["_id"]}, {"$set": {"rsid": "rs0"}})
    before = snapshot(live, db)
    r = run("promote", "--uri", LIVE, "--db", db, "--manifest", man, "--expect-role", "development")
    check(r.returncode == 5 and snapshot(live, db) == before,
          f"promote of a clone that differs: {r.returncode}, nothing changed")
    live[db]["variants"].replace_one({"_id": d["_id"]}, d)
    r = run("promote", "--uri", LIVE, "--db", db, "--manifest", man, "--expect-role", "development")
    check(r.returncode == 0, f"promote of the clone: {r.returncode} {r.stderr}")
    r = run("verify", "--uri", LIVE, "--db", db, "--manifest", man, "--expect-role", "live")
    check(r.returncode == 0 and "role live, sealed" in r.stdout, f"nightly verify: {r.returncode} {r.stdout}")
    sealed = snapshot(live, db)
    r = load(db, env={"SWEFREQ_EXPECT_ROLE": "development"}, uri=LIVE)
    check(r.returncode == 9 and snapshot(live, db) == sealed,
          f"a development load onto the promoted clone: {r.returncode}")
    stop_live2()


F1 = "not forgery-resistant (format 1)"


def jrun(*args, **kw):
    r = run(*args, **kw)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, {}


def warned(obj):
    return any(F1 in w for w in obj.get("warnings", []))


def test_format1():
    db, db2 = "sfl_lc_format1", "sfl_lc_format1_live"
    for d in (db, db2):
        client.drop_database(d)
    f1 = os.path.join(TD, "format1_dump")
    f1man = os.path.join(f1, "swefreq", "manifest.json")
    r = run("restore", "--uri", URI, "--db", db, "--dump", f1)
    check(r.returncode == 0 and F1 in r.stderr, f"restore (text): {r.returncode} {r.stderr}")
    r, j = jrun("restore", "--uri", URI, "--db", db, "--dump", f1, "--json")
    check(r.returncode == 0 and j.get("restored") is True and j.get("manifest_format_version") == 1
          and warned(j), f"restore --json: {r.returncode} {r.stdout} {r.stderr}")
    check(client[db]["base_coverage"].count_documents({}) == 40, "restored documents")
    # restore checks the dump against its manifest before sending anything,
    # with format 1's digest for a format-1 manifest: one changed value is
    # refused (exit 5), the restored database untouched.
    import bson  # noqa: E402  (pymongo's)
    bad = os.path.join(tmp, "f1bad", "swefreq")
    shutil.copytree(os.path.join(f1, "swefreq"), bad)
    bpath = os.path.join(bad, "base_coverage.bson")
    with open(bpath, "rb") as fh:
        docs = bson.decode_all(fh.read())
    docs[3]["mean"] = docs[3]["mean"] + 1.5
    with open(bpath, "wb") as fh:
        fh.write(b"".join(bson.encode(d) for d in docs))
    before = sorted(client[db]["base_coverage"].find({}), key=lambda d: str(d["_id"]))
    r = run("restore", "--uri", URI, "--db", db, "--dump", bad)
    check(r.returncode == 5 and "base_coverage.bson: 40 documents" in r.stderr
          and "does not match its manifest" in r.stderr,
          f"restore of a changed format-1 dump: {r.returncode} {r.stderr}")
    check(sorted(client[db]["base_coverage"].find({}), key=lambda d: str(d["_id"])) == before,
          "the refused restore changed nothing")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0 and F1 in r.stdout, f"verify --uri (text): {r.returncode} {r.stdout}")
    r, j = jrun("verify", "--uri", URI, "--db", db, "--json")
    check(r.returncode == 0 and j.get("ok") is True and j.get("manifest_format_version") == 1
          and j.get("forgery_resistant") is False and warned(j), f"verify --uri --json: {r.stdout}")
    r = run("status", "--uri", URI, "--db", db)
    check(r.returncode == 0 and F1 in r.stdout, f"status (text): {r.stdout}")
    r, j = jrun("status", "--uri", URI, "--db", db, "--json")
    check(r.returncode == 0 and j.get("manifest_format_version") == 1 and warned(j)
          and len(j.get("manifest_digest") or "") == 64, f"status --json: {r.stdout[:400]}")
    out = os.path.join(tmp, "f1export")
    r = run("export", "--uri", URI, "--db", db, "--out", out)
    check(r.returncode == 0 and F1 in r.stderr, f"export (text): {r.returncode} {r.stderr}")
    r, j = jrun("export", "--uri", URI, "--db", db, "--out", out, "--json")
    check(r.returncode == 0 and j.get("manifest_format_version") == 1 and warned(j),
          f"export --json: {r.stdout} {r.stderr}")
    with open(os.path.join(out, db, "manifest.json")) as f:
        check(json.load(f)["format_version"] == 1, "the export carries the format-1 manifest")
    # A change is still caught by format 1's check.
    doc = client[db]["base_coverage"].find_one()
    client[db]["base_coverage"].update_one({"_id": doc["_id"]}, {"$set": {"mean": 99.5}})
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 5 and "digest differs" in r.stdout, f"changed: {r.returncode} {r.stdout}")
    client[db]["base_coverage"].replace_one({"_id": doc["_id"]}, doc)

    # A format-2 load of variants next to the format-1 coverage: the manifest
    # in force is format 1, each entry checked with its own kind.
    r = run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--quiet")
    check(r.returncode == 0, f"format-2 load next to it: {r.returncode} {r.stderr}")
    r, j = jrun("verify", "--uri", URI, "--db", db, "--json")
    kinds = sorted((c["name"], c.get("format")) for c in j.get("collections", []))
    check(r.returncode == 0 and j.get("manifest_format_version") == 1 and warned(j)
          and kinds == [("base_coverage", 1), ("metrics", 2), ("variants", 2)],
          f"mixed manifest in force: {r.returncode} {r.stdout[:600]}")
    vdoc = client[db]["variants"].find_one()
    client[db]["variants"].update_one({"_id": vdoc["_id"]}, {"$set": {"allele_freq": 0.5}})
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 5 and "variants" in r.stdout and "digest differs" in r.stdout,
          f"a changed variant in the mixed database: {r.returncode} {r.stdout}")
    client[db]["variants"].replace_one({"_id": vdoc["_id"]}, vdoc)
    # Reloaded with this version: format 2 throughout, no warning.
    r = run("load", "--uri", URI, "--db", db, "--coverage", cov, "--quiet")
    check(r.returncode == 0, f"coverage reloaded: {r.returncode} {r.stderr}")
    r, j = jrun("verify", "--uri", URI, "--db", db, "--json")
    check(r.returncode == 0 and j.get("manifest_format_version") == 2 and not j.get("warnings"),
          f"format 2 throughout: {r.returncode} {r.stdout[:300]}")

    # promote against the format-1 manifest file.
    r = run("restore", "--uri", URI, "--db", db2, "--dump", f1, "--role", "live", "--quiet")
    check(r.returncode == 0, f"restore as live: {r.returncode} {r.stderr}")
    r = run("promote", "--uri", URI, "--db", db2, "--manifest", f1man, "--expect-role", "live")
    check(r.returncode == 0 and F1 in r.stderr, f"promote (text): {r.returncode} {r.stderr}")
    r = run("unseal", "--uri", URI, "--db", db2, "--reason", "test: promote again")
    check(r.returncode == 0, f"unseal: {r.returncode} {r.stderr}")
    r, j = jrun("promote", "--uri", URI, "--db", db2, "--manifest", f1man, "--json")
    check(r.returncode == 0 and j.get("promoted") is True and j.get("manifest_format_version") == 1
          and warned(j) and warned(j.get("verify", {})), f"promote --json: {r.stdout} {r.stderr}")
    for d in (db, db2):
        client.drop_database(d)


def test_access():
    r = subprocess.run([sys.executable, os.path.join(DEPLOY, "access-control.py"), "sfl_lc_access"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SWEFREQ_ADMIN_URI": URI, "SWEFREQ_WEB_PASSWORD": "w-secret",
                            "SWEFREQ_LOADER_PASSWORD": "l-secret"})
    print(r.stdout, r.stderr)
    check("w-secret" not in r.stdout + r.stderr and "l-secret" not in r.stdout + r.stderr,
          "passwords never printed")
    if r.returncode == 77:
        check("skipped" in r.stdout, "the skip says why")
        print("access-control.py: skipped (the server has no createUser)")
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(77)
    check(r.returncode == 0, f"access-control.py: {r.returncode}")


def test_replay():
    live_uri, stop = second_server("replay-live")
    try:
        replay(live_uri)
    finally:
        stop()


def replay(LIVE):
    live = pymongo.MongoClient(LIVE, serverSelectionTimeoutMS=5000)
    key, pub = keypair("replay")
    dev_db, db = "sfl_replay_dev", "swefreq"
    client.drop_database(dev_db)
    dev_env = {"SWEFREQ_EXPECT_ROLE": "development"}
    live_env = {"SWEFREQ_EXPECT_ROLE": "live", "SWEFREQ_TRUSTED_KEYS": pub}

    def export(n, *extra):
        out = os.path.join(tmp, f"carry{n}")
        rel = ["--release", str(n), "--release-db", db] if n else []
        r = run("export", "--uri", URI, "--db", dev_db, "--out", out, "--signing-key", key,
                *rel, *extra, env=dev_env)
        check(r.returncode == 0, f"export release {n}: {r.returncode} {r.stderr}")
        return os.path.join(out, dev_db)

    r = run("load", "--uri", URI, "--db", dev_db, *HIST, "--vcf", exac, "--quiet", env=dev_env)
    check(r.returncode == 0, f"load A: {r.returncode} {r.stderr}")
    c1 = export(1)
    m1 = json.load(open(os.path.join(c1, "manifest.json")))
    check(m1.get("release") == {"number": 1, "database": db}, f"the release in the manifest: {m1.get('release')}")
    r = load(dev_db, env=dev_env)
    check(r.returncode == 0, f"load B: {r.returncode} {r.stderr}")
    c2, c3 = export(2), export(3)
    c0 = export(0)  # signed, names no release (as before releases were numbered)
    other = os.path.join(tmp, "carry-other")
    r = run("export", "--uri", URI, "--db", dev_db, "--out", other, "--signing-key", key,
            "--release", "4", "--release-db", "swefreq_other", env=dev_env)
    check(r.returncode == 0, f"export for another database: {r.returncode} {r.stderr}")
    other = os.path.join(other, dev_db)
    r = run("export", "--uri", URI, "--db", dev_db, "--out", os.path.join(tmp, "x"), "--release", "0",
            env=dev_env)
    check(r.returncode == 2, f"--release 0: {r.returncode} {r.stderr}")

    def restore(dump, env=live_env, dbn=db):
        return run("restore", "--uri", LIVE, "--db", dbn, "--dump", dump, env=env)

    def promote(dump, env=live_env):
        return run("promote", "--uri", LIVE, "--db", db, "--manifest",
                   os.path.join(dump, "manifest.json"), env=env)

    def nightly(dump):
        return run("verify", "--uri", LIVE, "--db", db, "--manifest",
                   os.path.join(dump, "manifest.json"), "--json", env=live_env)

    r = restore(c2)
    check(r.returncode == 0, f"restore release 2: {r.returncode} {r.stderr}")
    rec = live[db]["swefreq_meta"].find_one({"status": "complete", "command": "restore"})
    check(rec and rec.get("release", {}).get("number") == 2, f"the load record names release 2: {rec and rec.get('release')}")
    r = promote(c2)
    check(r.returncode == 0, f"promote release 2: {r.returncode} {r.stderr}")
    rr = role_record(live, db)
    check(rr.get("release_number") == 2 and rr.get("release_database") == db
          and rr["history"][-1].get("release_number") == 2, f"role record: release 2 ({rr.get('release_number')})")
    r = nightly(c2)
    check(r.returncode == 0, f"nightly, release 2: {r.returncode} {r.stdout}")
    r = run("status", "--uri", LIVE, "--db", db, env=live_env)
    check(r.returncode == 0 and f"release  number 2 of database {db}" in r.stdout,
          f"status shows the release: {r.stdout}")
    # The older signed manifest given to the nightly verify: its SHA-256 is
    # not the one promote recorded (the check that already existed).
    r = nightly(c1)
    check(r.returncode == 5, f"nightly given release 1: {r.returncode} {r.stdout}")

    r = run("unseal", "--uri", LIVE, "--db", db, "--reason", "replay test", env=live_env)
    check(r.returncode == 0, f"unseal: {r.returncode} {r.stderr}")
    before = snapshot(live, db)
    r = restore(c1)
    check(r.returncode == 9 and "release 1" in r.stderr and "release 2" in r.stderr,
          f"restore of release 1 over release 2: {r.returncode} {r.stderr}")
    check(snapshot(live, db) == before, "a refused restore changed nothing")
    r = restore(c0)
    check(r.returncode == 9 and "names no release number" in r.stderr,
          f"restore of an unnumbered manifest over release 2: {r.returncode} {r.stderr}")
    r = restore(other)
    check(r.returncode == 9 and "swefreq_other" in r.stderr and "not of swefreq" in r.stderr,
          f"restore of a release for another database: {r.returncode} {r.stderr}")
    check(snapshot(live, db) == before, "refused restores changed nothing")
    r = promote(c2)  # the same release again: sealed again
    check(r.returncode == 0, f"promote release 2 again (re-seal): {r.returncode} {r.stderr}")

    r = run("unseal", "--uri", LIVE, "--db", db, "--reason", "release 3", env=live_env)
    r = restore(c3)
    check(r.returncode == 0, f"restore release 3: {r.returncode} {r.stderr}")
    r = promote(c3)
    check(r.returncode == 0 and role_record(live, db).get("release_number") == 3,
          f"promote release 3: {r.returncode} {r.stderr}")
    # The replay: release 2 has the same data and a valid signature.
    r = run("unseal", "--uri", LIVE, "--db", db, "--reason", "attacker", env=live_env)
    before = snapshot(live, db)
    r = promote(c2)
    check(r.returncode == 9 and "release 2" in r.stderr and "release 3" in r.stderr
          and "older release" in r.stderr, f"promote of release 2 over release 3: {r.returncode} {r.stderr}")
    check(snapshot(live, db) == before, "a refused promote changed nothing")
    r = run("promote", "--uri", LIVE, "--db", db, "--manifest", os.path.join(c2, "manifest.json"),
            "--json", env=live_env)
    out = json.loads(r.stdout) if r.stdout.strip() else {}
    check(r.returncode == 9 and out.get("exit_code") == 9, f"promote --json: {r.returncode} {r.stdout}")
    r = promote(c3)
    r = nightly(c2)
    check(r.returncode == 5, f"nightly given release 2 after release 3: {r.returncode}")
    # demote keeps the release: a development restore of release 2 is refused too.
    r = run("demote", "--uri", LIVE, "--db", db, "--reason", "retired", env=live_env)
    check(r.returncode == 0, f"demote: {r.returncode} {r.stderr}")
    before = snapshot(live, db)
    r = restore(c2, env={"SWEFREQ_EXPECT_ROLE": "development", "SWEFREQ_TRUSTED_KEYS": pub})
    check(r.returncode == 9 and "release 3" in r.stderr, f"restore of release 2 after demote: {r.returncode} {r.stderr}")
    check(snapshot(live, db) == before, "changed nothing")

    # A fresh database: the release for it restores; an unnumbered one warns.
    r = restore(other, dbn="swefreq_other")
    check(r.returncode == 0, f"release 4 into swefreq_other: {r.returncode} {r.stderr}")
    r = restore(c0, dbn="swefreq_old")
    check(r.returncode == 0 and "names no release number" in r.stderr,
          f"unnumbered manifest into a new database: {r.returncode} {r.stderr}")

    # A bad "release" is an invalid manifest (exit 3), named.
    for bad, what in (({"number": 0, "database": db}, "number"), ({"number": 2}, "database"),
                      ({"number": 2, "database": "a/b"}, "database"),
                      ({"number": 2.5, "database": db}, "number"),
                      ({"number": 2, "database": db, "x": 1}, "other than")):
        d = os.path.join(tmp, "badrel")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(c2, d)
        m = json.load(open(os.path.join(d, "manifest.json")))
        m["release"] = bad
        json.dump(m, open(os.path.join(d, "manifest.json"), "w"))
        os.unlink(os.path.join(d, "manifest.json.sig"))
        r = run("verify", "--dump", d)
        check(r.returncode == 3 and "release" in r.stderr and what in r.stderr,
              f"release {bad}: {r.returncode} {r.stderr}")
    # deploy/dev-export.sh numbers the release from SWEFREQ_RELEASE.
    r = script("dev-export.sh", os.path.join(tmp, "scripted"),
               env={"SWEFREQ_MONGO_URI": URI, "SWEFREQ_DB": dev_db, "SWEFREQ_SIGNING_KEY": key,
                    "SWEFREQ_RELEASE": "5", "SWEFREQ_RELEASE_DB": db})
    m5 = os.path.join(tmp, "scripted", dev_db, "manifest.json")
    check(r.returncode == 0 and json.load(open(m5)).get("release") == {"number": 5, "database": db},
          f"dev-export.sh with SWEFREQ_RELEASE: {r.returncode} {r.stderr}")
    r = script("dev-export.sh", os.path.join(tmp, "scripted0"),
               env={"SWEFREQ_MONGO_URI": URI, "SWEFREQ_DB": dev_db, "SWEFREQ_SIGNING_KEY": key})
    check(r.returncode == 0 and "SWEFREQ_RELEASE is not set" in r.stderr,
          f"dev-export.sh without SWEFREQ_RELEASE warns: {r.returncode} {r.stderr}")

    # The replay floor of deploy/live-restore-and-promote.sh (issue 20
    # review): the release the database records is the attacker's to
    # change. Release 3 is released through the script; the attacker, who
    # can write to the database and to the carried dump, unseals the role
    # record and removes its release number, and puts the older, validly
    # signed release 2 where the carried dump is. main restored, promoted
    # and installed it as the reference (0), so the nightly verify passed;
    # the references the system holds refuse it (9), changing nothing.
    live.drop_database(db)
    refdir = os.path.join(tmp, "replay-refs")
    lv = {"SWEFREQ_MONGO_URI": LIVE, "SWEFREQ_DB": db, "SWEFREQ_TRUSTED_KEYS": pub,
          "SWEFREQ_REFERENCE_DIR": refdir, "SWEFREQ_SERVER": "live-a"}
    ref_a = os.path.join(refdir, "live-a", db, "manifest.json")
    r = script("live-restore-and-promote.sh", c3, env=lv)
    check(r.returncode == 0 and open(ref_a, "rb").read() == open(os.path.join(c3, "manifest.json"), "rb").read(),
          f"script: release 3 released, its reference installed: {r.returncode} {r.stderr}")

    def tamper():
        live[db]["swefreq_meta"].update_one(
            {"_id": "role"}, {"$set": {"sealed": False},
                              "$unset": {"release_number": "", "release_database": ""}})
    tamper()
    before = snapshot(live, db)
    r = script("live-restore-and-promote.sh", c2, env=lv)
    check(r.returncode == 9 and "release 2" in r.stderr and "release 3" in r.stderr,
          f"script: release 2 replayed over a tampered record: {r.returncode} {r.stderr}")
    check(snapshot(live, db) == before, "the refused replay changed nothing")
    check(open(ref_a, "rb").read() == open(os.path.join(c3, "manifest.json"), "rb").read(),
          "the reference is still release 3")
    r = script("live-restore-and-promote.sh", c0, env=lv)
    check(r.returncode == 9 and "not numbered" in r.stderr,
          f"script: an unnumbered release over reference 3: {r.returncode} {r.stderr}")
    # A new server (its database records nothing): the other server's
    # reference is the floor; release 3 itself may go there too.
    lv_b = {**lv, "SWEFREQ_SERVER": "live-b"}
    live.drop_database(db)
    r = script("live-restore-and-promote.sh", c2, env=lv_b)
    check(r.returncode == 9 and not os.path.exists(os.path.join(refdir, "live-b"))
          and db not in live.list_database_names(),
          f"script: release 2 to a new server after release 3: {r.returncode} {r.stderr}")
    r = script("live-restore-and-promote.sh", c3, env=lv_b)
    check(r.returncode == 0, f"script: release 3 again, on a new server: {r.returncode} {r.stderr}")
    for n in (db, "swefreq_other", "swefreq_old"):
        live.drop_database(n)
    client.drop_database(dev_db)


def test_swap():
    live_uri, stop = second_server("swap-live")
    try:
        swap(live_uri)
    finally:
        stop()


def swap(LIVE):
    from mongo_common import require_faults
    key, pub = keypair("swap")
    dev_db, db, hold_db = "sfl_swap_dev", "swefreq", "sfl_swap_hold"
    client.drop_database(dev_db)
    dev_env = {"SWEFREQ_EXPECT_ROLE": "development"}
    trust = {"SWEFREQ_TRUSTED_KEYS": pub}

    def export(n, vcf):
        """Release n, for hold_db and for db."""
        r = run("load", "--uri", URI, "--db", dev_db, *HIST, "--vcf", vcf, "--coverage", cov,
                "--quiet", env=dev_env)
        check(r.returncode == 0, f"load for release {n}: {r.returncode} {r.stderr}")
        dumps = []
        for rdb in (hold_db, db):
            out = os.path.join(tmp, f"swapcarry{n}-{rdb}")
            r = run("export", "--uri", URI, "--db", dev_db, "--out", out, "--signing-key", key,
                    "--release", str(n), "--release-db", rdb, env=dev_env)
            check(r.returncode == 0, f"export release {n}: {r.returncode} {r.stderr}")
            dumps.append(os.path.join(out, dev_db))
        return dumps

    old, old_live = export(1, os.path.join(TD, "swegen_sample.vcf"))  # older, other data
    new, new_live = export(2, exac)
    new_browser = browser(client, dev_db)
    check(sorted(os.listdir(old)) == sorted(os.listdir(new))
          and open(os.path.join(old, "variants.bson"), "rb").read()
          != open(os.path.join(new, "variants.bson"), "rb").read(),
          "the two releases hold the same files with other variants")
    # The copy the operator checked (as the release script makes it).
    checked = os.path.join(tmp, "checked")
    os.makedirs(checked)
    for f in ("manifest.json", "manifest.json.sig"):
        shutil.copy(os.path.join(new, f), checked)
    copy = os.path.join(checked, "manifest.json")

    def carried(name, src=new):
        d = os.path.join(tmp, name)
        shutil.copytree(src, d)
        return d

    def replace_with(d, src, only=None):
        """The attacker's swap: new files (new inodes) in the carried folder."""
        for f in sorted(os.listdir(src)):
            if only is None or f in only:
                tmpf = os.path.join(d, "." + f + ".swap")
                shutil.copy(os.path.join(src, f), tmpf)
                os.rename(tmpf, os.path.join(d, f))

    def overwrite_with(d, src):
        """The same, written into the files restore may already hold open."""
        for f in sorted(os.listdir(src)):
            with open(os.path.join(d, f), "r+b") as out:
                out.truncate(0)
                out.write(open(os.path.join(src, f), "rb").read())

    def restore(dump, *extra, env=trust):
        return run("restore", "--uri", URI, "--db", hold_db, "--dump", dump, *extra, env=env)

    client.drop_database(hold_db)
    r = load(hold_db)
    check(r.returncode == 0, f"load {hold_db}: {r.returncode} {r.stderr}")
    before = snapshot(client, hold_db)

    # 1. The dump replaced by the older signed release before restore runs:
    # its manifest.json is not the checked copy (main: restore had no
    # --manifest, and restored the older release).
    d = carried("swap1")
    replace_with(d, old)
    r = restore(d, "--manifest", copy)
    check(r.returncode == 5 and os.path.join(d, "manifest.json") in r.stderr and copy in r.stderr
          and "differs" in r.stderr, f"a swapped dump with --manifest: exit 5 naming both: {r.returncode} {r.stderr}")
    check(snapshot(client, hold_db) == before, "1: the database unchanged")
    # 2. Only a .bson swapped: the documents are held to the copy's digests.
    d = carried("swap2")
    replace_with(d, old, only={"variants.bson"})
    r = restore(d, "--manifest", copy)
    check(r.returncode == 5 and "variants.bson" in r.stderr and "Nothing was sent" in r.stderr,
          f"a swapped .bson with --manifest: exit 5: {r.returncode} {r.stderr}")
    check(snapshot(client, hold_db) == before, "2: the database unchanged")
    # 3. The signature is the copy's: the copy without its .sig is
    # unsigned (exit 10), though the dump carries a valid one.
    bare = os.path.join(tmp, "bare")
    os.makedirs(bare)
    shutil.copy(copy, bare)
    r = restore(new, "--manifest", os.path.join(bare, "manifest.json"))
    check(r.returncode == 10 and os.path.join(bare, "manifest.json") in r.stderr,
          f"--manifest without its .sig: exit 10: {r.returncode} {r.stderr}")
    # A link as FILE is refused as the dump's own manifest.json would be.
    link = os.path.join(tmp, "link.json")
    os.symlink(copy, link)
    r = restore(new, "--manifest", link)
    check(r.returncode == 3 and link in r.stderr, f"--manifest a link: exit 3: {r.returncode} {r.stderr}")
    check(snapshot(client, hold_db) == before, "3: the database unchanged")

    # 4. The swap while restore runs: the proxy holds its first read of
    # swefreq_meta (the role check, its first command: after it read the
    # copy, compared the dump's manifest.json, opened every .bson and
    # prescanned it against the copy); the dump is then replaced whole
    # (new files). Nothing reads the folder again: what is installed is the
    # checked release, not the swapped one.
    faults = require_faults(hold_db)
    faults.clear()

    def held_restore(name, command, what, swap_in, given=("--manifest", copy)):
        """restore --manifest of a fresh carried dump; the proxy holds its
        first `command` on swefreq_meta while swap_in(dump) runs."""
        d = carried(name)
        rule = faults.arm(command, coll="swefreq_meta", action="hold")
        p = subprocess.Popen([TOOL, "restore", "--uri", URI, "--db", hold_db, "--dump", d,
                              *given], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, **trust})
        held = faults.wait(rule, timeout=60)
        check(held and held.get("held"), f"restore's {what} held: {held}")
        swap_in(d)
        faults.release(rule, forward=True)
        _, err = p.communicate(timeout=120)
        return p.returncode, err

    rc, err = held_restore("swap4", "find", "first read of swefreq_meta",
                           lambda d: replace_with(d, old))
    check(rc == 0 and browser(client, hold_db) == new_browser,
          f"the dump replaced while restore ran: the checked release installed: {rc} {err}")
    # Without --manifest the same: the dump's manifest.json was read once,
    # and the staging check does not read the swapped one.
    client.drop_database(hold_db)
    rc, err = held_restore("swap4b", "find", "first read of swefreq_meta",
                           lambda d: replace_with(d, old), given=())
    check(rc == 0 and browser(client, hold_db) == new_browser,
          f"without --manifest, the dump replaced while restore ran: what it read installed: {rc} {err}")
    before = snapshot(client, hold_db)
    # 5. The same written into the files restore already opened, while the
    # proxy holds its lock insert (after the prescan): the staging check,
    # against the same copy, refuses it before the swap.
    rc, err = held_restore("swap5", "insert", "lock insert", lambda d: overwrite_with(d, old))
    check(rc == 5 and "not changed" in err,
          f"the dump overwritten while restore ran: exit 5: {rc} {err}")
    after = snapshot(client, hold_db)
    check({k: v for k, v in after.items() if k != "swefreq_meta"}
          == {k: v for k, v in before.items() if k != "swefreq_meta"},
          "5: every collection but swefreq_meta (the failed load's record) byte-identical")
    faults.clear()
    # 6. The dump the copy describes restores.
    r = restore(new, "--manifest", copy)
    check(r.returncode == 0 and browser(client, hold_db) == new_browser,
          f"restore --manifest of the checked dump: {r.returncode} {r.stderr}")
    client.drop_database(hold_db)

    # 7. deploy/live-restore-and-promote.sh, the carried dump replaced by
    # the older signed release after the script's checks, just before it
    # runs restore (swefreq-load wrapped to swap first). main restored the
    # older release onto live (its promote then failed against the copy,
    # with the older data live); now restore refuses it: live unchanged,
    # no reference written.
    live = pymongo.MongoClient(LIVE, serverSelectionTimeoutMS=5000)
    live.drop_database(db)
    refdir = os.path.join(tmp, "swap-refs")
    lv = {"SWEFREQ_MONGO_URI": LIVE, "SWEFREQ_DB": db, "SWEFREQ_TRUSTED_KEYS": pub,
          "SWEFREQ_REFERENCE_DIR": refdir, "SWEFREQ_SERVER": "live-a"}
    wrapper = os.path.join(tmp, "swap-tool")
    with open(wrapper, "w") as f:
        f.write(f"""#!/bin/sh
if [ "$1" = restore ]; then
  for f in "$SFL_SWAP_FROM"/*; do
    cp "$f" "$SFL_SWAP_DUMP/.swap" && mv -f "$SFL_SWAP_DUMP/.swap" "$SFL_SWAP_DUMP/$(basename "$f")"
  done
fi
exec {os.path.abspath(TOOL)} "$@"
""")
    os.chmod(wrapper, 0o755)
    d = carried("swap7", new_live)
    r = script("live-restore-and-promote.sh", d,
               env={**lv, "SWEFREQ_LOAD": wrapper, "SFL_SWAP_FROM": old_live, "SFL_SWAP_DUMP": d})
    check(r.returncode == 5 and "differs" in r.stderr
          and open(os.path.join(d, "manifest.json"), "rb").read()
          == open(os.path.join(old_live, "manifest.json"), "rb").read(),
          f"the script, its dump swapped before restore: exit 5: {r.returncode} {r.stderr}")
    check(db not in live.list_database_names() and not os.path.exists(refdir),
          f"live untouched, no reference: {live.list_database_names()} {tree(refdir) if os.path.exists(refdir) else ''}")
    d = carried("swap8", new_live)
    r = script("live-restore-and-promote.sh", d, env=lv)
    ref = os.path.join(refdir, "live-a", db, "manifest.json")
    check(r.returncode == 0 and browser(live, db) == new_browser
          and open(ref, "rb").read() == open(os.path.join(new_live, "manifest.json"), "rb").read(),
          f"the script, the dump as checked: {r.returncode} {r.stderr}")
    live.drop_database(db)
    client.drop_database(dev_db)

if MODE == "roles":
    test_roles()
elif MODE == "transfer":
    test_transfer()
elif MODE == "e2e":
    test_e2e()
elif MODE == "scripts":
    test_scripts()
elif MODE == "volume":
    test_volume()
elif MODE == "access":
    test_access()
elif MODE == "replay":
    test_replay()
elif MODE == "format1":
    test_format1()
elif MODE == "swap":
    test_swap()
else:
    print(f"unknown mode {MODE}")
    sys.exit(2)
shutil.rmtree(tmp, ignore_errors=True)
finish(f"lifecycle {MODE}")
