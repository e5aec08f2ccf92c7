#!/usr/bin/env python3
"""load --resume: a load killed (kill -9) at an exact server command, held
by the test server's proxy (tests/faults.py), then resumed, must give
collections, indexes, manifest digests and every document byte-identical
to a clean load of the same files.

usage: mongo_resume_test.py MODE SWEFREQ_LOAD TESTDATA_DIR BENCH_GEN_DIR
  MODE phases:  kill -9 at 10%, 50% and 90% of the inserts, during the
                index builds, during the staging check, between the two
                renames; two interruptions in a row; each then resumed;
                a changed source or option refused (exit 3, nothing
                written); nothing to resume (exit 3); a new load without
                --resume warns that it drops the interrupted load
  MODE restart: the server killed and restarted mid-load, then --resume
  MODE split:   kill -9 while the metrics batch (written after the last
                source, in several inserts) is part acknowledged, then
                --resume
Exit 77 when pymongo is missing or the server has no fault injection.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faults import Faults  # noqa: E402
from mongo_common import URI, check, finish, require_faults  # noqa: E402
import pymongo  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402

MODE = sys.argv[1]
faults = require_faults(f"sfl_resume_{MODE}")
MODE, TOOL, TD, GEN = sys.argv[1:5]
client = pymongo.MongoClient(URI, serverSelectionTimeoutMS=5000)
tmp = tempfile.mkdtemp(prefix="sfl_resume_")
# Small inserts and chunks, so that a few hundred sites make ~100 inserts
# and the acknowledged position moves often.
ARGS = ["--histograms", "columns", "--batch-docs", "10", "--chunk-size", "16384",
        "--record-interval", "20", "--threads", "2"]


def gen(script, flag, n, name):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        subprocess.run([sys.executable, os.path.join(GEN, script), flag, str(n)], stdout=f,
                       stderr=subprocess.DEVNULL, check=True)
    return path


PLAIN_VCF = gen("gen_exac_vcf.py", "--sites", 300, "sites.vcf")
PLAIN_COV = gen("gen_coverage.py", "--rows", 600, "coverage.tsv")
# Bgzipped: the VCF in several BGZF blocks, the coverage in one (after
# which htslib's threaded reader reports the virtual offset 0). The
# documents are those of the plain files, which two interruptions in a row
# use: positions in plain text.
subprocess.run(["bgzip", "-k", "-f", PLAIN_VCF], check=True)
subprocess.run(["bgzip", "-k", "-f", PLAIN_COV], check=True)
VCF, COV = PLAIN_VCF + ".gz", PLAIN_COV + ".gz"
SOURCES = ["--vcf", VCF, "--coverage", COV]
PLAIN = ["--vcf", PLAIN_VCF, "--coverage", PLAIN_COV]


def run(*args, timeout=180):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=timeout)


def load(db, *args):
    return run("load", "--uri", URI, "--db", db, *ARGS, *args)


def resume(db, *args, sources=SOURCES):
    time.sleep(1.2)  # the killed loader's lock is stale after --lock-timeout 1
    return load(db, "--lock-timeout", "1", "--resume", *args, *(sources or []))


def start(db, *args):
    return subprocess.Popen([TOOL, "load", "--uri", URI, "--db", db, *ARGS, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def staging(db):
    return sorted(n for n in client[db].list_collection_names() if n.startswith("swefreq_staging_"))


def records(db):
    return list(client[db]["swefreq_meta"].find({"status": {"$exists": True}}))


def kill_at(db, command, nth, coll, forward, *args, sources=None):
    """Starts a load (or a resume, with args), kills it (kill -9) while the
    proxy holds the nth `command` on a collection containing `coll`, then
    releases that command: forward=True runs it after the death."""
    rule = faults.arm(command, nth=nth, coll=coll, action="hold")
    p = start(db, *args, *(SOURCES if sources is None else sources))
    st = faults.wait(rule, timeout=90)
    check(st is not None, f"{db}: the proxy never saw {command} #{nth}")
    p.kill()
    p.wait()
    faults.release(rule, forward=forward)
    if forward:
        time.sleep(0.5)  # the released command runs on the server
    faults.clear()


def dump(db):
    """Every document's bytes, and the indexes, of the browser's collections."""
    d = client.get_database(db, codec_options=CodecOptions(document_class=RawBSONDocument))
    out = {}
    for coll in ("variants", "base_coverage", "metrics"):
        docs = sorted(x.raw for x in d[coll].find({}))
        idx = sorted((v["key"] if isinstance(v["key"], list) else list(v["key"]), v.get("unique", False))
                     for v in client[db][coll].index_information().values())
        out[coll] = (docs, [str(i) for i in idx])
    return out


def manifest_figures(db):
    cur = client[db]["swefreq_meta"].find_one({"_id": "current"})
    rec = client[db]["swefreq_meta"].find_one({"_id": cur["load_id"]}) if cur else None
    if not rec or "manifest" not in rec:
        return None
    return sorted((c["name"], c["count"], c["bytes"], c["digest"]) for c in rec["manifest"]["collections"])


CLEAN = f"sfl_resume_{MODE}_clean"
client.drop_database(CLEAN)
counter = Faults.from_env(CLEAN)  # a rule that never fires counts the inserts
count_rule = counter.arm("insert", nth=1000000, coll="swefreq_staging_")
r = load(CLEAN, *SOURCES)
check(r.returncode == 0, f"clean load: {r.stderr}")
N_INSERTS = [x for x in counter.rules() if x["id"] == count_rule][0]["seen"]
counter.clear()
check(N_INSERTS >= 60, f"the clean load made {N_INSERTS} inserts (want many for the 10/50/90% holds)")
CLEAN_DUMP = dump(CLEAN)
CLEAN_MANIFEST = manifest_figures(CLEAN)
check(len(CLEAN_DUMP["variants"][0]) > 300 and len(CLEAN_DUMP["base_coverage"][0]) == 600,
      f"clean load figures {len(CLEAN_DUMP['variants'][0])}/{len(CLEAN_DUMP['base_coverage'][0])}")


def stat(err, word):
    """A figure of the resume summary line: '... N documents skipped ...'."""
    import re
    m = re.search(r"(\d+) " + word, err)
    return int(m.group(1)) if m else None


def same_as_clean(db, r, what, attempts=2):
    check(r.returncode == 0, f"{what}: resume exit {r.returncode}: {r.stderr}")
    check(dump(db) == CLEAN_DUMP, f"{what}: every document and index equals the clean load's")
    check(manifest_figures(db) == CLEAN_MANIFEST,
          f"{what}: manifest digests {manifest_figures(db)} vs clean {CLEAN_MANIFEST}")
    check(staging(db) == [] and client[db]["swefreq_meta"].find_one({"_id": "lock"}) is None,
          f"{what}: no staging, no lock left")
    v = run("verify", "--uri", URI, "--db", db)
    check(v.returncode == 0, f"{what}: verify: {v.stdout} {v.stderr}")
    recs = records(db)
    check(len(recs) == 1, f"{what}: one load record (the resumed load kept its id): {len(recs)}")
    if recs:
        att = recs[0].get("attempts", [])
        check(len(att) == attempts and att[-1].get("status") == "complete" and
              all(a.get("status") == "lost" for a in att[:-1]) and
              all("started" in a and "pid" in a for a in att),
              f"{what}: the record keeps every attempt: {[(a.get('status'), a.get('attempt')) for a in att]}")


def test_phases():
    db = "sfl_resume_phases"
    # Nothing to resume: an empty database, then a complete load.
    client.drop_database(db)
    r = load(db, "--resume", *SOURCES)
    check(r.returncode == 3 and "nothing to resume" in r.stderr, f"nothing to resume: {r.returncode} {r.stderr}")
    r = load(db, "--resume")
    check(r.returncode == 3 and "nothing to resume" in r.stderr, f"nothing to resume, no sources: {r.stderr}")
    r = run("load", "--uri", URI, "--db", CLEAN, *ARGS, "--resume", "nosuchload", *SOURCES)
    check(r.returncode == 3 and "there is no load nosuchload" in r.stderr,
          f"--resume naming an unknown load: {r.returncode} {r.stderr}")
    r = run("load", "--uri", URI, "--db", CLEAN, *ARGS, "--resume", *SOURCES)
    check(r.returncode == 3 and "nothing to resume" in r.stderr and "complete" in r.stderr,
          f"nothing to resume after a complete load: {r.returncode} {r.stderr}")

    # kill -9 at about 10%, 50% and 90% of the inserts. The held insert is
    # dropped (10%) or runs after the death (50%, 90%): its documents are
    # then stored but never acknowledged, and come back as duplicates.
    # 100: the last insert, dropped: the position is then in the last
    # source's one BGZF block, whose last batch htslib ends at offset 0.
    for pct, forward in ((10, False), (50, True), (90, True), (100, False)):
        what = f"kill -9 at {pct}% of the inserts"
        client.drop_database(db)
        kill_at(db, "insert", max(2, N_INSERTS * pct // 100), "swefreq_staging_", forward)
        check(len(staging(db)) == 3, f"{what}: the staging of variants, base_coverage and metrics left behind: {staging(db)}")
        rec = records(db)[0]
        check(rec["status"] == "loading" and "plan" in rec, f"{what}: record loading with its plan")
        # 90%: the sources and options are taken from the record
        r = resume(db, sources=(SOURCES if pct != 90 else None))
        same_as_clean(db, r, what)
        skipped, sent = stat(r.stderr, "documents skipped"), stat(r.stderr, "sent")
        absorbed = stat(r.stderr, "duplicates absorbed")
        check(skipped is not None and sent is not None and absorbed is not None,
              f"{what}: the summary says what was skipped, sent and absorbed: {r.stderr}")
        if skipped is not None and sent is not None:
            check(skipped + sent >= 945, f"{what}: skipped {skipped} + sent {sent} cover every document")
            if pct >= 50:
                check(skipped > 0, f"{what}: documents acknowledged before were skipped ({skipped})")
        if forward and absorbed is not None:
            check(absorbed > 0, f"{what}: the held insert ran after the death: duplicates absorbed ({absorbed})")
        att = records(db)[0]["attempts"][-1] if records(db) else {}
        check(att.get("skipped") == skipped and att.get("duplicates_absorbed") == absorbed,
              f"{what}: the attempt's figures are recorded: {att}")

    # During the index builds (the first createIndexes runs after the death).
    what = "kill -9 during the index builds"
    client.drop_database(db)
    kill_at(db, "createIndexes", 1, "swefreq_staging_", True)
    lid = records(db)[0]["_id"]
    r = resume(db, lid, "--json")  # named: --resume LOAD_ID
    try:
        js = json.loads(r.stdout)["resume"]
    except (ValueError, KeyError):
        js = {}
    check(js.get("load_id") == lid and js.get("attempt") == 1 and
          js.get("skipped", -1) + js.get("sent", -1) >= 945 and "duplicates_absorbed" in js,
          f"{what}: --json says what the resume did: {r.stdout}")
    same_as_clean(db, r, what)

    # During the staging check (the scan's find is dropped).
    what = "kill -9 during the staging check"
    client.drop_database(db)
    kill_at(db, "find", 1, "swefreq_staging_", False)
    same_as_clean(db, resume(db), what)

    # Between the two renames: variants renamed, base_coverage not. The
    # resume rolls the journalled swap forward and checks the digests.
    what = "kill -9 between the two renames"
    client.drop_database(db)
    kill_at(db, "renameCollection", 1, "_base_coverage", False)
    r = resume(db)
    check("swap was finished" in r.stderr, f"{what}: says the swap was finished: {r.stderr}")
    same_as_clean(db, r, what)

    # Two interruptions in a row, then a resume.
    what = "two interruptions, then a resume"
    client.drop_database(db)
    kill_at(db, "insert", N_INSERTS // 3, "swefreq_staging_", True, sources=PLAIN)
    time.sleep(1.2)
    kill_at(db, "insert", N_INSERTS // 4, "swefreq_staging_", True, "--lock-timeout", "1", "--resume",
            sources=PLAIN)
    same_as_clean(db, resume(db, sources=PLAIN), what, attempts=3)

    # A hung (not dead) loader taken over by a resume with --break-lock:
    # when it wakes it must leave the resumed load's record and data alone.
    what = "a resume breaking a hung loader's lock"
    client.drop_database(db)
    rule = faults.arm("createIndexes", coll="swefreq_staging_", action="hold")
    victim = start(db, *SOURCES)
    check(faults.wait(rule, timeout=90) is not None, f"{what}: the victim's index build is held")
    r = load(db, "--break-lock", "--resume", *SOURCES)
    same_as_clean(db, r, what)
    time.sleep(6)  # past the victim's next heartbeat: it knows it lost the lock
    faults.release(rule)
    faults.clear()
    victim.communicate(timeout=60)
    check(victim.returncode != 0, f"{what}: the victim fails ({victim.returncode})")
    rec = records(db)[0] if records(db) else {}
    check(rec.get("status") == "complete" and rec.get("attempts", [{}])[-1].get("status") == "complete",
          f"{what}: the record stays complete: {rec.get('status')}")
    check(dump(db) == CLEAN_DUMP, f"{what}: the data stays the resumed load's")

    # A changed source, or a changed option: refused, nothing written.
    what = "--resume with a changed source"
    client.drop_database(db)
    vcf = os.path.join(tmp, "changing.vcf")
    shutil.copy(PLAIN_VCF, vcf)
    src = ["--vcf", vcf, "--coverage", COV]
    kill_at(db, "insert", N_INSERTS // 2, "swefreq_staging_", True, sources=src)

    def snapshot():
        return ({n: client[db][n].count_documents({}) for n in client[db].list_collection_names()
                 if n != "swefreq_meta"}, [d for d in client[db]["swefreq_meta"].find({"_id": {"$ne": "lock"}})])
    time.sleep(1.2)
    before = snapshot()
    data = open(vcf).read()  # one byte of the last data line changes
    i = data.rindex("PASS")
    open(vcf, "w").write(data[:i] + "PAS." + data[i + 4:])
    r = load(db, "--lock-timeout", "1", "--resume", *src)
    check(r.returncode == 3 and "changing.vcf" in r.stderr and "changed" in r.stderr,
          f"{what}: refused naming the file: {r.returncode} {r.stderr}")
    check(snapshot() == before, f"{what}: nothing written")
    shutil.copy(PLAIN_VCF, vcf)
    r = load(db, "--lock-timeout", "1", "--resume", "--histograms", "none", *src)
    check(r.returncode == 3 and "histograms was columns, now none" in r.stderr,
          f"--resume with a changed option: refused naming it: {r.returncode} {r.stderr}")
    check(snapshot() == before, "--resume with a changed option: nothing written")

    # Without --resume a new load drops the interrupted one, and says so.
    r = load(db, "--lock-timeout", "1", *src)
    check(r.returncode == 0 and "--resume" in r.stderr and "interrupted" in r.stderr,
          f"a new load warns that it drops the interrupted load: {r.stderr}")
    check(dump(db) == CLEAN_DUMP, "the new load equals the clean load")
    client.drop_database(db)


def test_restart():
    state = os.environ.get("SWEFREQ_TEST_SERVER_DIR")
    if not state or not os.environ.get("SWEFREQ_TEST_RESTART_SCRIPT"):
        print("needs the own test server: skipped")
        sys.exit(77)
    db = "sfl_resume_restart"
    client.drop_database(db)
    # Mid-insert: the proxy holds an insert (it dies with the server).
    rule = faults.arm("insert", nth=N_INSERTS // 2, coll="swefreq_staging_", action="hold")
    p = start(db, *SOURCES)
    check(faults.wait(rule, timeout=90) is not None, "the proxy holds an insert")
    check(p.poll() is None, "the load still runs when the server is killed")
    os.kill(int(open(os.path.join(state, "pid")).read()), 9)
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        check(False, "the loader hung after the server was killed")
    check(p.returncode in (6, 8), f"loader exit {p.returncode}: {err}")
    subprocess.run([os.environ["SWEFREQ_TEST_RESTART_SCRIPT"], state, os.environ["SWEFREQ_TEST_SERVER_BIN"],
                    os.environ["SWEFREQ_TEST_PING_BIN"]], check=True, stdout=subprocess.DEVNULL)
    check(len(staging(db)) == 3, f"the staging survived the server's restart: {staging(db)}")
    r = resume(db)
    same_as_clean(db, r, "server killed and restarted, then --resume")
    client.drop_database(db)


def test_split():
    """The metrics batch comes after the last source and ends where its last
    batch ended; with --batch-docs 10 it takes several inserts. The load is
    killed after its first metrics insert is acknowledged (and the position
    recorded), while the second is held; the held insert is dropped or runs
    after the death. The resume must send what staging lacks."""
    n_metrics = len(CLEAN_DUMP["metrics"][0])
    check(n_metrics > 10, f"the metrics batch needs several inserts: {n_metrics} documents")
    n_sources = len(CLEAN_DUMP["variants"][0]) + len(CLEAN_DUMP["base_coverage"][0])
    for name, sources in (("bgzipped", SOURCES), ("plain", PLAIN)):
        for forward in (False, True):
            what = f"{name} sources, kill -9 with the 2nd metrics insert held (forward={forward})"
            db = "sfl_resume_split"
            client.drop_database(db)
            # One inserter: the first metrics insert is acknowledged before
            # the second is sent.
            rule = faults.arm("insert", nth=2, coll="_metrics", action="hold")
            p = start(db, "--insert-threads", "1", *sources)
            check(faults.wait(rule, timeout=90) is not None, f"{what}: the 2nd metrics insert is held")
            # The first metrics insert is acknowledged; wait until the record says so.
            deadline, acked = time.time() + 30, 0
            while time.time() < deadline and acked < n_sources + 10:
                recs = records(db)
                acked = recs[0].get("acknowledged", {}).get("documents", 0) if recs else 0
                time.sleep(0.05)
            check(acked == n_sources + 10, f"{what}: the record shows the 1st metrics insert acknowledged: {acked}")
            p.kill()
            p.wait()
            faults.release(rule, forward=forward)
            if forward:
                time.sleep(0.5)
            faults.clear()
            mst = [n for n in staging(db) if n.endswith("_metrics")]
            got = client[db][mst[0]].count_documents({}) if mst else -1
            # One inserter: the third insert was never sent.
            check(got == (20 if forward else 10),
                  f"{what}: the metrics staging holds {got} of {n_metrics} documents")
            r = resume(db, sources=sources)
            same_as_clean(db, r, what)
            sent = stat(r.stderr, "sent")
            skipped = stat(r.stderr, "documents skipped")
            check(sent is not None and sent >= n_metrics and skipped is not None and skipped > 0 and
                  skipped + sent == n_sources + n_metrics,
                  f"{what}: the resume skipped the sources' documents acknowledged before and sent "
                  f"the metrics batch again (skipped {skipped}, sent {sent}): {r.stderr[-400:]}")
    client.drop_database("sfl_resume_split")

    # A GTF chunk fills genes, transcripts and exons: three batches that end
    # at the same place. Killed with the genes acknowledged and the first
    # transcripts insert held (the sample is one chunk).
    def dump_all(db):
        d = client.get_database(db, codec_options=CodecOptions(document_class=RawBSONDocument))
        return {n: sorted(x.raw for x in d[n].find({})) for n in client[db].list_collection_names()
                if not n.startswith("swefreq_")}
    gtf = ["--gtf", os.path.join(TD, "gencode_sample.gtf"), "--skip-unknown-contigs"]
    clean, db = "sfl_resume_split_gtf_clean", "sfl_resume_split_gtf"
    client.drop_database(clean)
    r = load(clean, *gtf)
    check(r.returncode == 0, f"the clean load of the GTF: {r.stderr}")
    want, want_manifest = dump_all(clean), manifest_figures(clean)
    n_genes = len(want.get("genes", []))
    check(n_genes > 0 and len(want.get("transcripts", [])) > 0, f"the GTF's documents: {want.keys()}")
    for forward in (False, True):
        what = f"GTF, kill -9 with a transcripts insert held (forward={forward})"
        client.drop_database(db)
        gfaults = Faults.from_env(db)
        rule = gfaults.arm("insert", nth=1, coll="_transcripts", action="hold")
        p = start(db, *gtf)
        check(gfaults.wait(rule, timeout=90) is not None, f"{what}: a transcripts insert is held")
        deadline, acked = time.time() + 30, 0
        while time.time() < deadline and acked < n_genes:
            recs = records(db)
            acked = recs[0].get("acknowledged", {}).get("documents", 0) if recs else 0
            time.sleep(0.05)
        check(acked >= n_genes, f"{what}: the record shows the genes acknowledged: {acked}")
        p.kill()
        p.wait()
        gfaults.release(rule, forward=forward)
        if forward:
            time.sleep(0.5)
        gfaults.clear()
        r = resume(db, sources=gtf)
        check(r.returncode == 0, f"{what}: resume exit {r.returncode}: {r.stderr}")
        check(dump_all(db) == want, f"{what}: every document equals the clean load's")
        check(manifest_figures(db) == want_manifest, f"{what}: the manifest's digests")
        v = run("verify", "--uri", URI, "--db", db)
        check(v.returncode == 0, f"{what}: verify: {v.stdout} {v.stderr}")
    client.drop_database(db)
    client.drop_database(clean)


{"phases": test_phases, "restart": test_restart, "split": test_split}[MODE]()
client.drop_database(CLEAN)
finish(f"mongo_resume_test {MODE}")
