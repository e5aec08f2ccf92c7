#!/usr/bin/env python3
"""Issue 21's converter and header cases, end to end.

usage: parse_test.py SWEFREQ_LOAD TESTDATA_DIR

Each case feeds the command line a crafted input and checks the exit code,
the message (file, line, what is wrong) and, where documents are written,
the documents themselves against an independent reading: the Python
reference (tests/reference/convert.py) or the input's own text. Every
document read back is walked for repeated keys at any depth.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "reference"))
import golden_compare  # noqa: E402

TOOL, TD = sys.argv[1], sys.argv[2]
from testlib import check, finish  # noqa: E402


def run(*args, **kw):
    return subprocess.run([TOOL, *args], capture_output=True, text=True, **kw)


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sample_lines(name):
    with open(os.path.join(TD, name)) as f:
        lines = f.read().splitlines()
    return [l for l in lines if l.startswith("#")], [l for l in lines if not l.startswith("#")]


def write_vcf(name, header, data):
    return write(name, "\n".join(header + data) + "\n")


def dry_json(*args):
    r = run("dump", "--dry-run", "--json", *args)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def docs(*args):
    """The documents of a jsonl dump (pairs lists, as golden_compare reads
    them), each checked for repeated keys."""
    r = run("dump", "--format", "jsonl", *args)
    out = [json.loads(l, object_pairs_hook=lambda p: p) for l in r.stdout.splitlines() if l.strip()]
    for i, d in enumerate(out):
        rep = golden_compare.repeated_keys(d, f"doc {i + 1}")
        check(not rep, f"{args}: repeated keys {rep}")
    return r, out


def field(doc, key):
    for k, v in doc:
        if k == key:
            return v
    raise KeyError(key)


EXAC_HDR = [
    "##fileformat=VCFv4.1",
    '##INFO=<ID=AC_Adj,Number=A,Type=Integer,Description="x">',
    '##INFO=<ID=AN_Adj,Number=1,Type=Integer,Description="x">',
    '##INFO=<ID=AC_Hom,Number=A,Type=Integer,Description="x">',
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
    'Format: Allele|Gene|Feature|ALLELE_NUM">',
]
CHROM = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"


def pop_header(codes):
    h = list(EXAC_HDR)
    for c in codes:
        h += [f'##INFO=<ID=AC_{c},Number=A,Type=Integer,Description="x">',
              f'##INFO=<ID=AN_{c},Number=1,Type=Integer,Description="x">',
              f'##INFO=<ID=Hom_{c},Number=A,Type=Integer,Description="x">']
    return h + [CHROM]


def item2_population_names():
    """Two codes with one display name: refused at the header."""
    for a, b in (("OTH", "oth"), ("OTH", "Other"), ("AFR", "African")):
        line = (f"1\t100\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;AC_{a}=1;AN_{a}=4;Hom_{a}=0;"
                f"AC_{b}=3;AN_{b}=6;Hom_{b}=0;CSQ=G|ENSG1|ENST1|1")
        path = write_vcf(f"pop_{a}_{b}.vcf", pop_header([a, b]), [line])
        r = run("dump", "--dry-run", "--vcf", path)
        check(r.returncode == 3 and f"AC_{a}" in r.stderr and f"AC_{b}" in r.stderr and path in r.stderr,
              f"item 2 {a}/{b}: exit {r.returncode} {r.stderr}")
    # Distinct names still load, each population once.
    line = ("1\t100\t.\tA\tG\t10\tPASS\tAC_Adj=4;AN_Adj=10;AC_Hom=0;AC_OTH=1;AN_OTH=4;Hom_OTH=0;"
            "AC_FOO=3;AN_FOO=6;Hom_FOO=0;CSQ=G|ENSG1|ENST1|1")
    r, d = docs("--vcf", write_vcf("pop_ok.vcf", pop_header(["OTH", "FOO"]), [line]))
    check(r.returncode == 0 and field(d[0], "pop_acs") == [("Other", 1), ("FOO", 3)],
          f"item 2 distinct names: {r.returncode} {r.stderr} {d[:1]}")


def reference_docs(kind, path, *opts):
    """The Python reference's documents for `path` (pairs lists)."""
    r = subprocess.run([sys.executable, os.path.join(HERE, "reference", "convert.py"), kind, path, *opts],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"reference on {path}: {r.stderr}")
    return [json.loads(l, object_pairs_hook=lambda p: p) for l in r.stdout.splitlines() if l.strip()]


def same_docs(actual, expected, what):
    problems = []
    check(len(actual) == len(expected), f"{what}: {len(actual)} documents, reference {len(expected)}")
    for i, (a, e) in enumerate(zip(actual, expected)):
        golden_compare.diff(a, e, f"doc {i + 1}", problems)
    check(not problems, f"{what}: " + "; ".join(problems[:5]))


def variants(d):
    return [x for x in d if [k for k, _ in x][:2] != ["_id", "metric"]]


def item7_empty_values():
    """'CSQ=.', a bare CSQ flag and 'AC_Adj=.,.' count as missing."""
    lines = ["1\t100\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;CSQ=.",
             "1\t200\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;CSQ",
             "1\t300\t.\tA\tG,T\t10\tPASS\tAC_Adj=.,.;AN_Adj=10;AC_Hom=0,0;CSQ=G|ENSG1|ENST1|1",
             "1\t400\t.\tA\tG\t10\tPASS\tAC_Adj=2;AN_Adj=.;AC_Hom=0;CSQ=G|ENSG1|ENST1|1",
             "1\t500\t.\tA\tG\t10\tPASS\tAC_Adj=2;AN_Adj=10;AC_Hom=0"]
    path = write_vcf("empty_values.vcf", EXAC_HDR + [CHROM], lines)
    r, s = dry_json("--vcf", path)
    check(r.returncode == 0 and s and s["missing_fields"] == {"CSQ": 3, "AC_Adj": 1, "AN_Adj": 1},
          f"item 7 missing_fields: {r.returncode} {r.stderr} {s and s['missing_fields']}")
    # The documents are the reference's (null counts, no annotations); the
    # bare flag is left out there (the reference reads a flag as no list).
    r, d = docs("--vcf", write_vcf("empty_values_ref.vcf", EXAC_HDR + [CHROM], lines[:1] + lines[2:]))
    same_docs(variants(d), reference_docs("vcf", os.path.join(tmp, "empty_values_ref.vcf")), "item 7 documents")


GTF_GENE = ('chr1\tHAVANA\tgene\t11869\t14412\t.\t+\t.\tgene_id "ENSG00000223972.4"; '
            'gene_type "pseudogene"; gene_name "DDX11L1;AS1"; level 2;')
GTF_TX = ('chr1\tHAVANA\ttranscript\t11869\t14409\t.\t+\t.\tgene_id "ENSG00000223972.4"; '
          'note "a; transcript_id ENST0"; transcript_id "ENST00000456328.2"; level 2;')
GTF_EXON = ('chr1\tHAVANA\texon\t11869\t12227\t.\t+\t.\tgene_id "ENSG00000223972.4"; '
            'transcript_id "ENST00000456328.2"; exon_number 1; tag "basic; mane";')


def item5_gtf_quotes():
    """';' inside a quoted GTF value is text; an unterminated quote is an
    error with file and line."""
    path = write("quotes.gtf", "\n".join([GTF_GENE, GTF_TX, GTF_EXON]) + "\n")
    r, d = docs("--gtf", path)
    check(r.returncode == 0, f"item 5: exit {r.returncode} {r.stderr}")
    check(field(d[0], "gene_name") == "DDX11L1;AS1", f"item 5 gene_name {d[:1]}")
    same_docs(d, reference_docs("gtf", path), "item 5 documents")
    bad = GTF_EXON.replace('tag "basic; mane";', 'tag "basic; mane;')
    path = write("unterminated.gtf", "\n".join([GTF_GENE, GTF_TX, bad]) + "\n")
    r = run("dump", "--dry-run", "--gtf", path)
    check(r.returncode == 3 and f"{path}: line 3:" in r.stderr and "closing" in r.stderr,
          f"item 5 unterminated quote: {r.returncode} {r.stderr}")


def item3_versioned_gene_tables():
    """Versioned gene ids in the tables join like unversioned ones; rows
    that join nothing are counted; a table that joins nothing is refused."""
    gtf = os.path.join(TD, "gencode_sample.gtf")
    names = {"--canonical-transcripts": "canonical_sample.txt", "--omim": "omim_sample.txt",
             "--dbnsfp-genes": "dbnsfp_genes_sample.txt"}
    versioned = []
    for opt, name in names.items():
        text = open(os.path.join(TD, name)).read()
        # ENSG00000186092 -> ENSG00000186092.7, ENST... -> ENST....3
        import re
        text = re.sub(r"(ENS[GT]\d{11})", r"\1.7", text)
        versioned += [opt, write("v_" + name, text)]
    plain = [x for opt, name in names.items() for x in (opt, os.path.join(TD, name))]
    r, d = docs("--gtf", gtf, "--skip-unknown-contigs", *versioned)
    check(r.returncode == 0, f"item 3: exit {r.returncode} {r.stderr}")
    exp = golden_compare.load(os.path.join(TD, "expected", "gencode_sample.jsonl"))
    same_docs(d, exp, "item 3 versioned tables give the golden documents")
    check(any(field(x, "_id") == "ENSG00000186092" and ("canonical_transcript", "ENST00000335137") in x
              for x in d), "item 3: canonical transcript without version")
    _, s_plain = dry_json("--gtf", gtf, "--skip-unknown-contigs", *plain)
    r, s = dry_json("--gtf", gtf, "--skip-unknown-contigs", *versioned)
    tj = s and s.get("gene_tables")
    check(tj and [t["kind"] for t in tj] == ["canonical_transcripts", "omim", "dbnsfp_genes"]
          and [(t["rows"], t["unjoined_rows"]) for t in tj]
          == [(t["rows"], t["unjoined_rows"]) for t in s_plain["gene_tables"]]
          and all(t["rows"] > t["unjoined_rows"] for t in tj),
          f"item 3 summary gene_tables: {tj} vs {s_plain and s_plain.get('gene_tables')}")
    # A row whose gene is not in the GTF: counted, warned, in the manifest.
    extra = write("canonical_extra.txt", open(os.path.join(TD, "canonical_sample.txt")).read()
                  + "ENSG99999999999.1\tENST99999999999.1\n")
    r, s = dry_json("--gtf", gtf, "--skip-unknown-contigs", "--canonical-transcripts", extra)
    base = [t for t in s_plain["gene_tables"] if t["kind"] == "canonical_transcripts"][0]
    t = s and s["gene_tables"][0]
    check(r.returncode == 0 and t and t["rows"] == base["rows"] + 1
          and t["unjoined_rows"] == base["unjoined_rows"] + 1
          and any(extra in w and "do" in w and "not have" in w for w in s["warnings"]),
          f"item 3 unjoined row counted: {r.returncode} {s and s['gene_tables']} {s and s['warnings']}")
    r = run("dump", "--quiet", "--out", os.path.join(tmp, "d3"), "--gtf", gtf, "--skip-unknown-contigs",
            "--canonical-transcripts", extra)
    man = json.load(open(os.path.join(tmp, "d3", "swefreq", "manifest.json")))
    src = [x for x in man["sources"] if x["kind"] == "canonical_transcripts"]
    check(r.returncode == 0 and src and src[0].get("unjoined_rows") == t["unjoined_rows"]
          and "unjoined_rows" not in man["sources"][0], f"item 3 manifest: {r.stderr} {man['sources']}")
    # A table none of whose rows joins: refused.
    none = write("canonical_none.txt", "ENSG99999999999.1\tENST99999999999.1\nENSG99999999998\tENST9\n")
    r = run("dump", "--dry-run", "--gtf", gtf, "--skip-unknown-contigs", "--canonical-transcripts", none)
    check(r.returncode == 3 and none in r.stderr and "none of its 2 rows" in r.stderr,
          f"item 3 nothing joins: {r.returncode} {r.stderr}")


def item6_undeclared_and_no_genes():
    """Population keys the header does not declare are counted per code;
    a GTF of left-out features only is refused as empty."""
    lines = ["1\t100\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;AC_AFR=1;AN_AFR=4;Hom_AFR=0;"
             "AC_XYZ=1;AN_XYZ=3;CSQ=G|ENSG1|ENST1|1",
             "1\t200\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;AC_AFR=1;AN_AFR=4;Hom_AFR=0;"
             "AC_XYZ=2;AC_ABC=1;AC_MALE=1;CSQ=G|ENSG1|ENST1|1",
             "1\t300\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;AC_AFR=1;AN_AFR=4;Hom_AFR=0;"
             "CSQ=G|ENSG1|ENST1|1"]
    path = write_vcf("undeclared.vcf", pop_header(["AFR"]), lines)
    r, s = dry_json("--vcf", path)
    check(r.returncode == 0 and s and s.get("undeclared_populations") == {"XYZ": 2, "ABC": 1}
          and sum("'XYZ'" in w for w in s["warnings"]) == 1,
          f"item 6 undeclared: {r.returncode} {r.stderr} {s and s.get('undeclared_populations')}")
    r = run("dump", "--dry-run", "--vcf", path)
    check("undeclared population XYZ: 2" in r.stderr, f"item 6 text summary: {r.stderr}")
    r, d = docs("--vcf", path)
    same_docs(variants(d), reference_docs("vcf", path), "item 6 documents")
    # A refused line adds nothing (--max-errors 1: the bad POS line).
    bad = lines + ["1\tx\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;AC_QQQ=1"]
    r, s = dry_json("--max-errors", "1", "--vcf", write_vcf("undeclared_bad.vcf", pop_header(["AFR"]), bad))
    check(r.returncode == 0 and s and s.get("undeclared_populations") == {"XYZ": 2, "ABC": 1},
          f"item 6 refused line: {r.returncode} {s and s.get('undeclared_populations')}")
    # A GTF of start_codon lines only: no records.
    only = GTF_GENE.replace("\tgene\t", "\tstart_codon\t")
    path = write("only_codons.gtf", only + "\n" + only.replace("11869", "11870") + "\n")
    r = run("dump", "--dry-run", "--gtf", path)
    check(r.returncode == 3 and path in r.stderr and "no records" in r.stderr and "--allow-empty" in r.stderr,
          f"item 6 GTF without genes: {r.returncode} {r.stderr}")
    r = run("dump", "--dry-run", "--allow-empty", "--gtf", path)
    check(r.returncode == 0, f"item 6 GTF without genes, --allow-empty: {r.returncode} {r.stderr}")


def item4_12_headers():
    """Coverage column names; a second coverage header line; a first data
    line over 64 MiB."""
    row = "1\t69085\t27.54\t27\t1\n"
    for header, col, want in (("#pos\tchrom\tmean\tmedian\t1", 1, "chrom"),
                              ("#chrom\tposition\tmean\tmedian\t1", 2, "pos"),
                              ("#CHROM\tpos\tmean\tmedian\t1", 1, "chrom"),
                              ("#chrom\tpos\tmean\tchrom\t1", 4, None)):
        path = write("cov_cols.tsv", header + "\n" + row)
        r = run("dump", "--dry-run", "--coverage", path)
        check(r.returncode == 3 and f"{path}: line 1: header column {col}" in r.stderr
              and (want is None or f"expected '{want}'" in r.stderr),
              f"item 4 {header!r}: {r.returncode} {r.stderr}")
    path = write("cov_ok.tsv", "#chrom\tpos\tmean\tmedian\t1\n" + row)
    r, d = docs("--coverage", path)
    same_docs(d, reference_docs("coverage", path), "item 4 coverage documents")
    path = write("cov_two_headers.tsv", "#chrom\tpos\tmean\tmedian\t1\n#chrom\tpos\tmean\tmedian\t1\n" + row)
    r = run("dump", "--dry-run", "--coverage", path)
    check(r.returncode == 3 and f"{path}: line 2: a second header line" in r.stderr
          and "after the first data line" not in r.stderr, f"item 12 coverage second header: {r.returncode} {r.stderr}")
    # A '#' line later in the data is after the first data line: said so.
    path = write("cov_late_header.tsv", "#chrom\tpos\tmean\tmedian\t1\n" + row + "#x\n")
    r = run("dump", "--dry-run", "--coverage", path)
    check(r.returncode == 3 and f"{path}: line 3: a header line ('#...') after the first data line" in r.stderr,
          f"item 12 late header: {r.returncode} {r.stderr}")
    # A first data line over 64 MiB loads as it does later in the file.
    big = "1\t100\t.\tA\tG\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;CSQ=G|ENSG1|ENST1|1;PAD=" + "x" * (65 << 20)
    small = "1\t200\t.\tA\tT\t10\tPASS\tAC_Adj=1;AN_Adj=10;AC_Hom=0;CSQ=T|ENSG1|ENST1|1"
    for name, lines in (("big_first.vcf", [big, small]), ("big_second.vcf", [small.replace("200", "50"), big])):
        path = write_vcf(name, EXAC_HDR + ['##INFO=<ID=PAD,Number=1,Type=String,Description="x">', CHROM], lines)
        r, d = docs("--vcf", path)
        check(r.returncode == 0 and len(variants(d)) == 2, f"item 12 {name}: {r.returncode} {r.stderr[:300]}")
        if name == "big_first.vcf":
            same_docs(variants(d), reference_docs("vcf", path), "item 12 documents")


def item14_accepted_without_a_word():
    """Each becomes an error naming file and line."""
    ok_info = "AC_Adj=1;AN_Adj=10;AC_Hom=0;AC_AFR=1;AN_AFR=4;Hom_AFR=0;CSQ=G|ENSG1|ENST1|1"
    hdr = pop_header(["AFR"])
    hdr = hdr[:-1] + ["##contig=<ID=1,length=100000>"] + hdr[-1:]
    good = f"1\t100\t.\tA\tG\t10\tPASS\t{ok_info}"
    cases = [
        ("negative AC", f"1\t200\t.\tA\tG\t10\tPASS\t{ok_info.replace('AC_Adj=1', 'AC_Adj=-2')}",
         "AC_Adj value '-2' is negative"),
        ("negative AN", f"1\t200\t.\tA\tG\t10\tPASS\t{ok_info.replace('AN_AFR=4', 'AN_AFR=-4')}",
         "AN_AFR value '-4' is negative"),
        ("AC > AN", f"1\t200\t.\tA\tG,T\t10\tPASS\t{ok_info.replace('AC_Adj=1', 'AC_Adj=1,11').replace('AC_Hom=0', 'AC_Hom=0,0').replace('AC_AFR=1', 'AC_AFR=1,0').replace('Hom_AFR=0', 'Hom_AFR=0,0')}",
         "AC_Adj of ALT 2 is 11, more than AN_Adj 10"),
        ("pop AC > AN", f"1\t200\t.\tA\tG\t10\tPASS\t{ok_info.replace('AC_AFR=1', 'AC_AFR=5')}",
         "AC_AFR of ALT 1 is 5, more than AN_AFR 4"),
        ("REF == ALT", f"1\t200\t.\tAC\tG,AC\t10\tPASS\t{ok_info}", "ALT allele 2 ('AC') equals REF"),
        ("REF *", f"1\t200\t.\t*\tG\t10\tPASS\t{ok_info}", "REF is '*'"),
        ("POS past contig", f"1\t100001\t.\tA\tG\t10\tPASS\t{ok_info}",
         "POS 100001 is past the end of contig 1 (length 100000"),
        ("=5", f"1\t200\t.\tA\tG\t10\tPASS\t{ok_info};=5", "INFO item '=5' has no key"),
    ]
    for what, line, msg in cases:
        path = write_vcf("c14.vcf", hdr, [good, line])
        ln = len(hdr) + 2
        r = run("dump", "--dry-run", "--vcf", path)
        check(r.returncode == 3 and f"{path}: line {ln}: " in r.stderr and msg in r.stderr,
              f"item 14 {what}: {r.returncode} {r.stderr}")
    # The good line alone: the reference's documents (the contig length
    # changes nothing else).
    path = write_vcf("c14_good.vcf", hdr, [good, good.replace("\t100\t", "\t100000\t")])
    r, d = docs("--vcf", path)
    same_docs(variants(d), reference_docs("vcf", path), "item 14 valid lines")
    # Header: a version this reader does not know; a second, conflicting
    # definition of a field the style reads (line named), while one of a
    # field it does not read, or an identical repeat, changes nothing.
    path = write_vcf("v9.vcf", ["##fileformat=VCFv9"] + hdr[1:], [good])
    r = run("dump", "--dry-run", "--vcf", path)
    check(r.returncode == 3 and f"{path}: line 1:" in r.stderr and "VCFv9" in r.stderr,
          f"item 14 VCFv9: {r.returncode} {r.stderr}")
    redef = hdr[:-1] + ['##INFO=<ID=AC_Adj,Number=A,Type=Float,Description="x">'] + hdr[-1:]
    path = write_vcf("redef.vcf", redef, [good])
    r = run("dump", "--dry-run", "--vcf", path)
    check(r.returncode == 3 and f"{path}: line {len(redef) - 1}: a second ##INFO line for AC_Adj" in r.stderr
          and "Type" in r.stderr, f"item 14 conflicting INFO: {r.returncode} {r.stderr}")
    for extra in ('##INFO=<ID=AC_Adj,Number=A,Type=Integer,Description="x">',
                  '##INFO=<ID=DB,Number=0,Type=Flag,Description="x">\n##INFO=<ID=DB,Number=1,Type=String,Description="y">'):
        path = write_vcf("redef_ok.vcf", hdr[:-1] + extra.split("\n") + hdr[-1:], [good])
        r = run("dump", "--dry-run", "--vcf", path)
        check(r.returncode == 0, f"item 14 harmless repeat {extra!r}: {r.returncode} {r.stderr}")


def peak_rss_kb(*args):
    """Peak RSS (KiB) of one run of the tool, measured in a child of its
    own (RUSAGE_CHILDREN is the maximum over the children waited for)."""
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, TOOL, *args], capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


def item13_header_memory():
    """A header of 40 MB of ##contig or ##INFO lines the converter does not
    read costs about its size, not htslib's ~8-13 times (README)."""
    with open(TOOL, "rb") as f:
        if b"__asan_init" in f.read():
            print("item 13: skipped under AddressSanitizer (its quarantine holds freed memory)")
            return
    lines = open(os.path.join(TD, "exac_sample.vcf")).read().splitlines()
    head = [l for l in lines if l.startswith("##")]
    rest = [l for l in lines if not l.startswith("##")]
    for kind, fmt in (("contig", "##contig=<ID=ctg%07d,length=%d>"),
                      ("info", '##INFO=<ID=X%07d,Number=1,Type=Integer,Description="padding %d">')):
        pad, n, i = [], 0, 0
        while n < 40_000_000:
            pad.append(fmt % (i, 1000 + i))
            n += len(pad[-1]) + 1
            i += 1
        path = write_vcf(f"hdr40_{kind}.vcf", head + pad, rest)
        size = os.path.getsize(path)
        rc, kb = peak_rss_kb("dump", "--dry-run", "--quiet", "--vcf", path)
        check(rc == 0 and kb * 1024 < 4 * size, f"item 13 {kind}: exit {rc}, peak RSS {kb} KiB for {size} bytes")
        os.unlink(path)


tmp = tempfile.mkdtemp(prefix="sfl_parse_")
try:
    item2_population_names()
    item7_empty_values()
    item5_gtf_quotes()
    item3_versioned_gene_tables()
    item6_undeclared_and_no_genes()
    item4_12_headers()
    item14_accepted_without_a_word()
    item13_header_memory()
finally:
    shutil.rmtree(tmp, ignore_errors=True)

finish("parse_test")
