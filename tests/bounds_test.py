#!/usr/bin/env python3
"""Bounds and refusals of bad input that are not about one line's syntax.

usage: bounds_test.py SWEFREQ_LOAD TESTDATA_DIR

A document over MongoDB's 16 MiB limit (a 17 MB CSQ) is refused by every
sink, naming the variant and its size; a line with 5,000 ALTs (documents
growing with the square of the ALT count) and a 65 MiB header are refused;
a source with a header and no records is refused unless --allow-empty;
numeric options that overflow are usage errors; one contig spelled two
ways ("1" and "chr1") in one collection is refused, naming both lines;
header lines htslib would skip or guess at are our errors or warnings.
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import Checks, sample_header  # noqa: E402

TOOL, TD = sys.argv[1], sys.argv[2]
T = Checks("bounds_test", TOOL)
check, run = T.check, T.run

tmp = tempfile.mkdtemp(prefix="sfl_bounds_")
try:
    header = sample_header(TD)

    def vcf(name, lines, head=None):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.writelines(head if head is not None else header)
            f.writelines(lines)
        return path

    def site(pos, alt="G", info="AC=1;AN=10;AC_Hom=0", chrom="1"):
        return f"{chrom}\t{pos}\t.\tA\t{alt}\t50\tPASS\t{info}\n"

    # A 17 MB CSQ makes a document over 16 MiB: refused by every sink.
    csq = "G|" + "x" * (17 << 20) + "|" * 24
    big = vcf("big.vcf", [site(100), site(200, info=f"AC=1;AN=10;AC_Hom=0;CSQ={csq}"), site(300)])
    out = os.path.join(tmp, "out")
    for mode in (["--dry-run"], ["--out", out], ["--format", "jsonl"]):
        r = run("dump", *mode, "--vcf", big)
        check(r.returncode == 3, f"{mode}: 17 MB document: exit {r.returncode}, expected 3")
        check(f"{big}: line {len(header) + 2}: variant 1-200-A-G makes a document of " in r.stderr
              and "over MongoDB's limit of 16777216 bytes" in r.stderr,
              f"{mode}: message names the variant and size: {r.stderr[:400]!r}")
        check(len(r.stdout) < (1 << 20), f"{mode}: the document was written out")
    check(not os.path.exists(os.path.join(out, "swefreq")), "dump --out left a folder")
    r = run("dump", "--dry-run", "--json", "--max-errors", "1", "--vcf", big)
    s = json.loads(r.stdout)
    check(r.returncode == 0 and s["rejected_by_reason"] == {"too_large": 1}
          and s["documents"]["variants"] == 2, f"--max-errors skips it: {s}")

    # 5,000 ALTs: each document would list all 5,000 ids.
    alts = ",".join("A" + "ACGT"[i % 4] * (1 + i // 4) for i in range(5000))
    many = vcf("many.vcf", [site(100, alt=alts, info="AN=10")])
    r = run("dump", "--dry-run", "--vcf", many)
    check(r.returncode == 3 and f"{many}: line {len(header) + 1}: 5000 ALT alleles would make"
          in r.stderr and "over the bound of 64 MiB a line" in r.stderr,
          f"5000 ALTs: exit {r.returncode} {r.stderr[:300]!r}")

    # A header over 64 MiB.
    filler = "##comment=" + "y" * 1000 + "\n"
    huge = vcf("huge.vcf", [site(100)],
               head=header[:1] + [filler] * (65 * 1024) + header[1:])
    r = run("dump", "--dry-run", "--vcf", huge)
    check(r.returncode == 3 and "the header is longer than 64 MiB" in r.stderr
          and f"{huge}: line " in r.stderr, f"65 MiB header: exit {r.returncode} {r.stderr!r}")

    # A header and no records: refused, unless --allow-empty.
    empty = vcf("empty.vcf", [])
    cov = os.path.join(tmp, "empty.tsv")
    with open(os.path.join(TD, "coverage_sample.tsv")) as f:
        open(cov, "w").write(f.readline())
    for kind, path in (("--vcf", empty), ("--coverage", cov)):
        r = run("dump", "--dry-run", kind, path)
        check(r.returncode == 3 and f"{path}: " in r.stderr and "no records" in r.stderr,
              f"empty {kind}: exit {r.returncode} {r.stderr!r}")
        r = run("dump", "--out", out, kind, path)
        check(r.returncode == 3 and not os.path.exists(os.path.join(out, "swefreq")),
              f"empty {kind} dump: exit {r.returncode}")
        r = run("dump", "--dry-run", "--json", "--allow-empty", kind, path)
        check(r.returncode == 0 and json.loads(r.stdout)["records_read"] == 0,
              f"empty {kind} --allow-empty: exit {r.returncode} {r.stderr!r}")
    r = run("dump", "--dry-run", "--vcf", empty, "--vcf", os.path.join(TD, "swegen_sample.vcf"))
    check(r.returncode == 3 and "no records" in r.stderr, "one empty source among others")

    # Numbers that overflow are usage errors.
    for opt in ("--max-errors", "--threads", "--coverage-step", "--chunk-size"):
        for value in ("18446744073709551616", "99999999999999999999999", "+5", " 5"):
            r = run("dump", "--dry-run", opt, value, "--vcf", empty)
            check(r.returncode == 2 and opt in r.stderr,
                  f"{opt} {value!r}: exit {r.returncode}, expected 2: {r.stderr!r}")
    r = run("dump", "--dry-run", "--max-errors", "18446744073709551615", "--vcf",
            os.path.join(TD, "swegen_sample.vcf"))
    check(r.returncode == 0, f"--max-errors 2^64-1 is accepted: {r.stderr!r}")

    # Header lines htslib would skip or guess at, saying so only on stderr:
    # errors or warnings of ours, naming the line; nothing from htslib.
    n = len(header)
    for extra, rc, text in (
            ("##INFO=<ID=AC2,Number=A,Type=Integer\n", 3, "a header line htslib cannot read whole"),
            ('##INFO=<ID=,Number=A,Type=Integer,Description="x">\n', 3, "needs an ID"),
            ("##justtext\n", 0, "warning: {path}: line {line}: a header line that is not "
                               "'##KEY=VALUE' is ignored: '##justtext'"),
            ('##INFO=<ID=AC3,Number=A,Description="x">\n', 0,
             "warning: {path}: line {line}: INFO AC3 has no Type; htslib reads it as a String"),
            ('##INFO=<ID=AC4,Number=A,Type=Foo,Description="x">\n', 0, "INFO AC4 has an unknown Type")):
        path = vcf("hdr.vcf", [site(100)], head=header[:-1] + [extra] + header[-1:])
        r = run("dump", "--dry-run", "--vcf", path)
        want = text.format(path=path, line=n)
        check(r.returncode == rc and want in r.stderr and f"{path}: line {n}:" in r.stderr
              and "[W::" not in r.stderr and "[E::" not in r.stderr,
              f"header line {extra!r}: exit {r.returncode}, expected {rc}: {r.stderr!r}")
        if rc == 0:  # a warning is counted in the summary, not only logged
            j = run("dump", "--dry-run", "--quiet", "--json", "--vcf", path)
            warns = json.loads(j.stdout).get("warnings", []) if j.returncode == 0 else []
            check(any(f"{path}: line {n}:" in w for w in warns),
                  f"header line {extra!r}: warning in the --json summary: {warns}")

    # One contig spelled "1" and "chr1" in one collection.
    mixed = vcf("mixed.vcf", [site(100), site(200, chrom="chr1"), site(300)])
    n = len(header)
    r = run("dump", "--dry-run", "--vcf", mixed)
    check(r.returncode == 3 and f"{mixed}: line {n + 2}: contig 'chr1', but line {n + 1} of "
          f"{mixed} writes it '1'" in r.stderr, f"1 and chr1: exit {r.returncode} {r.stderr!r}")
    a = vcf("a.vcf", [site(100, chrom="chr1")])
    b = vcf("b.vcf", [site(200)])
    r = run("dump", "--dry-run", "--vcf", a, "--vcf", b)
    check(r.returncode == 3 and f"{b}: line {n + 1}: contig '1', but line {n + 1} of {a} writes "
          "it 'chr1'" in r.stderr, f"chr1 then 1 across files: exit {r.returncode} {r.stderr!r}")
    same = vcf("same.vcf", [site(100, chrom="chr1"), site(200, chrom="chr1"), site(300, chrom="chrX")])
    r = run("dump", "--dry-run", "--vcf", same)
    check(r.returncode == 0, f"chr1 throughout: exit {r.returncode} {r.stderr!r}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

T.done()
