#!/usr/bin/env python3
"""Index definitions and their options (issue 20): the manifest's index
definitions (lib/indexes.c, the browser's) are the only source of truth.

usage: index_options_test.py MODE SWEFREQ_LOAD TESTDATA_DIR
  MODE dump: no server. A dump's <collection>.metadata.json (what
             mongorestore builds indexes and the collection from) edited
             one way at a time: an index given hidden, partialFilterExpression,
             sparse, unique, expireAfterSeconds, collation or weights, the
             _id_ index given an option, a key changed, an index added or
             removed, collection options other than {}: verify --dump exits
             5 and names the index, its status and the option; `v` and `ns`
             are not options (0); a metadata file that is not JSON, or has
             no "indexes" array: exit 3 naming it.
  MODE live: against the test server. Each option is put on metrics.metric_1
             (dropped and created again with it): verify --uri exits 5 with
             "index options differ" naming the option. An option the server
             refuses, or accepts without reporting it in listIndexes (so no
             client can see it), is skipped and the output says so; at least
             one option must be checked. A restore of a dump whose
             metadata.json puts unique on that index builds the browser's
             definition (no unique) and verify --dump refused that dump (5).
             metrics made again as a capped collection (or with a default
             collation or validator, where the server allows them) with the
             same documents and index: verify --uri exits 5 naming
             metrics.(collection options).
Exit 77 when pymongo is missing (live).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODE, TOOL, TD = sys.argv[1:4]
tmp = tempfile.mkdtemp(prefix="sfl_idxopt_")
exac = os.path.join(TD, "exac_sample.vcf")

if MODE == "dump":
    from testlib import check, finish  # noqa: E402
else:
    from mongo_common import URI, check, finish  # noqa: E402
    import pymongo  # noqa: E402
    client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
    ferret = "ferretdbVersion" in client.admin.command("buildInfo")


def run(*args, timeout=120):
    e = dict(os.environ)
    for k in ("SWEFREQ_EXPECT_ROLE", "SWEFREQ_TRUSTED_KEYS"):
        e.pop(k, None)
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=e)


def jrun(*args):
    r = run(*args)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, {}


def status_of(report, name):
    return [i["status"] for i in report.get("indexes", []) if i["name"] == name]


OPTIONS = {
    "hidden": True,
    "partialFilterExpression": {"xpos": {"$gt": 0}},
    "sparse": True,
    "unique": True,
    "expireAfterSeconds": 3600,
    "collation": {"locale": "sv", "strength": 2},
    "weights": {"xpos": 5},
}


def test_dump():
    r = run("dump", "--out", tmp, "--db", "clean", "--vcf", exac, "--quiet")
    check(r.returncode == 0, f"dump: {r.returncode} {r.stderr}")
    clean = os.path.join(tmp, "clean")
    r, v = jrun("verify", "--dump", clean, "--json")
    check(r.returncode == 0 and v.get("ok") is True, f"the clean dump verifies: {r.returncode} {r.stdout}")

    def edited(coll, change):
        d = os.path.join(tmp, "edited")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(clean, d)
        p = os.path.join(d, f"{coll}.metadata.json")
        meta = json.load(open(p))
        change(meta)
        json.dump(meta, open(p, "w"))
        return d

    def spec(meta, name):
        return [i for i in meta["indexes"] if i["name"] == name][0]

    for opt, val in OPTIONS.items():
        d = edited("variants", lambda m: spec(m, "xpos_1").update({opt: val}))
        r, v = jrun("verify", "--dump", d, "--json")
        check(r.returncode == 5 and status_of(v, "variants.xpos_1") == ["index options differ"]
              and any(opt in w and "variants.xpos_1" in w for w in v.get("warnings", [])),
              f"metadata.json: xpos_1 with {opt}: {r.returncode} {r.stdout[-600:]}")
        r = run("verify", "--dump", d)
        check(r.returncode == 5 and "index options differ" in r.stdout and opt in r.stdout,
              f"text report names {opt}: {r.stdout[-600:]}")
    d = edited("variants", lambda m: spec(m, "_id_").update({"hidden": True}))
    r, v = jrun("verify", "--dump", d, "--json")
    check(r.returncode == 5 and status_of(v, "variants._id_") == ["index options differ"],
          f"_id_ with an option: {r.returncode} {r.stdout[-400:]}")
    d = edited("variants", lambda m: spec(m, "rsid_1").update({"key": {"rsid": -1}}))
    r, v = jrun("verify", "--dump", d, "--json")
    check(r.returncode == 5 and status_of(v, "variants.rsid_1") == ["index differs"],
          f"another key: {r.returncode} {r.stdout[-400:]}")
    d = edited("variants", lambda m: m["indexes"].append({"v": 2, "key": {"ref": 1}, "name": "ref_1"}))
    r, v = jrun("verify", "--dump", d, "--json")
    check(r.returncode == 5 and status_of(v, "variants.ref_1") == ["index unlisted"],
          f"an extra index: {r.returncode} {r.stdout[-400:]}")
    d = edited("metrics", lambda m: m.update({"indexes": [i for i in m["indexes"] if i["name"] != "metric_1"]}))
    r, v = jrun("verify", "--dump", d, "--json")
    check(r.returncode == 5 and status_of(v, "metrics.metric_1") == ["index missing"],
          f"an index removed: {r.returncode} {r.stdout[-400:]}")
    d = edited("variants", lambda m: m.update({"options": {"capped": True, "size": 4096}}))
    r, v = jrun("verify", "--dump", d, "--json")
    check(r.returncode == 5 and status_of(v, "variants.(collection options)") == ["index options differ"],
          f"collection options: {r.returncode} {r.stdout[-400:]}")
    # v and ns describe the spec, not the index.
    d = edited("variants", lambda m: [i.update({"v": 1, "ns": "clean.variants"}) for i in m["indexes"]])
    r = run("verify", "--dump", d)
    check(r.returncode == 0, f"v and ns are not options: {r.returncode} {r.stdout[-400:]}")
    # Not a metadata file: exit 3, naming it.
    d = edited("variants", lambda m: m.pop("indexes"))
    r = run("verify", "--dump", d)
    check(r.returncode == 3 and "variants.metadata.json" in r.stderr, f"no indexes array: {r.returncode} {r.stderr}")
    with open(os.path.join(d, "variants.metadata.json"), "w") as f:
        f.write("{ not json")
    r = run("verify", "--dump", d)
    check(r.returncode == 3 and "variants.metadata.json" in r.stderr, f"not JSON: {r.returncode} {r.stderr}")


def test_live():
    db = "sfl_idxopt_live"
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, "--vcf", exac, "--quiet",
            *(["--histograms", "columns"] if ferret else []))
    check(r.returncode == 0, f"load: {r.returncode} {r.stderr}")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"clean: {r.returncode} {r.stdout}")
    metrics = client[db]["metrics"]
    checked, skipped = [], []
    live_opts = {k: v for k, v in OPTIONS.items() if k != "weights"}  # weights: text indexes only
    live_opts["partialFilterExpression"] = {"metric": {"$exists": True}}
    for opt, val in live_opts.items():
        metrics.drop_index("metric_1")
        try:
            metrics.create_index("metric", name="metric_1", **{opt: val})
        except pymongo.errors.OperationFailure as e:
            skipped.append(f"{opt} (the server refuses it: {str(e).split(',')[0]})")
            metrics.create_index("metric", name="metric_1")
            continue
        spec = [i for i in metrics.list_indexes() if i["name"] == "metric_1"][0]
        if opt not in spec:
            skipped.append(f"{opt} (the server accepts it but does not report it in listIndexes)")
        else:
            r, v = jrun("verify", "--uri", URI, "--db", db, "--json")
            check(r.returncode == 5 and status_of(v, "metrics.metric_1") == ["index options differ"]
                  and any(opt in w for w in v.get("warnings", [])),
                  f"live metric_1 with {opt}: {r.returncode} {r.stdout[-600:]}")
            checked.append(opt)
        metrics.drop_index("metric_1")
        metrics.create_index("metric", name="metric_1")
    for s in skipped:
        print(f"skipped on this server: {s}")
    print(f"checked on this server: {', '.join(checked) or 'none'}")
    check(checked, "at least one index option checked on the live server")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"put back: {r.returncode} {r.stdout[-400:]}")

    # Collection options (issue 20 review): metrics made again as a capped
    # collection (or a view, or with a validator or default collation,
    # where the server has them) holding the very same documents and
    # indexes: the documents hash alike, but what the browser's queries
    # read is no longer a plain collection's. verify --uri exits 5 naming
    # metrics.(collection options); main reported ok.
    docs = list(metrics.find())
    kinds = [("capped", {"capped": True, "size": 1 << 20, "max": len(docs)}),
             ("collation", {"collation": {"locale": "sv", "strength": 1}}),
             ("validator", {"validator": {"metric": {"$exists": True}}})]
    coll_checked = []
    for kind, opts in kinds:
        metrics.drop()
        try:
            client[db].create_collection("metrics", **opts)
        except pymongo.errors.OperationFailure as e:
            print(f"skipped on this server: collection option {kind} ({str(e).split(',')[0]})")
            continue
        metrics.insert_many(docs)
        metrics.create_index("metric", name="metric_1")
        r, v = jrun("verify", "--uri", URI, "--db", db, "--json")
        check(r.returncode == 5 and v.get("ok") is False
              and status_of(v, "metrics.(collection options)") == ["index options differ"]
              and all(c["status"] == "ok" for c in v.get("collections", [])),
              f"metrics as a {kind} collection: {r.returncode} {r.stdout[-600:]}")
        coll_checked.append(kind)
    check(coll_checked, "at least one collection option checked on the live server")
    metrics.drop()
    metrics.insert_many(docs)
    metrics.create_index("metric", name="metric_1")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"plain collection again: {r.returncode} {r.stdout[-400:]}")

    # A dump whose metadata.json adds unique: verify --dump refuses it, and
    # restore builds the browser's definition, not the metadata's.
    out = os.path.join(tmp, "out")
    r = run("export", "--uri", URI, "--db", db, "--out", out)
    check(r.returncode == 0, f"export: {r.returncode} {r.stderr}")
    d = os.path.join(out, db)
    p = os.path.join(d, "metrics.metadata.json")
    meta = json.load(open(p))
    for i in meta["indexes"]:
        if i["name"] == "metric_1":
            i["unique"] = True
    json.dump(meta, open(p, "w"))
    r = run("verify", "--dump", d)
    check(r.returncode == 5 and "metrics.metric_1" in r.stdout, f"verify --dump: {r.returncode}")
    db2 = db + "_restored"
    client.drop_database(db2)
    r = run("restore", "--uri", URI, "--db", db2, "--dump", d)
    check(r.returncode == 0, f"restore: {r.returncode} {r.stderr}")
    spec = [i for i in client[db2]["metrics"].list_indexes() if i["name"] == "metric_1"]
    check(spec and "unique" not in spec[0], f"restore built the definition, not the metadata: {spec}")
    r = run("verify", "--uri", URI, "--db", db2)
    check(r.returncode == 0, f"the restored database verifies: {r.returncode} {r.stdout[-400:]}")
    client.drop_database(db)
    client.drop_database(db2)


if MODE == "dump":
    test_dump()
elif MODE == "live":
    test_live()
else:
    print(f"unknown mode {MODE}")
    sys.exit(2)
shutil.rmtree(tmp, ignore_errors=True)
finish(f"index options {MODE}")
