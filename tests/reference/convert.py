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
    convert.py vcf FILE [--style exac|swegen|gnomad|gnomad2|auto]
                        [--histograms pairs|columns|none]
                        [--csq-field NAME] [--csq-format 'A|B|...']
                        [--vep-features all|enst] [--genome GRCh37|GRCh38]
    convert.py coverage FILE [--coverage-step N]
    convert.py gtf FILE [--canonical-transcripts F] [--omim F] [--dbnsfp-genes F]
                        [--skip-unknown-contigs]
    convert.py dbsnp FILE [--skip-unknown-contigs]
    convert.py metrics VCF   (the metrics of its variants; needs numpy)
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
CONTIG_RE = re.compile(r"^##contig=<(.*)>\s*$")


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
        self.contigs = {}     # ID -> length (int) or None

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

    def csq_field(self, forced=None):
        """The INFO field of the VEP annotations (schema: "CSQ")."""
        if forced:
            return forced
        described = [i for i in self.info_order
                     if self.info[i].get("Description", "").lstrip().startswith(
                         "Consequence annotations from Ensembl VEP")
                     and "Format:" in self.info[i].get("Description", "")]
        if len(described) > 1:
            raise ValueError("two VEP fields")  # the converter refuses this
        if described:
            return described[0]
        return "CSQ" if "CSQ" in self.info else None

    def csq_fields(self, field, override=None):
        if field is None:
            return None
        if override is not None:
            return [x.strip() for x in override.split("|")]
        desc = self.info[field].get("Description", "")
        m = re.search(r"Format:\s*(\S+)", desc)
        names = m.group(1).split("|")
        if len(names[-1]) > 1 and names[-1].endswith("."):  # end of the sentence
            names[-1] = names[-1][:-1]
        return names

    def genome(self):
        """GRCh37 / GRCh38 from the lengths of contigs 1, X, Y; None."""
        lengths = {
            "GRCh37": {"1": 249250621, "X": 155270560, "Y": 59373566},
            "GRCh38": {"1": 248956422, "X": 156040895, "Y": 57227415},
        }
        found = set()
        for name, length in self.contigs.items():
            short = name[3:] if name.startswith("chr") else name
            if short not in ("1", "X", "Y") or length is None:
                continue
            builds = [b for b, t in lengths.items() if t[short] == length]
            if not builds:
                return None
            found.update(builds)
        return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------
# Styles

STYLES = {
    "exac": dict(ac="AC_Adj", an="AN_Adj", hom="AC_Hom", hemi="AC_Hemi",
                 pop_ac="AC_{}", pop_an="AN_{}", pop_hom="Hom_{}",
                 pop_hemi="Hemi_{}", adj0=True),
    "swegen": dict(ac="AC", an="AN", hom="AC_Hom", hemi="AC_Hemi",
                   pop_ac=None, pop_an=None, pop_hom=None, pop_hemi=None,
                   adj0=False),
    # v2.1, v3, v4: hemizygotes are computed (see gnomad_hemi_keys)
    "gnomad": dict(ac="AC", an="AN", hom="nhomalt", hemi=None,
                   pop_ac="AC_{}", pop_an="AN_{}", pop_hom="nhomalt_{}",
                   pop_hemi=None, adj0=False),
    # r2.0
    "gnomad2": dict(ac="AC", an="AN", hom="Hom", hemi="Hemi",
                    pop_ac="AC_{}", pop_an="AN_{}", pop_hom="Hom_{}",
                    pop_hemi="Hemi_{}", adj0=False),
}

# Never populations, compared in lower case; and prefixes.
NON_POP = {"adj", "hom", "hemi", "het", "male", "female", "popmax", "grpmax",
           "joint", "consanguineous", "raw", "xx", "xy"}
NON_POP_PREFIX = ("faf",)

# Pseudoautosomal regions (1-based, inclusive) per build.
PARS = {
    "GRCh37": {"X": [(60001, 2699520), (154931044, 155260560)],
               "Y": [(10001, 2649520), (59034050, 59363566)]},
    "GRCh38": {"X": [(10001, 2781479), (155701383, 156030895)],
               "Y": [(10001, 2781479), (56887903, 57217415)]},
}

GNOMAD_V40_HEADER = (
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|"
    "INTRON|HGVSc|HGVSp|cDNA_position|CDS_position|Protein_position|"
    "Amino_acids|Codons|ALLELE_NUM|DISTANCE|STRAND|FLAGS|VARIANT_CLASS|"
    "SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|MANE_PLUS_CLINICAL|TSL|"
    "APPRIS|CCDS|ENSP|UNIPROT_ISOFORM|SOURCE|DOMAINS|miRNA|HGVS_OFFSET|"
    "PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|"
    "TRANSCRIPTION_FACTORS|LoF|LoF_filter|LoF_flags|LoF_info").split("|")


def gnomad_v40_entries():
    f = list(GNOMAD_V40_HEADER)
    i = f.index("SOURCE") + 1
    return f[:i] + ["SIFT", "PolyPhen"] + f[i:]


def outside_par(chrom, pos, genome):
    c = chrom[3:] if chrom.startswith("chr") else chrom
    if c not in ("X", "Y"):
        return False
    return not any(a <= pos <= b for a, b in PARS[genome][c])


def gnomad_hemi_keys(header):
    """('AC_XY', 'AC_{}_XY') or the _male pair, or None."""
    for sex in ("XY", "male"):
        if header.declared("AC_" + sex):
            return "AC_" + sex, "AC_{}_" + sex
    return None

DISPLAY = {
    "AFR": "African",
    "AMR": "Latino",
    "ASJ": "Ashkenazi Jewish",
    "EAS": "East Asian",
    "FIN": "European (Finnish)",
    "NFE": "European (Non-Finnish)",
    "SAS": "South Asian",
    "OTH": "Other",
    "AMI": "Amish",
    "MID": "Middle Eastern",
    "REMAINING": "Remaining",
}


def detect_style(header):
    if header.declared("AC_Adj"):
        return "exac"
    if header.declared("nhomalt"):
        return "gnomad"
    if header.declared("Hom") and header.declared("AC") and header.declared("AN"):
        return "gnomad2"
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
        if code.lower() in NON_POP or code.lower().startswith(NON_POP_PREFIX):
            continue
        if style in ("gnomad", "gnomad2") and "_" in code:
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


def split_entries(value):
    """VEP entries: split on ',', then a piece without '|' continues the
    previous entry's last field (rejoined with ',')."""
    entries = []
    for piece in value.split(","):
        if "|" not in piece and entries:
            entries[-1] = entries[-1] + "," + piece
        else:
            entries.append(piece)
    return [e.split("|") for e in entries]


def convert_vcf(path, style="auto", histograms="pairs", csq_field=None,
                csq_format=None, vep_features="all", genome=None,
                out=sys.stdout):
    header = Header()
    it = lines_of(path)
    data_lines = []
    for line in it:
        if line.startswith("##"):
            m = INFO_RE.match(line)
            if m:
                header.add_info(parse_info_meta(m.group(1)))
            m = CONTIG_RE.match(line)
            if m:
                meta = parse_info_meta(m.group(1))
                header.contigs[meta["ID"]] = (int(meta["length"])
                                              if "length" in meta else None)
            continue
        if line.startswith("#"):
            continue  # #CHROM line
        data_lines.append(line)

    if style == "auto":
        style = detect_style(header)
    st = STYLES[style]
    pops = populations(header, style)
    csq_key = header.csq_field(csq_field)
    csq_fields = header.csq_fields(csq_key, csq_format)
    v40 = csq_format is None and csq_fields == GNOMAD_V40_HEADER
    hemi_keys = gnomad_hemi_keys(header) if style == "gnomad" else None
    if hemi_keys:
        genome = genome or header.genome()
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
        if csq_fields is not None and info.get(csq_key) not in (None, True, "."):  # "." = none
            pieces = split_entries(info[csq_key])
            names = csq_fields
            if v40 and all(len(p) == 48 for p in pieces):
                names = gnomad_v40_entries()
            entries = [dict(zip(names, p)) for p in pieces]
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
            nonpar = hemi_keys and outside_par(chrom, pos0, genome)
            if nonpar:
                doc["hemi_count"] = number_a(info, hemi_keys[0], k)
            elif st["hemi"] and st["hemi"] in info:
                doc["hemi_count"] = number_a(info, st["hemi"], k)
            doc["pop_acs"] = {key: number_a(info, st["pop_ac"].format(code), k)
                              for code, key in pops}
            doc["pop_ans"] = {key: number_1(info, st["pop_an"].format(code))
                              for code, key in pops}
            doc["pop_homs"] = {key: number_a(info, st["pop_hom"].format(code), k)
                               for code, key in pops}
            if nonpar:
                doc["pop_hemis"] = {
                    key: number_a(info, hemi_keys[1].format(code), k)
                    for code, key in pops}
            elif st["pop_hemi"] and any(st["pop_hemi"].format(c) in info
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
            if vep_features == "enst":
                doc["vep_annotations"] = [a for a in anns
                                          if a.get("Feature", "").startswith("ENST")]
            else:
                doc["vep_annotations"] = anns
            # genes and transcripts: from every entry, whatever the scope
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


# --------------------------------------------------------------------------
# Gene models (GTF) and the gene tables


def _gtf_attributes(text):
    """`key "value"; ...` -> dict (the last value of a repeated key).

    GENCODE's GTF: a value is "quoted" (a ';' inside is text) or bare."""
    info = {}
    for m in re.finditer(r'\s*([^\s;"]+)\s*(?:"([^"]*)"|([^;]*))\s*(?:;|$)', text):
        info[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3).strip()
    return info


def read_gene_tables(canonical=None, omim=None, dbnsfp=None):
    """gene id -> dict of the fields the tables add to its genes document."""
    # The join is on gene ids without version (docs/schema.md), as the GTF's.
    def nov(x):
        return x.split(".")[0]
    extra = {}
    if canonical:
        for line in lines_of(canonical):
            gene, transcript = line.split()
            extra.setdefault(nov(gene), {})["canonical_transcript"] = nov(transcript)
    if omim:
        for line in lines_of(omim):
            fields = line.strip().split("\t")
            if len(fields) == 4:
                e = extra.setdefault(nov(fields[0]), {})
                e["omim_accession"], e["omim_description"] = fields[2], fields[3]
    if dbnsfp:
        rows = lines_of(dbnsfp)
        header = next(rows).lstrip("#").split("\t")
        col = {name: i for i, name in reversed(list(enumerate(header)))}
        for line in rows:
            f = line.split("\t")
            gene = f[col["Ensembl_gene"]]
            if gene == ".":
                continue
            names = []
            for key in ("Gene_old_names", "Gene_other_names"):
                if f[col[key]] != ".":
                    names.extend(n.upper() for n in f[col[key]].split(";"))
            e = extra.setdefault(nov(gene), {})
            e["full_gene_name"], e["other_names"] = f[col["Gene_full_name"]], names
    return extra


# chrY's pseudoautosomal regions in GRCh37 (GRCh38's GENCODE writes _PAR_Y)
PAR_Y = [(10001, 2649520), (59034050, 59373566)]


def convert_gtf(path, canonical=None, omim=None, dbnsfp=None, skip_unknown_contigs=False,
                out=sys.stdout):
    """genes, then transcripts, then exons, each in file order (one chunk)."""
    extra = read_gene_tables(canonical, omim, dbnsfp)
    docs = {"gene": [], "transcript": [], "exon": []}
    for line in lines_of(path):
        if line.startswith("#"):
            continue
        f = line.split("\t")
        feature = f[2]
        kind = "exon" if feature in ("exon", "CDS", "UTR") else feature
        if kind not in docs:
            continue
        chrom = f[0][3:] if f[0].lower().startswith("chr") else f[0]
        if chrom not in CHROM_CODES:
            if skip_unknown_contigs:
                continue
            raise ValueError("unknown contig " + f[0])
        gtf_start, gtf_stop = int(f[3]), int(f[4])
        start, stop = gtf_start + 1, gtf_stop + 1
        info = _gtf_attributes(f[8])
        gene_id = info["gene_id"].split(".")[0]
        par = chrom == "Y" and ("_PAR_Y" in info["gene_id"] or any(
            lo <= gtf_start and gtf_stop <= hi for lo, hi in PAR_Y))
        suffix = "_PAR_Y" if par else ""
        place = {"chrom": chrom, "start": start, "stop": stop, "strand": f[6],
                 "xstart": xpos(chrom, start), "xstop": xpos(chrom, stop)}
        if kind == "gene":
            doc = {"_id": gene_id + suffix, "gene_id": gene_id, "gene_name": info["gene_name"],
                   "gene_name_upper": info["gene_name"].upper()}
            doc.update(place)
            doc.update(extra.get(gene_id, {}))
        else:
            transcript_id = info["transcript_id"].split(".")[0]
            if kind == "transcript":
                doc = {"_id": transcript_id + suffix}
            else:
                doc = {"_id": "%s%s-%s-%d-%d" % (transcript_id, suffix, feature, gtf_start, gtf_stop),
                       "feature_type": feature}
            doc["transcript_id"] = transcript_id
            doc["gene_id"] = gene_id
            doc.update(place)
        docs[kind].append(doc)
    for kind in ("gene", "transcript", "exon"):
        for doc in docs[kind]:
            out.write(encode(doc) + "\n")


# --------------------------------------------------------------------------
# dbSNP


def convert_dbsnp(path, skip_unknown_contigs=False, out=sys.stdout):
    for line in lines_of(path):
        f = line.split("\t")
        rsid = int(f[0])
        chrom = f[1].rstrip("T")
        if chrom == "PAR" or f[2] == "":
            continue
        c = chrom[3:] if chrom.lower().startswith("chr") else chrom
        if c not in CHROM_CODES:
            if skip_unknown_contigs:
                continue
            raise ValueError("unknown contig " + f[1])
        xp = xpos(chrom, int(f[2]) + 1)
        out.write(encode({"_id": "%d-%d" % (rsid, xp), "xpos": xp, "rsid": rsid}) + "\n")


# --------------------------------------------------------------------------
# metrics (needs numpy: the histograms are numpy.histogram's)

AF_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1]
QUALITY_METRICS = ["BaseQRankSum", "ClippingRankSum", "DP", "FS", "InbreedingCoeff", "MQ",
                   "MQRankSum", "QD", "ReadPosRankSum", "VQSLOD"]
RANGES = {"FS": (0, 20), "VQSLOD": (-20, 20), "InbreedingCoeff": (0, 1)}


def metrics_of(variants, out=sys.stdout):
    """The ExAC browser's precalculate_metrics over variant documents (dicts).
    Null values, and DP or site qualities <= 0 (no logarithm), are left out;
    the logarithm is math.log (the C library's)."""
    import numpy
    values = {name: [] for name in QUALITY_METRICS + ["site_quality"]}
    binned = {}
    for v in variants:
        for name, x in v["quality_metrics"].items():
            if x is None or (name == "DP" and x <= 0):
                continue
            values[name].append(math.log(x) if name == "DP" else float(x))
        qual = v["site_quality"]
        if qual is None:
            continue
        values["site_quality"].append(float(qual))
        ac, an = v["allele_count"], v["allele_num"]
        if not an or ac is None:
            continue
        key = None
        if ac == 1:
            key = "singleton"
        elif ac == 2:
            key = "doubleton"
        else:
            key = next((b for b in AF_BUCKETS if float(ac) / an < b), None)
        if key is not None and qual > 0:
            binned.setdefault(key, []).append(math.log(qual))
    for name in QUALITY_METRICS + ["site_quality"]:
        data = values[name]
        if not data:
            continue
        rng = RANGES.get(name)
        if rng:
            data = [min(max(x, rng[0]), rng[1]) for x in data]
        hist, edges = numpy.histogram(data, bins=40, range=rng)
        out.write(encode({"_id": name, "metric": name, "mids": [float(e) for e in edges[:-1]],
                          "hist": [int(h) for h in hist]}) + "\n")
    for key in ["singleton", "doubleton"] + AF_BUCKETS:
        if key not in binned:
            continue
        hist, edges = numpy.histogram(binned[key], bins=40)
        name = "binned_%s" % key
        out.write(encode({"_id": name, "metric": name,
                          "mids": [float((edges[i] + edges[i + 1]) / 2) for i in range(40)],
                          "hist": [int(h) for h in hist]}) + "\n")


def convert_metrics(path, out=sys.stdout, **opts):
    import io
    buf = io.StringIO()
    convert_vcf(path, out=buf, **opts)
    metrics_of([json.loads(line) for line in buf.getvalue().splitlines()], out)


# (expected file, converter, input file, options) under testdata/
EXPECTED = [
    ("exac_sample.jsonl", "vcf", "exac_sample.vcf", {"style": "auto", "histograms": "pairs"}),
    ("exac_sample.columns.jsonl", "vcf", "exac_sample.vcf", {"style": "auto", "histograms": "columns"}),
    ("swegen_sample.jsonl", "vcf", "swegen_sample.vcf", {"style": "auto"}),
    ("gnomad_sample.jsonl", "vcf", "gnomad_sample.vcf", {"style": "auto"}),
    ("gnomad_v2.1_sample.jsonl", "vcf", "gnomad_v2.1_sample.vcf", {"style": "auto"}),
    ("gnomad_v3.1_sample.jsonl", "vcf", "gnomad_v3.1_sample.vcf", {"style": "auto"}),
    ("gnomad_v4.0_sample.jsonl", "vcf", "gnomad_v4.0_sample.vcf", {"style": "auto"}),
    ("gnomad_v4.0_sample.enst.jsonl", "vcf", "gnomad_v4.0_sample.vcf",
     {"style": "auto", "vep_features": "enst"}),
    ("gnomad_r2.0_sample.jsonl", "vcf", "gnomad_r2.0_sample.vcf", {"style": "auto"}),
    ("exac_sample.enst.jsonl", "vcf", "exac_sample.vcf", {"style": "auto", "vep_features": "enst"}),
    ("coverage_sample.jsonl", "coverage", "coverage_sample.tsv", {"step": 1}),
    ("coverage_sample.step10.jsonl", "coverage", "coverage_sample.tsv", {"step": 10}),
    ("gencode_sample.jsonl", "gtf", "gencode_sample.gtf",
     {"canonical": "canonical_sample.txt", "omim": "omim_sample.txt",
      "dbnsfp": "dbnsfp_genes_sample.txt", "skip_unknown_contigs": True}),
    ("gencode_sample.bare.jsonl", "gtf", "gencode_sample.gtf", {"skip_unknown_contigs": True}),
    ("dbsnp_sample.jsonl", "dbsnp", "dbsnp_sample.tsv", {}),
    ("exac_sample.metrics.jsonl", "metrics", "exac_sample.vcf", {}),
    ("gnomad_v2.1_sample.metrics.jsonl", "metrics", "gnomad_v2.1_sample.vcf", {}),
]


def regenerate(testdata):
    import os
    for exp, kind, inp, opts in EXPECTED:
        src = os.path.join(testdata, inp)
        dst = os.path.join(testdata, "expected", exp)
        with open(dst, "w", encoding="utf-8", newline="\n") as out:
            if kind == "vcf":
                convert_vcf(src, out=out, **opts)
            elif kind == "gtf":
                tables = {k: os.path.join(testdata, v) for k, v in opts.items()
                          if k in ("canonical", "omim", "dbnsfp")}
                convert_gtf(src, out=out, skip_unknown_contigs=opts.get("skip_unknown_contigs", False),
                            **tables)
            elif kind == "metrics":
                convert_metrics(src, out=out, **opts)
            elif kind == "dbsnp":
                convert_dbsnp(src, out=out, **opts)
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
                    choices=["exac", "swegen", "gnomad", "gnomad2", "auto"])
    pv.add_argument("--histograms", default="pairs",
                    choices=["pairs", "columns", "none"])
    pv.add_argument("--csq-field")
    pv.add_argument("--csq-format")
    pv.add_argument("--vep-features", default="all", choices=["all", "enst"])
    pv.add_argument("--genome", choices=["GRCh37", "GRCh38"])
    pc = sub.add_parser("coverage")
    pc.add_argument("file")
    pc.add_argument("--coverage-step", type=int, default=1)
    pg = sub.add_parser("gtf")
    pg.add_argument("file")
    pg.add_argument("--canonical-transcripts")
    pg.add_argument("--omim")
    pg.add_argument("--dbnsfp-genes")
    pg.add_argument("--skip-unknown-contigs", action="store_true")
    pm = sub.add_parser("metrics")
    pm.add_argument("file")
    pd = sub.add_parser("dbsnp")
    pd.add_argument("file")
    pd.add_argument("--skip-unknown-contigs", action="store_true")
    a = p.parse_args(argv)
    if a.cmd == "expected":
        regenerate(os.path.normpath(a.testdata))
    elif a.cmd == "vcf":
        convert_vcf(a.file, a.style, a.histograms, a.csq_field, a.csq_format,
                    a.vep_features, a.genome)
    elif a.cmd == "gtf":
        convert_gtf(a.file, a.canonical_transcripts, a.omim, a.dbnsfp_genes, a.skip_unknown_contigs)
    elif a.cmd == "dbsnp":
        convert_dbsnp(a.file, a.skip_unknown_contigs)
    elif a.cmd == "metrics":
        convert_metrics(a.file)
    else:
        convert_coverage(a.file, a.coverage_step)


if __name__ == "__main__":
    main()
