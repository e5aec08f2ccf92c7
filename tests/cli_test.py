#!/usr/bin/env python3
"""End-to-end tests of the swefreq-load command line.

usage: cli_test.py SWEFREQ_LOAD TESTDATA_DIR

Golden documents (--format jsonl against testdata/expected, compared
decoded with types and field order), bgzipped input, every bad input file
(exit code 3 and a message naming file and line), dump + verify, verify
after tampering (exit 5), --json summaries, usage errors (exit 2).
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_compare  # noqa: E402
import digest_kat  # noqa: E402

TOOL, TD = sys.argv[1], sys.argv[2]
from testlib import check, finish  # noqa: E402


def run(*args, **kw):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, **kw)


def bgzip(src, dst):
    subprocess.run(["bgzip", "-c", src], stdout=open(dst, "wb"), check=True)


def sample_lines(name):
    with open(os.path.join(TD, name)) as f:
        lines = f.read().splitlines()
    return [l for l in lines if l.startswith("#")], [l for l in lines if not l.startswith("#")]


def write_vcf(name, header, data):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("\n".join(header + data) + "\n")
    return path


def dry_json(*args):
    r = run("dump", "--dry-run", "--json", *args)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def gnomad_tests():
    """gnomAD releases (issue 10) and the annotation scope (issue 15)."""
    # The summary and the manifest name the consequence field and Format.
    r, s = dry_json("--vcf", os.path.join(TD, "gnomad_v4.0_sample.vcf"))
    check(r.returncode == 0 and s, f"v4.0 summary: {r.returncode} {r.stderr}")
    a = s["annotations"][0]
    check(a["field"] == "vep" and a["format"].count("|") == 45 and a["gnomad_v40_repair"] is True,
          f"v4.0 annotations {a}")
    check(len(s["warnings"]) == 1 and "gnomAD v4.0" in s["warnings"][0], f"one v4.0 warning {s['warnings']}")
    check(r.stderr.count("gnomAD v4.0") == 1, f"v4.0 warned once: {r.stderr}")
    check(s["missing_fields"] == {}, f"v4.0: grpmax/joint are no populations: {s['missing_fields']}")
    out = os.path.join(tmp, "gdump")
    r = run("dump", "--out", out, "--vep-features", "enst", "--vcf", os.path.join(TD, "gnomad_v4.0_sample.vcf"),
            "--quiet")
    check(r.returncode == 0, f"dump v4.0: {r.stderr}")
    man = json.load(open(os.path.join(out, "swefreq", "manifest.json")))
    o = man["options"]
    check(o.get("vep_features") == "enst" and o.get("csq_field") == "auto" and o.get("csq_format") == "header"
          and o.get("genome") == "auto", f"manifest options {o}")
    s0 = man["sources"][0]
    r = run("dump", "--out", out, "--vcf", os.path.join(TD, "gnomad_v2.1_sample.vcf"), "--quiet")
    check(r.returncode == 0, f"dump v2.1: {r.stderr}")
    man = json.load(open(os.path.join(out, "swefreq", "manifest.json")))
    check(man["options"].get("vep_features") == "all", f"manifest options {man['options']}")
    s1 = man["sources"][0]
    check(s0.get("csq_field") == "vep" and s0.get("csq_gnomad_v40_repair") is True and s0.get("genome") == "GRCh38"
          and s0.get("csq_format", "").startswith("Allele|Consequence|"), f"manifest source {s0}")
    check(s1.get("csq_gnomad_v40_repair") is False and s1.get("genome") == "GRCh37", f"manifest source {s1}")
    r = run("dump", "--out", out, "--csq-format", "Allele|Consequence|ALLELE_NUM", "--csq-field", "vep",
            "--vcf", os.path.join(TD, "gnomad_v4.0_sample.vcf"), "--quiet", "--max-errors", "100")
    man = json.load(open(os.path.join(out, "swefreq", "manifest.json")))
    check(man["options"]["csq_format"] == "Allele|Consequence|ALLELE_NUM" and man["options"]["csq_field"] == "vep",
          f"manifest records --csq-format {man['options']}")
    # Issue 15's effects, through the documents of both scopes: a
    # regulatory-only variant has no consequence under enst; an HC LoF
    # allele keeps its transcript entry and loses the regulatory one.
    def docs_of(*args):
        r = run("dump", "--format", "jsonl", "--vcf", os.path.join(TD, "gnomad_v4.0_sample.vcf"), *args)
        return {d["_id"]: d for d in map(json.loads, r.stdout.splitlines()) if "metric" not in d}
    every, enst = docs_of(), docs_of("--vep-features", "enst")
    reg = "chr1-69081-G-C"
    check([a["Feature_type"] for a in every[reg]["vep_annotations"]] == ["RegulatoryFeature"]
          and enst[reg]["vep_annotations"] == [], f"regulatory-only variant: {enst[reg]['vep_annotations']}")
    lof = [i for i, d in every.items() if any(a["LoF"] == "HC" for a in d["vep_annotations"])
           and any(a["Feature_type"] == "RegulatoryFeature" for a in d["vep_annotations"])]
    check(len(lof) >= 3, f"HC LoF alleles with a regulatory entry: {lof}")
    for i in lof:
        check(all(a["Feature"].startswith("ENST") for a in enst[i]["vep_annotations"])
              and any(a["LoF"] == "HC" for a in enst[i]["vep_annotations"])
              and len(enst[i]["vep_annotations"]) < len(every[i]["vep_annotations"])
              and enst[i]["genes"] == every[i]["genes"] and enst[i]["transcripts"] == every[i]["transcripts"],
              f"{i} under enst")
    # r2.0 is detected as gnomad2.
    r = run("dump", "--out", out, "--vcf", os.path.join(TD, "gnomad_r2.0_sample.vcf"), "--quiet")
    man = json.load(open(os.path.join(out, "swefreq", "manifest.json")))
    check(man["sources"][0]["style"] == "gnomad2", f"r2.0 style {man['sources'][0]}")
    # A VCF without consequence annotations: a counted warning, not silence.
    h, d = sample_lines("gnomad_r2.0_sample.vcf")
    h = [l for l in h if not l.startswith("##INFO=<ID=CSQ,")]
    d = [l.split(";CSQ=")[0] for l in d]
    r, s = dry_json("--vcf", write_vcf("nocsq.vcf", h, d))
    check(r.returncode == 0 and s and s["annotations"][0]["field"] is None and len(s["warnings"]) == 1
          and "no consequence annotations" in s["warnings"][0], f"no-CSQ warning: {r.returncode} {s}")
    # Options that name a missing field, or a wrong build, are refused.
    r = run("dump", "--dry-run", "--csq-field", "ANN", "--vcf", os.path.join(TD, "gnomad_v2.1_sample.vcf"))
    check(r.returncode == 3 and "field ANN (--csq-field)" in r.stderr and "sfl_" not in r.stderr, f"--csq-field ANN: {r.returncode} {r.stderr}")
    r = run("dump", "--dry-run", "--genome", "GRCh38", "--vcf", os.path.join(TD, "gnomad_v2.1_sample.vcf"))
    check(r.returncode == 3 and "GRCh37" in r.stderr, f"--genome conflict: {r.returncode} {r.stderr}")
    for bad in (["--vep-features", "x"], ["--genome", "hg19"]):
        r = run("dump", "--dry-run", *bad, "--vcf", os.path.join(TD, "gnomad_v2.1_sample.vcf"))
        check(r.returncode == 2, f"{bad}: exit {r.returncode}")
    # Without ##contig lengths the build must be given.
    h, d = sample_lines("gnomad_v3.1_sample.vcf")
    nolen = write_vcf("nolen.vcf", [l for l in h if not l.startswith("##contig")], d)
    r = run("dump", "--dry-run", "--vcf", nolen)
    check(r.returncode == 3 and "--genome" in r.stderr, f"no contig lengths: {r.returncode} {r.stderr}")
    r = run("dump", "--format", "jsonl", "--genome", "GRCh38", "--vcf", nolen)
    exp = open(os.path.join(TD, "expected", "gnomad_v3.1_sample.jsonl")).read()
    check(r.returncode == 0 and [d for d in map(json.loads, r.stdout.splitlines()) if "metric" not in d]
          == [json.loads(x) for x in exp.splitlines()],
          f"--genome GRCh38 gives the same documents: {r.returncode} {r.stderr}")
    # Summary counts describe accepted lines only: lines refused by the
    # parser, and a duplicate refused by the ordered stage, add nothing.
    h, d = sample_lines("gnomad_v3.1_sample.vcf")
    lacking = [l for l in d if "nhomalt_oth=" not in l]
    check(len(lacking) == 6, f"v3.1 sample: {len(lacking)} lines lack nhomalt_oth")
    refused = [l.replace(";vep=", ";vep=x|") for l in lacking]  # first entry gets a field too many
    r, s = dry_json("--max-errors", "100", "--vcf", write_vcf("allbad.vcf", h, refused))
    check(r.returncode == 0 and s and s["rejected_lines"] == 6 and s["missing_fields"] == {}
          and s["documents"]["variants"] == 0, f"refused lines counted nothing: {s}")
    dup = sorted(d + [lacking[0]], key=lambda l: d.index(l))
    r, s = dry_json("--max-errors", "1", "--vcf", write_vcf("dup.vcf", h, dup))
    check(r.returncode == 0 and s and s["rejected_by_reason"] == {"duplicate": 1}
          and s["missing_fields"] == {"nhomalt_oth": 6}, f"duplicate counted nothing: {s}")


def wholedb_tests():
    """Gene models, the gene tables and dbSNP (issue 14)."""
    tables = ["--canonical-transcripts", os.path.join(TD, "canonical_sample.txt"),
              "--omim", os.path.join(TD, "omim_sample.txt"),
              "--dbnsfp-genes", os.path.join(TD, "dbnsfp_genes_sample.txt")]
    gtf, dbsnp = os.path.join(TD, "gencode_sample.gtf"), os.path.join(TD, "dbsnp_sample.tsv")
    GTF_ARGS = ["--gtf", gtf, "--skip-unknown-contigs"]

    def golden(args, expected, what):
        r = run("dump", "--format", "jsonl", "--threads", "2", *args)
        check(r.returncode == 0, f"{what}: exit {r.returncode}: {r.stderr}")
        out = os.path.join(tmp, "w.jsonl")
        with open(out, "w") as f:
            f.write(r.stdout)
        problems = []
        actual, exp = golden_compare.load(out), golden_compare.load(os.path.join(TD, "expected", expected))
        check(len(actual) == len(exp), f"{what}: {len(actual)} docs, expected {len(exp)}")
        for i, (x, y) in enumerate(zip(actual, exp)):
            golden_compare.diff(x, y, f"doc {i + 1}", problems)
        check(not problems, f"{what}: " + "; ".join(problems[:5]))

    srcs = [("gtf", gtf), ("dbsnp", dbsnp)]
    if shutil.which("bgzip"):
        for name, path in list(srcs):
            gz = os.path.join(tmp, os.path.basename(path) + ".gz")
            bgzip(path, gz)
            srcs.append((name, gz))
    for name, path in srcs:
        if name == "gtf":
            golden(["--gtf", path, "--skip-unknown-contigs", *tables], "gencode_sample.jsonl", f"gtf {path}")
            golden(["--gtf", path, "--skip-unknown-contigs"], "gencode_sample.bare.jsonl", f"bare gtf {path}")
        else:
            golden(["--dbsnp", path], "dbsnp_sample.jsonl", f"dbsnp {path}")
    # What is left out on purpose is counted.
    r, s = dry_json("--gtf", gtf, "--skip-unknown-contigs", "--dbsnp", dbsnp)
    check(r.returncode == 0 and s and s["unknown_contig_lines"] == 3 and s["gtf_other_features"] == 2
          and s["dbsnp_par_rows"] == 1 and s["dbsnp_unplaced_rows"] == 1
          and s["documents"]["genes"] == 8 and s["documents"]["dbsnp"] == 8,
          f"skipped lines counted: {r.returncode} {s}")

    # Bad input: exit 3, file and line.
    with open(gtf) as f:
        g = f.read().splitlines()
    with open(dbsnp) as f:
        d = f.read().splitlines()

    def bad(name, lines, kind, line, text, extra=()):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = run("dump", "--dry-run", kind, path, *extra)
        check(r.returncode == 3, f"{name}: exit {r.returncode}, expected 3: {r.stderr}")
        check(f"{path}: line {line}:" in r.stderr, f"{name}: no 'file: line {line}:' in {r.stderr!r}")
        check(text in r.stderr, f"{name}: {text!r} not in {r.stderr!r}")
        return path

    gene4 = 3 + [i for i, l in enumerate(g[3:]) if "\tgene\t" in l][3]  # 0-based index of C1orf170
    bad("gtf_scaffold.gtf", g, "--gtf", 40, "unknown contig 'GL000192.1'")
    bad("gtf_columns.gtf", g[:5] + ["\t".join(g[5].split("\t")[:8])] + g[6:], "--gtf", 6,
        "found 8 tab-separated columns, expected 9")
    bad("gtf_no_gene_id.gtf", g[:4] + [g[4].replace('gene_id "', 'gene_idx "')] + g[5:], "--gtf", 5,
        "the transcript line has no gene_id attribute")
    bad("gtf_no_transcript_id.gtf", g[:6] + [g[6].replace("transcript_id", "transcript")] + g[7:], "--gtf",
        7, "the exon line has no transcript_id attribute")
    bad("gtf_start.gtf", g[:3] + [g[3].replace("\t11869\t", "\t11869x\t")] + g[4:], "--gtf", 4,
        "start '11869x' is not a position")
    bad("gtf_dup_gene.gtf", g[:gene4 + 1] + [g[3]] + g[gene4 + 1:], "--gtf", gene4 + 2,
        "duplicate gene id ENSG00000223972: line 4 of ", ("--skip-unknown-contigs",))
    bad("dbsnp_rsid.tsv", d[:2] + ["rs75062661\t1\t69510\t0"] + d[3:], "--dbsnp", 3,
        "rsid 'rs75062661' is not a number")
    bad("dbsnp_contig.tsv", d + ["33\tUn\t100\t0"], "--dbsnp", 11, "unknown contig 'Un'")
    bad("dbsnp_columns.tsv", d[:4] + ["12\t1"] + d[5:], "--dbsnp", 5, "expected at least 3")
    # Text that is not UTF-8 (found by fuzz_reference) would make invalid BSON.
    latin = os.path.join(tmp, "gtf_latin1.gtf")
    with open(latin, "wb") as f:
        f.write(("\n".join(g[:3] + [g[3].replace("DDX11L1", "DDX11L\xe9")]) + "\n").encode("latin-1"))
    r = run("dump", "--dry-run", "--gtf", latin)
    check(r.returncode == 3 and f"{latin}: line 4: the line is not valid UTF-8 text" in r.stderr,
          f"non-UTF-8 GTF line: {r.returncode} {r.stderr}")
    omim_bad = os.path.join(tmp, "omim_latin1.txt")
    with open(omim_bad, "wb") as f:
        f.write("ENSG00000186092\tENST00000335137\t1\tcaf\xe9\n".encode("latin-1"))
    r = run("dump", "--dry-run", *GTF_ARGS, "--omim", omim_bad)
    check(r.returncode == 3 and f"{omim_bad}: line 1: the line is not valid UTF-8 text" in r.stderr,
          f"non-UTF-8 OMIM row: {r.returncode} {r.stderr}")
    # A gene a table gives twice with different values: both lines named.
    canon = os.path.join(tmp, "canon_dup.txt")
    with open(canon, "w") as f:
        f.write(open(os.path.join(TD, "canonical_sample.txt")).read() + "ENSG00000186092\tENST00000999999\n")
    r = run("dump", "--dry-run", "--gtf", gtf, "--skip-unknown-contigs", "--canonical-transcripts", canon)
    check(r.returncode == 3 and f"{canon}: line 6: gene ENSG00000186092 again" in r.stderr
          and "than on line 2" in r.stderr, f"duplicate table row: {r.returncode} {r.stderr}")
    dbn = os.path.join(tmp, "dbnsfp_nohdr.txt")
    with open(dbn, "w") as f:
        f.write("\n".join(open(os.path.join(TD, "dbnsfp_genes_sample.txt")).read().splitlines()[1:]) + "\n")
    r = run("dump", "--dry-run", "--gtf", gtf, "--skip-unknown-contigs", "--dbnsfp-genes", dbn)
    check(r.returncode == 3 and "no Ensembl_gene column" in r.stderr, f"dbNSFP header: {r.returncode} {r.stderr}")
    r = run("dump", "--dry-run", "--omim", os.path.join(TD, "omim_sample.txt"))
    check(r.returncode == 2 and "give the GTF too" in r.stderr, f"a table without a GTF: {r.returncode} {r.stderr}")

    # The whole database as one dump: files, indexes, manifest, verify.
    out = os.path.join(tmp, "wholedb")
    r = run("dump", "--out", out, "--vcf", os.path.join(TD, "exac_sample.vcf"), "--coverage",
            os.path.join(TD, "coverage_sample.tsv"), "--gtf", gtf, "--skip-unknown-contigs", *tables,
            "--dbsnp", dbsnp, "--quiet")
    check(r.returncode == 0, f"whole dump: {r.returncode} {r.stderr}")
    db = os.path.join(out, "swefreq")
    want = {"genes": ["_id_", "gene_id_1", "gene_name_upper_1", "gene_name_1", "other_names_1", "xstart_1",
                      "xstop_1"],
            "transcripts": ["_id_", "transcript_id_1", "gene_id_1"],
            "exons": ["_id_", "exon_id_1", "transcript_id_1", "gene_id_1"],
            "dbsnp": ["_id_", "rsid_1", "xpos_1"], "metrics": ["_id_", "metric_1"]}
    for coll, names in want.items():
        meta = json.load(open(os.path.join(db, coll + ".metadata.json")))
        check([i["name"] for i in meta["indexes"]] == names, f"{coll} indexes {meta['indexes']}")
    man = json.load(open(os.path.join(db, "manifest.json")))
    check([s["kind"] for s in man["sources"]] == ["vcf", "coverage", "gtf", "canonical_transcripts", "omim",
                                                  "dbnsfp_genes", "dbsnp"], f"manifest kinds {man['sources']}")
    counts = {c["name"]: c["count"] for c in man["collections"]}
    check(counts == {"variants": 24, "base_coverage": 40, "genes": 8, "transcripts": 10, "exons": 16,
                     "dbsnp": 8, "metrics": 21}, f"manifest collections {counts}")
    check(man["options"].get("skip_unknown_contigs") is True and man["options"].get("unknown_contig_lines") == 3,
          f"manifest options {man['options']}")
    r = run("verify", "--dump", db, "--sources", "--json")
    check(r.returncode == 0, f"verify whole dump: {r.returncode} {r.stdout} {r.stderr}")
    ex = os.path.join(db, "exons.bson")
    data = bytearray(open(ex, "rb").read())
    data[-3] ^= 0x01
    open(ex, "wb").write(bytes(data))
    r = run("verify", "--dump", db)
    check(r.returncode == 5 and "exons" in r.stdout, f"verify after tampering exons: {r.returncode} {r.stdout}")


tmp = tempfile.mkdtemp(prefix="sfl_cli_")
try:
    # Golden documents, plain and bgzipped.
    cases = [
        (["--vcf", "exac_sample.vcf"], "exac_sample.jsonl"),
        (["--vcf", "exac_sample.vcf", "--histograms", "columns"], "exac_sample.columns.jsonl"),
        (["--vcf", "swegen_sample.vcf"], "swegen_sample.jsonl"),
        (["--vcf", "gnomad_sample.vcf", "--style", "gnomad"], "gnomad_sample.jsonl"),
        (["--vcf", "gnomad_v2.1_sample.vcf"], "gnomad_v2.1_sample.jsonl"),
        (["--vcf", "gnomad_v3.1_sample.vcf"], "gnomad_v3.1_sample.jsonl"),
        (["--vcf", "gnomad_v4.0_sample.vcf"], "gnomad_v4.0_sample.jsonl"),
        (["--vcf", "gnomad_v4.0_sample.vcf", "--vep-features", "enst"], "gnomad_v4.0_sample.enst.jsonl"),
        (["--vcf", "gnomad_r2.0_sample.vcf"], "gnomad_r2.0_sample.jsonl"),
        (["--vcf", "exac_sample.vcf", "--vep-features", "enst"], "exac_sample.enst.jsonl"),
        (["--vcf", "exac_sample.vcf", "--vep-features", "all"], "exac_sample.jsonl"),
        (["--vcf", "gnomad_v2.1_sample.vcf", "--csq-field", "vep", "--genome", "GRCh37"], "gnomad_v2.1_sample.jsonl"),
        (["--vcf", "gnomad_v4.0_sample.vcf", "--csq-format",
          open(os.path.join(TD, "gnomad_v4.0_sample.vcf")).read().split("Format: ")[1].split('"')[0]
          .replace("|SOURCE|", "|SOURCE|SIFT|PolyPhen|")], "gnomad_v4.0_sample.jsonl"),
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
            # A VCF's run ends with its metrics documents (compared with
            # the reference's, computed with numpy, where it has them).
            metrics = [x for x in actual if [k for k, _ in x] == ["_id", "metric", "mids", "hist"]]
            actual = actual[:len(actual) - len(metrics)]
            check(a[0] != "--vcf" or metrics, f"{expected}: a VCF run writes metrics")
            mexp = os.path.join(TD, "expected", expected.split(".jsonl")[0] + ".metrics.jsonl")
            if os.path.exists(mexp):
                problems = []
                exp_m = golden_compare.load(mexp)
                check(len(metrics) == len(exp_m), f"{mexp}: {len(metrics)} docs, expected {len(exp_m)}")
                for i, (x, y) in enumerate(zip(metrics, exp_m)):
                    golden_compare.diff(x, y, f"metrics doc {i + 1}", problems)
                check(not problems, f"{mexp}: " + "; ".join(problems[:5]))
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
        "duplicate_info_key.vcf": (15, "INFO key AC appears twice"),
        "gnomad_v40_47_fields.vcf": (194, "vep entry 1 has 47 fields"),
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
    # The metrics count only the documents written: a line the in-order
    # stage skips (a duplicate, found after its batch was parsed and its
    # metrics values taken) adds nothing, at any thread count. Its QUAL
    # (95.1) and AC (1: a singleton) would show in site_quality and
    # binned_singleton.
    dup_path = os.path.join(TD, "bad", "duplicate_variant.vcf")
    with open(dup_path) as f:
        dup_lines = f.read().splitlines()
    without = write_vcf("without_dup.vcf", [l for l in dup_lines if l.startswith("#")],
                        [l for l in dup_lines if not l.startswith("#") and "\t874762\t.\tACT\tAT\t" not in l])
    def metrics_docs(*args):
        r = run("dump", "--format", "jsonl", *args)
        check(r.returncode == 0, f"metrics run {args}: exit {r.returncode} {r.stderr}")
        return [l for l in r.stdout.splitlines() if '"metric"' in l]
    ref = metrics_docs("--vcf", without)
    check(not any('"binned_singleton"' in l for l in ref) and any('"site_quality"' in l for l in ref),
          f"reference metrics: no singleton without the duplicate line {ref[:1]}")
    for th in ("1", "2"):
        got = metrics_docs("--threads", th, "--max-errors", "1", "--chunk-size", "4096", "--vcf", dup_path)
        check(got == ref, f"metrics with the duplicate skipped (threads {th}) equal those without it")
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
    check(s["documents"] == {"variants": 24, "base_coverage": 40, "metrics": 21}, f"dump summary {s}")
    check("\r" not in r.stderr, "no progress drawn when stderr is not a terminal")
    for f in ["variants.bson", "variants.metadata.json", "base_coverage.bson",
              "base_coverage.metadata.json", "manifest.json"]:
        check(os.path.exists(os.path.join(out, "exac", f)), f"dump has {f}")
    meta = json.load(open(os.path.join(out, "exac", "variants.metadata.json")))
    names = [i["name"] for i in meta["indexes"]]
    check(names == ["_id_", "xpos_1", "xstart_1", "xstop_1", "rsid_1", "genes_1", "transcripts_1",
                    "xpos_1_ref_1_alt_1"], f"indexes {names}")
    man = json.load(open(os.path.join(out, "exac", "manifest.json")))
    check(man["format"] == "swefreq-load-manifest" and man["format_version"] == 2, "manifest format")
    for src in man["sources"]:
        want = hashlib.sha256(open(src["path"], "rb").read()).hexdigest()
        check(src.get("sha256") == want and "xxh3_128" not in src,
              f"source {src['path']}: sha256 {src.get('sha256')}, hashlib says {want}")
    # The format-2 digest of a collection, recomputed from the dump's bytes
    # without swefreq-load (hashlib and `openssl enc -chacha20`).
    cov = [c for c in man["collections"] if c["name"] == "base_coverage"][0]
    check(cov["digest"] == digest_kat.digest_text(
              open(os.path.join(out, "exac", "base_coverage.bson"), "rb").read()),
          f"base_coverage digest as hashlib and openssl compute it: {cov['digest'][:60]}...")
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
    check("forgery-resistant" not in r.stdout, f"no format-1 warning on a format-2 dump: {r.stdout}")

    # A format-1 dump (written by the version before format 2, from
    # testdata/coverage_sample.tsv) still verifies, with format 1's own
    # hashes, and every report says it is not forgery-resistant.
    root = os.path.dirname(os.path.abspath(TD))
    f1 = os.path.join(TD, "format1_dump")
    r = run("verify", "--dump", f1, "--sources", cwd=root)
    check(r.returncode == 0 and "verify: OK" in r.stdout and
          "not forgery-resistant (format 1)" in r.stdout,
          f"format-1 dump verifies, with the warning: {r.returncode} {r.stdout} {r.stderr}")
    r = run("verify", "--dump", f1, "--sources", "--json", cwd=root)
    rep = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    check(r.returncode == 0 and rep.get("ok") is True and rep.get("manifest_format_version") == 1
          and rep.get("forgery_resistant") is False
          and any("not forgery-resistant (format 1)" in w for w in rep.get("warnings", []))
          and rep["sources"][0].get("expected_xxh3_128") == "6f858ae3f7a5c88ede0ed22e4f2c22d5"
          and rep["collections"][0]["expected_digest"] == "a54c4c3e412c5fc75b583f20613fc755",
          f"format-1 --json report: {r.returncode} {r.stdout}")
    f1t = os.path.join(tmp, "format1_tampered")
    shutil.copytree(f1, f1t)
    bs1 = os.path.join(f1t, "swefreq", "base_coverage.bson")
    data = bytearray(open(bs1, "rb").read())
    data[-3] ^= 0x01
    open(bs1, "wb").write(bytes(data))
    r = run("verify", "--dump", f1t)
    check(r.returncode == 5 and "digest differs" in r.stdout and
          "not forgery-resistant (format 1)" in r.stdout,
          f"a changed format-1 dump is still caught: {r.returncode} {r.stdout}")
    r = run("verify", "--dump", out, "--db", "exac", "--json")
    rep = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    check(rep.get("manifest_format_version") == 2 and rep.get("forgery_resistant") is True
          and rep.get("warnings") == [], f"format-2 --json report: {r.stdout[:300]}")

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

    # A manifest that cannot be read is said so, not "not JSON".
    r = run("verify", "--dump", out, "--db", "exac", "--manifest", tmp)
    check(r.returncode == 3 and "cannot read the manifest" in r.stderr,
          f"unreadable manifest: {r.returncode} {r.stderr}")

    # A summary or report that cannot reach stdout is exit 4, never 0.
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            for args in (["dump", "--dry-run", "--json", "--vcf", os.path.join(TD, "exac_sample.vcf")],
                         ["verify", "--dump", out, "--db", "exac", "--json"]):
                p = subprocess.run([TOOL, *args], stdout=full, stderr=subprocess.PIPE, text=True)
                check(p.returncode == 4 and "cannot write to standard output" in p.stderr,
                      f"{args[0]} with stdout full: exit {p.returncode} {p.stderr}")

    # Usage.
    for args in (["--help"], ["--version"], ["dump", "--help"], ["verify", "--help"]):
        r = run(*args)
        check(r.returncode == 0 and r.stdout, f"{args}: exit {r.returncode}")
    check("Exit codes" in run("--help").stdout, "--help lists exit codes")
    for args in ([], ["frobnicate"], ["dump"], ["dump", "--dry-run"], ["dump", "--style", "x", "--dry-run"],
                 ["dump", "--threads", "-1", "--dry-run"], ["verify"]):
        r = run(*args)
        check(r.returncode == 2, f"{args}: exit {r.returncode}, expected 2")
    gnomad_tests()
    wholedb_tests()
finally:
    shutil.rmtree(tmp, ignore_errors=True)

finish("cli_test")
