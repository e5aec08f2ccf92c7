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
  manifest without abs_path still reads.
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
finally:
    shutil.rmtree(tmp, ignore_errors=True)

T.done()
