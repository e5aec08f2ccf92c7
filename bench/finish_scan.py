#!/usr/bin/env python3
"""finish's verifying scan: one binary's `finish` against another's, or one
--scan-mode against another, on the same data (issue 24). For each run: a
fresh database, `plan --parts P`, the P parts at once, then `finish
--verbose`, its stderr lines stamped as they arrive; prints finish's wall
time and the time from its first log line to "staging verified" (index
build + scans).

usage: finish_scan.py URI VCF.gz PARTS LABEL=BINARY[:SCAN_MODE[:SCAN_THREADS]] ...
  e.g. single=build/swefreq-load:single auto=build/swefreq-load:auto
       ranged=build/swefreq-load:ranged:2   (no mode: the binary's default,
       for a binary without --scan-mode)
"""
import subprocess
import sys
import time

import pymongo

URI, VCF, PARTS = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = pymongo.MongoClient(URI)
OPTS = ["--histograms", "columns", "--threads", "1"]


def one(label, tool, mode, threads):
    db = "sfl_bench_finish"
    client.drop_database(db)
    src = ["--vcf", VCF]
    subprocess.run([tool, "plan", "--uri", URI, "--db", db, "--group", "g", "--parts",
                    str(PARTS), "--out", "/dev/null", *OPTS, *src], check=True,
                   capture_output=True)
    procs = [subprocess.Popen([tool, "load", "--uri", URI, "--db", db, "--group", "g",
                               "--part", str(k), *OPTS, *src], stderr=subprocess.DEVNULL)
             for k in range(1, PARTS + 1)]
    for p in procs:
        if p.wait() != 0:
            sys.exit(f"{label}: a part failed")
    extra = (["--scan-mode", mode] if mode else []) + \
        (["--scan-threads", threads] if threads else [])
    t0 = time.time()
    p = subprocess.Popen([tool, "finish", "--uri", URI, "--db", db, "--group", "g",
                          "--verbose", *extra], stderr=subprocess.PIPE, text=True)
    stamps = []
    for line in p.stderr:
        stamps.append((time.time() - t0, line.rstrip()))
    rc = p.wait()
    total = time.time() - t0
    verified = next((t for t, l in stamps if "staging verified" in l), float("nan"))
    n = client[db]["variants"].count_documents({})
    print(f"{label}: exit {rc}, {n} variants, finish {total:.2f} s, "
          f"to 'staging verified' {verified:.2f} s", flush=True)
    for t, l in stamps:
        print(f"    {t:7.2f} {l[:150]}")


for arg in sys.argv[4:]:
    label, spec = arg.split("=", 1)
    tool, _, rest = spec.partition(":")
    mode, _, threads = rest.partition(":")
    one(label, tool, mode, threads)
