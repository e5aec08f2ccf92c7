#!/usr/bin/env python3
"""Writes the gnomAD-shaped sample VCFs of testdata/ (deterministic).

    python3 testdata/gen_gnomad_samples.py [OUTDIR]    (default: testdata/)

Four small files, one per gnomAD release shape, each with that release's
kind of header (its ##INFO lines for AC/AN/nhomalt per population and sex,
the popmax/grpmax, faf, joint and subset fields that are not populations,
and the VEP field with the release's real Format list) and generated
records (fixed seed):

- gnomad_v2.1_sample.vcf  GRCh37, contigs 1..Y; `vep`; AC_male/AC_<pop>_male;
                          includes 1-55505599-C-G (PCSK9, ENSG00000169174)
- gnomad_v3.1_sample.vcf  GRCh38, chr contigs; `vep`; AC_XY/AC_<pop>_XY; ami, mid
- gnomad_v4.0_sample.vcf  GRCh38, chr contigs; `vep` with v4.0's 46-field
                          header and 48-field entries (SIFT|PolyPhen after
                          SOURCE), raw commas in LoF_info; grpmax, joint;
                          remaining; a high-confidence LoF transcript entry
                          next to a regulatory entry

Every file starts with 1-69081-G-C, whose only annotation is regulatory
(no consequence under --vep-features enst).
- gnomad_r2.0_sample.vcf  GRCh37; CSQ; Hom, Hom_<POP>, Hemi, Hemi_<POP>,
                          AC_Male, AC_Female, POPMAX

Every file has X and Y lines inside and outside (and on the edges of) the
pseudoautosomal regions of its build.
"""
import os
import random
import sys

GRCH37 = [("1", 249250621), ("2", 243199373), ("3", 198022430), ("4", 191154276),
          ("5", 180915260), ("6", 171115067), ("7", 159138663), ("8", 146364022),
          ("9", 141213431), ("10", 135534747), ("11", 135006516), ("12", 133851895),
          ("13", 115169878), ("14", 107349540), ("15", 102531392), ("16", 90354753),
          ("17", 81195210), ("18", 78077248), ("19", 59128983), ("20", 63025520),
          ("21", 48129895), ("22", 51304566), ("X", 155270560), ("Y", 59373566),
          ("MT", 16569)]
GRCH38 = [("chr1", 248956422), ("chr2", 242193529), ("chr3", 198295559), ("chr4", 190214555),
          ("chr5", 181538259), ("chr6", 170805979), ("chr7", 159345973), ("chr8", 145138636),
          ("chr9", 138394717), ("chr10", 133797422), ("chr11", 135086622),
          ("chr12", 133275309), ("chr13", 114364328), ("chr14", 107043718),
          ("chr15", 101991189), ("chr16", 90338345), ("chr17", 83257441), ("chr18", 80373285),
          ("chr19", 58617616), ("chr20", 64444167), ("chr21", 46709983), ("chr22", 50818468),
          ("chrX", 156040895), ("chrY", 57227415), ("chrM", 16569)]

VEP_V21 = ("Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|"
           "HGVSc|HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|"
           "Existing_variation|ALLELE_NUM|DISTANCE|STRAND|FLAGS|VARIANT_CLASS|MINIMISED|"
           "SYMBOL_SOURCE|HGNC_ID|CANONICAL|TSL|APPRIS|CCDS|ENSP|SWISSPROT|TREMBL|UNIPARC|"
           "GENE_PHENO|SIFT|PolyPhen|DOMAINS|HGVS_OFFSET|GMAF|AFR_MAF|AMR_MAF|EAS_MAF|EUR_MAF|"
           "SAS_MAF|AA_MAF|EA_MAF|ExAC_MAF|ExAC_Adj_MAF|ExAC_AFR_MAF|ExAC_AMR_MAF|ExAC_EAS_MAF|"
           "ExAC_FIN_MAF|ExAC_NFE_MAF|ExAC_OTH_MAF|ExAC_SAS_MAF|CLIN_SIG|SOMATIC|PHENO|PUBMED|"
           "MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|LoF|LoF_filter|LoF_flags|"
           "LoF_info")
VEP_V31 = ("Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|"
           "HGVSc|HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|"
           "ALLELE_NUM|DISTANCE|STRAND|VARIANT_CLASS|MINIMISED|SYMBOL_SOURCE|HGNC_ID|CANONICAL|"
           "TSL|APPRIS|CCDS|ENSP|SWISSPROT|TREMBL|UNIPARC|GENE_PHENO|SIFT|PolyPhen|DOMAINS|"
           "HGVS_OFFSET|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|LoF|LoF_filter|"
           "LoF_flags|LoF_info")
VEP_V40 = ("Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|"
           "HGVSc|HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|"
           "ALLELE_NUM|DISTANCE|STRAND|FLAGS|VARIANT_CLASS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|"
           "MANE_SELECT|MANE_PLUS_CLINICAL|TSL|APPRIS|CCDS|ENSP|UNIPROT_ISOFORM|SOURCE|DOMAINS|"
           "miRNA|HGVS_OFFSET|PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE|"
           "TRANSCRIPTION_FACTORS|LoF|LoF_filter|LoF_flags|LoF_info")
CSQ_R20 = VEP_V21 + "|context|ancestral"  # r2.0: ExAC r1's CSQ list

POP_DESC = {
    "afr": "African/African-American", "amr": "Latino/Admixed American",
    "asj": "Ashkenazi Jewish", "eas": "East Asian", "fin": "Finnish",
    "nfe": "Non-Finnish European", "oth": "Other", "sas": "South Asian",
    "ami": "Amish", "mid": "Middle Eastern", "remaining": "Remaining individuals",
}

# Genes by contig (name without chr), positions in both builds are close
# enough for a sample: (gene id, symbol, strand, [transcripts], regulatory id)
GENES = {
    "1": [("ENSG00000169174", "PCSK9", "1",
           ["ENST00000302118", "ENST00000452118", "ENST00000543384"], "ENSR00000006938"),
          ("ENSG00000187634", "SAMD11", "1", ["ENST00000342066", "ENST00000420190"],
           "ENSR00000000185")],
    "2": [("ENSG00000115705", "TPO", "1", ["ENST00000329066"], "ENSR00000111842")],
    "17": [("ENSG00000141510", "TP53", "-1", ["ENST00000269305", "ENST00000413465"],
            "ENSR00000093063")],
    "X": [("ENSG00000182378", "PLCXD1", "1", ["ENST00000381657"], "ENSR00000902264"),
          ("ENSG00000198947", "DMD", "-1", ["ENST00000357033", "ENST00000378677"],
           "ENSR00000911455"),
          ("ENSG00000124333", "VAMP7", "1", ["ENST00000286448"], "ENSR00000914210")],
    "Y": [("ENSG00000184895", "SRY", "-1", ["ENST00000383070"], "ENSR00000918341"),
          ("ENSG00000067646", "ZFY", "1", ["ENST00000155093"], "ENSR00000918402")],
    "MT": [("ENSG00000198888", "MT-ND1", "1", ["ENST00000361390"], "")],
}

CONSEQ = [("missense_variant", "MODERATE"), ("synonymous_variant", "LOW"),
          ("intron_variant", "MODIFIER"), ("stop_gained", "HIGH"),
          ("splice_region_variant&intron_variant", "LOW"), ("3_prime_UTR_variant", "MODIFIER")]


def info_line(iid, number, typ, desc):
    return '##INFO=<ID=%s,Number=%s,Type=%s,Description="%s">' % (iid, number, typ, desc)


def count_fields(sexes, pops, subsets=(), nhomalt="nhomalt", anc="ancestry", prefixed=False):
    """AC/AN/AF/nhomalt lines: overall, per sex, per pop, per pop and sex."""
    out = []

    def four(suffix, who):
        sx = "_" + suffix if suffix else ""
        out.append(info_line("AC" + sx, "A", "Integer", "Alternate allele count" + who))
        out.append(info_line("AN" + sx, "1", "Integer", "Total number of alleles" + who))
        out.append(info_line("AF" + sx, "A", "Float", "Alternate allele frequency" + who))
        out.append(info_line(nhomalt + sx, "A", "Integer",
                             "Count of homozygous individuals" + who))
    four("", "")
    four("raw", " before filtering out low-confidence genotypes")
    for s in sexes:
        four(s, " for %s samples" % s)
    for p in pops:
        four(p, " for samples of %s %s" % (POP_DESC[p], anc))
        for s in sexes:
            four(p + "_" + s, " for %s samples of %s %s" % (s, POP_DESC[p], anc))
    for sub in subsets:
        if prefixed:  # v2.1: controls_AC_afr
            for k, num, t in (("AC", "A", "Integer"), ("AN", "1", "Integer")):
                out.append(info_line("%s_%s" % (sub, k), num, t, "%s in %s subset" % (k, sub)))
                for p in pops[:2]:
                    out.append(info_line("%s_%s_%s" % (sub, k, p), num, t,
                                         "%s for samples of %s %s in %s subset"
                                         % (k, POP_DESC[p], anc, sub)))
            continue
        four(sub, " in %s subset" % sub)
        for p in pops[:2]:
            four(sub + "_" + p, " for samples of %s %s in %s subset" % (POP_DESC[p], anc, sub))
    return out


def max_fields(word, group):
    """popmax / grpmax and the counts in that group."""
    who = "in the %s with the maximum allele frequency" % group
    return [info_line(word, "A", "String", "%s with the maximum allele frequency"
                      % group.capitalize()),
            info_line("AC_" + word, "A", "Integer", "Allele count " + who),
            info_line("AN_" + word, "A", "Integer", "Total number of alleles " + who),
            info_line("AF_" + word, "A", "Float", "Maximum allele frequency across %ss" % group),
            info_line("nhomalt_" + word, "A", "Integer", "Count of homozygous individuals " + who)]


def header(release):
    h = ["##fileformat=VCFv4.2"]
    h.append('##FILTER=<ID=AC0,Description="Allele count is zero after filtering out '
             'low-confidence genotypes (GQ < 20; DP < 10; and AB < 0.2 for het calls)">')
    h.append('##FILTER=<ID=AS_VQSR,Description="Failed VQSR filtering thresholds of -2.7739 '
             'for SNPs and -1.0606 for indels">')
    h.append('##FILTER=<ID=InbreedingCoeff,Description="InbreedingCoeff < -0.3">')
    h.append('##FILTER=<ID=PASS,Description="Passed all variant filters">')
    if release == "v2.1":
        pops = ["afr", "amr", "asj", "eas", "fin", "nfe", "oth", "sas"]
        h += count_fields(["male", "female"], pops, ["controls", "non_neuro"], prefixed=True)
        for sub in ["nfe_bgr", "nfe_est", "nfe_swe", "eas_jpn", "eas_kor"]:
            h.append(info_line("AC_" + sub, "A", "Integer",
                               "Alternate allele count for samples of %s ancestry" % sub))
            h.append(info_line("AN_" + sub, "1", "Integer",
                               "Total number of alleles in samples of %s ancestry" % sub))
        h += max_fields("popmax", "population")
        h.append(info_line("faf95", "A", "Float", "Filtering allele frequency (using Poisson 95% "
                           "CI) for samples"))
        h.append(info_line("faf95_afr", "A", "Float", "Filtering allele frequency (using Poisson "
                           "95% CI) for samples of African-American/African ancestry"))
        vep_key, vep_fmt = "vep", VEP_V21
    elif release == "v3.1":
        pops = ["afr", "ami", "amr", "asj", "eas", "fin", "mid", "nfe", "oth", "sas"]
        h += count_fields(["XX", "XY"], pops, ["non_v2", "controls_and_biobanks"])
        h += max_fields("popmax", "population")
        h.append(info_line("faf95_afr", "A", "Float", "Filtering allele frequency (using Poisson "
                           "95% CI) for samples of African/African-American ancestry"))
        vep_key, vep_fmt = "vep", VEP_V31
    elif release == "v4.0":
        pops = ["afr", "ami", "amr", "asj", "eas", "fin", "mid", "nfe", "remaining", "sas"]
        h += count_fields(["XX", "XY"], pops, ["joint"], anc="genetic ancestry group")
        h += max_fields("grpmax", "genetic ancestry group")
        h.append(info_line("faf95", "A", "Float", "Filtering allele frequency (using Poisson 95% "
                           "CI)"))
        h.append(info_line("fafmax_faf95_max", "A", "Float", "Maximum filtering allele frequency "
                           "(using Poisson 95% CI) across genetic ancestry groups"))
        vep_key, vep_fmt = "vep", VEP_V40
    else:  # r2.0
        pops = ["AFR", "AMR", "ASJ", "EAS", "FIN", "NFE", "OTH"]
        h.append(info_line("AC", "A", "Integer", "Allele count in genotypes, for each ALT allele, "
                           "in the same order as listed"))
        h.append(info_line("AF", "A", "Float", "Allele Frequency, for each ALT allele, in the same"
                           " order as listed"))
        h.append(info_line("AN", "1", "Integer", "Total number of alleles in called genotypes"))
        for p in pops + ["Male", "Female"]:
            h.append(info_line("AC_" + p, "A", "Integer", "Allele count for %s" % p))
        for p in pops + ["Male", "Female"]:
            h.append(info_line("AN_" + p, "1", "Integer", "Allele number for %s" % p))
        for p in pops + ["Male", "Female"]:
            h.append(info_line("Hom_" + p, "A", "Integer", "Homozygote count for %s" % p))
        for p in pops:
            h.append(info_line("Hemi_" + p, "A", "Integer", "Hemizygote count for %s" % p))
        h.append(info_line("Hom", "A", "Integer", "Total homozygote count"))
        h.append(info_line("Hemi", "A", "Integer", "Total hemizygote count"))
        h.append(info_line("AC_raw", "A", "Integer", "Allele count for all samples"))
        h.append(info_line("AN_raw", "1", "Integer", "Allele number for all samples"))
        h.append(info_line("Hom_raw", "A", "Integer", "Homozygote count for all samples"))
        h.append(info_line("POPMAX", "A", "String", "Population with max AF"))
        h.append(info_line("AC_POPMAX", "A", "String", "AC in the population with the max AF"))
        h.append(info_line("AN_POPMAX", "A", "String", "AN in the population with the max AF"))
        h.append(info_line("AF_POPMAX", "A", "String", "Maximum Allele Frequency across "
                           "populations (excluding OTH)"))
        vep_key, vep_fmt = "CSQ", CSQ_R20
    for q, t, d in [("FS", "Float", "Phred-scaled p-value of Fisher's exact test for strand "
                     "bias"),
                    ("MQ", "Float", "Root mean square of the mapping quality of reads across all"
                     " samples"),
                    ("QD", "Float", "Variant call confidence normalized by depth of sample reads"
                     " supporting a variant"),
                    ("VQSLOD", "Float", "Log-odds ratio of being a true variant versus being a "
                     "false positive under the trained VQSR Gaussian mixture model")]:
        h.append(info_line(q, "1", t, d))
    h.append(info_line(vep_key, ".", "String", "Consequence annotations from Ensembl VEP. "
                       "Format: " + vep_fmt))
    contigs = GRCH37 if release in ("v2.1", "r2.0") else GRCH38
    asm = "GRCh37" if contigs is GRCH37 else "GRCh38"
    for name, length in contigs:
        h.append("##contig=<ID=%s,length=%d,assembly=%s>" % (name, length, asm))
    h.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return h, pops, vep_key, vep_fmt.split("|")


def sites(release):
    """(contig without chr, pos, ref, alts) of each record, sorted."""
    if release in ("v2.1", "r2.0"):
        s = [("1", 69081, "G", ["C"]), ("1", 55505599, "C", ["G"]), ("1", 55505620, "G", ["A", "T"]),
             ("1", 55509585, "CAG", ["C"]), ("2", 1396720, "A", ["AT"]),
             ("17", 7577120, "C", ["T"]),
             ("X", 60000, "T", ["C"]), ("X", 60001, "G", ["A"]), ("X", 2699520, "C", ["T"]),
             ("X", 2699521, "A", ["G"]), ("X", 31182736, "G", ["A"]),
             ("X", 154931043, "T", ["G"]), ("X", 154931044, "C", ["A"]),
             ("X", 155260560, "G", ["T"]), ("X", 155260561, "A", ["C"]),
             ("Y", 10000, "T", ["A"]), ("Y", 10001, "A", ["G"]), ("Y", 2649520, "G", ["C"]),
             ("Y", 2649521, "C", ["T"]), ("Y", 2655180, "G", ["A", "GT"]),
             ("Y", 59034050, "T", ["C"]), ("MT", 3308, "T", ["C"])]
    else:
        s = [("1", 69081, "G", ["C"]), ("1", 55039920, "A", ["G"]), ("1", 55039926, "C", ["G", "T"]),
             ("1", 55043842, "CAG", ["C"]), ("2", 1392948, "A", ["AT"]),
             ("17", 7673802, "C", ["T"]),
             ("X", 10000, "T", ["C"]), ("X", 10001, "G", ["A"]), ("X", 2781479, "C", ["T"]),
             ("X", 2781480, "A", ["G"]), ("X", 31164619, "G", ["A"]),
             ("X", 155701382, "T", ["G"]), ("X", 155701383, "C", ["A"]),
             ("X", 156030895, "G", ["T"]), ("X", 156030896, "A", ["C"]),
             ("Y", 10000, "T", ["A"]), ("Y", 2781479, "G", ["C"]), ("Y", 2781480, "C", ["T"]),
             ("Y", 2787412, "C", ["T", "CA"]), ("Y", 56887903, "T", ["C"]),
             ("Y", 57217416, "A", ["G"]), ("MT", 3308, "T", ["C"])]
    return s


def vep_allele(ref, alt, alts):
    if all(a[0] == ref[0] for a in alts):
        return alt[1:] or "-"
    return alt


def annotations(rng, release, contig, pos, ref, alts, names):
    genes = GENES.get(contig, GENES["1"])
    gene = genes[pos % len(genes)]
    if contig == "1":  # PCSK9 at 55 Mb in both builds, SAMD11 near the start
        gene = genes[0] if pos > 50000000 else genes[1]
    gid, sym, strand, txs, reg = gene
    entries = []
    if (contig, pos) == ("1", 69081):  # only a regulatory annotation
        e = {n: "" for n in names}
        e.update({"Allele": vep_allele(ref, alts[0], alts), "Consequence":
                  "regulatory_region_variant", "IMPACT": "MODIFIER",
                  "Feature_type": "RegulatoryFeature", "Feature": "ENSR00000918273",
                  "BIOTYPE": "CTCF_binding_site", "ALLELE_NUM": "1", "VARIANT_CLASS": "SNV",
                  "SOURCE": "Ensembl"})
        return [e]
    for ai, alt in enumerate(alts):
        conseq, impact = CONSEQ[(pos + ai) % len(CONSEQ)]
        if (contig, pos) in (("1", 55505599), ("1", 55039920)):
            conseq, impact = "missense_variant", "MODERATE"
        elif pos % 4 == 2:  # a high-confidence loss of function
            conseq, impact = ("frameshift_variant" if len(alt) != len(ref)
                              else "stop_gained"), "HIGH"
        for ti, tx in enumerate(txs):
            e = {n: "" for n in names}
            e.update({"Allele": vep_allele(ref, alt, alts), "Consequence": conseq,
                      "IMPACT": impact, "SYMBOL": sym, "Gene": gid, "Feature_type": "Transcript",
                      "Feature": tx, "BIOTYPE": "protein_coding", "ALLELE_NUM": str(ai + 1),
                      "STRAND": strand, "VARIANT_CLASS": "SNV" if len(alt) == len(ref)
                      else "indel", "SYMBOL_SOURCE": "HGNC", "CANONICAL": "YES" if ti == 0
                      else "", "SOURCE": "Ensembl", "MANE_SELECT": "NM_174936.4" if ti == 0
                      and sym == "PCSK9" else ""})
            if conseq == "missense_variant":
                e["HGVSp"] = "ENSP%011d.1:p.Arg%dHis" % (pos % 99991, 100 + ti)
                e["Amino_acids"] = "R/H"
                e["Codons"] = "cGc/cAc"
                e["SIFT"] = "deleterious(0.02)"
                e["PolyPhen"] = "probably_damaging(0.998)"
            if impact == "HIGH" and ti == 0:
                e["LoF"] = "HC"
                if release == "v4.0":
                    e["LoF_info"] = ("GERP_DIST:-563.6,BP_DIST:%d,PERCENTILE:0.4,"
                                     "DIST_FROM_LAST_EXON:120,50_BP_RULE:PASS" % (pos % 977))
                else:
                    e["LoF_info"] = "PERCENTILE:0.4&GERP_DIST:-563.6"
            entries.append(e)
        if reg and ((pos + ai) % 3 != 1 or impact == "HIGH"):
            e = {n: "" for n in names}
            e.update({"Allele": vep_allele(ref, alt, alts), "Consequence":
                      "regulatory_region_variant", "IMPACT": "MODIFIER",
                      "Feature_type": "RegulatoryFeature", "Feature": reg,
                      "BIOTYPE": "promoter_flanking_region", "ALLELE_NUM": str(ai + 1),
                      "VARIANT_CLASS": "SNV" if len(alt) == len(ref) else "indel",
                      "SOURCE": "Ensembl"})
            entries.append(e)
    return entries


def split_counts(rng, total, n):
    cuts = sorted(rng.randint(0, total) for _ in range(n - 1))
    parts, prev = [], 0
    for c in cuts + [total]:
        parts.append(c - prev)
        prev = c
    return parts


def record(rng, release, pops, vep_key, names, contig, pos, ref, alts):
    chrom = contig if release in ("v2.1", "r2.0") else "chr" + (
        "M" if contig == "MT" else contig)
    n = len(alts)
    an = rng.randrange(20000, 150000, 2)
    acs = [rng.randint(0, 400) for _ in alts]
    info = []
    vals = {}
    if release == "r2.0":
        sexes = ["Male", "Female"]
        hom_key = "Hom"
    else:
        sexes = ["male", "female"] if release == "v2.1" else ["XY", "XX"]
        hom_key = "nhomalt"
    # sex split of each allele's AC; pops split of each sex's AC
    by_sex = [split_counts(rng, ac, 2) for ac in acs]  # [ [xy, xx] per allele ]
    an_sex = split_counts(rng, an // 2, 2)
    an_sex = [2 * a for a in an_sex]
    pop_acs = {s: [split_counts(rng, by_sex[i][si], len(pops)) for i in range(n)]
               for si, s in enumerate(sexes)}
    pop_an = {s: [2 * x for x in split_counts(rng, an_sex[si] // 2, len(pops))]
              for si, s in enumerate(sexes)}
    homs = [rng.randint(0, ac // 20) for ac in acs]
    # A population's allele count never exceeds its allele number
    # (swefreq-load refuses AC > AN): where the random splits fell short,
    # the first sex's AN of that population is raised (no draw is added,
    # so every other value stays as it was).
    for pi in range(len(pops)):
        need = max(sum(pop_acs[s][i][pi] for s in sexes) for i in range(n))
        have = sum(pop_an[s][pi] for s in sexes)
        if have < need:
            pop_an[sexes[0]][pi] += need - have + (need - have) % 2

    def put(k, v):
        vals[k] = v
        info.append("%s=%s" % (k, v))

    def lst(xs):
        return ",".join(str(x) for x in xs)

    put("AC", lst(acs))
    put("AN", an)
    put("AF", lst("%.5e" % (a / an) for a in acs))
    if release != "r2.0":
        put("nhomalt", lst(homs))
        put("AC_raw", lst(a + rng.randint(0, 3) for a in acs))
        put("AN_raw", an + 200)
        for si, s in enumerate(sexes):
            put("AC_" + s, lst(by_sex[i][si] for i in range(n)))
            put("AN_" + s, an_sex[si])
            put("nhomalt_" + s, lst(0 for _ in alts))
        skip_hom = release == "v3.1" and pos % 5 == 0
        for pi, p in enumerate(pops):
            put("AC_" + p, lst(sum(pop_acs[s][i][pi] for s in sexes) for i in range(n)))
            put("AN_" + p, sum(pop_an[s][pi] for s in sexes))
            if not (skip_hom and p == "oth"):
                put("nhomalt_" + p, lst(0 for _ in alts))
            for s in sexes:
                put("AC_%s_%s" % (p, s), lst(pop_acs[s][i][pi] for i in range(n)))
                put("AN_%s_%s" % (p, s), pop_an[s][pi])
        if release == "v4.0":
            put("AC_joint", lst(a * 3 for a in acs))
            put("AN_joint", an * 3)
            put("nhomalt_joint", lst(homs))
            put("AC_joint_afr", lst(a for a in acs))
            put("AN_joint_afr", an)
            put("grpmax", lst("nfe" for _ in alts))
            put("AC_grpmax", lst(a // 2 for a in acs))
            put("AN_grpmax", lst(an // 2 for _ in acs))
            put("nhomalt_grpmax", lst(0 for _ in alts))
        else:
            put("popmax", lst("nfe" for _ in alts))
            put("AC_popmax", lst(a // 2 for a in acs))
            put("AN_popmax", lst(an // 2 for _ in acs))
    else:
        put("AC_raw", lst(a + 1 for a in acs))
        put("AN_raw", an + 100)
        for pi, p in enumerate(pops):
            put("AC_" + p, lst(sum(pop_acs[s][i][pi] for s in sexes) for i in range(n)))
        for si, s in enumerate(sexes):
            put("AC_" + s, lst(by_sex[i][si] for i in range(n)))
        for pi, p in enumerate(pops):
            put("AN_" + p, sum(pop_an[s][pi] for s in sexes))
        for si, s in enumerate(sexes):
            put("AN_" + s, an_sex[si])
        for pi, p in enumerate(pops):
            put("Hom_" + p, lst(0 for _ in alts))
        put("Hom", lst(homs))
        if contig == "X" and not (60001 <= pos <= 2699520 or 154931044 <= pos <= 155260560):
            for pi, p in enumerate(pops):
                put("Hemi_" + p, lst(pop_acs["Male"][i][pi] for i in range(n)))
            put("Hemi", lst(by_sex[i][0] for i in range(n)))
        put("POPMAX", lst("NFE" for _ in alts))
        put("AC_POPMAX", lst(a // 2 for a in acs))
        put("AN_POPMAX", lst(an // 2 for _ in acs))
    put("FS", "%.3f" % rng.uniform(0, 20))
    put("MQ", "%.2f" % rng.uniform(40, 60))
    put("QD", "%.2f" % rng.uniform(1, 30))
    put("VQSLOD", "%.2f" % rng.uniform(-5, 20))
    entries = annotations(rng, release, contig, pos, ref, alts, names)
    if release == "v4.0":
        # The v4.0 defect: two fields more than the header lists, empty
        # SIFT and PolyPhen between SOURCE and DOMAINS.
        i = names.index("SOURCE") + 1
        rows = []
        for e in entries:
            v = [e[k] for k in names]
            rows.append("|".join(v[:i] + ["", ""] + v[i:]))
    else:
        rows = ["|".join(e[k] for k in names) for e in entries]
    info.append("%s=%s" % (vep_key, ",".join(rows)))
    filt = "PASS" if pos % 7 else ("AC0" if sum(acs) == 0 else "AS_VQSR")
    rsid = "rs%d" % (pos % 1000003) if pos % 4 else "."
    qual = "%.2f" % rng.uniform(30, 50000)
    return "\t".join([chrom, str(pos), rsid, ref, ",".join(alts), qual, filt, ";".join(info)])


def write(release, outdir):
    rng = random.Random("gnomad-" + release)
    h, pops, vep_key, names = header(release)
    path = os.path.join(outdir, "gnomad_%s_sample.vcf" % release)
    with open(path, "w", newline="\n") as f:
        for line in h:
            f.write(line + "\n")
        for contig, pos, ref, alts in sites(release):
            f.write(record(rng, release, pops, vep_key, names, contig, pos, ref, alts) + "\n")
    return path


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for release in ("v2.1", "v3.1", "v4.0", "r2.0"):
        print(write(release, outdir))


if __name__ == "__main__":
    main()
