#!/usr/bin/env python3
"""Self-checks of the reference implementation (convert.py).

Run with `python3 -m pytest tests/reference` or `python3 tests/reference/test_convert.py`.
"""

import io
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTDATA = os.path.join(ROOT, "testdata")
sys.path.insert(0, HERE)

import convert  # noqa: E402


def test_minimal_representation_schema_examples():
    mr = convert.minimal_representation
    assert mr(100, "A", "T") == (100, "A", "T")
    assert mr(100, "ATG", "AG") == (100, "AT", "A")
    assert mr(100, "CTT", "CTTT") == (100, "C", "CT")
    assert mr(100, "AAC", "ATC") == (101, "A", "T")


def test_minimal_representation_more():
    mr = convert.minimal_representation
    assert mr(5, "CTT", "C") == (5, "CTT", "C")
    assert mr(5, "CTT", "CT") == (5, "CT", "C")
    assert mr(5, "GAAA", "GA") == (5, "GAA", "G")
    assert mr(5, "GAAA", "G") == (5, "GAAA", "G")
    assert mr(5, "ACT", "GCT") == (5, "A", "G")
    assert mr(5, "ACT", "ATT") == (6, "C", "T")
    assert mr(5, "CT", "TT") == (5, "C", "T")
    assert mr(5, "TG", "TGG") == (5, "T", "TG")


def test_vep_allele_rule():
    va = convert.vep_alleles
    # REF and every ALT share the first base: drop it, empty -> '-'
    assert va("CTT", ["C", "CT"]) == ["-", "T"]
    assert va("GAAA", ["GA", "G"]) == ["A", "-"]
    assert va("C", ["CCCCT"]) == ["CCCT"]
    assert va("CTG", ["C"]) == ["-"]
    # SNVs (and mixed sites where the first base differs) are left as is
    assert va("A", ["G", "C"]) == ["G", "C"]
    assert va("CT", ["C", "TT"]) == ["C", "TT"]
    assert va("ACT", ["A", "GCT", "ATT"]) == ["A", "GCT", "ATT"]


def test_xpos_codes():
    x = convert.xpos
    assert x("1", 12345) == 1000012345
    assert x("chr1", 12345) == 1000012345
    assert x("22", 1) == 22000000001
    assert x("X", 100) == 23000000100
    assert x("chrX", 100) == 23000000100
    assert x("Y", 100) == 24000000100
    assert x("chrY", 100) == 24000000100
    assert x("MT", 3308) == 25000003308
    assert x("chrM", 3308) == 25000003308
    assert x("M", 3308) == 25000003308
    try:
        x("GL000192.1", 1)
    except KeyError:
        pass
    else:
        raise AssertionError("unknown contig accepted")


def test_doubles():
    d = convert.dbl
    z = d(-0.0)
    assert z == 0.0 and math.copysign(1.0, z) == 1.0
    assert d(float("inf")) is None
    assert d(float("-inf")) is None
    assert d(float("nan")) is None
    assert d(-1.5) == -1.5
    enc = convert.encode
    assert enc(1.0) == "1.0"
    assert enc(1e-05) == "1e-05"
    assert enc(-12.34) == "-12.34"
    assert enc(5) == "5"
    assert enc(25000003308) == "25000003308"
    assert enc(None) == "null"
    assert enc({"a": [1, 2.5, None, "x"]}) == '{"a":[1,2.5,null,"x"]}'


def _header(ids):
    h = convert.Header()
    for i in ids:
        h.add_info({"ID": i, "Number": "A", "Type": "Integer", "Description": "x"})
    return h


def test_populations_exac():
    h = _header(["AC", "AC_AFR", "AC_AMR", "AC_Adj", "AC_Hom", "AC_Hemi", "AC_Het", "AC_NFE",
                 "AC_MALE", "AC_FEMALE", "AC_POPMAX", "AC_CONSANGUINEOUS", "AC_raw", "AC_XYZ",
                 "AN", "AN_AFR", "AN_AMR", "AN_Adj", "AN_NFE", "AN_MALE", "AN_FEMALE",
                 "AN_POPMAX", "AN_CONSANGUINEOUS", "AN_raw", "AN_XYZ"])
    assert convert.detect_style(h) == "exac"
    assert convert.populations(h, "exac") == [
        ("AFR", "African"), ("AMR", "Latino"), ("NFE", "European (Non-Finnish)"), ("XYZ", "XYZ")]
    assert convert.populations(h, "swegen") == []


def test_populations_gnomad():
    h = _header(["AC", "AN", "nhomalt", "AC_afr_male", "AN_afr_male", "AC_XX", "AN_XX",
                 "AC_XY", "AN_XY", "AC_male", "AN_male", "AC_female", "AN_female",
                 "AC_raw", "AN_raw", "AC_popmax", "AN_popmax", "AC_sas", "AC_afr", "AC_ami",
                 "AC_asj", "AN_afr", "AN_ami", "AN_sas"])  # AC_asj has no AN_asj
    assert convert.detect_style(h) == "gnomad"
    assert convert.populations(h, "gnomad") == [
        ("sas", "South Asian"), ("afr", "African"), ("ami", "Amish")]


def test_populations_gnomad_words():
    h = _header(["AC", "AN", "nhomalt", "AC_grpmax", "AN_grpmax", "AC_joint", "AN_joint",
                 "AC_Male", "AN_Male", "AC_POPMAX", "AN_POPMAX", "AC_faf95", "AN_faf95",
                 "AC_mid", "AN_mid", "AC_remaining", "AN_remaining", "AC_xx", "AN_xx"])
    assert convert.populations(h, "gnomad") == [
        ("mid", "Middle Eastern"), ("remaining", "Remaining")]
    h = _header(["AC", "AN", "Hom", "AC_AFR", "AN_AFR", "AC_Male", "AN_Male"])
    assert convert.detect_style(h) == "gnomad2"
    assert convert.populations(h, "gnomad2") == [("AFR", "African")]


def test_vep_entries_continue_over_commas():
    e = convert.split_entries("A|x|GERP:-1,BP:2,A|y|")
    assert e == [["A", "x", "GERP:-1,BP:2"], ["A", "y", ""]]
    f = convert.gnomad_v40_entries()
    assert len(convert.GNOMAD_V40_HEADER) == 46 and len(f) == 48
    assert f[f.index("SOURCE") + 1:f.index("SOURCE") + 4] == ["SIFT", "PolyPhen", "DOMAINS"]


def test_vep_field_by_description():
    h = convert.Header()
    h.add_info({"ID": "vep", "Number": ".", "Type": "String", "Description":
                "Consequence annotations from Ensembl VEP. Format: Allele|ALLELE_NUM|LoF_info."})
    assert h.csq_field() == "vep"
    assert h.csq_fields("vep") == ["Allele", "ALLELE_NUM", "LoF_info"]
    assert h.csq_fields("vep", "A|B") == ["A", "B"]


def test_pars():
    op = convert.outside_par
    assert op("chrX", 10000, "GRCh38") and not op("chrX", 10001, "GRCh38")
    assert not op("chrX", 2781479, "GRCh38") and op("chrX", 2781480, "GRCh38")
    assert op("X", 60000, "GRCh37") and not op("X", 60001, "GRCh37")
    assert not op("Y", 59363566, "GRCh37") and op("Y", 59363567, "GRCh37")
    assert not op("chr1", 5, "GRCh38")


def test_style_detection_of_samples():
    for name, style in [("exac_sample.vcf", "exac"), ("swegen_sample.vcf", "swegen"),
                        ("gnomad_sample.vcf", "gnomad")]:
        h = convert.Header()
        for line in convert.lines_of(os.path.join(TESTDATA, name)):
            m = convert.INFO_RE.match(line)
            if m:
                h.add_info(convert.parse_info_meta(m.group(1)))
        assert convert.detect_style(h) == style, name


def _run(fn, *args, **kw):
    buf = io.StringIO()
    fn(*args, out=buf, **kw)
    return buf.getvalue()


def _docs(text):
    return [json.loads(l) for l in text.splitlines()]


def test_exac_sample_details():
    docs = _docs(_run(convert.convert_vcf, os.path.join(TESTDATA, "exac_sample.vcf")))
    by = {d["_id"]: d for d in docs}
    d = by["1-874763-C-T"]
    assert d["pos"] == 874763 and d["xpos"] == 1000874763
    assert d["orig_alt_alleles"] == ["1-874762-ACT-A", "1-874762-A-G", "1-874763-C-T"]
    assert by["1-874762-A-G"]["filter"] == "AC_Adj0"
    assert by["1-878314-G-C"]["filter"] == "VQSRTrancheSNP99.60to99.80"  # AC_Adj=0, not PASS
    assert by["1-876499-CT-C"]["xstop"] == 1000876498
    assert by["1-69496-G-A"]["site_quality"] is None
    assert by["1-879317-C-T"]["hom_count"] is None
    assert "hemi_count" in by["X-31140036-G-A"] and "pop_hemis" in by["X-31140036-G-A"]
    assert "hemi_count" not in by["Y-2655180-G-A"]
    assert list(by["1-13372-G-C"]["pop_acs"]) == [
        "African", "Latino", "East Asian", "European (Finnish)", "European (Non-Finnish)",
        "Other", "South Asian"]
    qm = by["1-69428-T-G"]["quality_metrics"]
    assert qm["BaseQRankSum"] == 0.0 and qm["QD"] == 0.1
    assert by["1-876499-CTT-C"]["quality_metrics"]["VQSLOD"] == -12.34
    # Feature_type filter: the RegulatoryFeature annotation is kept in
    # vep_annotations but not in genes/transcripts
    g = by["1-13372-G-C"]
    assert len(g["vep_annotations"]) == 5
    assert g["genes"] == ["ENSG00000223972", "ENSG00000227232"]
    assert "ENSR00001576074" not in g["transcripts"]


def test_swegen_sample_details():
    docs = _docs(_run(convert.convert_vcf, os.path.join(TESTDATA, "swegen_sample.vcf")))
    by = {d["_id"]: d for d in docs}
    assert by["chr1-762589-G-C"]["allele_freq"] is None  # AN=0
    assert by["chr1-762589-G-C"]["filter"] == "PASS"     # no AC_Adj0 outside ExAC
    assert [a["Allele"] for a in by["chr1-865545-CTG-C"]["vep_annotations"]] == ["-"] * 3
    assert [a["Allele"] for a in by["chr1-871334-GAAA-G"]["vep_annotations"]] == ["-"]
    assert [a["Allele"] for a in by["chr1-874950-C-T"]["vep_annotations"]] == ["TT"]
    assert by["chr1-13380-C-G"]["site_quality"] == 36.0
    assert by["chrM-16519-T-C"]["genes"] == []
    assert by["chr1-69511-A-G"]["pop_acs"] == {}


def test_expected_files_are_current():
    cases = [
        ("exac_sample.jsonl", convert.convert_vcf, "exac_sample.vcf", {}),
        ("exac_sample.columns.jsonl", convert.convert_vcf, "exac_sample.vcf", {"histograms": "columns"}),
        ("swegen_sample.jsonl", convert.convert_vcf, "swegen_sample.vcf", {}),
        ("gnomad_sample.jsonl", convert.convert_vcf, "gnomad_sample.vcf", {}),
        ("coverage_sample.jsonl", convert.convert_coverage, "coverage_sample.tsv", {}),
        ("coverage_sample.step10.jsonl", convert.convert_coverage, "coverage_sample.tsv", {"step": 10}),
    ]
    for exp, fn, inp, kw in cases:
        got = _run(fn, os.path.join(TESTDATA, inp), **kw)
        with open(os.path.join(TESTDATA, "expected", exp)) as f:
            assert f.read() == got, exp


def test_coverage():
    docs = _docs(_run(convert.convert_coverage, os.path.join(TESTDATA, "coverage_sample.tsv"), step=10))
    assert [d["pos"] for d in docs] == [69090, 69100, 2699520, 2699530]
    assert list(docs[0]) == ["_id", "xpos", "pos", "mean", "median",
                             "1", "5", "10", "15", "20", "25", "30", "50", "100"]
    assert docs[2]["_id"] == 23002699520


if __name__ == "__main__":
    n = 0
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            n += 1
    print("ok: %d tests" % n)
