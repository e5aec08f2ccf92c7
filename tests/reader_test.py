#!/usr/bin/env python3
"""A read error is never an end of file: damaged BGZF and cut plain inputs.

usage: reader_test.py SWEFREQ_LOAD TESTDATA_DIR

Generates a VCF of 40,000 records (about 125 BGZF blocks), bgzips it with
bgzip, damages it (a flipped byte in the first, a middle and the last data
block; 2,000 bytes cut out of the last full data block; each with and
without the 28-byte end-of-file marker) and checks, at --threads 1, 2 and
8, for `dump --dry-run` and `dump --out`, that the run stops with exit 3
and the same message every time, naming the file, the bad block's
compressed offset and the last complete line before it (both computed here
with zlib), never a torn line or a missing header; that `dump --out`
leaves nothing; that concatenated bgzip files (empty blocks in the middle)
read whole; and that a plain VCF cut mid-line is read with a warning and
counted in the summary.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import Checks, sample_header, write_sites  # noqa: E402

TOOL, TD = sys.argv[1], sys.argv[2]
T = Checks("reader_test", TOOL)
check, run = T.check, T.run
N = 40000
THREADS = ("1", "2", "8")


def blocks(data):
    """[(offset, bsize, uncompressed bytes)] of a BGZF file, read with zlib."""
    out, off = [], 0
    while off < len(data):
        bsize = struct.unpack("<H", data[off + 16:off + 18])[0] + 1
        raw = zlib.decompress(data[off + 18:off + bsize - 8], -15)
        out.append((off, bsize, raw))
        off += bsize
    return out


def error_lines(stderr):
    return [l for l in stderr.splitlines() if "error:" in l]


if not shutil.which("bgzip"):
    # A required test tool (scripts/deps.sh installs it): without it the
    # damaged-file checks cannot run, and that must not pass as a success.
    print("reader_test: bgzip not found (install the Debian package tabix): FAILED")
    sys.exit(1)

tmp = tempfile.mkdtemp(prefix="sfl_reader_")
try:
    header = sample_header(TD)
    vcf = os.path.join(tmp, "gen.vcf")
    write_sites(vcf, header, N, more_info=True)
    gz = os.path.join(tmp, "gen.vcf.gz")
    subprocess.run(["bgzip", "-c", vcf], stdout=open(gz, "wb"), check=True)
    data = open(gz, "rb").read()
    bl = blocks(data)
    n_header = len(header)
    check(len(bl) > 30 and bl[-1][1] == 28 and not bl[-1][2], f"{len(bl)} blocks, EOF marker last")

    # The whole file: every record, at every thread count.
    for t in THREADS:
        r = run("dump", "--dry-run", "--json", "--threads", t, "--vcf", gz)
        s = json.loads(r.stdout) if r.stdout else {}
        check(r.returncode == 0 and s.get("records_read") == N,
              f"intact file, {t} threads: exit {r.returncode}, {s.get('records_read')} records")

    def lines_before(k):
        return sum(raw.count(b"\n") for _, _, raw in bl[:k])

    data_blocks = [i for i, b in enumerate(bl) if b[2]]
    first, middle, last = data_blocks[0], data_blocks[len(data_blocks) // 2], data_blocks[-1]
    full = max(i for i in data_blocks if bl[i][1] > 4000)

    def flip(k):
        b = bytearray(data)
        off, bsize, _ = bl[k]
        b[off + 18 + (bsize - 26) // 2] ^= 0x55
        return bytes(b)

    def cut(k):
        off, bsize, _ = bl[k]
        return data[:off + bsize - 2000] + data[off + bsize:]

    cases = {
        "first block": (flip(first), first),
        "middle block": (flip(middle), middle),
        "last block": (flip(last), last),
        "2000 bytes cut out": (cut(full), full),
    }
    for name, (damaged, k) in list(cases.items()):
        cases[name + ", no EOF marker"] = (damaged[:-28], k)
    for name, (damaged, k) in cases.items():
        path = os.path.join(tmp, "damaged.vcf.gz")
        with open(path, "wb") as f:
            f.write(damaged)
        want = (f"{path}: corrupt or truncated BGZF file: the block at compressed byte {bl[k][0]} "
                f"is bad")
        want_line = f"the last complete line before it is line {lines_before(k)}"
        seen = set()
        for t in THREADS:
            for mode in (["--dry-run"], ["--out", os.path.join(tmp, "out")]):
                r = run("dump", *mode, "--threads", t, "--vcf", path)
                what = f"{name}, {t} threads, {mode[0]}"
                check(r.returncode == 3, f"{what}: exit {r.returncode}, expected 3: {r.stderr}")
                check(want in r.stderr and want_line in r.stderr,
                      f"{what}: expected {want!r} ... {want_line!r} in {r.stderr!r}")
                check("missing VCF header" not in r.stderr and "CSQ entry" not in r.stderr
                      and "[E::" not in r.stderr and "[W::" not in r.stderr,
                      f"{what}: misleading message or htslib output: {r.stderr!r}")
                seen.add("\n".join(error_lines(r.stderr)))
                if mode[0] == "--out":
                    o = os.path.join(tmp, "out")
                    left = os.listdir(o) if os.path.isdir(o) else []
                    left += os.listdir(os.path.join(o, "swefreq")) if os.path.isdir(os.path.join(o, "swefreq")) else []
                    check(not left, f"{what}: dump left {left}")
                    shutil.rmtree(o, ignore_errors=True)
        check(len(seen) == 1, f"{name}: the message depends on --threads: {seen}")

    # A file cut at a block boundary, without the marker: truncated, with
    # the last complete line; the same at every thread count.
    trunc = os.path.join(tmp, "trunc.vcf.gz")
    with open(trunc, "wb") as f:
        f.write(data[:bl[middle][0]])
    seen = set()
    for t in THREADS:
        r = run("dump", "--dry-run", "--threads", t, "--vcf", trunc)
        check(r.returncode == 3 and "truncated BGZF file" in r.stderr
              and f"at compressed byte {bl[middle][0]}" in r.stderr
              and f"last complete line is line {lines_before(middle)}" in r.stderr,
              f"cut at a block boundary, {t} threads: exit {r.returncode} {r.stderr!r}")
        seen.add("\n".join(error_lines(r.stderr)))
    check(len(seen) == 1, f"cut at a block boundary: the message depends on --threads: {seen}")

    # Concatenated bgzip files: the first one's EOF marker (an empty block)
    # sits in the middle and is not the end.
    cat = os.path.join(tmp, "cat.vcf.gz")
    lines = open(vcf).readlines()
    part1, part2 = os.path.join(tmp, "p1.vcf"), os.path.join(tmp, "p2.vcf")
    split = n_header + N // 2
    open(part1, "w").writelines(lines[:split])
    open(part2, "w").writelines(lines[split:])
    with open(cat, "wb") as f:
        for p in (part1, part2):
            subprocess.run(["bgzip", "-c", p], stdout=f, check=True)
        f.write(data[-28:])  # two empty blocks in a row at the end
    for t in THREADS:
        r = run("dump", "--dry-run", "--json", "--threads", t, "--vcf", cat)
        s = json.loads(r.stdout) if r.stdout else {}
        check(r.returncode == 0 and s.get("records_read") == N,
              f"concatenated bgzip, {t} threads: exit {r.returncode}, "
              f"{s.get('records_read')} records: {r.stderr}")

    # A plain VCF cut mid-line: read, warned, counted.
    plain = os.path.join(tmp, "cut.vcf")
    text = open(vcf, "rb").read()
    open(plain, "wb").write(text[:-3])  # "VQSLOD=12.345\n" -> "VQSLOD=12.3"
    whole_lines = text.count(b"\n")
    r = run("dump", "--dry-run", "--json", "--vcf", plain)
    s = json.loads(r.stdout) if r.stdout else {}
    check(r.returncode == 0 and s.get("unterminated_lines") == 1 and s.get("records_read") == N,
          f"cut plain VCF: exit {r.returncode}, summary {s}")
    check(f"{plain}: line {whole_lines}: the last line has no newline" in r.stderr,
          f"cut plain VCF: no warning naming the line: {r.stderr!r}")
    r = run("dump", "--dry-run", "--json", "--vcf", os.path.join(TD, "swegen_sample.vcf"))
    s = json.loads(r.stdout) if r.stdout else {}
    check(r.returncode == 0 and s.get("unterminated_lines") == 0 and "newline" not in r.stderr,
          f"intact plain VCF: {s} {r.stderr!r}")
    r = run("dump", "--dry-run", "--vcf", plain)
    check("last lines without a newline (file cut?): 1" in r.stderr, f"text summary: {r.stderr!r}")

    # CRLF lines (the reader hands out whole blocks; the parser jobs drop
    # the '\r'): bgzipped, so that some '\r' ends a block and its '\n'
    # begins the next, with a blank line, a bad line and the last line
    # without its newline; at any thread count and in small chunks, the
    # same documents, bytes read, counts, rejected line and message as
    # the same file with LF lines, the rejects file without '\r'.
    body = text.split(b"\n")[:-1]
    first_data = next(i for i, l in enumerate(body) if not l.startswith(b"#"))
    body.insert(first_data + 100, b"")
    bad = body[first_data + 200].split(b"\t")
    bad[1] = b"x" + bad[1]
    body[first_data + 200] = b"\t".join(bad)
    lf, crlf = os.path.join(tmp, "lf.vcf"), os.path.join(tmp, "crlf.vcf")
    open(lf, "wb").write(b"\n".join(body))
    open(crlf + ".txt", "wb").write(b"\r\n".join(body) + b"\r")
    subprocess.run(["bgzip", "-c", crlf + ".txt"], stdout=open(crlf + ".gz", "wb"), check=True)
    straddle = any(b[2].endswith(b"\r") for b in blocks(open(crlf + ".gz", "rb").read()))
    check(straddle, "a block of the CRLF file ends between '\\r' and '\\n'")

    def crlf_run(path, t, chunk, tag):
        out = os.path.join(tmp, f"out_{tag}")
        rej = os.path.join(tmp, f"rej_{tag}.txt")
        r = run("dump", "--json", "--threads", t, "--chunk-size", chunk, "--max-errors", "1",
                "--rejects", rej, "--out", out, "--vcf", path)
        s = json.loads(r.stdout.replace(path, "SRC")) if r.stdout else {}
        for k in ("seconds", "threads", "file_bytes"):
            s.pop(k, None)
        docs = open(os.path.join(out, "swefreq", "variants.bson"), "rb").read() \
            if r.returncode == 0 else b""
        rejects = open(rej, "rb").read() if os.path.exists(rej) else b""
        return r, s, docs, rejects.replace(path.encode(), b"SRC")

    r0, s0, d0, j0 = crlf_run(lf, "1", "1048576", "lf")
    check(r0.returncode == 0 and s0.get("rejected_lines") == 1 and s0.get("blank_lines") == 1
          and s0.get("unterminated_lines") == 1 and len(d0) > 0, f"LF file: {r0.stderr} {s0}")
    for t in THREADS:
        for chunk in ("4096", "1048576"):
            r, s, d, j = crlf_run(crlf + ".gz", t, chunk, f"crlf{t}_{chunk}")
            check(r.returncode == 0 and s == s0 and d == d0 and j == j0,
                  f"CRLF file, {t} threads, chunks of {chunk}: exit {r.returncode}, "
                  f"summary {s} vs {s0}, same documents {d == d0}, rejects {j[:200]!r}")
    check(b"\r" not in j0 and b"## " in j0, f"rejects file: {j0[:200]!r}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

T.done()
