#!/usr/bin/env python3
"""End-to-end tests of the swefreq-load command line.

usage: cli_test.py SWEFREQ_LOAD TESTDATA_DIR

Golden documents (--format jsonl against testdata/expected, compared
decoded with types and field order), bgzipped input, every bad input file
(exit code 3 and a message naming file and line), dump + verify, verify
after tampering (exit 5), --json summaries, usage errors (exit 2).
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_compare  # noqa: E402

TOOL, TD = sys.argv[1], sys.argv[2]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}")


def run(*args, **kw):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, **kw)


def bgzip(src, dst):
    subprocess.run(["bgzip", "-c", src], stdout=open(dst, "wb"), check=True)


tmp = tempfile.mkdtemp(prefix="sfl_cli_")
try:
    # Golden documents, plain and bgzipped.
    cases = [
        (["--vcf", "exac_sample.vcf"], "exac_sample.jsonl"),
        (["--vcf", "exac_sample.vcf", "--histograms", "columns"], "exac_sample.columns.jsonl"),
        (["--vcf", "swegen_sample.vcf"], "swegen_sample.jsonl"),
        (["--vcf", "gnomad_sample.vcf", "--style", "gnomad"], "gnomad_sample.jsonl"),
        (["--coverage", "coverage_sample.tsv"], "coverage_sample.jsonl"),
        (["--coverage", "coverage_sample.tsv", "--coverage-step", "10"], "coverage_sample.step10.jsonl"),
    ]
    have_bgzip = shutil.which("bgzip") is not None
    for args, expected in cases:
        for compressed in ([False, True] if have_bgzip else [False]):
            a = list(args)
            src = os.path.join(TD, a[1])
            if compressed:
                a[1] = os.path.join(tmp, os.path.basename(src) + ".gz")
                bgzip(src, a[1])
            else:
                a[1] = src
            r = run("dump", "--format", "jsonl", "--threads", "2", *a)
            check(r.returncode == 0, f"{args} exit {r.returncode}: {r.stderr}")
            out = os.path.join(tmp, "out.jsonl")
            with open(out, "w") as f:
                f.write(r.stdout)
            actual = golden_compare.load(out)
            exp = golden_compare.load(os.path.join(TD, "expected", expected))
            problems = []
            check(len(actual) == len(exp), f"{expected}: {len(actual)} docs, expected {len(exp)}")
            for i, (x, y) in enumerate(zip(actual, exp)):
                golden_compare.diff(x, y, f"doc {i + 1}", problems)
            check(not problems, f"{expected} (bgzip={compressed}): " + "; ".join(problems[:5]))

    # Bad inputs: exit 3, message with file and line.
    bad = {
        "ac_short.vcf": (21, "AC_Adj has 1 value but the line has 2 ALT"),
        "csq_fields.vcf": (16, "CSQ entry 2 has 10 fields"),
        "csq_no_header.vcf": (13, "no ##INFO=<ID=CSQ"),
        "duplicate_variant.vcf": (18, "duplicate variant 1-874762-AC-A"),
        "no_header.vcf": (1, "missing VCF header"),
        "non_numeric_pos.vcf": (16, "POS '69511a'"),
        "too_few_columns.vcf": (15, "found 7 tab-separated columns, expected 8"),
        "unknown_contig.vcf": (20, "unknown contig 'GL000192.1'"),
        "unsorted.vcf": (17, "unsorted input"),
        "coverage_bad_row.tsv": (8, "column mean value 'NA' is not a number"),
    }
    for name, (line, text) in bad.items():
        kind = "--coverage" if name.endswith(".tsv") else "--vcf"
        path = os.path.join(TD, "bad", name)
        r = run("dump", "--dry-run", kind, path)
        check(r.returncode == 3, f"{name}: exit {r.returncode}, expected 3")
        check(f"{path}: line {line}:" in r.stderr, f"{name}: no 'file: line {line}:' in {r.stderr!r}")
        check(text in r.stderr, f"{name}: {text!r} not in {r.stderr!r}")
    # Two ALT alleles of one line that reduce to the same variant.
    dupalt = os.path.join(tmp, "dupalt.vcf")
    with open(os.path.join(TD, "swegen_sample.vcf")) as f:
        header = [l for l in f if l.startswith("#")]
    with open(dupalt, "w") as f:
        f.writelines(header)
        f.write("1\t100\t.\tA\tC,C\t50\tPASS\tAC=1,1;AN=10;AC_Hom=0,0\n")
    r = run("dump", "--dry-run", "--vcf", dupalt)
    check(r.returncode == 3 and "two ALT alleles of this line" in r.stderr, f"dup ALT: {r.returncode} {r.stderr}")
    # The rejects file exists only after a successful run.
    rej2 = os.path.join(tmp, "rejects2.txt")
    r = run("dump", "--dry-run", "--max-errors", "0", "--rejects", rej2, "--vcf", os.path.join(TD, "bad", "unsorted.vcf"))
    check(r.returncode == 3 and not os.path.exists(rej2) and not os.path.exists(rej2 + ".partial"),
          "no rejects file after a failed run")
    # Skipping with --max-errors and a rejects file; --json summary.
    rej = os.path.join(tmp, "rejects.txt")
    r = run("dump", "--dry-run", "--json", "--max-errors", "5", "--rejects", rej,
            "--vcf", os.path.join(TD, "bad", "unsorted.vcf"))
    check(r.returncode == 0, f"--max-errors 5: exit {r.returncode} {r.stderr}")
    s = json.loads(r.stdout)
    check(s["rejected_lines"] == 1 and s["rejected_by_reason"] == {"unsorted": 1}, f"summary {s}")
    check(s["ok"] is True and s["exit_code"] == 0, f"summary outcome {s}")
    check("line 17: unsorted" in open(rej).read(), "rejects file names the line")
    # Compression problems.
    plain_gz = os.path.join(tmp, "plain.vcf.gz")
    with open(os.path.join(TD, "exac_sample.vcf"), "rb") as f, gzip.open(plain_gz, "wb") as g:
        g.write(f.read())
    r = run("dump", "--dry-run", "--vcf", plain_gz)
    check(r.returncode == 3 and "not BGZF" in r.stderr, f"gzip not BGZF: {r.returncode} {r.stderr}")
    if have_bgzip:
        full = os.path.join(tmp, "full.vcf.gz")
        bgzip(os.path.join(TD, "exac_sample.vcf"), full)
        data = open(full, "rb").read()
        trunc = os.path.join(tmp, "trunc.vcf.gz")
        open(trunc, "wb").write(data[: len(data) // 2])
        r = run("dump", "--dry-run", "--vcf", trunc)
        check(r.returncode == 3 and "truncated" in r.stderr, f"truncated: {r.returncode} {r.stderr}")
        corrupt = os.path.join(tmp, "corrupt.vcf.gz")
        b = bytearray(data)
        b[len(b) // 3] ^= 0xFF
        open(corrupt, "wb").write(bytes(b))
        r = run("dump", "--dry-run", "--vcf", corrupt)
        check(r.returncode == 3 and "BGZF" in r.stderr, f"corrupt: {r.returncode} {r.stderr}")
    r = run("dump", "--dry-run", "--vcf", os.path.join(tmp, "nope.vcf.gz"))
    check(r.returncode == 3 and "nope.vcf.gz: cannot open" in r.stderr, f"missing: {r.stderr}")

    # Dump, then verify; tamper, verify fails with exit 5.
    out = os.path.join(tmp, "dump")
    r = run("dump", "--out", out, "--db", "exac", "--vcf", os.path.join(TD, "exac_sample.vcf"),
            "--coverage", os.path.join(TD, "coverage_sample.tsv"), "--json")
    check(r.returncode == 0, f"dump: {r.stderr}")
    s = json.loads(r.stdout)
    check(s["documents"] == {"variants": 24, "base_coverage": 40}, f"dump summary {s}")
    check("\r" not in r.stderr, "no progress drawn when stderr is not a terminal")
    for f in ["variants.bson", "variants.metadata.json", "base_coverage.bson",
              "base_coverage.metadata.json", "manifest.json"]:
        check(os.path.exists(os.path.join(out, "exac", f)), f"dump has {f}")
    meta = json.load(open(os.path.join(out, "exac", "variants.metadata.json")))
    names = [i["name"] for i in meta["indexes"]]
    check(names == ["_id_", "xpos_1", "xstart_1", "xstop_1", "rsid_1", "genes_1", "transcripts_1",
                    "xpos_1_ref_1_alt_1"], f"indexes {names}")
    man = json.load(open(os.path.join(out, "exac", "manifest.json")))
    check(man["format"] == "swefreq-load-manifest" and man["format_version"] == 1, "manifest format")
    check([s["kind"] for s in man["sources"]] == ["vcf", "coverage"], "sources in the order given")
    out_rev = os.path.join(tmp, "dump_rev")
    r = run("dump", "--out", out_rev, "--coverage", os.path.join(TD, "coverage_sample.tsv"),
            "--vcf", os.path.join(TD, "exac_sample.vcf"))
    man_rev = json.load(open(os.path.join(out_rev, "swefreq", "manifest.json")))
    check(r.returncode == 0 and [s["kind"] for s in man_rev["sources"]] == ["coverage", "vcf"],
          f"sources read in the order given (coverage first): {r.stderr}")
    r = run("verify", "--dump", out, "--db", "exac", "--sources", "--json")
    check(r.returncode == 0, f"verify clean: {r.returncode} {r.stdout} {r.stderr}")
    rep = json.loads(r.stdout)
    check(rep["ok"] is True and all(c["status"] == "ok" for c in rep["collections"]), f"report {rep}")
    r = run("verify", "--dump", out)
    check(r.returncode == 0, f"verify finds the one database folder in --dump: {r.stdout} {r.stderr}")
    os.makedirs(os.path.join(tmp, "nodump", "swefreq"))
    r = run("verify", "--dump", os.path.join(tmp, "nodump"), "--manifest",
            os.path.join(out, "exac", "manifest.json"))
    check(r.returncode == 3 and "holds no dump" in r.stderr and "swefreq" in r.stderr,
          f"a folder without the dump: exit 3 naming the folders: {r.returncode} {r.stderr}")
    bs = os.path.join(out, "exac", "base_coverage.bson")
    data = bytearray(open(bs, "rb").read())
    data[-3] ^= 0x01  # a byte inside the last document's last double
    open(bs, "wb").write(bytes(data))
    r = run("verify", "--dump", os.path.join(out, "exac"))
    check(r.returncode == 5, f"verify after tamper: exit {r.returncode}")
    check("base_coverage" in r.stdout and "digest differs" in r.stdout, f"report {r.stdout}")

    # SIGINT: exit 130, nothing left under the final names.
    if have_bgzip:
        big = os.path.join(tmp, "big.vcf.gz")
        with open(big, "wb") as f:
            gen = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(TD), "bench", "gen",
                                    "gen_exac_vcf.py"), "--sites", "30000"], stdout=subprocess.PIPE)
            subprocess.run(["bgzip", "-c"], stdin=gen.stdout, stdout=f, check=True)
            gen.wait()
        out2 = os.path.join(tmp, "sigdump")
        p = subprocess.Popen([TOOL, "dump", "--threads", "1", "--out", out2, "--vcf", big],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        import time
        time.sleep(0.3)
        p.send_signal(2)
        _, err = p.communicate(timeout=60)
        check(p.returncode == 130 and "interrupted" in err, f"SIGINT: exit {p.returncode} {err}")
        check(not os.path.exists(os.path.join(out2, "swefreq", "variants.bson")), "no dump after SIGINT")
        check(not [f for f in os.listdir(os.path.join(out2, "swefreq"))] if os.path.isdir(os.path.join(out2, "swefreq")) else True,
              "no partial files after SIGINT")

    # Usage.
    for args in (["--help"], ["--version"], ["dump", "--help"], ["verify", "--help"]):
        r = run(*args)
        check(r.returncode == 0 and r.stdout, f"{args}: exit {r.returncode}")
    check("Exit codes" in run("--help").stdout, "--help lists exit codes")
    for args in ([], ["frobnicate"], ["dump"], ["dump", "--dry-run"], ["dump", "--style", "x", "--dry-run"],
                 ["dump", "--threads", "-1", "--dry-run"], ["verify"]):
        r = run(*args)
        check(r.returncode == 2, f"{args}: exit {r.returncode}, expected 2")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print(f"cli_test: {checks} checks, {failures} failed")
sys.exit(1 if failures else 0)
