#!/usr/bin/env python3
"""Deterministic synthetic ExAC-style per-base coverage file generator (benchmark input).

Writes plain tab-separated text to stdout; pipe it through bgzip:

    python3 bench/gen/gen_coverage.py --rows 2000000 | bgzip -@2 -c > /tmp/cov2m.txt.gz

Header:  #chrom pos mean median 1 5 10 15 20 25 30 50 100
Rows are consecutive positions inside exome-target-like intervals (80-2500 bp,
separated by gaps), contigs in order 1..22, X by default.  Same --rows/--seed
(and Python 3 version) => byte-identical output.  Standard library only.
A summary line (rows, bytes, seconds) goes to stderr.
"""

import argparse
import math
import random
import sys
import time

# GRCh37 lengths and a gene-density weight (how many rows a contig gets)
CONTIGS = {
    "1": (249250621, 2050), "2": (243199373, 1300), "3": (198022430, 1080),
    "4": (191154276, 750), "5": (180915260, 880), "6": (171115067, 1050),
    "7": (159138663, 920), "8": (146364022, 680), "9": (141213431, 780),
    "10": (135534747, 740), "11": (135006516, 1300), "12": (133851895, 1030),
    "13": (115169878, 320), "14": (107349540, 610), "15": (102531392, 600),
    "16": (90354753, 850), "17": (81195210, 1180), "18": (78077248, 270),
    "19": (59128983, 1470), "20": (63025520, 540), "21": (48129895, 230),
    "22": (51304566, 440), "X": (155270560, 840), "Y": (59373566, 60),
    "MT": (16569, 13),
}
DEFAULT_CONTIGS = [str(i) for i in range(1, 23)] + ["X"]
THRESHOLDS = [1, 5, 10, 15, 20, 25, 30, 50, 100]
HEADER = "#chrom\tpos\tmean\tmedian\t" + "\t".join(map(str, THRESHOLDS)) + "\n"

MEAN_STEPS = 2          # tail table resolution: 0.5x buckets
MAX_MEAN = 250.0
VARIANTS = 16           # noisy variants per bucket


def frac_str(x):
    x = round(x, 4)
    if x >= 1.0:
        return "1"
    if x <= 0.0:
        return "0"
    return "%.4f" % x


def build_tails(rng, median_style):
    """tails[bucket][v] = "median\\tf1\\t...\\tf100" for mean ~ bucket / MEAN_STEPS."""
    nb = int(MAX_MEAN * MEAN_STEPS) + 1
    tails = []
    for b in range(nb):
        m = b / MEAN_STEPS
        row = []
        for v in range(VARIANTS):
            mm = max(0.0, m * (1.0 + rng.gauss(0.0, 0.03)))
            # across-sample depth ~ lognormal(mean mm, sigma s), plus a few
            # samples with no coverage at all
            s = 0.28 + 0.15 * rng.random()
            z0 = 0.0 if rng.random() < 0.6 else 0.004 * rng.random()
            if median_style == "float" or (median_style == "mixed" and v & 1):
                med = "%.1f" % max(0.0, round(mm * math.exp(-s * s / 2) + rng.gauss(0, 0.3)))
            else:
                med = "%d" % max(0, round(mm * math.exp(-s * s / 2) + rng.gauss(0, 0.3)))
            fr = []
            for t in THRESHOLDS:
                if mm <= 0.0:
                    p = 0.0
                else:
                    z = (math.log((t - 0.5) / mm) + s * s / 2) / (s * math.sqrt(2.0))
                    p = (1.0 - z0) * 0.5 * math.erfc(z)
                fr.append(p)
            # keep non-increasing after rounding
            out = []
            prev = 1.0
            for p in fr:
                p = min(p, prev)
                prev = p
                out.append(frac_str(p))
            row.append(med + "\t" + "\t".join(out))
        tails.append(row)
    return tails


def start_of(c):
    return min(10000, CONTIGS[c][0] // 20)


def plan_rows(n_rows, contigs):
    wsum = float(sum(CONTIGS[c][1] for c in contigs))
    counts = [int(n_rows * CONTIGS[c][1] / wsum) for c in contigs]
    left = n_rows - sum(counts)
    order = sorted(range(len(contigs)), key=lambda i: -CONTIGS[contigs[i]][1])
    i = 0
    while left > 0:
        counts[order[i % len(order)]] += 1
        left -= 1
        i += 1
    for c, k in zip(contigs, counts):
        if k > CONTIGS[c][0] - start_of(c) - 3000:
            sys.exit("too many rows for contig %s" % c)
    return counts


def generate(n_rows, seed, contigs, chr_prefix, median_style, out):
    rng = random.Random(seed)
    rnd = rng.random
    bits = rng.getrandbits
    tails = build_tails(random.Random(seed * 104729 + 3), median_style)
    mean_strs = ["%.2f" % (i / 100.0) for i in range(int(MAX_MEAN * 100) + 1)]
    noise = [rng.gauss(0.0, 0.04) for _ in range(4096)]
    nb_max = len(tails) - 1
    max_idx = len(mean_strs) - 1

    out(HEADER)
    nbytes = len(HEADER)
    counts = plan_rows(n_rows, contigs)
    buf = []
    for c, n_here in zip(contigs, counts):
        if n_here == 0:
            continue
        clen = CONTIGS[c][0]
        name = chr_prefix + ("M" if (c == "MT" and chr_prefix) else c)
        pre = name + "\t"
        # average gap so that all rows fit comfortably in the contig
        avg_len = 700.0
        n_int = max(1.0, n_here / avg_len)
        start = start_of(c)
        room = clen - start - 3000 - n_here
        gap_mean = max(1.0, min(12000.0, room / (n_int + 1.0)))
        pos = start + 1
        done = 0
        while done < n_here:
            L = 80 + int(rng.expovariate(1.0 / (avg_len - 80)))
            if L > 2500:
                L = 2500
            if L > n_here - done:
                L = n_here - done
            # target peak depth: mostly 20-90x, some poorly covered targets
            u = rnd()
            if u < 0.05:
                peak = rnd() * 5.0
            elif u < 0.15:
                peak = 5.0 + rnd() * 15.0
            else:
                peak = math.exp(rng.gauss(3.8, 0.45))
            if peak > MAX_MEAN * 0.9:
                peak = MAX_MEAN * 0.9
            inv = 1.0 / L
            drift = 0.0
            for i in range(L):
                t = (i + 0.5) * inv
                shape = 0.35 + 2.6 * t * (1.0 - t)     # low at target edges
                if shape > 1.0:
                    shape = 1.0
                drift = 0.98 * drift + noise[bits(12)]
                m = peak * shape * (1.0 + drift)
                if m < 0.0:
                    m = 0.0
                mi = int(m * 100.0)
                if mi > max_idx:
                    mi = max_idx
                b = int(m * MEAN_STEPS + 0.5)
                if b > nb_max:
                    b = nb_max
                buf.append(pre + str(pos + i) + "\t" + mean_strs[mi] + "\t" + tails[b][bits(4)] + "\n")
            done += L
            gap = 1 + int(rng.expovariate(1.0 / gap_mean))
            if pos + L + gap + (n_here - done) + 2600 > clen:
                gap = 1                  # out of room: continue right after
            pos += L + gap
            if len(buf) >= 20000:
                chunk = "".join(buf)
                nbytes += len(chunk)
                out(chunk)
                buf = []
    if buf:
        chunk = "".join(buf)
        nbytes += len(chunk)
        out(chunk)
    return nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, required=True, help="number of data rows")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--contigs", default=",".join(DEFAULT_CONTIGS),
                    help="comma-separated contigs, in output order (default 1..22,X)")
    ap.add_argument("--chr-prefix", default="", help="prefix for contig names, e.g. 'chr'")
    ap.add_argument("--median", choices=["int", "float", "mixed"], default="int",
                    help="median column as 30 (int, default), 30.0 (float) or both")
    args = ap.parse_args()
    contigs = [c for c in args.contigs.split(",") if c]
    for c in contigs:
        if c not in CONTIGS:
            ap.error("unknown contig %r" % c)
    if args.rows < 0:
        ap.error("--rows must be >= 0")
    t0 = time.time()
    try:
        nbytes = generate(args.rows, args.seed, contigs, args.chr_prefix, args.median, sys.stdout.write)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.write("gen_coverage: output pipe closed early\n")
        try:
            sys.stdout = None
        finally:
            sys.exit(1)
    sys.stderr.write("gen_coverage: rows=%d bytes=%d seconds=%.1f\n" % (args.rows, nbytes, time.time() - t0))


if __name__ == "__main__":
    main()
