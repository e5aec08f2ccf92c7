#!/usr/bin/env python3
"""A dbSNP file in the ExAC loader's shape on stdout: rsid, chromosome,
0-based position, orientation (tab-separated, sorted by chromosome as text
and position), with a few PAR rows, unplaced rows and T-suffixed
chromosomes, as in b147_SNPChrPosOnRef.

usage: gen_dbsnp.py --rows N [--seed S]
"""
import argparse
import random
import sys

p = argparse.ArgumentParser()
p.add_argument("--rows", type=int, required=True)
p.add_argument("--seed", type=int, default=14)
a = p.parse_args()
rnd = random.Random(a.seed)
chroms = sorted([str(i) for i in range(1, 23)] + ["X", "Y", "MT", "PAR"])
per = a.rows // len(chroms) + 1
out = sys.stdout
n = 0
rsid = 1
buf = []
for c in chroms:
    pos = 10000
    for _ in range(per):
        if n >= a.rows:
            break
        pos += rnd.randint(1, 60)
        name = c + ("T" if rnd.random() < 0.001 and c in ("X", "Y") else "")
        p0 = "" if rnd.random() < 0.0005 else str(pos)
        buf.append(f"{rsid + rnd.randint(0, 5)}\t{name}\t{p0}\t{rnd.randint(0, 1)}\n")
        rsid += 7
        n += 1
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf = []
out.write("".join(buf))
print(f"gen_dbsnp: rows={n}", file=sys.stderr)
