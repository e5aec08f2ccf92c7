#!/usr/bin/env python3
"""kill_at.py URI DB FRACTION DOCS CMD...: runs CMD (a load into DB) and
kills it (kill -9) once its load record in DB.swefreq_meta says that
FRACTION of DOCS documents are acknowledged; prints that count. Exits 1 if
the load ended first. For bench/run.sh --mongo (a load killed at 50%,
then resumed)."""
import subprocess
import sys
import time

import pymongo

uri, db, frac, docs = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
meta = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)[db]["swefreq_meta"]
p = subprocess.Popen(sys.argv[5:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while p.poll() is None:
    rec = meta.find_one({"status": "loading"}, sort=[("started", -1)])
    acked = rec.get("acknowledged", {}).get("documents", 0) if rec else 0
    if acked >= frac * docs:
        p.kill()
        p.wait()
        print(acked)
        sys.exit(0)
    time.sleep(0.05)
print(f"the load ended (exit {p.returncode}) before {frac:.0%} was acknowledged", file=sys.stderr)
sys.exit(1)
