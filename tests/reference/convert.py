#!/usr/bin/env python3
"""Independent reference implementation of docs/schema.md (swefreq-load).

Standard library only.  Reads a sites VCF or a coverage file (plain text,
gzip or bgzip) and prints one document per line as MongoDB relaxed extended
JSON:

* keys in exactly the schema's field order (``_id`` first);
* ints (BSON int32/int64) as JSON integers;
* doubles printed with ``repr(float)``, so they always contain '.' or an
  exponent (1.0, 0.5, 1e-05) and int vs double stays unambiguous;
* null as ``null``.  NaN/Infinity never appear (they become null) and -0.0
  becomes 0.0.

Usage:
    convert.py vcf FILE [--style exac|swegen|gnomad|auto]
                        [--histograms pairs|columns|none]
    convert.py coverage FILE [--coverage-step N]
    convert.py expected            (regenerates testdata/expected/*.jsonl)

Input errors are out of scope: the reference assumes valid input.
"""

import argparse
import gzip
import json
import math
import re
import sys

# --------------------------------------------------------------------------
# Value helpers


def dbl(x):
    """A BSON double: non-finite -> None, -0.0 -> 0.0."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x == 0.0:
        return 0.0
    return x


def encode(v):
    """Relaxed extended JSON with int/double kept apart."""
    if v is None:
        return "null"
    if isinstance(v, bool):  # never produced by the schema, but be explicit
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("non-finite double reached the encoder")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(encode(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + encode(x)
                              for k, x in v.items()) + "}"
    raise TypeError(type(v))


def open_text(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, "rt", encoding="utf-8", newline="")


def lines_of(path):
    with open_text(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line == "":
                continue
            yield line


# --------------------------------------------------------------------------
# Positions

CHROM_CODES = {str(i): i for i in range(1, 23)}
CHROM_CODES.update({"X": 23, "Y": 24, "M": 25, "MT": 25})


def chrom_code(chrom):
    c = chrom[3:] if chrom.startswith("chr") else chrom
    return CHROM_CODES[c]  # KeyError: unknown contig (out of scope)


def xpos(chrom, pos):
    return chrom_code(chrom) * 1000000000 + pos


def minimal_representation(pos, ref, alt):
    """Strip the common suffix, then the common prefix, while both are longer
    than one base; pos advances by one per removed prefix base."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt = ref[1:], alt[1:]
        pos += 1
    return pos, ref, alt


def vep_alleles(ref, alts):
    """ALT alleles as VEP writes them in CSQ's Allele field."""
    first = ref[:1]
    if first and all(a[:1] == first for a in alts):
        return [a[1:] or "-" for a in alts]
    return list(alts)


# --------------------------------------------------------------------------
# Header

INFO_RE = re.compile(r"^##INFO=<(.*)>\s*$")


def parse_info_meta(body):
    """Parse the inside of ##INFO=<...> into an ordered dict."""
    out = {}
    i, n = 0, len(body)
    while i < n:
        eq = body.index("=", i)
        key = body[i:eq]
        j = eq + 1
        if j < n and body[j] == '"':
            j += 1
            val = []
            while body[j] != '"':
                if body[j] == "\\" and j + 1 < n:
                    j += 1
                val.append(body[j])
                j += 1
            value = "".join(val)
            j += 1  # closing quote
        else:
            k = body.find(",", j)
            if k < 0:
                k = n
            value = body[j:k]
            j = k
        out[key] = value
        if j < n and body[j] == ",":
            j += 1
        i = j
    return out


class Header:
    def __init__(self):
        self.info = {}        # ID -> meta dict
        self.info_order = []  # IDs in declaration order

    def add_info(self, meta):
        iid = meta["ID"]
        if iid not in self.info:
            self.info_order.append(iid)
        self.info[iid] = meta

    def declared(self, iid):
        return iid in self.info

    def mids(self, iid):
        desc = self.info[iid].get("Description", "")
        m = re.search(r"Mids:\s*([^\s\"]+)", desc)
        return [dbl(x) for x in m.group(1).split("|")]

    def csq_fields(self):
        if "CSQ" not in self.info:
            return None
        desc = self.info["CSQ"].get("Description", "")
        m = re.search(r"Format:\s*(\S+)", desc)
        return m.group(1).split("|")


# --------------------------------------------------------------------------
# Styles

STYLES = {
    "exac": dict(ac="AC_Adj", an="AN_Adj", hom="AC_Hom", hemi="AC_Hemi",
                 pop_ac="AC_{}", pop_an="AN_{}", pop_hom="Hom_{}",
                 pop_hemi="Hemi_{}", adj0=True),
    "swegen": dict(ac="AC", an="AN", hom="AC_Hom", hemi="AC_Hemi",
                   pop_ac=None, pop_an=None, pop_hom=None, pop_hemi=None,
                   adj0=False),
    "gnomad": dict(ac="AC", an="AN", hom="nhomalt", hemi="nhemi",
                   pop_ac="AC_{}", pop_an="AN_{}", pop_hom="nhomalt_{}",
                   pop_hemi=None, adj0=False),
}

EXAC_NON_POP = {"Adj", "Hom", "Hemi", "Het", "MALE", "FEMALE", "POPMAX",
                "CONSANGUINEOUS", "raw"}
GNOMAD_NON_POP = {"male", "female", "raw", "popmax", "XX", "XY"}

DISPLAY = {
    "AFR": "African",
    "AMR": "Latino",
    "ASJ": "Ashkenazi Jewish",
    "EAS": "East Asian",
    "FIN": "European (Finnish)",
    "NFE": "European (Non-Finnish)",
    "SAS": "South Asian",
    "OTH": "Other",
}


def detect_style(header):
    if header.declared("AC_Adj"):
        return "exac"
    if header.declared("nhomalt"):
        return "gnomad"
    return "swegen"


def display_name(code):
    # "in either case": all upper case or all lower case
    if code.upper() in DISPLAY and (code == code.upper() or code == code.lower()):
        return DISPLAY[code.upper()]
    return code


def populations(header, style):
    """[(code, key)] in the order of the AC_<POP> declarations."""
    if style == "swegen":
        return []
    pops = []
    seen = set()
    for iid in header.info_order:
        if not iid.startswith("AC_"):
            continue
        code = iid[3:]
        if not code or code in seen:
            continue
        if not header.declared("AN_" + code):
            continue
        if style == "exac" and code in EXAC_NON_POP:
            continue
        if style == "gnomad" and ("_" in code or code in GNOMAD_NON_POP):
            continue
        seen.add(code)
        pops.append((code, display_name(code)))
    return pops


# --------------------------------------------------------------------------
# Variants

QUALITY_METRICS = ["BaseQRankSum", "ClippingRankSum", "DP", "FS",
                   "InbreedingCoeff", "MQ", "MQRankSum", "QD",
                   "ReadPosRankSum", "VQSLOD"]


def parse_info(text):
    info = {}
    if text == ".":
        return info
    for item in text.split(";"):
        if item == "":
            continue
        if "=" in item:
            k, v = item.split("=", 1)
            info[k] = v
        else:
            info[item] = True  # flag
    return info


def int_or_none(s):
    if s is None or s is True or s == ".":
        return None
    return int(s)


def number_a(info, key, k):
    """Allele k's (0-based) value of a Number=A integer field."""
    v = info.get(key)
    if v is None or v is True or v == ".":
        return None
    return int_or_none(v.split(",")[k])


def number_1(info, key):
    return int_or_none(info.get(key))


def histogram(value, k, mids, mode):
    entries = value.split(",")
    chosen = [entries[0], entries[k + 1]]
    out = []
    for e in chosen:
        counts = [int(c) for c in e.split("|")]
        if mode == "pairs":
            out.append([[m, c] for m, c in zip(mids, counts)])
        else:
            out.append({"mids": list(mids), "counts": counts})
    return out


def convert_vcf(path, style="auto", histograms="pairs", out=sys.stdout):
    header = Header()
    it = lines_of(path)
    data_lines = []
    for line in it:
        if line.startswith("##"):
            m = INFO_RE.match(line)
            if m:
                header.add_info(parse_info_meta(m.group(1)))
            continue
        if line.startswith("#"):
            continue  # #CHROM line
        data_lines.append(line)

    if style == "auto":
        style = detect_style(header)
    st = STYLES[style]
    pops = populations(header, style)
    csq_fields = header.csq_fields()
    hist_meta = []
    if histograms != "none":
        for iid, field in (("DP_HIST", "genotype_depths"),
                           ("GQ_HIST", "genotype_qualities")):
            if header.declared(iid):
                hist_meta.append((iid, field, header.mids(iid)))

    for line in data_lines:
        cols = line.split("\t")
        chrom, pos_s, rsid, ref, alt_s, qual, filt, info_s = cols[:8]
        pos0 = int(pos_s)
        alts = alt_s.split(",")
        info = parse_info(info_s)

        minimal = [minimal_representation(pos0, ref, a) for a in alts]
        vids = ["%s-%d-%s-%s" % (chrom, p, r, a) for p, r, a in minimal]

        site_quality = None if qual == "." else dbl(float(qual))
        an = number_1(info, st["an"])

        # CSQ entries per allele
        per_allele = [[] for _ in alts]
        if csq_fields is not None and isinstance(info.get("CSQ"), str):
            entries = [dict(zip(csq_fields, e.split("|")))
                       for e in info["CSQ"].split(",")]
            if "ALLELE_NUM" in csq_fields:
                for e in entries:
                    try:
                        n = int(e["ALLELE_NUM"])
                    except ValueError:
                        continue
                    if 1 <= n <= len(alts):
                        per_allele[n - 1].append(e)
            else:
                vas = vep_alleles(ref, alts)
                for e in entries:
                    for k, va in enumerate(vas):
                        if e.get("Allele") == va:
                            per_allele[k].append(e)

        for k, alt in enumerate(alts):
            pos, mref, malt = minimal[k]
            vid = vids[k]
            xp = xpos(chrom, pos)
            ac = number_a(info, st["ac"], k)
            freq = None
            if ac is not None and an is not None and an != 0:
                freq = dbl(ac / an)
            doc = {}
            doc["_id"] = vid
            doc["xpos"] = xp
            doc["xstart"] = xp
            doc["xstop"] = xp + len(malt) - len(mref)
            doc["chrom"] = chrom
            doc["pos"] = pos
            doc["ref"] = mref
            doc["alt"] = malt
            doc["variant_id"] = vid
            doc["rsid"] = rsid
            doc["orig_alt_alleles"] = list(vids)
            doc["site_quality"] = site_quality
            f = filt
            if st["adj0"] and filt == "PASS" and ac == 0:
                f = "AC_Adj0"
            doc["filter"] = f
            doc["allele_count"] = ac
            doc["allele_num"] = an
            doc["allele_freq"] = freq
            doc["hom_count"] = number_a(info, st["hom"], k)
            if st["hemi"] in info:
                doc["hemi_count"] = number_a(info, st["hemi"], k)
            doc["pop_acs"] = {key: number_a(info, st["pop_ac"].format(code), k)
                              for code, key in pops}
            doc["pop_ans"] = {key: number_1(info, st["pop_an"].format(code))
                              for code, key in pops}
            doc["pop_homs"] = {key: number_a(info, st["pop_hom"].format(code), k)
                               for code, key in pops}
            if st["pop_hemi"] and any(st["pop_hemi"].format(c) in info
                                      for c, _ in pops):
                doc["pop_hemis"] = {
                    key: number_a(info, st["pop_hemi"].format(code), k)
                    for code, key in pops}
            qm = {}
            for m in QUALITY_METRICS:
                v = info.get(m)
                # "those present on the line": '.' is not present
                if isinstance(v, str) and v != ".":
                    qm[m] = dbl(float(v))
            doc["quality_metrics"] = qm
            for iid, field, mids in hist_meta:
                v = info.get(iid)
                doc[field] = (histogram(v, k, mids, histograms)
                              if isinstance(v, str) and v != "." else None)
            anns = per_allele[k]
            doc["vep_annotations"] = anns
            has_ft = csq_fields is not None and "Feature_type" in csq_fields
            genes, transcripts = [], []
            for a in anns:
                if has_ft and a.get("Feature_type") != "Transcript":
                    continue
                g = a.get("Gene", "")
                if g and g not in genes:
                    genes.append(g)
                t = a.get("Feature", "")
                if t and t not in transcripts:
                    transcripts.append(t)
            doc["genes"] = genes
            doc["transcripts"] = transcripts
            out.write(encode(doc) + "\n")


# --------------------------------------------------------------------------
# Coverage


def convert_coverage(path, step=1, out=sys.stdout):
    names = None
    for line in lines_of(path):
        if line.startswith("#"):
            names = line[1:].split("\t")[2:]
            continue
        cols = line.split("\t")
        chrom, pos = cols[0], int(cols[1])
        if pos % step != 0:
            continue
        xp = xpos(chrom, pos)
        doc = {"_id": xp, "xpos": xp, "pos": pos}
        for name, v in zip(names, cols[2:]):
            doc[name] = dbl(float(v))
        out.write(encode(doc) + "\n")


# (expected file, converter, input file, options) under testdata/
EXPECTED = [
    ("exac_sample.jsonl", "vcf", "exac_sample.vcf", {"style": "auto", "histograms": "pairs"}),
    ("exac_sample.columns.jsonl", "vcf", "exac_sample.vcf", {"style": "auto", "histograms": "columns"}),
    ("swegen_sample.jsonl", "vcf", "swegen_sample.vcf", {"style": "auto"}),
    ("gnomad_sample.jsonl", "vcf", "gnomad_sample.vcf", {"style": "auto"}),
    ("coverage_sample.jsonl", "coverage", "coverage_sample.tsv", {"step": 1}),
    ("coverage_sample.step10.jsonl", "coverage", "coverage_sample.tsv", {"step": 10}),
]


def regenerate(testdata):
    import os
    for exp, kind, inp, opts in EXPECTED:
        src = os.path.join(testdata, inp)
        dst = os.path.join(testdata, "expected", exp)
        with open(dst, "w", encoding="utf-8", newline="\n") as out:
            if kind == "vcf":
                convert_vcf(src, out=out, **opts)
            else:
                convert_coverage(src, out=out, **opts)
        with open(dst) as f:
            print("%s: %d documents" % (dst, sum(1 for _ in f)))


def main(argv=None):
    import os
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pe = sub.add_parser("expected", help="regenerate testdata/expected/*.jsonl")
    pe.add_argument("--testdata", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata"))
    pv = sub.add_parser("vcf")
    pv.add_argument("file")
    pv.add_argument("--style", default="auto",
                    choices=["exac", "swegen", "gnomad", "auto"])
    pv.add_argument("--histograms", default="pairs",
                    choices=["pairs", "columns", "none"])
    pc = sub.add_parser("coverage")
    pc.add_argument("file")
    pc.add_argument("--coverage-step", type=int, default=1)
    a = p.parse_args(argv)
    if a.cmd == "expected":
        regenerate(os.path.normpath(a.testdata))
    elif a.cmd == "vcf":
        convert_vcf(a.file, a.style, a.histograms)
    else:
        convert_coverage(a.file, a.coverage_step)


if __name__ == "__main__":
    main()
