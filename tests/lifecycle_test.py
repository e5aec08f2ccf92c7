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
Exit 77 when pymongo is missing (skipped).
"""
import json
import os
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


def load(db, *extra, env=None):
    return run("load", "--uri", URI, "--db", db, *HIST, "--vcf", exac, "--coverage", cov,
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
    m["collections"][0]["digest"] = "0" * 32
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
    check(h["command"] == "promote" and h["role"] == "live" and len(h["manifest_digest"]) == 32
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
          and len(loads[0]["sources"]) == 2 and len(loads[0]["collections"]) == 2,
          f"status loads: {loads}")
    check(st.get("manifest_digest") == rec["manifest_digest"] and st.get("manifest"),
          "status: the manifest in force")
    r = run("status", "--uri", URI, "--db", db)
    check(r.returncode == 0 and "live" in r.stdout and "sealed   yes" in r.stdout,
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


if MODE == "roles":
    test_roles()
else:
    print(f"unknown mode {MODE}")
    sys.exit(2)
finish(f"lifecycle {MODE}")
