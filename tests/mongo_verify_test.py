#!/usr/bin/env python3
"""verify --uri checks everything, against a manifest it names (issue 20,
items 3 and 4).

usage: mongo_verify_test.py SWEFREQ_LOAD TESTDATA_DIR

- a browser collection that the manifest in force does not list (`genes`
  filled by hand on a database loaded with --vcf only) is a deviation:
  exit 5, reported `unlisted` with its document count; so is any other
  collection (`zzz`, `variants\u200b`) but swefreq_meta, system.* and a
  staging leftover (a warning); a name with control characters
  ("x\nverify: OK\n\033[8m") is shown escaped in the text report (no
  forged line, no escape sequence), exactly in the JSON;
- an index that the manifest does not name is a deviation (`index
  unlisted`, exit 5); `_id_` is not;
- the text and the JSON say which manifest was checked against: the
  database's own copy (the manifest in force, with its load ids) or the
  file given with --manifest;
- on a sealed live database, checking only against its own copy is a
  warning (text and JSON `warnings`), not with --manifest;
- restore of a dump whose manifest lists no collections is refused (exit
  3) before anything is written: the database, its load records and its
  current load are unchanged; promote refuses that manifest the same way;
  restore refuses a collection file that is a symbolic link.
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

client, ferret, HIST = connect()
DB, LIVE = "sfl_verify_all", "sfl_verify_all_live"
VCF = os.path.join(TD, "exac_sample.vcf")


def run(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=300)


def verify_json(*args):
    r = run("verify", "--uri", URI, *args, "--json")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    try:
        return r, (json.loads(lines[0]) if len(lines) == 1 else {})
    except ValueError:
        return r, {}


def snapshot(db):
    """Every collection of db with its documents (sorted), and its indexes."""
    out = {}
    for name in sorted(client[db].list_collection_names()):
        docs = sorted(json.dumps(d, sort_keys=True, default=str) for d in client[db][name].find())
        idx = sorted(i["name"] for i in client[db][name].list_indexes())
        out[name] = (docs, idx)
    return out


tmp = tempfile.mkdtemp(prefix="sfl_verify_all_")
try:
    for d in (DB, LIVE):
        client.drop_database(d)
    r = run("load", "--uri", URI, "--db", DB, *HIST, "--vcf", VCF)
    check(r.returncode == 0, f"load --vcf: {r.returncode} {r.stderr}")
    cur = client[DB]["swefreq_meta"].find_one({"_id": "current"})["load_id"]

    # The clean database, against its own copy: ok, and it says so.
    r, rep = verify_json("--db", DB)
    check(r.returncode == 0 and rep.get("ok") is True and rep.get("exit_code") == 0,
          f"clean database: {r.returncode} {r.stdout} {r.stderr}")
    ref = rep.get("manifest", {})
    check(ref.get("source") == "database" and ref.get("load_ids") == [cur] and ref.get("path") is None
          and "signer" in ref and rep.get("warnings") == [],
          f"JSON names the database's own copy: {ref} {rep.get('warnings')}")
    r = run("verify", "--uri", URI, "--db", DB)
    check(r.returncode == 0
          and f"manifest   the database's own copy (manifest in force, load id {cur})" in r.stdout
          and "warning" not in r.stdout, f"text names the database's own copy: {r.stdout}")

    # A hand-filled browser collection the manifest in force does not list.
    client[DB]["genes"].insert_many([{"_id": "G1", "gene_id": "G1"}, {"_id": "G2", "gene_id": "G2"}])
    r, rep = verify_json("--db", DB)
    st = {c["name"]: c for c in rep.get("collections", [])}
    check(r.returncode == 5 and rep.get("ok") is False and st.get("genes", {}).get("status") == "unlisted"
          and st["genes"].get("actual_count") == 2 and st.get("variants", {}).get("status") == "ok",
          f"hand-filled genes: {r.returncode} {r.stdout}")
    r = run("verify", "--uri", URI, "--db", DB)
    check(r.returncode == 5 and "genes" in r.stdout and "not in the manifest (2 documents)" in r.stdout
          and "verify: FAILED" in r.stdout, f"hand-filled genes, text: {r.returncode} {r.stdout}")
    # ... also when an empty one is created by hand
    client[DB]["genes"].delete_many({})
    r, rep = verify_json("--db", DB)
    check(r.returncode == 5 and any(c["name"] == "genes" and c["status"] == "unlisted"
                                    for c in rep.get("collections", [])),
          f"an empty hand-made genes: {r.returncode} {r.stdout}")
    client[DB]["genes"].drop()
    # Any other collection is unlisted too, whatever its name: nothing in
    # the database goes unaccounted for.
    for odd in ("zzz", "variants\u200b"):
        client[DB][odd].insert_many([{"_id": 1}, {"_id": 2}, {"_id": 3}])
        r, rep = verify_json("--db", DB)
        st = {c["name"]: c for c in rep.get("collections", [])}
        check(r.returncode == 5 and st.get(odd, {}).get("status") == "unlisted"
              and st[odd].get("actual_count") == 3,
              f"a hand-made {odd!r}: unlisted: {r.returncode} {r.stdout}")
        client[DB][odd].drop()
    # A collection name is the database writer's text (issue 20 review):
    # main printed it raw, so "x\nverify: OK\n" forged a report line and
    # "\033[8m" (conceal) hid every line after it in a terminal, the real
    # "verify: FAILED" included. The text report shows control characters
    # escaped (\x0a, \x1b); the JSON keeps the exact name.
    forged = "x\nverify: OK\n\x1b[8m"
    client[DB][forged].insert_one({"_id": 1})
    client[DB]["swefreq_staging_\x1b[8m"].insert_one({"_id": 1})
    r = run("verify", "--uri", URI, "--db", DB)
    lines = r.stdout.splitlines()
    check(r.returncode == 5 and "\x1b" not in r.stdout + r.stderr and "verify: OK" not in lines
          and lines[-1:] == ["verify: FAILED"] and "x\\x0averify: OK\\x0a\\x1b[8m" in r.stdout
          and "swefreq_staging_\\x1b[8m" in r.stdout,
          f"control characters in collection names, text: {r.returncode} {r.stdout!r}")
    r, rep = verify_json("--db", DB)
    check(r.returncode == 5 and any(c["name"] == forged for c in rep.get("collections", [])),
          f"the JSON keeps the exact name: {r.returncode} {r.stdout}")
    client[DB][forged].drop()
    client[DB]["swefreq_staging_\x1b[8m"].drop()
    # The same for status: the role record's text (a reason, a host) is
    # the database writer's too.
    meta = client[DB]["swefreq_meta"]
    role_before = meta.find_one({"_id": "role"})
    meta.update_one({"_id": "role"}, {"$push": {"history": {
        "when": "x", "command": "unseal", "reason": "ok\nrole     live, sealed\x1b[8m",
        "host": "h\x1b]0;t\x07"}}})
    r = run("status", "--uri", URI, "--db", DB)
    check(r.returncode == 0 and "\x1b" not in r.stdout and "\x07" not in r.stdout
          and "ok\\x0arole     live, sealed\\x1b[8m" in r.stdout,
          f"control characters in the role record, status: {r.returncode} {r.stdout!r}")
    meta.replace_one({"_id": "role"}, role_before)
    # ... but a staging collection a load left is a warning, not a deviation.
    client[DB]["swefreq_staging_x_variants"].insert_one({"_id": 1})
    r, rep = verify_json("--db", DB)
    check(r.returncode == 0 and any("swefreq_staging_x_variants" in w for w in rep.get("warnings", []))
          and not any(c["name"].startswith("swefreq_") for c in rep.get("collections", [])),
          f"a staging leftover: a warning: {r.returncode} {r.stdout}")
    client[DB]["swefreq_staging_x_variants"].drop()
    r, rep = verify_json("--db", DB)
    check(r.returncode == 0 and rep.get("warnings") == [], f"clean again: {r.returncode} {r.stdout}")

    # An extra index.
    client[DB]["variants"].create_index([("allele_freq", 1)], name="allele_freq_1")
    r, rep = verify_json("--db", DB)
    idx = {i["name"]: i["status"] for i in rep.get("indexes", [])}
    check(r.returncode == 5 and idx.get("variants.allele_freq_1") == "index unlisted"
          and idx.get("variants.xpos_1") == "ok" and "variants._id_" not in idx,
          f"an extra index: {r.returncode} {idx}")
    r = run("verify", "--uri", URI, "--db", DB)
    check(r.returncode == 5 and "index      variants.allele_freq_1: index unlisted" in r.stdout,
          f"an extra index, text: {r.stdout}")
    client[DB]["variants"].drop_index("allele_freq_1")
    r, rep = verify_json("--db", DB)
    check(r.returncode == 0, f"index dropped: {r.returncode} {r.stdout}")

    # Against a file: the file is named.
    dump = os.path.join(tmp, "dump")
    r = run("export", "--uri", URI, "--db", DB, "--out", dump)
    check(r.returncode == 0, f"export: {r.returncode} {r.stderr}")
    man = os.path.join(dump, DB, "manifest.json")
    r, rep = verify_json("--db", DB, "--manifest", man)
    check(r.returncode == 0 and rep.get("manifest", {}).get("source") == "file"
          and rep["manifest"].get("path") == man and rep["manifest"].get("load_ids") is None,
          f"JSON names the file: {r.returncode} {r.stdout}")
    r = run("verify", "--uri", URI, "--db", DB, "--manifest", man)
    check(r.returncode == 0 and f"manifest   file {man}" in r.stdout, f"text names the file: {r.stdout}")

    # A sealed live database checked only against its own copy: a warning.
    r = run("restore", "--uri", URI, "--db", LIVE, "--dump", os.path.join(dump, DB), "--role", "live")
    check(r.returncode == 0, f"restore into live: {r.returncode} {r.stderr}")
    r = run("promote", "--uri", URI, "--db", LIVE, "--manifest", man)
    check(r.returncode == 0, f"promote: {r.returncode} {r.stderr}")
    r, rep = verify_json("--db", LIVE)
    w = rep.get("warnings", [])
    check(r.returncode == 0 and rep.get("ok") is True and len(w) == 1 and "own copy" in w[0]
          and "--manifest" in w[0] and rep.get("manifest", {}).get("source") == "database",
          f"sealed live, own copy: a warning: {r.returncode} {r.stdout}")
    r = run("verify", "--uri", URI, "--db", LIVE)
    check(r.returncode == 0 and "warning    " in r.stdout and "own copy" in r.stdout,
          f"sealed live, own copy, text: {r.stdout}")
    r, rep = verify_json("--db", LIVE, "--manifest", man, "--expect-role", "live")
    check(r.returncode == 0 and rep.get("warnings") == [], f"sealed live with --manifest: {r.stdout}")

    # restore of a dump whose manifest lists no collections: refused, and
    # the database (documents, indexes, load records, current) is unchanged.
    empty = os.path.join(tmp, "empty", DB)
    shutil.copytree(os.path.join(dump, DB), empty)
    m = json.load(open(os.path.join(empty, "manifest.json")))
    m["collections"] = []
    json.dump(m, open(os.path.join(empty, "manifest.json"), "w"))
    before = snapshot(DB)
    r = run("restore", "--uri", URI, "--db", DB, "--dump", empty)
    check(r.returncode == 3 and "lacks variants, metrics" in r.stderr,
          f"restore of an empty-collections manifest: {r.returncode} {r.stderr}")
    check(snapshot(DB) == before, "the database is unchanged by the refused restore")
    check(client[DB]["swefreq_meta"].find_one({"_id": "current"})["load_id"] == cur,
          "no complete load recorded")
    # restore refuses a collection file that is a symbolic link (to an
    # identical copy outside the dump, which would load and verify).
    linked = os.path.join(tmp, "linked", DB)
    shutil.copytree(os.path.join(dump, DB), linked)
    outside = os.path.join(tmp, "outside-variants.bson")
    shutil.move(os.path.join(linked, "variants.bson"), outside)
    os.symlink(outside, os.path.join(linked, "variants.bson"))
    r = run("restore", "--uri", URI, "--db", DB, "--dump", linked)
    check(r.returncode == 3 and "symbolic link" in r.stderr and "variants.bson" in r.stderr,
          f"restore through a symbolic link: {r.returncode} {r.stderr}")
    check(snapshot(DB) == before, "the database is unchanged by the refused restore (link)")
    # promote refuses the same manifest before writing: still development.
    r = run("promote", "--uri", URI, "--db", DB, "--manifest", os.path.join(empty, "manifest.json"))
    check(r.returncode == 3 and "lacks variants, metrics" in r.stderr,
          f"promote with an empty-collections manifest: {r.returncode} {r.stderr}")
    check(snapshot(DB) == before, "the database is unchanged by the refused promote")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
    for d in (DB, LIVE):
        client.drop_database(d)
finish("mongo_verify_test")
