#!/usr/bin/env python3
"""The metrics' histograms (lib/metrics.c) against numpy.histogram.

usage: metrics_test.py HIST_TOOL

Random data (several shapes and sizes, with and without a range, values
outside the range, values on the edges), all-equal values, one value, no
value, negative and huge values: the edges (as numpy.linspace gives them)
and the counts (numpy's bins, the last one closed) must be exactly
numpy's. Needs numpy (scripts/deps.sh installs python3-numpy).
"""
import random
import subprocess
import sys

import numpy

TOOL = sys.argv[1]
failures = checks = 0


def check(values, bins=40, rng=None, what=""):
    global failures, checks
    checks += 1
    args = [TOOL, str(bins)] + ([repr(float(rng[0])), repr(float(rng[1]))] if rng else [])
    r = subprocess.run(args, input="".join("%.17g\n" % v for v in values), capture_output=True,
                       text=True)
    if r.returncode != 0:
        failures += 1
        print(f"FAIL {what}: exit {r.returncode}")
        return
    lines = r.stdout.splitlines()
    edges = [float(x) for x in lines[0].split()]
    counts = [int(x) for x in lines[1].split()]
    hist, np_edges = numpy.histogram(numpy.array(values, dtype=float), bins=bins, range=rng)
    if edges != [float(e) for e in np_edges] or counts != [int(h) for h in hist]:
        failures += 1
        bad = [i for i, (a, b) in enumerate(zip(edges, np_edges)) if a != b][:3]
        print(f"FAIL {what}: edges differ at {bad}; counts {counts} != {list(hist)}")


rnd = random.Random(14)
for n in (1, 2, 3, 40, 41, 1000, 20000):
    check([rnd.gauss(0, 1) for _ in range(n)], what=f"gauss n={n}")
    check([rnd.lognormvariate(3, 2) for _ in range(n)], what=f"lognormal n={n}")
    check([rnd.uniform(-30, 30) for _ in range(n)], rng=(-20, 20), what=f"VQSLOD-like n={n}")
    check([min(max(rnd.uniform(-5, 30), 0), 20) for _ in range(n)], rng=(0, 20), what=f"FS clipped n={n}")
    check([rnd.uniform(0, 1) for _ in range(n)], rng=(0, 1), what=f"InbreedingCoeff n={n}")
    import math
    check([math.log(rnd.uniform(1, 1e5)) for _ in range(n)], what=f"log DP n={n}")
# values on the edges, the closed last bin, ints as doubles
check([i * 0.5 for i in range(41)], rng=(0, 20), what="every edge of 0..20")
check([float(i) for i in range(0, 81)], what="0..80 integers")
check([20.0] * 5 + [0.0] * 3, rng=(0, 20), what="both ends of the range")
check([0.1 * i for i in range(400)], what="0.1 steps")
check([1e-300, 2e-300, 3e-300], what="tiny values")
check([-1e300, 1e300], what="huge span")
check([3.7] * 10, what="all equal")
check([-2.5] * 3, what="all equal, negative")
check([42.0], what="one value")
check([0.0], what="one zero")
check([], what="empty")
check([], rng=(0, 20), what="empty with a range")
check([5.0, 6.0], bins=1, what="one bin")
print(f"metrics_test: {checks} checks, {failures} failed")
sys.exit(1 if failures else 0)
