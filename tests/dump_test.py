#!/usr/bin/env python3
"""Dumps that share a folder, dumps killed hard, and finding sources again.

usage: dump_test.py SWEFREQ_LOAD TESTDATA_DIR

- a second dump into the same --out/--db while one runs is refused
  (exit 9, naming the holder) and the first completes and verifies;
- a dump killed with kill -9 leaves OUT/.DB.partial.<pid>; the next dump
  removes it (and a .DB.old.<pid> of a dead process), and leaves those of
  live processes alone;
- a plain file at OUT/DB is refused with exit 4 and left as it was;
- the manifest records each source's absolute path besides the path as
  given, and `verify --sources` finds a source by the path as given (from
  the current folder or the manifest's), else by the absolute path; a
  manifest without abs_path still reads;
- verify checks everything, against a manifest it has validated: an extra
  .bson or .metadata.json file in a dump is a deviation (exit 5, named); a
  collection file that is a symbolic link is refused (exit 3); a manifest
  with an empty or partial collection list, no sources, a count that is not
  a whole number in int64 (2^64+24, 24.5, -1, 1e3, "24", or Extended JSON
  such as {"$numberLong": "24"}), more after the JSON object, or a collection
  named "../../outside" (with a file planted there) is refused (exit 3,
  naming the field and collection); `verify --json` prints exactly one JSON
  object also when the manifest or the dump folder is missing or invalid,
  and on a bad command line.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import Checks, sample_header, write_sites  # noqa: E402

TOOL, TD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
T = Checks("dump_test", TOOL)
check, run = T.check, T.run


def wait_for(pred, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.002)
    return False


tmp = tempfile.mkdtemp(prefix="sfl_dump_")
try:
    header = sample_header(TD)
    big = os.path.join(tmp, "big.vcf")
    write_sites(big, header, 300000)
    out = os.path.join(tmp, "out")

    def slow_dump(db="swefreq"):
        # One parser thread and small chunks: long enough to catch it running.
        return subprocess.Popen([TOOL, "dump", "--out", out, "--db", db, "--threads", "1",
                                 "--chunk-size", "4096", "--vcf", big],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # Two dumps into one --out/--db: the second is refused, the first wins.
    a = slow_dump()
    partial_a = os.path.join(out, f".swefreq.partial.{a.pid}")
    check(wait_for(lambda: os.path.isdir(partial_a)), "first dump started writing")
    r = run("dump", "--out", out, "--vcf", os.path.join(TD, "swegen_sample.vcf"))
    check(r.returncode == 9 and f"process {a.pid} holds" in r.stderr
          and "another dump into this folder is running" in r.stderr,
          f"second dump: exit {r.returncode} {r.stderr!r}")
    _, err = a.communicate(timeout=300)
    check(a.returncode == 0, f"first dump: exit {a.returncode} {err}")
    r = run("verify", "--dump", out, "--db", "swefreq")
    check(r.returncode == 0, f"the first dump verifies: {r.stdout} {r.stderr}")
    hidden = [n for n in os.listdir(out) if n.startswith(".")]
    check(not hidden, f"nothing hidden left: {hidden}")
    # Another database in the same folder is not blocked.
    a = slow_dump()
    check(wait_for(lambda: os.path.isdir(os.path.join(out, f".swefreq.partial.{a.pid}"))), "started")
    r = run("dump", "--out", out, "--db", "other", "--vcf", os.path.join(TD, "swegen_sample.vcf"))
    check(r.returncode == 0, f"a dump of another --db meanwhile: exit {r.returncode} {r.stderr!r}")
    a.communicate(timeout=300)
    check(a.returncode == 0, "the first one still completes")

    # kill -9 in the middle: the staging folder stays; the next dump removes it.
    a = slow_dump()
    partial_a = os.path.join(out, f".swefreq.partial.{a.pid}")
    check(wait_for(lambda: os.path.exists(os.path.join(partial_a, "variants.bson"))
                   and os.path.getsize(os.path.join(partial_a, "variants.bson")) > 0),
          "the dump to kill is writing")
    a.send_signal(signal.SIGKILL)
    a.communicate()
    check(os.path.isdir(partial_a), "kill -9 left the staging folder")
    # A moved-aside folder of a dead process, and a staging folder of a live one.
    dead_old = os.path.join(out, f".swefreq.old.{a.pid}")
    os.mkdir(dead_old)
    open(os.path.join(dead_old, "variants.bson"), "wb").write(b"x")
    live = os.path.join(out, f".swefreq.partial.{os.getpid()}")
    os.mkdir(live)
    r = run("dump", "--out", out, "--vcf", os.path.join(TD, "swegen_sample.vcf"))
    check(r.returncode == 0, f"the next dump: exit {r.returncode} {r.stderr!r}")
    check(not os.path.exists(partial_a) and not os.path.exists(dead_old),
          f"leftovers of the dead dump removed: {os.listdir(out)}")
    check(os.path.isdir(live), "a live process's staging folder is left alone")
    os.rmdir(live)
    check(not os.path.exists(os.path.join(out, ".swefreq.lock")), "the lock file is removed")

    # A plain file at OUT/DB: refused with exit 4, not moved aside.
    plain_out = os.path.join(tmp, "plain")
    os.mkdir(plain_out)
    blocker = os.path.join(plain_out, "swefreq")
    open(blocker, "w").write("not a dump\n")
    r = run("dump", "--out", plain_out, "--vcf", os.path.join(TD, "swegen_sample.vcf"))
    check(r.returncode == 4 and f"{blocker} exists and is not a folder" in r.stderr,
          f"plain file at OUT/DB: exit {r.returncode} {r.stderr!r}")
    check(open(blocker).read() == "not a dump\n", "the file is untouched")
    check(os.listdir(plain_out) == ["swefreq"],
          f"nothing else left: {os.listdir(plain_out)}")

    # Sources: the path as given and the absolute path.
    work = os.path.join(tmp, "work")
    os.makedirs(os.path.join(work, "data"))
    shutil.copy(os.path.join(TD, "swegen_sample.vcf"), os.path.join(work, "data", "s.vcf"))
    dump = os.path.join(work, "dump")
    r = subprocess.run([TOOL, "dump", "--out", "dump", "--vcf", "data/s.vcf"], cwd=work,
                       capture_output=True, text=True)
    check(r.returncode == 0, f"relative dump: {r.stderr}")
    mpath = os.path.join(dump, "swefreq", "manifest.json")
    man = json.load(open(mpath))
    src = man["sources"][0]
    check(src["path"] == "data/s.vcf" and src.get("abs_path") == os.path.join(
        os.path.realpath(work), "data", "s.vcf"), f"manifest source {src}")

    def verify_sources(cwd, manifest=None):
        args = [TOOL, "verify", "--dump", os.path.join(dump, "swefreq"), "--sources", "--json"]
        if manifest:
            args += ["--manifest", manifest]
        r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        try:
            rep = json.loads(r.stdout)
        except ValueError:
            rep = {}
        return r.returncode, rep, r.stdout + r.stderr

    rc, rep, text = verify_sources(work)
    check(rc == 0, f"verify from the load's folder: {text}")
    rc, rep, text = verify_sources("/")
    check(rc == 0, f"verify from another folder (absolute path): {text}")
    # Moved: the absolute path is gone, but the file sits beside the manifest.
    os.makedirs(os.path.join(dump, "swefreq", "data"))
    shutil.move(os.path.join(work, "data", "s.vcf"), os.path.join(dump, "swefreq", "data", "s.vcf"))
    rc, rep, text = verify_sources("/")
    check(rc == 0, f"verify finds the source beside the manifest: {text}")
    # Changed: reported as changed, exit 5.
    with open(os.path.join(dump, "swefreq", "data", "s.vcf"), "a") as f:
        f.write("\n")
    rc, rep, text = verify_sources("/")
    check(rc == 5 and "changed" in text, f"a changed source: exit {rc} {text}")
    os.remove(os.path.join(dump, "swefreq", "data", "s.vcf"))
    rc, rep, text = verify_sources("/")
    check(rc == 5 and "missing" in text, f"a missing source: exit {rc} {text}")
    # A manifest written before abs_path existed still reads.
    del man["sources"][0]["abs_path"]
    old = os.path.join(tmp, "old-manifest.json")
    json.dump(man, open(old, "w"))
    shutil.copy(os.path.join(TD, "swegen_sample.vcf"), os.path.join(work, "data", "s.vcf"))
    rc, rep, text = verify_sources(work, old)
    check(rc == 0, f"an old manifest: {text}")

    # ---- verify checks everything, against a validated manifest ----------
    vd = os.path.join(tmp, "vd")
    r = run("dump", "--out", vd, "--db", "x", "--vcf", os.path.join(TD, "exac_sample.vcf"))
    check(r.returncode == 0, f"dump for verify: {r.stderr}")
    db = os.path.join(vd, "x")
    mpath = os.path.join(db, "manifest.json")
    text = open(mpath).read()
    man = json.loads(text)

    def verify_json(*args):
        r = run("verify", *args, "--json")
        try:
            objs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        except ValueError:
            objs = []
        return r, objs

    r, objs = verify_json("--dump", db)
    rep = objs[0] if len(objs) == 1 else {}
    check(r.returncode == 0 and rep.get("ok") is True and rep.get("exit_code") == 0,
          f"clean dump: {r.returncode} {r.stdout}")
    check(rep.get("manifest", {}).get("source") == "dump"
          and rep.get("manifest", {}).get("path") == mpath, f"names its manifest: {r.stdout}")
    r = run("verify", "--dump", db)
    check(f"manifest   the dump's own {mpath}" in r.stdout, f"text names its manifest: {r.stdout}")

    # An extra .bson (a collection the manifest does not list) and an extra
    # .metadata.json are deviations, each named.
    shutil.copy(os.path.join(db, "metrics.bson"), os.path.join(db, "genes.bson"))
    shutil.copy(os.path.join(db, "metrics.metadata.json"), os.path.join(db, "dbsnp.metadata.json"))
    r, objs = verify_json("--dump", db)
    st = {c["name"]: c["status"] for c in objs[0].get("collections", [])} if objs else {}
    check(r.returncode == 5 and st.get("genes.bson") == "unlisted"
          and st.get("dbsnp.metadata.json") == "unlisted" and st.get("variants") == "ok",
          f"extra files in a dump: {r.returncode} {r.stdout}")
    r = run("verify", "--dump", db)
    check(r.returncode == 5 and "genes.bson" in r.stdout and "not in the manifest" in r.stdout
          and "verify: FAILED" in r.stdout, f"extra .bson, text: {r.returncode} {r.stdout}")
    os.remove(os.path.join(db, "genes.bson"))
    os.remove(os.path.join(db, "dbsnp.metadata.json"))

    # A collection file that is a symbolic link (here to an identical copy
    # outside the dump, which would verify ok) is refused, never followed.
    outside = os.path.join(tmp, "outside-metrics.bson")
    shutil.move(os.path.join(db, "metrics.bson"), outside)
    os.symlink(outside, os.path.join(db, "metrics.bson"))
    r, objs = verify_json("--dump", db)
    rep = objs[0] if len(objs) == 1 else {}
    check(r.returncode == 3 and rep.get("ok") is False and rep.get("exit_code") == 3
          and "symbolic link" in (rep.get("error") or "") and "metrics.bson" in (rep.get("error") or ""),
          f"symlinked collection file: {r.returncode} {r.stdout}")
    os.remove(os.path.join(db, "metrics.bson"))
    shutil.move(outside, os.path.join(db, "metrics.bson"))

    # A document of variants.bson given a double -0.0 where it held 0.0 and
    # a second _id field (issue 20 review): verify re-canonicalised it by
    # keeping the first _id alone and writing 0.0, so it hashed as the
    # original and main said ok (exit 0), while a reader that keeps the
    # last of two equal keys sees _id "evil". A document with _id twice
    # has no canonical form: the collection differs (exit 5).
    import re
    import struct
    vpath = os.path.join(db, "variants.bson")
    orig = open(vpath, "rb").read()

    def with_negative_zero():
        """The documents of variants.bson, the first double 0.0 of one of
        them made -0.0 (that document's bytearray second, or None)."""
        docs, at = [], 0
        while at < len(orig):
            n = struct.unpack_from("<i", orig, at)[0]
            docs.append(bytearray(orig[at:at + n]))
            at += n
        for doc in docs:
            hit = re.search(rb"\x01[A-Za-z_]+\x00\x00{8}", bytes(doc))
            if hit:
                doc[hit.end() - 1] = 0x80
                return docs, doc
        return docs, None

    docs, doc = with_negative_zero()
    if doc is not None:
        doc[-1:] = b"\x02_id\x00" + struct.pack("<i", 5) + b"evil\x00\x00"
        struct.pack_into("<i", doc, 0, len(doc))
    check(doc is not None, "a variants document with a double 0.0 to change")
    open(vpath, "wb").write(b"".join(bytes(d) for d in docs))
    r, objs = verify_json("--dump", db)
    rep = objs[0] if len(objs) == 1 else {}
    check(r.returncode == 5 and rep.get("ok") is False
          and [c["status"] for c in rep.get("collections", []) if c["name"] == "variants"]
          != ["ok"], f"-0.0 and a second _id: {r.returncode} {r.stdout[-400:]}")
    open(vpath, "wb").write(orig)
    # The sign of a zero alone: swefreq-load never writes -0.0, so a -0.0
    # read back is a change (a browser shows "-0"); verify folded it into
    # 0.0 and said ok (exit 0) until it hashed each value as stored.
    docs, doc = with_negative_zero()
    check(doc is not None, "a variants document with a double 0.0 to make -0.0")
    open(vpath, "wb").write(b"".join(bytes(d) for d in docs))
    r, objs = verify_json("--dump", db)
    rep = objs[0] if len(objs) == 1 else {}
    check(r.returncode == 5 and [c["status"] for c in rep.get("collections", [])
                                 if c["name"] == "variants"] == ["digest differs"],
          f"0.0 made -0.0: {r.returncode} {r.stdout[-400:]}")
    open(vpath, "wb").write(orig)

    # Invalid manifests, given with --manifest and as the dump's own: exit 3
    # naming what is wrong, and one JSON object with the error.
    bad = os.path.join(tmp, "bad-manifest.json")

    def refused(body, *wants, what):
        for own in (False, True):
            if own:
                shutil.copy(mpath, mpath + ".good")
                open(mpath, "w").write(body)
                r, objs = verify_json("--dump", db)
                shutil.move(mpath + ".good", mpath)
            else:
                open(bad, "w").write(body)
                r, objs = verify_json("--dump", db, "--manifest", bad)
            rep = objs[0] if len(objs) == 1 else {}
            err = rep.get("error") or ""
            check(r.returncode == 3 and rep.get("ok") is False
                  and rep.get("exit_code") == 3 and all(w in err for w in wants)
                  and all(w in r.stderr for w in wants),
                  f"{what} ({'own' if own else '--manifest'}): {r.returncode} {r.stdout} {r.stderr}")

    def edited(**kw):
        m = json.loads(text)
        for k, v in kw.items():
            m[k] = v
        return json.dumps(m, indent=1)

    refused(edited(collections=[]), "lacks variants, metrics", what="collections []")
    refused(edited(collections=[c for c in man["collections"] if c["name"] == "metrics"]),
            "lacks variants", what="only metrics listed")
    refused(edited(sources=[]), "lists no sources", what="no sources")
    vcount = next(c["count"] for c in man["collections"] if c["name"] == "variants")
    pretty = json.dumps(man, indent=1)
    for lit in ("18446744073709551640", "24.5", "-1", "1e3", '"24"'):
        body = pretty.replace(f'"count": {vcount},', f'"count": {lit},', 1)
        check(body != pretty, f"count {lit} written")
        refused(body, 'collection "variants": "count" is', "not a whole number",
                what=f"count {lit}")
    # Extended JSON and a second document (issue 20 review): libbson read
    # {"$numberLong": "24"} (also spelt "\u0024numberLong") as the count 24
    # and ignored a second JSON value after the object, where Python's json
    # and jq read an object, or refuse, or see two manifests: main accepted
    # all three (exit 0). A manifest is plain JSON, one object.
    for lit in ('{"$numberLong": "%d"}' % vcount, '{"\\u0024numberLong": "%d"}' % vcount,
                '{"$numberInt": "%d"}' % vcount):
        body = pretty.replace(f'"count": {vcount},', f'"count": {lit},', 1)
        check(body != pretty, f"count {lit} written")
        refused(body, "a key starting with '$'", what=f"count {lit}")
    refused(pretty + "\n" + edited(collections=[]), "more after the JSON object",
            what="a second JSON object after the manifest")
    refused(pretty + "\0", "more after the JSON object", what="a NUL after the manifest")
    # "../../outside": a copy of variants.bson planted there, with its count
    # and digest, is never read.
    planted = os.path.join(db, "..", "..", "outside.bson")
    shutil.copy(os.path.join(db, "variants.bson"), planted)
    m = json.loads(text)
    extra = dict(next(c for c in m["collections"] if c["name"] == "variants"))
    extra["name"] = "../../outside"
    m["collections"].append(extra)
    refused(json.dumps(m), '"../../outside", which is not one of the browser', what="../../outside")
    os.remove(planted)

    # verify --json prints one object also when it cannot start.
    for args, code, want in (
            (["--dump", db, "--manifest", os.path.join(tmp, "none.json")], 3, "none.json"),
            (["--dump", os.path.join(tmp, "nodump")], 3, "nodump"),
            (["--dump", db, "--manifest", bad, "--sources"], 3, "invalid manifest"),
            (["--dump", db, "unexpected"], 2, "unexpected"),
            ([], 2, "--dump"),
            (["--bogus"], 2, "bad command line"),
            (["--expect-role", "prod", "--dump", db], 2, "expect-role")):
        r, objs = verify_json(*args)
        rep = objs[0] if len(objs) == 1 else {}
        check(r.returncode == code and rep.get("ok") is False
              and rep.get("exit_code") == code and want in (rep.get("error") or ""),
              f"verify --json {args}: {r.returncode} {r.stdout!r} {r.stderr}")
    open(bad, "w").write("{ not json")
    r, objs = verify_json("--dump", db, "--manifest", bad)
    check(r.returncode == 3 and len(objs) == 1 and "not JSON" in (objs[0].get("error") or ""),
          f"verify --json, a manifest that is not JSON: {r.returncode} {r.stdout!r}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

T.done()
