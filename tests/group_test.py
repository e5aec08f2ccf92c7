#!/usr/bin/env python3
"""Partitioned loads: plan, parts (load --group G --part K), finish.

usage: group_test.py MODE SWEFREQ_LOAD TESTDATA_DIR GEN_DIR

  MODE merge:  four part loaders at once (two given the sources and options,
               two given none: they take the plan's), on the regions of one bgzipped
               VCF, and of several files (two VCFs, a coverage file, and a
               GTF with two gene tables and a dbSNP file, which go whole
               into one part); the merged manifest
               equals a single load's of the same files byte for byte but
               for `created`, and the browser's collections (every BSON
               byte) and their indexes equal the single load's; `verify
               --uri --sources` passes; a part already complete: exit 11
               and nothing done; finish again: exit 11.
  MODE kill:   a part killed with kill -9 in its inserts (held by the
               fault proxy), then resumed (--resume) while the other
               parts run; finish gives the single load's result.
  MODE refuse: plan --shard-key on a server that is not a mongos: exit 9,
               nothing written; while a group holds the lock a plain load, recover and
               another group's plan are refused (exit 9, naming the group);
               a part before any plan: exit 12; a part with other options
               or a changed source: exit 3 naming the difference; finish
               while a part is missing: exit 12 naming it; a part record
               whose regions overlap another's, or a part's record missing
               regions: finish refuses (exit 3); after each refusal the
               browser's collections are byte-identical to before.
  MODE swap:   finish killed (kill -9) in its verifying scan: the group
               keeps the lock (a load is refused, exit 9); then finish
               killed while its renameCollection is held,
               then `recover`: the swap is finished from the group's
               journal, and the result equals the single load's.
  MODE scan:   finish's verifying scan: forced by ranges of xpos
               (--scan-mode ranged), documents put into staging between
               the parts and finish outside every range (xpos a string,
               null, missing), one with an array xpos across two
               ranges, and a variant altered: each refused (exit 5, naming
               the collection and why) with the browser's collections
               byte-identical; the array one refused by the digest with
               --scan-mode single; --scan-threads 0, --scan-mode fast:
               exit 2; once staging is put back, finish by ranges on 3
               threads gives the single load's documents and manifest. A
               second group finished in auto: one pass on FerretDB, the
               JSON and --verbose say so with explain's reason, and the
               same documents and manifest.
  MODE indel:  every site a 120-base deletion, so that every cut of a
               contig the plan makes lies inside an indel that starts
               before it: each is loaded once (the merged result equals
               the single load's).
  MODE files:  the database's records against the files: parts write their
               manifests (--manifest with {part}), finish checks them and
               the plan file (--plan, --part-manifest). Two forgeries by a
               writer to the database between the parts and the finish:
               a variant removed from staging with part 1's recorded
               manifest (count, bytes, LtHash digest) made to match, and a
               region taken out of the recorded plan (and its contig's
               count out of the recorded index counts) before the parts run.
               Without the files each finish passes (the forgery is a real
               one: a variant or a contig is missing, with a warning that
               the records were not checked); with them each is refused
               (exit 5, naming the part or the plan's field) with the
               browser's collections byte-identical. Also: fewer files than
               parts (exit 2), one file twice (exit 5), a missing file
               (exit 3), and the JSON fields of an honest finish. A part
               killed (held by the fault proxy) when its file is written
               and its record not yet complete: run again, it finishes
               with the files.
  MODE resume: a finish with the files killed while its first rename is
               held (the group's record says swapping, nothing renamed).
               A metric document taken out of staging and the journal's
               metrics entry made to match: refused (exit 5, the metrics
               computed again from the variants differ); a source's
               field or an option changed in the journal's manifest:
               refused naming it. A writer takes a variant out of staging:
               finish with the files scans staging again and refuses
               (exit 5, naming the staging collection); the writer also
               makes the journal's manifest match (count, bytes,
               LtHash digest): finish with the files refuses (exit 5,
               naming the collection), the browser byte-identical, no
               manifest written, the journal left; a journal renaming
               another collection: refused the same way. Without the
               files (the control) the forged journal is rolled forward
               with two warnings (no files; rolled forward unchecked),
               --json saying resumed and nothing checked, a
               variant short, and verify against the database passes.
               Honest: killed at its third renameCollection (variants
               renamed already), run again with the files: finished,
               --json says both checked and that each collection was
               scanned again (variants in the browser, metrics in
               staging), the single load's
               documents and manifest (written by the resumed finish).
  MODE stale:  a stale index is refused (exit 3, naming the file and that its
               index is stale) by plan: records appended after indexing
               (a BGZF member before the end-of-file block), the file
               rebuilt with more records, an index of another file with
               the same contigs, an index without record counts; by a
               part: the file appended to, or its index rebuilt, after
               the plan; by finish: a part's record counts that differ
               from the index's (naming source, contig and both counts)
               or are missing; each time the browser's collections are
               unchanged; with the records right, finish succeeds. With a
               .csi (tabix -C) and no .tbi: a stale one is refused by plan
               the same way, and a fresh one gives the single load's
               documents and manifest. Then the parts' byte ranges: the plan records each part's range
               and the header's with their SHA-256; a byte changed in part
               2's range alone: part 1 loads, part 2 refuses (exit 3,
               naming the file and the range); a changed header is
               refused; a part whose kept lines go past its (shortened)
               range refuses.
"""
import base64
import copy
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mongo_common import URI, check, finish, require_faults  # noqa: E402
import pymongo  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

MODE, TOOL, TD, GEN = sys.argv[1:5]
faults = require_faults(f"sfl_group_{MODE}")
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
tmp = tempfile.mkdtemp(prefix="sfl_group_")
os.chdir(tmp)
OPTS = ["--histograms", "columns", "--threads", "2"]
COLLS = ("variants", "base_coverage", "metrics", "genes", "transcripts", "exons", "dbsnp")


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def gen(script, flag, n, name, *more):
    with open(name, "w") as f:
        sh(sys.executable, os.path.join(GEN, script), flag, str(n), *more, stdout=f,
           stderr=subprocess.DEVNULL)
    return name


def bgzip_index(plain, *tabix):
    sh("bgzip", "-f", "-k", plain)
    sh("tabix", "-f", *tabix, plain + ".gz")
    return plain + ".gz"


def run(*args, timeout=300, env=None):
    if os.environ.get("SFL_TIME"):
        t = time.time()
        r = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout, env=env)
        print(f"{time.time() - t:6.1f} s {' '.join(a for a in args if a.startswith('--scan') or not a.startswith('-'))[:100]} -> {r.returncode}", flush=True)
        return r
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def start(*args):
    return subprocess.Popen([TOOL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def plan(db, group, n, sources, *more):
    return run("plan", "--uri", URI, "--db", db, "--group", group, "--parts", str(n),
               "--out", f"{db}.{group}.plan.json", *OPTS, *sources, *more)


def part_cmd(db, group, k, sources, *more):
    return ["load", "--uri", URI, "--db", db, "--group", group, "--part", str(k), *OPTS,
            *sources, *more]


def finish_group(db, group, *more):
    return run("finish", "--uri", URI, "--db", db, "--group", group,
               "--manifest", f"{db}.{group}.manifest.json", *more)


def browser(db):
    """Every document's bytes and the indexes of the browser's collections."""
    d = client.get_database(db, codec_options=CodecOptions(document_class=RawBSONDocument))
    out = {}
    for coll in COLLS:
        docs = sorted(x.raw for x in d[coll].find({}))
        idx = sorted(str(v) for v in client[db][coll].index_information().values())
        out[coll] = (docs, idx)
    return out


def manifest_text(path):
    with open(path) as f:
        return re.sub(r'"created"\s*:\s*"[^"]*"', '"created": "-"', f.read())


def single(db, sources):
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *OPTS, *sources, "--manifest", f"{db}.manifest.json")
    check(r.returncode == 0, f"single load {db}: {r.stderr[-800:]}")
    return browser(db), manifest_text(f"{db}.manifest.json")


def all_parts(db, group, n, sources, extra=None, bare=()):
    """The n parts at once (those in `bare` given no sources: they take the
    plan's); their exit codes."""
    procs = [start(*part_cmd(db, group, k, [] if k in bare else sources,
                             *((extra or {}).get(k, [])))) for k in range(1, n + 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    for k, (p, (o, e)) in enumerate(zip(procs, outs), 1):
        check(p.returncode == 0, f"{db}: part {k} exit {p.returncode}: {e[-600:]}")
    return [p.returncode for p in procs]


def same_as_single(db, group, want, what):
    got = browser(db)
    for c in COLLS:
        check(got[c][0] == want[0][c][0],
              f"{what}: {c}: {len(got[c][0])} documents, the single load has {len(want[0][c][0])}"
              f"{'' if len(got[c][0]) != len(want[0][c][0]) else ' (bytes differ)'}")
        check(got[c][1] == want[0][c][1], f"{what}: {c}: indexes {got[c][1]} vs {want[0][c][1]}")
    m = manifest_text(f"{db}.{group}.manifest.json")
    check(m == want[1], f"{what}: the merged manifest equals the single load's but for created:\n"
          f"{m[:1500]}\n---\n{want[1][:1500]}")


ONE_VCF = bgzip_index(gen("gen_exac_vcf.py", "--sites", 1000, "one.vcf"), "-p", "vcf")


def several_files():
    """Two VCFs (contigs 1-9 and 10-MT of another generated file) and a
    coverage file, all indexed."""
    whole = gen("gen_exac_vcf.py", "--sites", 700, "b.vcf", "--seed", "7")
    head = [l for l in open(whole) if l.startswith("#")]
    body = [l for l in open(whole) if not l.startswith("#")]
    first = {str(c) for c in range(1, 10)}
    for name, keep in (("b1.vcf", lambda c: c in first), ("b2.vcf", lambda c: c not in first)):
        with open(name, "w") as f:
            f.writelines(head)
            f.writelines(l for l in body if keep(l.split("\t", 1)[0]))
    cov = gen("gen_coverage.py", "--rows", 4000, "cov.tsv")
    return ["--vcf", bgzip_index("b1.vcf", "-p", "vcf"), "--vcf", bgzip_index("b2.vcf", "-p", "vcf"),
            "--coverage", bgzip_index(cov, "-s1", "-b2", "-e2"),
            "--gtf", os.path.join(TD, "gencode_sample.gtf"),
            "--canonical-transcripts", os.path.join(TD, "canonical_sample.txt"),
            "--omim", os.path.join(TD, "omim_sample.txt"),
            "--dbsnp", os.path.join(TD, "dbsnp_sample.tsv"), "--skip-unknown-contigs"]


def test_merge():
    for name, sources in (("one", ["--vcf", ONE_VCF]), ("several", several_files())):
        db, clean = f"sfl_group_merge_{name}", f"sfl_group_merge_{name}_single"
        want = single(clean, sources)
        client.drop_database(db)
        r = plan(db, "g", 4, sources)
        check(r.returncode == 0, f"{name}: plan: {r.stderr[-800:]}")
        p = json.load(open(f"{db}.g.plan.json"))
        check(len(p["parts"]) == 4 and all("command" in x for x in p["parts"]),
              f"{name}: the plan has 4 parts, each with its command")
        check(all(s["sha256"] for s in p["plan"]["sources"]), f"{name}: sources with SHA-256")
        sizes = [x["bytes"] for x in p["parts"]]
        check(max(sizes) <= 2 * min(sizes), f"{name}: parts balanced by bytes: {sizes}")
        all_parts(db, "g", 4, sources, bare={2, 4})  # 2 and 4 read the plan's sources
        r = run(*part_cmd(db, "g", 2, sources))
        check(r.returncode == 11 and "complete already" in r.stderr,
              f"{name}: a part run again: exit 11 ({r.returncode}) {r.stderr[-300:]}")
        r = finish_group(db, "g", "--json")
        out = json.loads(r.stdout) if r.stdout.strip() else {}
        check(r.returncode == 0 and out.get("ok") is True and out.get("parts") == 4,
              f"{name}: finish: {r.returncode} {r.stdout} {r.stderr[-800:]}")
        same_as_single(db, "g", want, f"{name}: 4 parts")
        r = run("verify", "--uri", URI, "--db", db, "--sources")
        check(r.returncode == 0, f"{name}: verify --uri --sources after finish: {r.stdout}{r.stderr}")
        r = finish_group(db, "g")
        check(r.returncode == 11, f"{name}: finish again: exit 11 ({r.returncode}) {r.stderr}")
        r = run("load", "--uri", URI, "--db", db, *OPTS, *sources)
        check(r.returncode == 0, f"{name}: the lock is released: a load runs ({r.stderr[-300:]})")


def test_kill():
    sources = ["--vcf", ONE_VCF]
    db = "sfl_group_kill"
    want = single(db + "_single", sources)
    client.drop_database(db)
    r = plan(db, "g", 4, sources)
    check(r.returncode == 0, f"plan: {r.stderr[-500:]}")
    rule = faults.arm("insert", nth=3, coll="swefreq_staging_", action="hold")
    p1 = start(*part_cmd(db, "g", 1, sources, "--batch-docs", "20", "--record-interval", "20"))
    st = faults.wait(rule, timeout=120)
    check(st is not None, "the proxy held part 1's third insert")
    p1.kill()
    p1.wait()
    faults.release(rule, forward=True)
    time.sleep(0.5)
    faults.clear()
    rec = client[db]["swefreq_meta"].find_one({"kind": "part", "part": 1})
    check(rec and rec.get("status") == "loading", f"the killed part's record: {rec and rec.get('status')}")
    time.sleep(1.2)
    r = finish_group(db, "g")
    check(r.returncode == 12 and "part 1" in r.stderr,
          f"finish with parts not complete: exit 12 naming them ({r.returncode}) {r.stderr[-400:]}")
    all_parts(db, "g", 4, sources,
              {1: ["--resume", "--lock-timeout", "1"]})
    rec = client[db]["swefreq_meta"].find_one({"kind": "part", "part": 1})
    check(rec and len(rec.get("attempts", [])) == 2 and rec["attempts"][0]["status"] == "lost",
          f"the resumed part's record has both attempts: {rec and rec.get('attempts')}")
    r = finish_group(db, "g")
    check(r.returncode == 0, f"finish: {r.stderr[-800:]}")
    same_as_single(db, "g", want, "a part killed and resumed")


def unchanged(db, before, what):
    check(browser(db) == before, f"{what}: the browser's collections are byte-identical")


def test_refuse():
    sources = ["--vcf", ONE_VCF]
    db = "sfl_group_refuse"
    client.drop_database(db)
    r = run(*part_cmd(db, "g", 1, sources))
    check(r.returncode == 12, f"a part before its plan: exit 12 ({r.returncode}) {r.stderr[-300:]}")
    r = plan(db, "g", 3, sources, "--shard-key", "hashed")
    check(r.returncode == 9 and "mongos" in r.stderr,
          f"plan --shard-key on a server that is not a mongos: exit 9 ({r.returncode}) {r.stderr[-300:]}")
    check(client[db]["swefreq_meta"].find_one({"_id": "lock"}) is None and
          not [n for n in client[db].list_collection_names() if n.startswith("swefreq_staging_")],
          "plan --shard-key refused: no lock, no staging")
    r = run("load", "--uri", URI, "--db", db, *OPTS, "--vcf", os.path.join(TD, "exac_sample.vcf"))
    check(r.returncode == 0, f"a first load: {r.stderr[-300:]}")
    before = browser(db)
    r = plan(db, "g", 500, sources)
    check(r.returncode == 2 and "fewer parts" in r.stderr,
          f"more parts than the index offers pieces: exit 2 ({r.returncode}) {r.stderr[-300:]}")
    r = plan(db, "g", 3, sources, "--rejects", "r.txt")
    check(r.returncode == 2 and "--rejects" in r.stderr, f"plan --rejects: exit 2 ({r.returncode})")
    r = plan(db, "g", 3, sources)
    check(r.returncode == 0, f"plan: {r.stderr[-500:]}")
    r = run(*part_cmd(db, "g", 1, sources, "--rejects", "part.rejects"))
    check(r.returncode == 2 and not os.path.exists("part.rejects"),
          f"a part with --rejects: exit 2 ({r.returncode}) {r.stderr[-300:]}")
    text = open(f"{db}.g.plan.json").read()
    check("--uri" not in text and URI not in text, "the plan's commands leave --uri out")
    r = run("status", "--uri", URI, "--db", db)
    check(r.returncode == 0 and "held by group g" in r.stdout + r.stderr,
          f"status names the group that holds the lock: {r.stdout[-600:]}")
    time.sleep(1.5)  # older than --lock-timeout 1, well within the group's lease
    for what, args in (("a plain load", ["load", "--uri", URI, "--db", db, *OPTS, *sources,
                                          "--lock-timeout", "1"]),
                       ("recover", ["recover", "--uri", URI, "--db", db]),
                       ("another group's plan", ["plan", "--uri", URI, "--db", db, "--group", "h",
                                                 "--parts", "2", *OPTS, *sources])):
        r = run(*args)
        check(r.returncode == 9 and "group g" in r.stderr,
              f"{what} while group g holds the lock: exit 9 naming it ({r.returncode}) {r.stderr[-400:]}")
        unchanged(db, before, what)
    r = run(*[a if a != "columns" else "none" for a in part_cmd(db, "g", 1, sources)])
    check(r.returncode == 3 and "histograms" in r.stderr,
          f"a part with other options: exit 3 naming it ({r.returncode}) {r.stderr[-400:]}")
    changed = "changed.vcf"
    with open(changed, "w") as f:
        f.write(open("one.vcf").read().replace("\t.\tA\t", "\t.\tC\t", 1))
    sh("bgzip", "-f", "-k", changed)
    sh("cp", "one.vcf.gz.tbi", "changed.vcf.gz.tbi")
    r = run(*part_cmd(db, "g", 1, ["--vcf", "changed.vcf.gz"]))
    check(r.returncode == 3 and ("SHA-256" in r.stderr or "stale" in r.stderr) and
          "changed.vcf.gz" in r.stderr,
          f"a part with a changed source: exit 3 naming it ({r.returncode}) {r.stderr[-400:]}")
    all_parts(db, "g", 2, sources)  # parts 1 and 2 of 3
    r = finish_group(db, "g")
    check(r.returncode == 12 and "part 3 not started" in r.stderr,
          f"finish with part 3 missing: exit 12 naming it ({r.returncode}) {r.stderr[-400:]}")
    unchanged(db, before, "finish with a part missing")
    r = run(*part_cmd(db, "g", 3, sources))
    check(r.returncode == 0, f"part 3: {r.stderr[-300:]}")
    meta = client[db]["swefreq_meta"]
    p1 = meta.find_one({"kind": "part", "part": 1})
    p2 = meta.find_one({"kind": "part", "part": 2})
    # part 2's record claims part 1's regions too: an overlap
    spec = copy.deepcopy(p2["part_spec"])
    spec["sources"][0]["regions"] = p1["part_spec"]["sources"][0]["regions"] + \
        spec["sources"][0]["regions"]
    meta.update_one({"_id": p2["_id"]}, {"$set": {"part_spec": spec}})
    r = finish_group(db, "g")
    check(r.returncode == 3 and "covered twice" in r.stderr,
          f"overlapping parts: finish refused (exit 3) ({r.returncode}) {r.stderr[-400:]}")
    unchanged(db, before, "finish with overlapping parts")
    # part 2's record holds none of its regions: missing
    spec["sources"][0]["regions"] = p1["part_spec"]["sources"][0]["regions"][:0]
    spec["sources"][0]["read"] = "none"
    meta.update_one({"_id": p2["_id"]}, {"$set": {"part_spec": spec}})
    r = finish_group(db, "g")
    check(r.returncode == 3 and "in no complete part" in r.stderr,
          f"a part's regions missing: finish refused (exit 3) ({r.returncode}) {r.stderr[-400:]}")
    unchanged(db, before, "finish with regions missing")
    # parts 1 and 2 swapped their regions: each covered once, but not the plan's
    meta.update_one({"_id": p2["_id"]}, {"$set": {"part_spec": p1["part_spec"]}})
    meta.update_one({"_id": p1["_id"]}, {"$set": {"part_spec": p2["part_spec"]}})
    r = finish_group(db, "g")
    check(r.returncode == 3 and "other regions than the plan" in r.stderr,
          f"parts swapped: finish refused (exit 3) ({r.returncode}) {r.stderr[-400:]}")
    unchanged(db, before, "finish with parts swapped")
    meta.update_one({"_id": p1["_id"]}, {"$set": {"part_spec": p1["part_spec"]}})
    meta.update_one({"_id": p2["_id"]}, {"$set": {"part_spec": p2["part_spec"]}})
    r = finish_group(db, "g")
    check(r.returncode == 0, f"finish once the records are right: {r.stderr[-400:]}")
    check(browser(db) != before, "finish swapped the group's data in")
    # an abandoned group: --break-lock takes its lock, drops its staging
    r = plan(db, "h", 2, sources)
    check(r.returncode == 0, f"plan h: {r.stderr[-300:]}")
    r = run(*part_cmd(db, "h", 1, sources))
    check(r.returncode == 0, f"part 1 of h: {r.stderr[-300:]}")
    r = run("load", "--uri", URI, "--db", db, *OPTS, *sources, "--break-lock")
    check(r.returncode == 0, f"a load with --break-lock over group h: {r.stderr[-300:]}")
    left = [n for n in client[db].list_collection_names() if n.startswith("swefreq_staging_")]
    check(not left, f"group h's staging dropped: {left}")
    rec = meta.find_one({"kind": "group", "group": "h"})
    check(rec and rec["status"] == "interrupted", f"group h marked interrupted: {rec and rec['status']}")
    r = run(*part_cmd(db, "h", 2, sources))
    check(r.returncode == 9, f"a part of a broken group: exit 9 ({r.returncode}) {r.stderr[-300:]}")


def killed_at_rename(db, *more, nth=1):
    """finish (with `more`) killed while its nth rename is held: the
    group's record says swapping."""
    rule = faults.arm("renameCollection", nth=nth, action="hold")
    p = start("finish", "--uri", URI, "--db", db, "--group", "g", *more)
    check(faults.wait(rule, timeout=300) is not None, f"the proxy held finish's rename {nth}")
    p.kill()
    p.wait()
    faults.release(rule, forward=False)
    faults.clear()
    rec = client[db]["swefreq_meta"].find_one({"kind": "group"})
    check(rec and rec.get("status") == "swapping", f"the group's journal: {rec and rec.get('status')}")


def test_swap():
    sources = ["--vcf", ONE_VCF]
    db = "sfl_group_swap"
    want = single(db + "_single", sources)
    client.drop_database(db)
    r = plan(db, "g", 2, sources)
    check(r.returncode == 0, f"plan: {r.stderr[-500:]}")
    all_parts(db, "g", 2, sources)
    # killed in its verifying scan, before the journal: the group keeps the lock
    rule = faults.arm("find", coll="swefreq_staging_", action="hold")
    p = start("finish", "--uri", URI, "--db", db, "--group", "g")
    check(faults.wait(rule, timeout=300) is not None, "the proxy held finish's scan")
    p.kill()
    p.wait()
    faults.release(rule, forward=False)
    faults.clear()
    time.sleep(1.5)
    r = run("load", "--uri", URI, "--db", db, *OPTS, *sources, "--lock-timeout", "1")
    check(r.returncode == 9 and "group g" in r.stderr,
          f"after a finish killed before its journal, the group keeps its lease: exit 9 "
          f"({r.returncode}) {r.stderr[-300:]}")
    killed_at_rename(db)
    time.sleep(1.5)
    r = run("recover", "--uri", URI, "--db", db, "--lock-timeout", "1")
    check(r.returncode == 0 and "finished the swap" in r.stderr,
          f"recover finishes the group's swap: {r.returncode} {r.stderr[-500:]}")
    got = browser(db)
    for c in COLLS:
        check(got[c][0] == want[0][c][0], f"after recover: {c} equals the single load's")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"verify --uri after recover: {r.stdout[-500:]}")

def staging(db, coll):
    names = [n for n in client[db].list_collection_names()
             if n.startswith("swefreq_staging_") and n.endswith("_" + coll)]
    check(len(names) == 1, f"one staging collection for {coll}: {names}")
    return client.get_database(db, codec_options=CodecOptions(
        document_class=RawBSONDocument))[names[0]], names[0]


def refused(db, name, before, what, needles, *more):
    """finish refused with exit 5, its message holding every needle; the
    browser's collections byte-identical."""
    r = finish_group(db, "g", *more)
    check(r.returncode == 5 and all(n in r.stderr for n in needles),
          f"{what}: finish refused, exit 5, naming {needles} ({r.returncode}) {r.stderr[-500:]}")
    unchanged(db, before, what)
    return r


def finish_json(db, *more):
    r = finish_group(db, "g", "--json", *more)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, {}


def test_scan():
    sources = several_files()
    db = "sfl_group_scan"
    want = single(db + "_single", sources)
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *OPTS, "--vcf", os.path.join(TD, "exac_sample.vcf"))
    check(r.returncode == 0, f"a first load: {r.stderr[-300:]}")
    before = browser(db)
    r = plan(db, "g", 3, sources)
    check(r.returncode == 0, f"plan: {r.stderr[-500:]}")
    all_parts(db, "g", 3, sources)
    for bad, flag in (("0", "--scan-threads"), ("fast", "--scan-mode")):
        r = finish_group(db, "g", flag, bad)
        check(r.returncode == 2 and flag in r.stderr,
              f"{flag} {bad}: exit 2 ({r.returncode}) {r.stderr[-300:]}")
    variants, vname = staging(db, "variants")
    coverage, cname = staging(db, "base_coverage")
    ranged = ("--scan-mode", "ranged", "--scan-threads", "1")  # 4 ranges: each a pass on FerretDB
    # documents outside every range: the ranges' counts fall short (a NaN
    # xpos cannot be tested here: FerretDB refuses NaN on the wire)
    for coll, name, stray in ((variants, vname, {"_id": "stray", "xpos": "1000012345"}),
                              (variants, vname, {"_id": "null", "xpos": None}),
                              (coverage, cname, {"_id": 77, "pos": 12345})):
        client[db][name].insert_one(dict(stray))
        refused(db, name, before, f"{name}: a document with xpos {stray.get('xpos', '(none)')!r}",
                (name, "have no number in xpos", "1 documents"), *ranged)
        coll.delete_one({"_id": stray["_id"]})
    # a document whose xpos is an array across two ranges: the server
    # returns it in both; refused as such, not counted twice
    lo = variants.find({}).sort("xpos", 1).limit(1)[0]["xpos"]
    hi = variants.find({}).sort("xpos", -1).limit(1)[0]["xpos"]
    variants.insert_one({"_id": "array", "xpos": [lo, hi]})
    refused(db, vname, before, "a document with an array xpos",
            (vname, "_id 'array'", "not a number of the range"), *ranged)
    # forced single: the same stray document refused by the digest
    r, out = finish_json(db, "--scan-mode", "single")
    check(r.returncode == 5 and "does not match" in r.stderr and
          out.get("scan", {}).get("variants", {}).get("mode") == "single" and
          "--scan-mode" in out["scan"]["variants"].get("reason", ""),
          f"--scan-mode single: the array document refused by the digest, JSON scan "
          f"{out.get('scan')} ({r.returncode}) {r.stderr[-300:]}")
    unchanged(db, before, "an array xpos, one pass")
    variants.delete_one({"_id": "array"})
    n = variants.count_documents({})
    old = variants.find({}).sort("xpos", 1).skip(n // 2).limit(1)[0]
    variants.update_one({"_id": old["_id"]}, {"$set": {"rsid": "rs999999999"}})
    refused(db, vname, before, "a variant altered in staging", (vname, "does not match"), *ranged)
    variants.replace_one({"_id": old["_id"]}, old)
    r, out = finish_json(db, "--scan-mode", "ranged", "--scan-threads", "3")
    scan = out.get("scan", {})
    check(r.returncode == 0 and all(scan.get(c, {}).get("mode") == "ranged"
                                    for c in ("variants", "base_coverage", "dbsnp")),
          f"finish --scan-mode ranged on 3 threads once staging is put back: {scan} "
          f"{r.stderr[-500:]}")
    same_as_single(db, "g", want, "finish by ranges on 3 threads")
    # auto on FerretDB: explain shows no index scan, so one pass; same result
    db2 = db + "_auto"
    client.drop_database(db2)
    r = plan(db2, "g", 3, sources)
    check(r.returncode == 0, f"plan {db2}: {r.stderr[-500:]}")
    all_parts(db2, "g", 3, sources)
    r, out = finish_json(db2, "--verbose")
    scan = out.get("scan", {})
    check(r.returncode == 0 and
          all(scan.get(c, {}).get("mode") == "single" and
              "no queryPlanner.winningPlan" in scan[c].get("reason", "")
              for c in ("variants", "base_coverage", "dbsnp")) and
          scan.get("genes", {}).get("mode") == "single",
          f"finish (auto) on FerretDB: one pass, explain's reason in the JSON: {scan} "
          f"{r.stderr[-500:]}")
    check("scanned in one pass (explain: the reply has no queryPlanner.winningPlan" in r.stderr,
          f"--verbose says how and why: {r.stderr[-800:]}")
    same_as_single(db2, "g", want, "finish in auto (one pass)")


def test_indel():
    header = [l for l in open(os.path.join(TD, "swegen_sample.vcf")) if l.startswith("#")]
    with open("del.vcf", "w") as f:
        f.writelines(header)
        for i in range(9000):
            pos = 1000 + 100 * i
            ref = "A" + "".join("ACGT"[(i * 7 + k * 3) % 4] for k in range(120))
            f.write(f"1\t{pos}\t.\t{ref}\tA\t{50 + i % 50}\tPASS\tAC={1 + i % 7};AN=2000;"
                    f"AC_Hom={i % 3}\n")
    sources = ["--vcf", bgzip_index("del.vcf", "-p", "vcf")]
    db = "sfl_group_indel"
    want = single(db + "_single", sources)
    client.drop_database(db)
    r = plan(db, "g", 3, sources)
    check(r.returncode == 0, f"plan: {r.stderr[-500:]}")
    p = json.load(open(f"{db}.g.plan.json"))
    cuts = [reg["end"] for x in p["parts"] for s in x["sources"] for reg in s.get("regions", [])
            if "end" in reg]
    check(len(cuts) == 2, f"contig 1 is cut twice: {cuts}")
    # every cut lies inside a deletion that starts before it
    check(all(any(1000 + 100 * i - 1 < c < 1000 + 100 * i - 1 + 121 for i in range(9000))
              for c in cuts), f"each cut lies inside a deletion: {cuts}")
    all_parts(db, "g", 3, sources)
    r = finish_group(db, "g")
    check(r.returncode == 0, f"finish: {r.stderr[-500:]}")
    same_as_single(db, "g", want, "deletions across the cuts")
    n = client[db]["variants"].count_documents({})
    check(n == 9000, f"each deletion loaded once: {n} variants")


def take_out(colls, victim, name="variants"):
    """The entry `name` of a manifest's list of collections made to match
    one document, `victim` (raw BSON), fewer: count, bytes and the LtHash
    digest (public: E(doc) is computed from the document alone)."""
    import digest_kat
    v = next(c for c in colls if c["name"] == name)
    prefix, b64 = v["digest"].split(":", 1)
    lanes = list(struct.unpack("<1024H", base64.b64decode(b64)))
    e = digest_kat.element(victim.raw)
    lanes = [(a - b) % 65536 for a, b in zip(lanes, e)]
    v["digest"] = prefix + ":" + base64.b64encode(digest_kat.state_bytes(lanes)).decode()
    v["count"] -= 1
    v["bytes"] -= len(victim.raw)
    return colls


def forge_part_manifest(db, gid):
    """A writer to the database removes one variant of part 1 from staging
    and makes part 1's recorded manifest match (take_out)."""
    raw = client.get_database(db, codec_options=CodecOptions(document_class=RawBSONDocument))
    meta = client[db]["swefreq_meta"]
    rec = meta.find_one({"kind": "part", "group_id": gid, "part": 1})
    staging = raw[f"swefreq_staging_{gid}_variants"]
    chroms = {r["chrom"] for r in rec["part_spec"]["sources"][0]["regions"]}
    victim = next(d for d in staging.find({}) if d["chrom"] in chroms)
    staging.delete_one({"_id": victim["_id"]})
    colls = take_out(rec["manifest"]["collections"], victim)
    meta.update_one({"_id": rec["_id"]}, {"$set": {"manifest.collections": colls}})
    return victim["_id"]


def files_run(db, sources, forge_plan=False):
    """A single load (the browser's data before), plan, the parts with
    their manifest files; the group's id and the browser before."""
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *OPTS, *sources)
    check(r.returncode == 0, f"{db}: the first load: {r.stderr[-500:]}")
    before = browser(db)
    r = plan(db, "g", 2, sources)
    check(r.returncode == 0, f"{db}: plan: {r.stderr[-500:]}")
    gid = json.load(open(f"{db}.g.plan.json"))["id"]
    if forge_plan:  # the last region of part 2 taken out of the recorded plan
        meta = client[db]["swefreq_meta"]
        g = meta.find_one({"kind": "group", "group": "g"})
        regs = g["group_plan"]["parts"][1]["sources"][0]["regions"]
        gone = regs.pop()
        # and the index's count of that contig, which finish compares with
        # the records the parts read (else it refuses by the count, exit 3)
        indexes = g["group_plan"]["indexes"]
        for c in indexes[0]["contigs"]:
            if c["chrom"] == gone["chrom"]:
                c["records"] = 0
        meta.update_one({"_id": g["_id"]},
                        {"$set": {"group_plan.parts.1.sources.0.regions": regs,
                                  "group_plan.indexes": indexes}})
    all_parts(db, "g", 2, sources,
              extra={k: ["--manifest", f"{db}.part-{{part}}.json"] for k in (1, 2)})
    files = [f"{db}.part-{k}.json" for k in (1, 2)]
    check(all(os.path.exists(f) for f in files), f"{db}: each part wrote its manifest file")
    return gid, before, files, (gone if forge_plan else None)


def test_files():
    sources = ["--vcf", ONE_VCF]
    # honest: both checks pass, and the JSON says so
    db = "sfl_group_files_ok"
    gid, before, files, _ = files_run(db, sources)
    r = finish_group(db, "g", "--json", "--part-manifest", files[1], "--part-manifest", files[0])
    check(r.returncode == 0 and "--plan" in r.stderr and "warning" in r.stderr,
          f"finish without --plan: warns: {r.returncode} {r.stderr[-300:]}")
    j = json.loads(r.stdout)
    check(j["part_files_checked"] is True and j["plan_file_checked"] is False and
          j["resumed"] is False,
          f"finish --json says what it checked: {r.stdout}")

    # a part's manifest forged with the staging documents
    for with_files in (True, False):
        db = f"sfl_group_files_forged_{int(with_files)}"
        gid, before, files, _ = files_run(db, sources)
        victim = forge_part_manifest(db, gid)
        more = ["--plan", f"{db}.g.plan.json", "--part-manifest", files[0],
                "--part-manifest", files[1]] if with_files else []
        r = finish_group(db, "g", *more)
        if with_files:
            check(r.returncode == 5 and "part 1's manifest" in r.stderr,
                  f"a forged part manifest is refused (exit 5, naming part 1): "
                  f"{r.returncode} {r.stderr[-400:]}")
            unchanged(db, before, "a forged part manifest refused")
        else:
            check(r.returncode == 0 and "warning" in r.stderr,
                  f"without the files the forgery passes, with a warning (the control): "
                  f"{r.returncode} {r.stderr[-400:]}")
            check(client[db]["variants"].count_documents({"_id": victim}) == 0,
                  "the control: the variant the forgery removed is missing from the browser")

    # a region taken out of the recorded plan before the parts ran
    for with_files in (True, False):
        db = f"sfl_group_files_plan_{int(with_files)}"
        gid, before, files, gone = files_run(db, sources, forge_plan=True)
        more = ["--plan", f"{db}.g.plan.json", "--part-manifest", files[0],
                "--part-manifest", files[1]] if with_files else []
        r = finish_group(db, "g", *more)
        if with_files:
            check(r.returncode == 5 and '"parts"' in r.stderr and "plan file" in r.stderr,
                  f"a changed recorded plan is refused (exit 5, naming the field): "
                  f"{r.returncode} {r.stderr[-400:]}")
            unchanged(db, before, "a changed recorded plan refused")
        else:
            n = client[db]["variants"].count_documents({"chrom": gone["chrom"]})
            check(r.returncode == 0 and n == 0,
                  f"without --plan the finish passes with contig {gone['chrom']} missing "
                  f"(the control): exit {r.returncode}, {n} variants")

    # a part killed after writing its file, before its record says complete
    db = "sfl_group_files"  # the fault proxy's rules are for this database
    client.drop_database(db)
    r = plan(db, "g", 2, sources)
    check(r.returncode == 0, f"{db}: plan: {r.stderr[-500:]}")
    files = [f"{db}.part-{k}.json" for k in (1, 2)]
    man = ["--manifest", f"{db}.part-{{part}}.json"]
    rule = faults.arm("update", coll="swefreq_meta", has="complete", action="hold")
    p1 = start(*part_cmd(db, "g", 1, sources, *man))
    st = faults.wait(rule, timeout=120)
    check(st is not None, "the proxy held part 1's record update to complete")
    check(os.path.exists(files[0]), "the part's file is written before its record says complete")
    p1.kill()
    p1.wait()
    faults.release(rule, forward=False)
    faults.clear()
    rec = client[db]["swefreq_meta"].find_one({"kind": "part", "part": 1})
    check(rec and rec.get("status") == "loading", f"the killed part: {rec and rec.get('status')}")
    time.sleep(1.2)
    all_parts(db, "g", 2, sources, extra={1: ["--resume", "--lock-timeout", "1", *man], 2: man})
    r = finish_group(db, "g", "--plan", f"{db}.g.plan.json", "--part-manifest", files[0],
                     "--part-manifest", files[1])
    check(r.returncode == 0, f"killed before complete, run again: finished with the files: "
          f"{r.returncode} {r.stderr[-400:]}")

    # files that cannot be the parts'
    db = "sfl_group_files_bad"
    gid, before, files, _ = files_run(db, sources)
    r = finish_group(db, "g", "--part-manifest", files[0])
    check(r.returncode == 2, f"one file for two parts: exit 2: {r.returncode} {r.stderr[-300:]}")
    r = finish_group(db, "g", "--part-manifest", files[0], "--part-manifest", files[0])
    check(r.returncode == 5 and "part 2's manifest" in r.stderr,
          f"one file twice: exit 5 naming part 2: {r.returncode} {r.stderr[-300:]}")
    r = finish_group(db, "g", "--part-manifest", files[0], "--part-manifest", "nothere.json")
    check(r.returncode == 3 and "nothere.json" in r.stderr,
          f"a missing file: exit 3 naming it: {r.returncode} {r.stderr[-300:]}")
    other = "sfl_group_files_ok.g.plan.json"
    r = finish_group(db, "g", "--plan", other, "--part-manifest", files[0],
                     "--part-manifest", files[1])
    check(r.returncode == 5 and other in r.stderr,
          f"another group's plan file: exit 5 naming it: {r.returncode} {r.stderr[-300:]}")
    unchanged(db, before, "refusals of the files")
    r = finish_group(db, "g", "--plan", f"{db}.g.plan.json", "--part-manifest", files[0],
                     "--part-manifest", files[1])
    check(r.returncode == 0 and "warning" not in r.stderr,
          f"the right files: finished, no warning: {r.returncode} {r.stderr[-300:]}")


def file_args(db, files):
    return ["--plan", f"{db}.g.plan.json", "--part-manifest", files[0],
            "--part-manifest", files[1]]


def killed_in_swap(db, sources, nth=1):
    """files_run, then a finish with the files killed while its nth
    rename is held: the group's record says swapping, nth - 1 renamed."""
    gid, before, files, _ = files_run(db, sources)
    killed_at_rename(db, *file_args(db, files), "--manifest", f"{db}.g.manifest.json", nth=nth)
    if nth == 1:
        unchanged(db, before, "a finish killed in its swap, before its first rename")
    for f in (f"{db}.g.manifest.json", f"{db}.g.manifest.json.partial"):
        if os.path.exists(f):
            os.unlink(f)
    return gid, before, files


def test_resume():
    """A finish killed in its swap, run again with and without the files."""
    sources = ["--vcf", ONE_VCF]
    db = "sfl_group_resume"  # the fault proxy's rules are for this database
    want = single(db + "_single", sources)
    meta = client[db]["swefreq_meta"]
    raw = client.get_database(db, codec_options=CodecOptions(document_class=RawBSONDocument))

    gid, before, files = killed_in_swap(db, sources)
    rec = meta.find_one({"kind": "group"})
    honest = copy.deepcopy(rec["manifest"])
    # a metric document taken out of staging and the journal's metrics
    # entry made to match: the metrics computed again from the variants differ
    metrics = raw[f"swefreq_staging_{gid}_metrics"]
    gone = next(iter(metrics.find({})))
    metrics.delete_one({"_id": gone["_id"]})
    meta.update_one({"_id": rec["_id"]}, {"$set": {"manifest.collections": take_out(
        copy.deepcopy(honest["collections"]), gone, "metrics")}})
    refused(db, "g", before, "the metrics and the journal's metrics entry forged",
            ["the metrics computed from the variants does not match"], *file_args(db, files))
    metrics.insert_one(gone)
    # a source's field, an option in the journal's manifest
    src = copy.deepcopy(honest["sources"])
    src[0]["records"] += 1
    opt = copy.deepcopy(honest["options"])
    key = next(k for k, v in opt.items() if isinstance(v, bool))
    opt[key] = not opt[key]
    for field, value, needle in (("sources", src, 'source 1\'s field "records"'),
                                 ("options", opt, f'option "{key}"')):
        meta.update_one({"_id": rec["_id"]}, {"$set": {"manifest": {**honest, field: value}}})
        refused(db, "g", before, f"the journal's {field} forged", [needle, "swap journal"],
                *file_args(db, files))
    meta.update_one({"_id": rec["_id"]}, {"$set": {"manifest": honest}})
    # a writer to the database takes a variant out of staging: the finish
    # run again with the files scans staging against the journal
    staging = raw[f"swefreq_staging_{gid}_variants"]
    victim = next(iter(staging.find({})))
    staging.delete_one({"_id": victim["_id"]})
    refused(db, "g", before, "staging changed after the journal, finish with the files",
            [f"collection swefreq_staging_{gid}_variants does not match",
             "nothing more was renamed"], *file_args(db, files))
    # and makes the journal's manifest match (count, bytes, LtHash digest)
    meta.update_one({"_id": rec["_id"]}, {"$set": {
        "manifest.collections": take_out(copy.deepcopy(honest["collections"]), victim)}})
    refused(db, "g", before, "a forged journal, finish with the files",
            ["collection variants", "swap journal", "nothing was swapped"], *file_args(db, files))
    check(not os.path.exists(f"{db}.g.manifest.json"), "the refused finish wrote no manifest")
    check(meta.find_one({"kind": "group"})["status"] == "swapping",
          "the refused finish left the journal as it was")
    # the journal's renames forged (its manifest put back): refused too
    sw = meta.find_one({"kind": "group"})["swap"]
    evil = copy.deepcopy(sw)
    evil["collections"][0]["staging"] = "evil"
    meta.update_one({"_id": rec["_id"]}, {"$set": {"manifest": honest, "swap": evil}})
    refused(db, "g", before, "a journal renaming another collection, finish with the files",
            ["renames \"evil\"", "nothing was swapped"], *file_args(db, files))
    # the control: forged again, without the files the finish rolls it forward
    # and the database's manifest vouches for a browser a variant short
    meta.update_one({"_id": rec["_id"]}, {"$set": {
        "manifest.collections": take_out(copy.deepcopy(honest["collections"]), victim),
        "swap": sw}})
    r, j = finish_json(db)
    check(r.returncode == 0 and "warning" in r.stderr and "--part-manifest" in r.stderr and
          "journal of a finish killed in its swap" in r.stderr,
          f"the control: without the files the forged journal is rolled forward, with a "
          f"warning: {r.returncode} {r.stderr[-400:]}")
    check(j.get("plan_file_checked") is False and j.get("part_files_checked") is False and
          j.get("resumed") is True, f"the control: --json says resumed, nothing checked: {r.stdout}")
    check("rolled forward as its journal in the database says, not checked against the "
          "parts' manifest files" in r.stderr,
          f"the control: a warning that the journal was rolled forward unchecked: {r.stderr[-400:]}")
    check(not os.path.exists(f"{db}.g.manifest.json"), "the control wrote no manifest file")
    check(client[db]["variants"].count_documents({"_id": victim["_id"]}) == 0,
          "the control: the variant the forgery removed is missing from the browser")
    r = run("verify", "--uri", URI, "--db", db)
    check(r.returncode == 0, f"the control: verify against the database's manifest passes on "
          f"the forged browser: {r.returncode} {r.stdout[-300:]}")

    # honest: killed in its swap at its third renameCollection (variants
    # renamed already), run again with the files: variants is checked in
    # the browser, metrics in staging
    gid, before, files = killed_in_swap(db, sources, nth=3)
    r, j = finish_json(db, *file_args(db, files))
    check(r.returncode == 0 and "warning" not in r.stderr,
          f"killed in its swap, run again with the files: finished, no warning: "
          f"{r.returncode} {r.stderr[-400:]}")
    check(j.get("plan_file_checked") is True and j.get("part_files_checked") is True and
          j.get("resumed") is True, f"--json says resumed, both checked: {r.stdout}")
    reasons = {k: v["reason"] for k, v in j.get("scan", {}).items()}
    check(reasons == {"variants": "one pass: the check of a finish resumed in its swap "
                                  "(variants)",
                      "metrics": "one pass: the check of a finish resumed in its swap "
                                 f"(swefreq_staging_{gid}_metrics)"},
          f"--json: each collection scanned again, variants (renamed already) in the "
          f"browser, metrics in staging: {reasons}")
    same_as_single(db, "g", want, "a finish killed in its swap, run again with the files")
    r = run("verify", "--uri", URI, "--db", db, "--sources")
    check(r.returncode == 0, f"verify --sources after it: {r.returncode} {r.stdout[-300:]}")


def strip_tbi_stats(src, dst):
    """A copy of a .tbi without its per-contig statistics (the pseudo-bin
    37450 that tabix has written since 2013), as an old tabix made it."""
    import gzip
    import struct
    raw = gzip.open(src, "rb").read()
    out = bytearray(raw[:4])
    n_ref, = struct.unpack_from("<i", raw, 4)
    l_nm, = struct.unpack_from("<i", raw, 32)
    at = 36 + l_nm
    out += raw[4:at]
    for _ in range(n_ref):
        n_bin, = struct.unpack_from("<i", raw, at)
        at += 4
        bins = []
        for _ in range(n_bin):
            b, n_chunk = struct.unpack_from("<Ii", raw, at)
            end = at + 8 + 16 * n_chunk
            if b != 37450:
                bins.append(raw[at:end])
            at = end
        out += struct.pack("<i", len(bins)) + b"".join(bins)
        n_intv, = struct.unpack_from("<i", raw, at)
        out += raw[at:at + 4 + 8 * n_intv]
        at += 4 + 8 * n_intv
    out += raw[at:]
    with open(dst + ".raw", "wb") as f:
        f.write(bytes(out))
    with open(dst, "wb") as f:
        sh("bgzip", "-c", dst + ".raw", stdout=f)


def stale_inputs():
    """good.vcf.gz (600 sites, indexed); its first 450 records as old.vcf.gz
    with its index; the rest as a BGZF member of their own."""
    gen("gen_exac_vcf.py", "--sites", 600, "good.vcf", "--seed", "11")
    lines = open("good.vcf").readlines()
    head = [l for l in lines if l.startswith("#")]
    body = [l for l in lines if not l.startswith("#")]
    with open("old.vcf", "w") as f:
        f.writelines(head + body[:450])
    with open("rest.vcf", "w") as f:
        f.writelines(body[450:])
    bgzip_index("old.vcf", "-p", "vcf")
    sh("bgzip", "-f", "-k", "rest.vcf")
    return bgzip_index("good.vcf", "-p", "vcf"), body


def appended(name, index, ext=".tbi"):
    """old.vcf.gz with rest.vcf's records appended before its end-of-file
    block, and `index` as its index (name + ext)."""
    old = open("old.vcf.gz", "rb").read()
    check(old.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")),
          "old.vcf.gz ends with the BGZF end-of-file block")
    with open(name, "wb") as f:
        f.write(old[:-28] + open("rest.vcf.gz", "rb").read())
    sh("cp", index, name + ext)
    return name


def test_stale():
    good, body = stale_inputs()
    db = "sfl_group_stale"
    client.drop_database(db)
    r = run("load", "--uri", URI, "--db", db, *OPTS, "--vcf", os.path.join(TD, "exac_sample.vcf"))
    check(r.returncode == 0, f"a first load: {r.stderr[-300:]}")
    before = browser(db)
    gen("gen_exac_vcf.py", "--sites", 600, "other.vcf", "--seed", "12")
    bgzip_index("other.vcf", "-p", "vcf")
    sh("cp", good, "foreign.vcf.gz")
    sh("cp", "other.vcf.gz.tbi", "foreign.vcf.gz.tbi")
    sh("cp", good, "nostats.vcf.gz")
    strip_tbi_stats(good + ".tbi", "nostats.vcf.gz.tbi")
    sh("cp", good, "rebuilt.vcf.gz")
    sh("cp", "old.vcf.gz.tbi", "rebuilt.vcf.gz.tbi")
    cases = (("records appended after indexing", appended("app.vcf.gz", "old.vcf.gz.tbi"), "stale"),
             ("the file rebuilt with more records, the old index kept", "rebuilt.vcf.gz", "stale"),
             ("the index of another file with the same contigs", "foreign.vcf.gz", "stale"),
             ("an index without record counts", "nostats.vcf.gz", "no record counts"))
    for what, path, word in cases:
        r = plan(db, "g", 2, ["--vcf", path])
        check(r.returncode == 3 and path in r.stderr and word in r.stderr,
              f"plan, {what}: exit 3 naming {path} and '{word}' ({r.returncode}) {r.stderr[-600:]}")
        check(client[db]["swefreq_meta"].find_one({"_id": "lock"}) is None,
              f"plan, {what}: no lock left")
        unchanged(db, before, f"plan, {what}")
    # a single load reads the appended file whole: every record
    r = run("load", "--uri", URI, "--db", db + "_single", *OPTS, "--vcf", "app.vcf.gz")
    check(r.returncode == 0, f"a single load of the appended file: {r.stderr[-300:]}")

    # under a good plan: a part after the file was appended to, or its index rebuilt
    sh("cp", "old.vcf.gz", "moving.vcf.gz")
    sh("cp", "old.vcf.gz.tbi", "moving.vcf.gz.tbi")
    src = ["--vcf", "moving.vcf.gz"]
    r = plan(db, "g", 2, src)
    check(r.returncode == 0, f"plan of moving.vcf.gz: {r.stderr[-500:]}")
    appended("moving.vcf.gz", "old.vcf.gz.tbi")
    r = run(*part_cmd(db, "g", 1, src))
    check(r.returncode == 3 and "moving.vcf.gz" in r.stderr,
          f"a part after records were appended: exit 3 naming the file ({r.returncode}) "
          f"{r.stderr[-500:]}")
    sh("tabix", "-f", "-p", "vcf", "moving.vcf.gz")
    r = run(*part_cmd(db, "g", 2, src))
    check(r.returncode == 3 and "moving.vcf.gz" in r.stderr,
          f"a part after the index was rebuilt for more records: exit 3 ({r.returncode}) "
          f"{r.stderr[-500:]}")
    unchanged(db, before, "parts refused")
    sh("cp", "old.vcf.gz", "moving.vcf.gz")
    sh("cp", "old.vcf.gz.tbi", "moving.vcf.gz.tbi")
    all_parts(db, "g", 2, src)

    # finish: the parts' counts against the index's
    meta = client[db]["swefreq_meta"]
    p1 = meta.find_one({"kind": "part", "part": 1})
    reads = p1.get("reads") or []
    check(reads and all({"source", "chrom", "start", "records"} <= set(x) for x in reads),
          f"part 1 records its records per region: {reads[:3]}")
    total = sum(x["records"] for p in meta.find({"kind": "part"}) for x in p.get("reads", []))
    check(total == 450, f"the parts' counts add up to the file's 450 records: {total}")
    lost = copy.deepcopy(reads)
    lost[0]["records"] -= 1
    meta.update_one({"_id": p1["_id"]}, {"$set": {"reads": lost}})
    r = finish_group(db, "g")
    want = f"contig {reads[0]['chrom']}: its index counts"
    check(r.returncode == 3 and "moving.vcf.gz" in r.stderr and want in r.stderr and
          f"the parts read {sum(x['records'] for x in reads if x['chrom'] == reads[0]['chrom']) - 1}"
          in r.stderr,
          f"finish with a part's count one short: exit 3 naming source, contig and counts "
          f"({r.returncode}) {r.stderr[-600:]}")
    unchanged(db, before, "finish with a count short")
    meta.update_one({"_id": p1["_id"]}, {"$unset": {"reads": ""}})
    r = finish_group(db, "g")
    check(r.returncode == 3 and "part 1's record has no record counts" in r.stderr,
          f"finish with a part's counts missing: exit 3 ({r.returncode}) {r.stderr[-400:]}")
    unchanged(db, before, "finish with counts missing")
    meta.update_one({"_id": p1["_id"]}, {"$set": {"reads": reads}})
    r = finish_group(db, "g")
    check(r.returncode == 0, f"finish with the parts' counts right: {r.stderr[-400:]}")
    n = client[db]["variants"].count_documents({})
    check(n > 0 and browser(db) != before, f"finish swapped the group's data in ({n} variants)")
    test_csi(good)
    test_ranges(db, good)


def test_csi(good):
    """A .csi index (tabix -C) and no .tbi: a stale one is refused at plan
    as a stale .tbi is, and a fresh one gives the single load's result."""
    db = "sfl_group_stale_csi"
    client.drop_database(db)
    sh("tabix", "-f", "-C", "-p", "vcf", "old.vcf.gz")
    stale = appended("appc.vcf.gz", "old.vcf.gz.csi", ".csi")
    check(not os.path.exists(stale + ".tbi"), "appc.vcf.gz has only a .csi")
    r = plan(db, "c", 2, ["--vcf", stale])
    check(r.returncode == 3 and stale in r.stderr and "stale" in r.stderr and
          ".csi" in r.stderr,
          f"plan with a stale .csi: exit 3 naming the file, its .csi and 'stale' "
          f"({r.returncode}) {r.stderr[-600:]}")
    check(client[db]["swefreq_meta"].find_one({"_id": "lock"}) is None,
          "plan with a stale .csi: no lock left")
    sh("cp", good, "fresh.vcf.gz")
    sh("tabix", "-f", "-C", "-p", "vcf", "fresh.vcf.gz")
    src = ["--vcf", "fresh.vcf.gz"]
    want = single(db + "_one", src)
    r = plan(db, "c", 2, src)
    check(r.returncode == 0, f"plan with a fresh .csi: {r.stderr[-500:]}")
    p = json.load(open(f"{db}.c.plan.json"))
    check(all(x["sources"][0].get("regions") for x in p["parts"]),
          f"both parts have regions of the .csi-indexed file: {p['parts']}")
    all_parts(db, "c", 2, src)
    r = finish_group(db, "c")
    check(r.returncode == 0, f"finish with a .csi: {r.stderr[-500:]}")
    same_as_single(db, "c", want, "a group over a .csi-indexed file")


def blocks(data):
    """The start of every BGZF block of `data`."""
    at, out = 0, []
    while at < len(data):
        out.append(at)
        at += int.from_bytes(data[at + 16:at + 18], "little") + 1
    return out


def test_ranges(db, good):
    """Each part checks its source by the plan's hashes of the bytes it
    reads (the header's blocks and its own range), not the whole file."""
    import hashlib
    src = ["--vcf", "ranged.vcf.gz"]
    sh("cp", good, "ranged.vcf.gz")
    sh("cp", good + ".tbi", "ranged.vcf.gz.tbi")
    data = open("ranged.vcf.gz", "rb").read()
    r = plan(db, "r", 2, src)
    check(r.returncode == 0, f"plan r: {r.stderr[-500:]}")
    p = json.load(open(f"{db}.r.plan.json"))
    rng = [x["sources"][0].get("ranges", [{}])[0] for x in p["parts"]]
    hdr = p["indexes"][0].get("header", {})
    check(all(x.get("sha256") == hashlib.sha256(data[x["from"]:x["to"]]).hexdigest()
              for x in rng) and rng[0]["from"] < rng[1]["from"] and rng[0]["to"] <= rng[1]["to"]
          and rng[1]["to"] < len(data),
          f"the plan records each part's range and its SHA-256: {rng} of {len(data)} bytes")
    check(hdr.get("sha256") == hashlib.sha256(data[:hdr.get("to", 0)]).hexdigest() and
          0 < hdr["to"] <= rng[0]["from"] + 65536,
          f"the plan records the header's blocks and their SHA-256: {hdr}")
    # a byte of part 2's range, outside part 1's (and the header's): part 1
    # loads, part 2 refuses naming its range
    at = max(rng[0]["to"], hdr["to"]) + 40
    check(at < rng[1]["to"], "a byte only part 2 reads")
    bad = bytearray(data)
    bad[at] ^= 0x55
    open("ranged.vcf.gz", "wb").write(bytes(bad))
    r = run(*part_cmd(db, "r", 1, src))
    check(r.returncode == 0, f"part 1 reads none of the changed bytes: {r.stderr[-400:]}")
    r = run(*part_cmd(db, "r", 2, src))
    check(r.returncode == 3 and "ranged.vcf.gz: part 2's range, compressed bytes "
          f"{rng[1]['from']} to {rng[1]['to']}, differs from the plan's" in r.stderr,
          f"part 2 refuses its changed range (exit 3, naming file and range) ({r.returncode}) "
          f"{r.stderr[-500:]}")
    bad = bytearray(data)
    bad[hdr["to"] - 30] ^= 0x55
    open("ranged.vcf.gz", "wb").write(bytes(bad))
    r = run(*part_cmd(db, "r", 2, src))
    check(r.returncode == 3 and "ranged.vcf.gz: " in r.stderr and
          ("its header" in r.stderr or "damaged" in r.stderr),
          f"a changed header refused: exit 3 ({r.returncode}) {r.stderr[-400:]}")
    open("ranged.vcf.gz", "wb").write(data)
    # a part never keeps a line past its verified range: part 2's recorded
    # range is cut to its first block (with that block's true SHA-256)
    meta = client[db]["swefreq_meta"]
    g = meta.find_one({"kind": "group", "group": "r"})
    cut = [b for b in blocks(data) if b > rng[1]["from"]][0]
    g["group_plan"]["parts"][1]["sources"][0]["ranges"][0].update(
        {"to": cut, "sha256": hashlib.sha256(data[rng[1]["from"]:cut]).hexdigest()})
    meta.update_one({"_id": g["_id"]}, {"$set": {"group_plan": g["group_plan"]}})
    r = run(*part_cmd(db, "r", 2, src))
    check(r.returncode == 3 and "past its verified range" in r.stderr and
          "ranged.vcf.gz" in r.stderr,
          f"a part whose lines go past its range refuses: exit 3 ({r.returncode}) "
          f"{r.stderr[-400:]}")


{"merge": test_merge, "kill": test_kill, "refuse": test_refuse, "swap": test_swap,
 "indel": test_indel, "files": test_files, "resume": test_resume, "scan": test_scan, "stale": test_stale}[MODE]()
finish(f"group_test {MODE}")
