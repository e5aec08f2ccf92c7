#!/usr/bin/env python3
"""Regions (--region, --regions-file) on indexed VCF and coverage files.

usage: regions_test.py SWEFREQ_LOAD TESTDATA_DIR

The inputs are made here from testdata/ with bgzip and tabix (-p vcf, or
-s1 -b2 -e2 for coverage; -C for a CSI index).

- dumps of regions that partition the file (contigs split where records
  are, whole contigs, a contig's tail) give together exactly the whole
  file's documents: the union of their .bson documents equals the whole
  dump's, as multisets of byte strings, and their manifests' counts add up
  to the whole dump's; all the regions in one dump (given in any order,
  on the command line or as a BED file, with a .tbi or a .csi index, with
  1 or 2 threads and small chunks) give the whole dump's variants.bson and
  metrics.bson byte for byte; the same for coverage;
- a deletion at POS 199 that spans 199-202 belongs to 1:1-199 only: with
  the regions 1:1-199 and 1:200-1000 it is loaded exactly once (bcftools'
  -r would take it in both, by overlap);
- the manifest records the regions as 0-based half-open intervals, sorted,
  and `verify --sources` passes on a region dump (the source hash is of
  the whole file);
- refused, nothing written: overlapping regions on the command line (exit
  2, naming both), in a BED file or between a BED file and --region (exit
  3, naming file and line), a file without an index (exit 3, "needs a .tbi
  or .csi index", naming the file), a contig the index does not know (exit
  3, naming it), bad BED lines (exit 3, file and line), bad --region specs
  (exit 2); a BED file's comments, track and browser lines are skipped;
- a bad line inside a region is named "FILE region R: line N", N counted
  from the region's first record;
- regions that hold no record are refused as empty (exit 3) unless
  --allow-empty;
- issue 25 (a region's lines copied by whole blocks): in a file of many
  blocks and two contigs, regions that begin and end inside a block (with
  lines past the end in that block), a one-line region and a whole contig
  give exactly the documents and record count of a file holding only
  their lines, at 1 and 2 threads, 4096-byte and default chunks; a bad
  line deep in a region is named by its line number from the region's
  first record; a line of another contig, or past the region's end, in the
  middle of the region's block (a file unsorted under a sorted file's
  index) is refused (exit 3, "unsorted input", naming both lines), never
  a silent early end of the region.
"""
import collections
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

TOOL, TD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
T = Checks("regions_test", TOOL)
check, run = T.check, T.run


def bgzip_index(src, dst, *tabix_args):
    with open(dst, "wb") as out:
        subprocess.run(["bgzip", "-c", src], stdout=out, check=True)
    if tabix_args:
        subprocess.run(["tabix", "-f", *tabix_args, dst], check=True)


def docs(path):
    """The documents of a .bson file, as byte strings, in file order."""
    out = []
    if not os.path.exists(path):
        return out
    data = open(path, "rb").read()
    i = 0
    while i < len(data):
        (n,) = struct.unpack_from("<i", data, i)
        out.append(data[i:i + n])
        i += n
    return out


def manifest(d):
    p = os.path.join(d, "swefreq", "manifest.json")
    return json.load(open(p)) if os.path.exists(p) else {"collections": []}


def counts(d):
    return collections.defaultdict(
        int, {c["name"]: c["count"] for c in manifest(d)["collections"]})


def dump(out, *args):
    r = run("dump", "--out", out, "--quiet", *args)
    return r


def coll(d, name):
    return docs(os.path.join(d, "swefreq", name + ".bson"))


work = tempfile.mkdtemp(prefix="regions_test.")
try:
    os.chdir(work)
    vcf = "e.vcf.gz"
    bgzip_index(os.path.join(TD, "exac_sample.vcf"), vcf, "-p", "vcf")
    csi = "c.vcf.gz"
    bgzip_index(os.path.join(TD, "exac_sample.vcf"), csi, "-C", "-p", "vcf")
    cov = "cov.tsv.gz"
    bgzip_index(os.path.join(TD, "coverage_sample.tsv"), cov, "-s1", "-b2", "-e2")

    r = dump("whole", "--vcf", vcf)
    check(r.returncode == 0, f"whole dump: {r.stderr}")
    whole_v, whole_m = coll("whole", "variants"), coll("whole", "metrics")
    check(len(whole_v) > 10, f"the sample gives variants: {len(whole_v)}")

    # ---- a partition of the file, one dump per region -----------------------
    # exac_sample.vcf: contig 1 at 13372 69270 69428 69496 69511 874762 ...
    # 879317, then 2, X, Y, MT.
    parts = ["1:1-69428", "1:69429-874762", "1:874763-250000000", "2", "X", "Y", "MT"]
    union = collections.Counter()
    total = collections.Counter()
    for i, reg in enumerate(parts):
        d = f"part{i}"
        r = dump(d, "--vcf", vcf, "--region", reg, "--allow-empty")
        check(r.returncode == 0, f"dump of region {reg}: {r.returncode} {r.stderr}")
        if r.returncode:
            continue
        v = coll(d, "variants")
        check(len(v) > 0, f"region {reg} holds documents")
        union.update(v)
        total.update({"variants": counts(d).get("variants", 0),
                      "records": manifest(d)["sources"][0]["records"]})
    check(union == collections.Counter(whole_v),
          f"the regions' documents together are the whole file's: {sum(union.values())} "
          f"vs {len(whole_v)}")
    check(total["records"] == manifest("whole")["sources"][0]["records"],
          f"the regions' records add up to the file's: {total['records']}")
    check(total["variants"] == counts("whole")["variants"],
          f"the regions' counts add up: {total['variants']} vs {counts('whole')['variants']}")

    # ---- all regions at once: the whole dump byte for byte ------------------
    def same_as_whole(d, what):
        check(coll(d, "variants") == whole_v and coll(d, "metrics") == whole_m,
              f"{what}: the whole dump's variants and metrics, byte for byte")

    shuffled = [parts[i] for i in (6, 2, 0, 4, 1, 5, 3)]
    args = [a for reg in shuffled for a in ("--region", reg)]
    for threads in ("1", "2"):
        r = dump(f"all{threads}", "--vcf", vcf, *args, "--threads", threads,
                 "--chunk-size", "4096")
        check(r.returncode == 0, f"dump of all regions, {threads} threads: {r.stderr}")
        same_as_whole(f"all{threads}", f"all regions, out of order, {threads} threads")
    r = dump("allcsi", "--vcf", csi, *args)
    check(r.returncode == 0, f"dump with a CSI index: {r.stderr}")
    same_as_whole("allcsi", "all regions with a .csi index")

    m = manifest("all1")
    check(m.get("regions") == [
        {"chrom": "1", "start": 0, "end": 69428},
        {"chrom": "1", "start": 69428, "end": 874762},
        {"chrom": "1", "start": 874762, "end": 250000000},
        {"chrom": "2", "start": 0}, {"chrom": "MT", "start": 0},
        {"chrom": "X", "start": 0}, {"chrom": "Y", "start": 0}],
        f"the manifest's regions, half-open, sorted: {m.get('regions')}")
    check("regions" not in manifest("whole"), "a whole-file manifest has no regions")
    r = subprocess.run([TOOL, "verify", "--dump", "all1", "--sources", "--json"],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"verify --sources on a region dump: {r.stdout} {r.stderr}")

    for bad in ([{"chrom": "1", "start": 5, "end": 5}], [{"start": 0}],
                [{"chrom": "1", "start": 1.5}], "1:0-5"):
        shutil.copytree("all1", "badm", dirs_exist_ok=True)
        mp = os.path.join("badm", "swefreq", "manifest.json")
        mm = json.load(open(mp))
        mm["regions"] = bad
        json.dump(mm, open(mp, "w"))
        r = subprocess.run([TOOL, "verify", "--dump", "badm"], capture_output=True, text=True)
        check(r.returncode == 3 and "region" in r.stderr,
              f"a manifest with regions {bad} is refused: {r.returncode} {r.stderr}")
        shutil.rmtree("badm")

    bed = "parts.bed"
    with open(bed, "w") as f:
        f.write("# a comment\nbrowser position 1:1-100\ntrack name=parts\n\n")
        f.write("1\t874762\t250000000\tthird\n1\t0\t69428\n1 69428 874762\n")
        f.write("2\t0\t300000000\nX\t0\t300000000\nY\t0\t100000000\nMT\t0\t20000\n")
    r = dump("bed", "--vcf", vcf, "--regions-file", bed)
    check(r.returncode == 0, f"dump with a BED file: {r.stderr}")
    same_as_whole("bed", "the BED file's regions")

    # ---- a deletion straddling a boundary is read once ----------------------
    hdr = sample_header(TD)
    straddle = "straddle.vcf"
    with open(straddle, "w") as f:
        f.writelines(hdr)
        f.write("1\t100\t.\tA\tG\t50\tPASS\tAC=1;AN=2000;AC_Hom=0\n")
        f.write("1\t199\t.\tACGT\tA\t50\tPASS\tAC=2;AN=2000;AC_Hom=0\n")
        f.write("1\t200\t.\tC\tT\t50\tPASS\tAC=3;AN=2000;AC_Hom=0\n")
        f.write("1\t250\t.\tG\tA\t50\tPASS\tAC=4;AN=2000;AC_Hom=0\n")
    bgzip_index(straddle, straddle + ".gz", "-p", "vcf")
    r = dump("st_whole", "--vcf", straddle + ".gz")
    check(r.returncode == 0, f"straddle whole: {r.stderr}")
    got = collections.Counter()
    for d, reg in (("st_a", "1:1-199"), ("st_b", "1:200-1000")):
        r = dump(d, "--vcf", straddle + ".gz", "--region", reg)
        check(r.returncode == 0, f"straddle {reg}: {r.stderr}")
        got.update(coll(d, "variants"))
    dels = [b for b in got.elements() if b"1-199-ACGT-A" in b]
    check(len(dels) == 1, f"the deletion at 199 is loaded once: {len(dels)}")
    check(any(b"1-199-ACGT-A" in b for b in coll("st_a", "variants")),
          "the deletion belongs to the region that holds its POS")
    check(got == collections.Counter(coll("st_whole", "variants")),
          "the two regions give the whole file's documents")
    check(counts("st_a")["variants"] + counts("st_b")["variants"] ==
          counts("st_whole")["variants"], "and their counts add up")

    # ---- coverage ------------------------------------------------------------
    r = dump("cov_whole", "--coverage", cov)
    check(r.returncode == 0, f"coverage whole: {r.stderr}")
    cw = coll("cov_whole", "base_coverage")
    lines = [l.split("\t")[:2] for l in open(os.path.join(TD, "coverage_sample.tsv"))
             if not l.startswith("#")]
    chrom = lines[0][0]
    first = [int(p) for c, p in lines if c == chrom]
    mid = first[len(first) // 2]
    cparts = [f"{chrom}:1-{mid - 1}", f"{chrom}:{mid}-300000000"]
    cparts += sorted({c for c, _ in lines} - {chrom})
    cu = collections.Counter()
    for i, reg in enumerate(cparts):
        r = dump(f"cov{i}", "--coverage", cov, "--region", reg)
        check(r.returncode == 0, f"coverage region {reg}: {r.stderr}")
        cu.update(coll(f"cov{i}", "base_coverage"))
    check(cu == collections.Counter(cw) and len(cw) > 0,
          f"coverage regions give the whole file's rows: {sum(cu.values())} vs {len(cw)}")
    r = dump("cov_all", "--coverage", cov, *[a for g in cparts for a in ("--region", g)])
    check(r.returncode == 0 and coll("cov_all", "base_coverage") == cw,
          f"all coverage regions at once: the whole dump byte for byte {r.stderr}")

    # ---- refusals --------------------------------------------------------------
    def refused(out, rc, wants, *args):
        r = dump(out, *args)
        check(r.returncode == rc, f"{args}: exit {r.returncode}, want {rc}: {r.stderr}")
        for w in wants:
            check(w in r.stderr, f"{args}: message names {w!r}: {r.stderr}")
        check(not os.path.exists(out) or not os.listdir(out), f"{args}: nothing written")

    refused("x1", 2, ["1:100-200", "1:150-300"], "--vcf", vcf, "--region", "1:100-200",
            "--region", "1:150-300")
    refused("x2", 2, ["1:200-300", "1"], "--vcf", vcf, "--region", "1", "--region",
            "1:200-300")
    ob = "overlap.bed"
    with open(ob, "w") as f:
        f.write("track x\n1\t0\t100\n1\t99\t200\n")
    refused("x3", 3, [f"{ob}: line 3", "1:100-200", f"{ob}: line 2"], "--vcf", vcf,
            "--regions-file", ob)
    refused("x4", 3, [f"{bed}: line 6", "--region 1:5-10"], "--vcf", vcf, "--region",
            "1:5-10", "--regions-file", bed)
    plain = os.path.join(TD, "exac_sample.vcf")
    refused("x5", 3, ["needs a .tbi or .csi index", plain], "--vcf", plain, "--region", "1")
    shutil.copy(vcf, "noindex.vcf.gz")
    refused("x6", 3, ["needs a .tbi or .csi index", "noindex.vcf.gz"], "--vcf",
            "noindex.vcf.gz", "--region", "1")
    refused("x7", 3, ["chr1", vcf, "knows no contig"], "--vcf", vcf, "--region", "chr1:1-10")
    for i, (body, want) in enumerate([
            ("1\t10\n", "line 1"), ("# c\n1\tx\t20\n", "line 2"),
            ("1\t20\t10\n", "line 1"), ("track\n\n1\t5\t5\n", "line 3"),
            ("1\t-1\t5\n", "line 1"), ("", "holds no region")]):
        bb = f"bad{i}.bed"
        with open(bb, "w") as f:
            f.write(body)
        refused(f"xb{i}", 3, [bb, want], "--vcf", vcf, "--regions-file", bb)
    for spec in ("1:0-10", "1:20-10", "1:10", "1:5-", ":1-5", ""):
        refused("xs", 2, ["--region"], "--vcf", vcf, "--region", spec)
    # a contig name may hold ':' and '-': "1:a-b" is one, unknown here
    refused("xs", 3, ["knows no contig '1:a-b'"], "--vcf", vcf, "--region", "1:a-b")
    refused("xm", 3, ["cannot open", "missing.bed"], "--vcf", vcf, "--regions-file",
            "missing.bed")
    refused("xe", 3, ["no record lies in the regions"], "--vcf", vcf, "--region",
            "1:1000000-2000000")
    r = dump("empty_ok", "--vcf", vcf, "--region", "1:1000000-2000000", "--allow-empty")
    check(r.returncode == 0 and coll("empty_ok", "variants") == [],
          f"an empty region with --allow-empty: {r.stderr}")

    # ---- many BGZF blocks: boundaries inside blocks, seeks, block checks -----
    big = "big.vcf"
    write_sites(big, hdr, 30000)  # contig 1, POS 1000 + 10 i
    bgzip_index(big, big + ".gz", "-p", "vcf")
    r = dump("big_whole", "--vcf", big + ".gz", "--threads", "2")
    check(r.returncode == 0, f"big whole: {r.stderr}")
    bw = coll("big_whole", "variants")
    cuts = ["1:1-70004", "1:70005-150000", "1:150001-150010", "1:150011-1000000000"]
    bu = collections.Counter()
    for i, reg in enumerate(cuts):
        r = dump(f"big{i}", "--vcf", big + ".gz", "--region", reg, "--threads", "2",
                 "--chunk-size", "8192")
        check(r.returncode == 0, f"big region {reg}: {r.stderr}")
        bu.update(coll(f"big{i}", "variants"))
    check(len(bw) == 30000 and bu == collections.Counter(bw),
          f"regions of a file of many blocks give its documents: {sum(bu.values())}")
    check(counts("big2")["variants"] == 1, "1:150001-150010 holds the one site at 150000+")
    r = dump("big_all", "--vcf", big + ".gz", "--threads", "2", "--chunk-size", "8192",
             *[a for g in cuts[::-1] for a in ("--region", g)])
    check(r.returncode == 0 and coll("big_all", "variants") == bw,
          f"all of them at once: the whole dump byte for byte {r.stderr}")
    # a damaged block inside the region is reported, never an early end
    data = bytearray(open(big + ".gz", "rb").read())
    blocks, at = [], 0
    while at < len(data):
        blocks.append(at)
        at += struct.unpack_from("<H", data, at + 16)[0] + 1
    check(len(blocks) > 8, f"the big file has many blocks: {len(blocks)}")
    bad_at = blocks[len(blocks) // 2] + 40
    data[bad_at] ^= 0xFF
    open("damaged.vcf.gz", "wb").write(bytes(data))
    shutil.copy(big + ".gz.tbi", "damaged.vcf.gz.tbi")
    r = dump("dmg", "--vcf", "damaged.vcf.gz", "--region", "1:100000-250000")
    check(r.returncode == 3 and "corrupt or truncated BGZF" in r.stderr
          and f"block at compressed byte {blocks[len(blocks) // 2]}" in r.stderr,
          f"a damaged block in a region: exit 3 naming it: {r.returncode} {r.stderr}")
    r = dump("dmg2", "--vcf", "damaged.vcf.gz", "--region", "1:1-2000")
    check(r.returncode == 0 and counts("dmg2")["variants"] == 101,
          f"a region before the damage reads without it: {r.returncode} {r.stderr}")

    # ---- a bad line in a region is named by region and line -----------------
    badv = "badline.vcf"
    with open(badv, "w") as f:
        f.writelines(hdr)
        f.write("1\t100\t.\tA\tG\t50\tPASS\tAC=1;AN=2000;AC_Hom=0\n")
        f.write("1\t300\t.\tA\tG\t50\tPASS\tAC=1;AN=2000;AC_Hom=0\n")
        f.write("1\t310\t.\tA\tG\t50\tPASS\tAC=x;AN=2000;AC_Hom=0\n")
    bgzip_index(badv, badv + ".gz", "-p", "vcf")
    r = dump("xl", "--vcf", badv + ".gz", "--region", "1:200-400")
    check(r.returncode == 3 and f"{badv}.gz region 1:200-400: line 2" in r.stderr,
          f"a bad line is named by region and line: {r.returncode} {r.stderr}")
    # ---- issue 25: a region's lines copied by whole blocks ------------------
    def sites(path, rows):
        with open(path, "w") as f:
            f.writelines(hdr)
            for c, p, ac in rows:
                f.write(f"{c}\t{p}\t.\tA\tG\t50\tPASS\tAC={ac};AN=2000;AC_Hom=0\n")

    rows = [("1", 1000 + 10 * i, 1 + i % 7) for i in range(20000)]
    rows += [("2", 500 + 10 * i, 1 + i % 5) for i in range(8000)]
    sites("two.vcf", rows)
    bgzip_index("two.vcf", "two.vcf.gz", "-p", "vcf")
    two = open("two.vcf.gz", "rb").read()
    nblocks, at = 0, 0
    while at < len(two):
        nblocks, at = nblocks + 1, at + struct.unpack_from("<H", two, at + 16)[0] + 1
    check(nblocks > 20, f"two.vcf.gz has many blocks: {nblocks}")
    for reg, lo, hi, c in (("1:70004-150000", 70004, 150000, "1"),
                           ("1:150000-150000", 150000, 150000, "1"),
                           ("1:195005-1000000", 195005, 1000000, "1"),
                           ("2", 0, 10 ** 9, "2"), ("2:3-40001", 3, 40001, "2")):
        keep = [r for r in rows if r[0] == c and lo <= r[1] <= hi]
        sub = f"sub_{len(keep)}.vcf"
        sites(sub, keep)
        r = dump(sub + ".d", "--vcf", sub)
        check(r.returncode == 0 and len(coll(sub + ".d", "variants")) == len(keep),
              f"the subset {reg} alone: {r.stderr}")
        want = coll(sub + ".d", "variants")
        for threads in ("1", "2"):
            for cs in ((), ("--chunk-size", "4096")):
                d = f"blk_{reg}_{threads}_{len(cs)}".replace(":", "_")
                r = dump(d, "--vcf", "two.vcf.gz", "--region", reg, "--threads", threads, *cs)
                check(r.returncode == 0 and coll(d, "variants") == want and
                      manifest(d)["sources"][0]["records"] == len(keep),
                      f"region {reg}, {threads} threads, {cs}: exactly its {len(keep)} lines' "
                      f"documents: {len(coll(d, 'variants'))} {r.stderr}")
    # a bad line deep inside a region: its number counts from the first record
    bad_rows = list(rows)
    i = next(k for k, r in enumerate(rows) if r[1] == 70004 + 6 + 10 * 4321)
    bad_rows[i] = (rows[i][0], rows[i][1], "x")
    sites("badline2.vcf", bad_rows)
    bgzip_index("badline2.vcf", "badline2.vcf.gz", "-p", "vcf")
    for cs in ((), ("--chunk-size", "4096")):
        r = dump("xl2", "--vcf", "badline2.vcf.gz", "--region", "1:70004-150000", *cs)
        check(r.returncode == 3 and "badline2.vcf.gz region 1:70004-150000: line 4322:"
              in r.stderr, f"a bad line deep in a region, {cs}: named by its line in the "
              f"region: {r.returncode} {r.stderr}")

    # a file unsorted inside a block of the region, under the sorted file's
    # index: one block of two.vcf.gz rewritten with one line changed
    def bgzf_block(raw):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(raw) + c.flush()
        return (b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" +
                struct.pack("<H", len(body) + 25) + body +
                struct.pack("<II", zlib.crc32(raw) & 0xFFFFFFFF, len(raw)))

    def unsorted(dst, pos, new_start):
        blks, at = [], 0
        while at < len(two):
            n = struct.unpack_from("<H", two, at + 16)[0] + 1
            blks.append(two[at:at + n])
            at += n
        key = b"\n1\t%d\t" % pos
        for k, b in enumerate(blks):
            raw = zlib.decompress(b[18:-8], -15)
            if key in raw:
                check(raw.index(key) > 1000 and len(raw) - raw.index(key) > 1000,
                      f"the changed line is in the middle of its block ({dst})")
                blks[k] = bgzf_block(raw.replace(key, b"\n" + new_start, 1))
                break
        open(dst, "wb").write(b"".join(blks))
        shutil.copy("two.vcf.gz.tbi", dst + ".tbi")

    unsorted("other.vcf.gz", 150000, b"2\t150000\t")
    unsorted("past.vcf.gz", 150000, b"1\t900000\t")
    for f, stop in (("other.vcf.gz", "2:150000"), ("past.vcf.gz", "1:900000")):
        for cs in ((), ("--chunk-size", "4096")):
            refused("xu", 3, [f, "unsorted input", "a line at 1:150010", f"line at {stop}"],
                    "--vcf", f, "--region", "1:100000-180000", *cs)
finally:
    os.chdir("/")
    shutil.rmtree(work, ignore_errors=True)
T.done()
