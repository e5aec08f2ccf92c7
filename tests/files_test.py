#!/usr/bin/env python3
"""File handling: links are never followed when removing, inputs are read
only from regular files, and no two documents of a collection share an _id.

usage: files_test.py SWEFREQ_LOAD TESTDATA_DIR

- OUT/NAME a symbolic link to a folder holding an unrelated file and an
  earlier dump: `dump` refuses it (exit 4, "symbolic link") and every file
  in the folder survives byte for byte; links planted as leftovers
  (.NAME.old.<pid>, .NAME.partial.<pid>) or as the lock file are removed as
  links (or refused), never followed; OUT/NAME holding a file that is not
  a dump's is refused, the file kept;
- a dump is one release: a coverage-only dump over a dump with variants
  replaces the folder whole (manifest and files: only base_coverage), and
  the CLI says which collections went;
- a FIFO, /dev/zero, a pipe (process substitution) or /dev/stdin as a
  source, a manifest or a manifest's source is refused at once (exit 3,
  "not a regular file"), never a hang;
- duplicate _ids in every collection (dbSNP, exons, genes, transcripts,
  variants, coverage) are refused with file and line (exit 3) by the dry
  run and the dump, nothing written; 40,000 variants at one position take
  well under a second (the old window scan took 2.6 s).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import Checks, sample_header  # noqa: E402

TOOL, TD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
T = Checks("files_test", TOOL)
check, run = T.check, T.run
SWEGEN = os.path.join(TD, "swegen_sample.vcf")
COV = os.path.join(TD, "coverage_sample.tsv")


def tree(folder):
    """{relative path: sha256 or link target} of everything under folder."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, folder)
            if os.path.islink(p):
                out[rel] = "-> " + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def symlinks(tmp):
    # An earlier dump, copied into other/ beside an unrelated file.
    prev = os.path.join(tmp, "prev")
    r = run("dump", "--out", prev, "--vcf", SWEGEN, "--coverage", COV, "--quiet")
    check(r.returncode == 0, f"earlier dump: {r.returncode} {r.stderr}")
    other = os.path.join(tmp, "other")
    shutil.copytree(os.path.join(prev, "swefreq"), other)
    open(os.path.join(other, "unrelated.txt"), "w").write("keep me\n")
    before = tree(other)
    check("variants.bson" in before and "manifest.json" in before, f"other/ set up: {before}")

    out = os.path.join(tmp, "out")
    os.mkdir(out)
    os.symlink(other, os.path.join(out, "swefreq"))
    for attempt in ("first", "second"):
        r = run("dump", "--out", out, "--vcf", SWEGEN, "--quiet")
        check(r.returncode == 4 and "symbolic link" in r.stderr,
              f"{attempt} dump onto OUT/NAME -> other/: exit {r.returncode} {r.stderr!r}")
        check(tree(other) == before, f"{attempt} dump: other/ byte-identical: {tree(other)}")
        check(sorted(os.listdir(out)) == ["swefreq"] and os.path.islink(os.path.join(out, "swefreq")),
              f"{attempt} dump: OUT holds only the link: {os.listdir(out)}")

    # Leftovers of a dead dump that are links to other/: removed as links.
    out2 = os.path.join(tmp, "out2")
    os.mkdir(out2)
    pid = dead_pid()
    for name in (f".swefreq.old.{pid}", f".swefreq.partial.{pid}"):
        os.symlink(other, os.path.join(out2, name))
    r = run("dump", "--out", out2, "--vcf", SWEGEN, "--quiet")
    check(r.returncode == 0, f"dump beside planted leftover links: {r.returncode} {r.stderr}")
    check(sorted(os.listdir(out2)) == ["swefreq"],
          f"the leftover links are gone, the dump is in place: {os.listdir(out2)}")
    check(tree(other) == before, "leftover links: other/ byte-identical")
    # A second dump replaces the first (a real folder) and leaves nothing else.
    r = run("dump", "--out", out2, "--vcf", SWEGEN, "--coverage", COV, "--quiet")
    check(r.returncode == 0 and sorted(os.listdir(out2)) == ["swefreq"],
          f"second dump into out2: {r.returncode} {os.listdir(out2)} {r.stderr}")
    check(tree(other) == before, "second dump: other/ byte-identical")

    # A leftover folder of a dead dump holding a link to other/: the link
    # goes, other/ stays.
    pid = dead_pid()
    left = os.path.join(out2, f".swefreq.partial.{pid}")
    os.mkdir(left)
    os.symlink(other, os.path.join(left, "variants.bson"))
    os.symlink(os.path.join(other, "unrelated.txt"), os.path.join(left, "x"))
    r = run("dump", "--out", out2, "--vcf", SWEGEN, "--quiet")
    check(r.returncode == 0 and not os.path.lexists(left),
          f"leftover folder with links removed: {r.returncode} {os.listdir(out2)}")
    check(tree(other) == before, "links inside a leftover: other/ byte-identical")

    # The lock file as a link to a file of other/: refused, never truncated.
    out3 = os.path.join(tmp, "out3")
    os.mkdir(out3)
    os.symlink(os.path.join(other, "manifest.json"), os.path.join(out3, ".swefreq.lock"))
    r = run("dump", "--out", out3, "--vcf", SWEGEN, "--quiet")
    check(r.returncode == 4 and "symbolic link" in r.stderr,
          f"lock file as a link: exit {r.returncode} {r.stderr!r}")
    check(tree(other) == before, "lock link: other/ byte-identical")

    # OUT/NAME holding a file that no dump writes: refused, kept.
    out4 = os.path.join(tmp, "out4")
    r = run("dump", "--out", out4, "--vcf", SWEGEN, "--quiet")
    open(os.path.join(out4, "swefreq", "notes.txt"), "w").write("mine\n")
    snap = tree(out4)
    r = run("dump", "--out", out4, "--vcf", SWEGEN, "--quiet")
    check(r.returncode == 4 and "notes.txt" in r.stderr and "not a file of a dump" in r.stderr,
          f"foreign file in OUT/NAME: exit {r.returncode} {r.stderr!r}")
    check(tree(out4) == snap, "foreign file: the folder is unchanged")

    # OUT itself may be a link (the folder the user named): followed.
    real = os.path.join(tmp, "real-out")
    os.mkdir(real)
    os.symlink(real, os.path.join(tmp, "out-link"))
    r = run("dump", "--out", os.path.join(tmp, "out-link"), "--vcf", SWEGEN, "--quiet")
    check(r.returncode == 0 and os.path.isfile(os.path.join(real, "swefreq", "manifest.json")),
          f"--out a link to a folder: {r.returncode} {r.stderr}")


def not_regular(r, what, path=None):
    check(r.returncode == 3 and "not a regular file" in r.stderr
          and (path is None or path in r.stderr),
          f"{what}: exit {r.returncode} {r.stderr!r}")


def fifos(tmp):
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    gtf = os.path.join(TD, "gencode_sample.gtf")
    kinds = [("--vcf", []), ("--coverage", []), ("--gtf", []), ("--dbsnp", []),
             ("--canonical-transcripts", ["--gtf", gtf]), ("--omim", ["--gtf", gtf]),
             ("--dbnsfp-genes", ["--gtf", gtf])]
    for flag, more in kinds:
        for path in (fifo, "/dev/zero"):
            t = time.time()
            try:
                r = run("dump", "--dry-run", *more, flag, path, timeout=30)
            except subprocess.TimeoutExpired:
                check(False, f"{flag} {path}: still running after 30 s")
                continue
            not_regular(r, f"{flag} {path}", path)
            check(time.time() - t < 10, f"{flag} {path}: refused at once")
    # A pipe: process substitution and /dev/stdin; both are read twice.
    r = subprocess.run(["bash", "-c", f'"$0" dump --dry-run --vcf <(cat "$1")', TOOL, SWEGEN],
                       capture_output=True, text=True, timeout=30)
    not_regular(r, "--vcf <(cat x)")
    check("missing" not in r.stderr, f"no misleading 'missing VCF header': {r.stderr!r}")
    with open(SWEGEN, "rb") as f:
        data = f.read()
    r = subprocess.run([TOOL, "dump", "--dry-run", "--vcf", "/dev/stdin"], input=data,
                       capture_output=True, timeout=30)
    check(r.returncode == 3 and b"not a regular file" in r.stderr,
          f"--vcf /dev/stdin from a pipe: {r.returncode} {r.stderr!r}")
    # /dev/stdin redirected from a regular file is that file: it loads.
    with open(SWEGEN, "rb") as f:
        r = subprocess.run([TOOL, "dump", "--dry-run", "--vcf", "/dev/stdin"], stdin=f,
                           capture_output=True, timeout=60)
    check(r.returncode == 0, f"--vcf /dev/stdin from a file: {r.returncode} {r.stderr!r}")

    # verify: a manifest's source that became a FIFO or is /dev/zero, a
    # --manifest that is a FIFO, a dump file that is a FIFO.
    src = os.path.join(tmp, "src.vcf")
    shutil.copy(SWEGEN, src)
    out = os.path.join(tmp, "vout")
    r = run("dump", "--out", out, "--vcf", src, "--quiet")
    check(r.returncode == 0, f"dump for verify: {r.stderr}")
    os.remove(src)
    os.mkfifo(src)
    try:
        r = run("verify", "--dump", out, "--sources", timeout=30)
        not_regular(r, "verify --sources, a source now a FIFO", src)
    except subprocess.TimeoutExpired:
        check(False, "verify --sources on a FIFO source hangs")
    mpath = os.path.join(out, "swefreq", "manifest.json")
    man = json.load(open(mpath))
    man["sources"][0]["path"] = man["sources"][0]["abs_path"] = "/dev/zero"
    zman = os.path.join(tmp, "zero-manifest.json")
    json.dump(man, open(zman, "w"))
    try:
        r = run("verify", "--dump", out, "--manifest", zman, "--sources", timeout=30)
        not_regular(r, "verify --sources, a source /dev/zero", "/dev/zero")
    except subprocess.TimeoutExpired:
        check(False, "verify --sources reads /dev/zero forever")
    try:
        r = run("verify", "--dump", out, "--manifest", fifo, timeout=30)
        not_regular(r, "verify --manifest FIFO", fifo)
    except subprocess.TimeoutExpired:
        check(False, "verify --manifest FIFO hangs")
    vb = os.path.join(out, "swefreq", "variants.bson")
    os.remove(vb)
    os.mkfifo(vb)
    try:
        r = run("verify", "--dump", out, timeout=30)
        not_regular(r, "verify, variants.bson a FIFO", vb)
    except subprocess.TimeoutExpired:
        check(False, "verify of a dump whose variants.bson is a FIFO hangs")


def refused_everywhere(tmp, name, flag_args, what, path, line):
    """The dry run and the dump refuse it with file and line, exit 3; the
    dump leaves nothing under OUT."""
    r = run("dump", "--dry-run", *flag_args)
    check(r.returncode == 3 and what in r.stderr and f"{path}: line {line}:" in r.stderr,
          f"{name}, dry run: exit {r.returncode} {r.stderr!r}")
    out = os.path.join(tmp, "dup-" + name)
    r = run("dump", "--out", out, *flag_args)
    check(r.returncode == 3 and what in r.stderr and f"{path}: line {line}:" in r.stderr,
          f"{name}, dump: exit {r.returncode} {r.stderr!r}")
    check(not os.path.exists(os.path.join(out, "swefreq")) and
          [n for n in os.listdir(out) if n.startswith(".")] == [] if os.path.isdir(out) else True,
          f"{name}: the dump wrote nothing: {os.listdir(out) if os.path.isdir(out) else None}")


def duplicates(tmp):
    # dbSNP: two identical rows (not adjacent in the file, same position).
    rows = open(os.path.join(TD, "dbsnp_sample.tsv")).read().splitlines()
    d = os.path.join(tmp, "dup_dbsnp.tsv")
    open(d, "w").write("\n".join(rows[:3] + ["99\t1\t69510\t0", rows[2]] + rows[3:]) + "\n")
    refused_everywhere(tmp, "dbsnp", ["--dbsnp", d], "duplicate dbSNP id 75062661-1000069511",
                       d, 5)
    # dbSNP out of order: refused, since its duplicates could not be found.
    u = os.path.join(tmp, "unsorted_dbsnp.tsv")
    open(u, "w").write("\n".join(rows[:2] + [rows[3], rows[2]] + rows[4:]) + "\n")
    refused_everywhere(tmp, "dbsnp-unsorted", ["--dbsnp", u], "unsorted input", u, 4)
    # GTF: an exon line repeated after other transcripts' lines; a gene and
    # a transcript line repeated.
    gl = open(os.path.join(TD, "gencode_sample.gtf")).read().splitlines()
    exon = next(l for l in gl if "\texon\t" in l)
    gene = next(l for l in gl if "\tgene\t" in l)
    tx = next(l for l in gl if "\ttranscript\t" in l)
    for name, extra, what in (("exon", exon, "duplicate exon id"),
                              ("gene", gene, "duplicate gene id"),
                              ("transcript", tx, "duplicate transcript id")):
        g = os.path.join(tmp, f"dup_{name}.gtf")
        open(g, "w").write("\n".join(gl + [extra]) + "\n")
        refused_everywhere(tmp, name, ["--gtf", g, "--skip-unknown-contigs"], what, g,
                           len(gl) + 1)
    # Variants: a duplicate whose first copy's minimal position is past its
    # POS (1:100 CA>CG is 1-101-A-G) is still found at the next POS.
    header = sample_header(TD)
    v = os.path.join(tmp, "dup.vcf")
    with open(v, "w") as f:
        f.writelines(header)
        f.write("1\t100\t.\tCA\tCG\t50\tPASS\tAC=1;AN=2000;AC_Hom=0\n")
        f.write("1\t101\t.\tA\tG\t50\tPASS\tAC=1;AN=2000;AC_Hom=0\n")
    refused_everywhere(tmp, "variant", ["--vcf", v], "duplicate variant 1-101-A-G", v,
                       len(header) + 2)

    # O(1) a line: 60,000 distinct insertions at one position cost about
    # what 60,000 positions do (a scan of the earlier ids would be ~50x).
    def many(path, same_pos):
        with open(path, "w") as f:
            f.writelines(header)
            for i in range(60000):
                alt = "A" + "".join("ACGT"[(i >> (2 * k)) & 3] for k in range(9))
                pos = 1000 if same_pos else 1000 + i
                f.write(f"1\t{pos}\t.\tA\t{alt}\t50\tPASS\tAC=1;AN=2000;AC_Hom=0\n")

    def timed(path):
        t = time.time()
        r = run("dump", "--dry-run", "--threads", "1", "--vcf", path, "--json")
        return time.time() - t, r

    one, spread = os.path.join(tmp, "one_pos.vcf"), os.path.join(tmp, "spread.vcf")
    many(one, True)
    many(spread, False)
    t_one, r = timed(one)
    check(r.returncode == 0 and json.loads(r.stdout)["documents"]["variants"] == 60000,
          f"60,000 variants at one position: {r.returncode} {r.stderr[-300:]}")
    t_spread, r = timed(spread)
    check(r.returncode == 0, f"60,000 positions: {r.returncode}")
    check(t_one < 3 * t_spread + 1,
          f"60,000 variants at one position take {t_one:.2f} s, 60,000 positions {t_spread:.2f} s")
    print(f"60,000 variants at one position: {t_one:.2f} s; at 60,000 positions: {t_spread:.2f} s")


def one_release(tmp):
    out = os.path.join(tmp, "release")
    r = run("dump", "--out", out, "--vcf", SWEGEN, "--coverage", COV)
    check(r.returncode == 0 and "warning" not in r.stderr, f"first dump: {r.returncode} {r.stderr}")
    r = run("dump", "--out", out, "--coverage", COV)
    folder = os.path.join(out, "swefreq")
    check(r.returncode == 0 and "also held variants, metrics" in r.stderr
          and "replaces the folder whole" in r.stderr,
          f"coverage-only dump over a full one says what went: {r.returncode} {r.stderr!r}")
    check(sorted(os.listdir(folder)) == ["base_coverage.bson", "base_coverage.metadata.json",
                                         "manifest.json"],
          f"the folder holds exactly the new run: {os.listdir(folder)}")
    man = json.load(open(os.path.join(folder, "manifest.json")))
    check([c["name"] for c in man["collections"]] == ["base_coverage"],
          f"its manifest describes it: {man['collections']}")
    r = run("verify", "--dump", out)
    check(r.returncode == 0, f"it verifies: {r.stdout} {r.stderr}")


tmp = tempfile.mkdtemp(prefix="sfl_files_")
try:
    one_release(tmp)
    symlinks(tmp)
    fifos(tmp)
    duplicates(tmp)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

T.done()
