#!/usr/bin/env python3
"""Deterministic synthetic ExAC r0.3-style sites VCF generator (benchmark input).

Writes plain VCFv4.1 text (8 columns, sites only) to stdout; pipe it through
bgzip:

    python3 bench/gen/gen_exac_vcf.py --sites 200000 | bgzip -@2 -c > /tmp/exac200k.vcf.gz

Same --sites/--seed (and Python 3 version) => byte-identical output.  Standard
library only.  A summary line (sites, alleles, bytes, seconds) goes to stderr.
See bench/gen/README.md for what the data looks like.
"""

import argparse
import math
import random
import sys
import time
from bisect import bisect

# --------------------------------------------------------------------------
# Static tables
# --------------------------------------------------------------------------

# GRCh37 contigs in header order: (name, length, ~protein-coding genes = site weight)
CONTIGS = [
    ("1", 249250621, 2050), ("2", 243199373, 1300), ("3", 198022430, 1080),
    ("4", 191154276, 750), ("5", 180915260, 880), ("6", 171115067, 1050),
    ("7", 159138663, 920), ("8", 146364022, 680), ("9", 141213431, 780),
    ("10", 135534747, 740), ("11", 135006516, 1300), ("12", 133851895, 1030),
    ("13", 115169878, 320), ("14", 107349540, 610), ("15", 102531392, 600),
    ("16", 90354753, 850), ("17", 81195210, 1180), ("18", 78077248, 270),
    ("19", 59128983, 1470), ("20", 63025520, 540), ("21", 48129895, 230),
    ("22", 51304566, 440), ("X", 155270560, 840), ("Y", 59373566, 60),
    ("MT", 16569, 13),
]

POPS = ["AFR", "AMR", "EAS", "FIN", "NFE", "OTH", "SAS"]
POP_DESC = {
    "AFR": "African/African American", "AMR": "American", "EAS": "East Asian",
    "FIN": "Finnish", "NFE": "Non-Finnish European", "OTH": "Other",
    "SAS": "South Asian",
}
POP_N = [5203, 5789, 4327, 3307, 33370, 454, 8256]   # ExAC r0.3 individuals
N_TOTAL = 60706
# weights for placing singleton/rare alleles (sample size x diversity)
POP_RARE_W = [5203 * 2.0, 5789 * 1.3, 4327 * 1.2, 3307 * 0.8, 33370 * 1.0, 454 * 1.0, 8256 * 1.3]

CSQ_FORMAT = ("Allele|Gene|Feature|Feature_type|Consequence|cDNA_position|CDS_position|"
              "Protein_position|Amino_acids|Codons|Existing_variation|ALLELE_NUM|DISTANCE|"
              "STRAND|SYMBOL|SYMBOL_SOURCE|HGNC_ID|BIOTYPE|CANONICAL|CCDS|ENSP|SWISSPROT|"
              "TREMBL|UNIPARC|SIFT|PolyPhen|EXON|INTRON|DOMAINS|HGVSc|HGVSp|GMAF|AFR_MAF|"
              "AMR_MAF|ASN_MAF|EUR_MAF|EAS_MAF|SAS_MAF|AA_MAF|EA_MAF|ExAC_MAF|ExAC_Adj_MAF|"
              "ExAC_AFR_MAF|ExAC_AMR_MAF|ExAC_EAS_MAF|ExAC_FIN_MAF|ExAC_NFE_MAF|ExAC_OTH_MAF|"
              "ExAC_SAS_MAF|CLIN_SIG|SOMATIC|PHENO|PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|"
              "MOTIF_SCORE_CHANGE|LoF|LoF_filter|LoF_flags|LoF_info|context|ancestral")
CSQ_NFIELDS = CSQ_FORMAT.count("|") + 1

MIDS = "2.5|7.5|12.5|17.5|22.5|27.5|32.5|37.5|42.5|47.5|52.5|57.5|62.5|67.5|72.5|77.5|82.5|87.5|92.5|97.5"

FILTERS = [
    ("AC_Adj0", "Only low quality genotype calls containing alternate alleles are present"),
    ("InbreedingCoeff_Filter", "InbreedingCoeff <= -0.2"),
    ("LowQual", "Low quality"),
    ("NewCut_Filter", "VQSLOD > -2.632 && InbreedingCoeff >-0.2"),
    ("PASS", "All filters passed"),
    ("VQSRTrancheINDEL95.00to96.00", "Truth sensitivity tranche level for INDEL model at VQS Lod: 0.9364 <= x < 1.0415"),
    ("VQSRTrancheINDEL96.00to97.00", "Truth sensitivity tranche level for INDEL model at VQS Lod: 0.8135 <= x < 0.9364"),
    ("VQSRTrancheINDEL97.00to99.00", "Truth sensitivity tranche level for INDEL model at VQS Lod: 0.323 <= x < 0.8135"),
    ("VQSRTrancheINDEL99.00to99.50", "Truth sensitivity tranche level for INDEL model at VQS Lod: -0.1071 <= x < 0.323"),
    ("VQSRTrancheINDEL99.50to99.90", "Truth sensitivity tranche level for INDEL model at VQS Lod: -1.4962 <= x < -0.1071"),
    ("VQSRTrancheINDEL99.90to99.95", "Truth sensitivity tranche level for INDEL model at VQS Lod: -2.5607 <= x < -1.4962"),
    ("VQSRTrancheINDEL99.95to100.00", "Truth sensitivity tranche level for INDEL model at VQS Lod: -37939.5098 <= x < -2.5607"),
    ("VQSRTrancheINDEL99.95to100.00+", "Truth sensitivity tranche level for INDEL model at VQS Lod < -37939.5098"),
    ("VQSRTrancheSNP99.60to99.80", "Truth sensitivity tranche level for SNP model at VQS Lod: -4.9627 <= x < -2.6324"),
    ("VQSRTrancheSNP99.80to99.90", "Truth sensitivity tranche level for SNP model at VQS Lod: -12.2684 <= x < -4.9627"),
    ("VQSRTrancheSNP99.90to99.95", "Truth sensitivity tranche level for SNP model at VQS Lod: -27.8883 <= x < -12.2684"),
    ("VQSRTrancheSNP99.95to100.00", "Truth sensitivity tranche level for SNP model at VQS Lod: -39398.8 <= x < -27.8883"),
    ("VQSRTrancheSNP99.95to100.00+", "Truth sensitivity tranche level for SNP model at VQS Lod < -39398.8"),
]
SNP_BAD_FILTERS = ["VQSRTrancheSNP99.60to99.80", "VQSRTrancheSNP99.80to99.90",
                   "VQSRTrancheSNP99.90to99.95", "VQSRTrancheSNP99.95to100.00",
                   "VQSRTrancheSNP99.95to100.00+", "InbreedingCoeff_Filter", "LowQual",
                   "NewCut_Filter", "InbreedingCoeff_Filter;VQSRTrancheSNP99.60to99.80",
                   "VQSRTrancheSNP99.60to99.80", "VQSRTrancheSNP99.80to99.90"]
INDEL_BAD_FILTERS = ["VQSRTrancheINDEL95.00to96.00", "VQSRTrancheINDEL96.00to97.00",
                     "VQSRTrancheINDEL97.00to99.00", "VQSRTrancheINDEL99.00to99.50",
                     "VQSRTrancheINDEL99.50to99.90", "VQSRTrancheINDEL99.90to99.95",
                     "VQSRTrancheINDEL99.95to100.00", "VQSRTrancheINDEL99.95to100.00+",
                     "InbreedingCoeff_Filter", "LowQual",
                     "InbreedingCoeff_Filter;VQSRTrancheINDEL97.00to99.00"]

INFO_TPL = (
    "AC=%s;AC_AFR=%s;AC_AMR=%s;AC_Adj=%s;AC_CONSANGUINEOUS=%s;AC_EAS=%s;AC_FEMALE=%s;AC_FIN=%s%s"
    ";AC_Het=%s;AC_Hom=%s;AC_MALE=%s;AC_NFE=%s;AC_OTH=%s;AC_POPMAX=%s;AC_SAS=%s;AF=%s"
    ";AN=%d;AN_AFR=%d;AN_AMR=%d;AN_Adj=%d;AN_CONSANGUINEOUS=%d;AN_EAS=%d;AN_FEMALE=%d;AN_FIN=%d"
    ";AN_MALE=%d;AN_NFE=%d;AN_OTH=%d;AN_POPMAX=%s;AN_SAS=%d%s%s"
    ";DP=%d;FS=%s;GQ_MEAN=%s;GQ_STDDEV=%s%s"
    ";Het_AFR=%s;Het_AMR=%s;Het_EAS=%s;Het_FIN=%s;Het_NFE=%s;Het_OTH=%s;Het_SAS=%s"
    ";Hom_AFR=%s;Hom_AMR=%s;Hom_EAS=%s;Hom_FIN=%s;Hom_NFE=%s;Hom_OTH=%s;Hom_SAS=%s"
    ";Hom_CONSANGUINEOUS=%s;HWP=%s;InbreedingCoeff=%s;MLEAC=%s;MLEAF=%s;MQ=%s;MQ0=0%s;NCC=%d%s"
    ";POPMAX=%s;QD=%s%s;VQSLOD=%s;culprit=%s;DP_HIST=%s,%s;GQ_HIST=%s,%s;CSQ=")
HEMI_TPL = ";Hemi_AFR=%s;Hemi_AMR=%s;Hemi_EAS=%s;Hemi_FIN=%s;Hemi_NFE=%s;Hemi_OTH=%s;Hemi_SAS=%s"
Z7 = [0, 0, 0, 0, 0, 0, 0]


def header_lines(contig_names):
    h = ["##fileformat=VCFv4.1"]
    for fid, desc in FILTERS:
        h.append('##FILTER=<ID=%s,Description="%s">' % (fid, desc))
    h += [
        '##FORMAT=<ID=AD,Number=.,Type=Integer,Description="Allelic depths for the ref and alt alleles in the order listed">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth (reads with MQ=255 or with bad mates are filtered)">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Normalized, Phred-scaled likelihoods for genotypes as defined in the VCF specification">',
        '##GATKCommandLine=<ID=ApplyRecalibration,Version=3.1-144-g00f68a3,Date="Wed Jan 28 13:41:31 EST 2015",Epoch=1422470491035,'
        'CommandLineOptions="analysis_type=ApplyRecalibration input=[] read_buffer_size=null phone_home=AWS '
        'ts_filter_level=99.6 lodCutoff=null ignore_filter=null excludeFiltered=false mode=SNP">',
    ]
    info = []

    def add(iid, num, typ, desc):
        info.append('##INFO=<ID=%s,Number=%s,Type=%s,Description="%s">' % (iid, num, typ, desc))

    add("AC", "A", "Integer", "Allele count in genotypes, for each ALT allele, in the same order as listed")
    for p in POPS[:2]:
        add("AC_" + p, "A", "Integer", POP_DESC[p] + " Allele Counts")
    add("AC_Adj", "A", "Integer", "Adjusted Allele Counts")
    add("AC_CONSANGUINEOUS", "A", "Integer", "Allele count among individuals with F > 0.05")
    for p in POPS[2:3]:
        add("AC_" + p, "A", "Integer", POP_DESC[p] + " Allele Counts")
    add("AC_FEMALE", "A", "Integer", "Adjusted Allele Counts for Females")
    add("AC_FIN", "A", "Integer", "Finnish Allele Counts")
    add("AC_Hemi", "A", "Integer", "Adjusted Hemizygous Counts")
    add("AC_Het", "A", "Integer", "Adjusted Heterozygous Counts")
    add("AC_Hom", "A", "Integer", "Adjusted Homozygous Counts")
    add("AC_MALE", "A", "Integer", "Adjusted Allele Counts for Males")
    for p in ("NFE", "OTH"):
        add("AC_" + p, "A", "Integer", POP_DESC[p] + " Allele Counts")
    add("AC_POPMAX", "A", "Integer", "AC in the population with the max AF")
    add("AC_SAS", "A", "Integer", "South Asian Allele Counts")
    add("AF", "A", "Float", "Allele Frequency, for each ALT allele, in the same order as listed")
    add("AN", "1", "Integer", "Total number of alleles in called genotypes")
    for p in POPS[:2]:
        add("AN_" + p, "1", "Integer", POP_DESC[p] + " Chromosome Count")
    add("AN_Adj", "1", "Integer", "Adjusted Chromosome Count")
    add("AN_CONSANGUINEOUS", "1", "Integer", "Allele number among individuals with F > 0.05")
    add("AN_EAS", "1", "Integer", "East Asian Chromosome Count")
    add("AN_FEMALE", "1", "Integer", "Adjusted Chromosome Count for Females")
    add("AN_FIN", "1", "Integer", "Finnish Chromosome Count")
    add("AN_MALE", "1", "Integer", "Adjusted Chromosome Count for Males")
    for p in ("NFE", "OTH"):
        add("AN_" + p, "1", "Integer", POP_DESC[p] + " Chromosome Count")
    add("AN_POPMAX", "A", "Integer", "AN in the population with the max AF")
    add("AN_SAS", "1", "Integer", "South Asian Chromosome Count")
    add("BaseQRankSum", "1", "Float", "Z-score from Wilcoxon rank sum test of Alt Vs. Ref base qualities")
    add("CCC", "1", "Integer", "Number of called chromosomes")
    add("ClippingRankSum", "1", "Float", "Z-score From Wilcoxon rank sum test of Alt vs. Ref number of hard clipped bases")
    add("DB", "0", "Flag", "dbSNP Membership")
    add("DP", "1", "Integer", "Approximate read depth; some reads may have been filtered")
    add("DP_HIST", "R", "String", "Histogram for DP; Mids: " + MIDS)
    add("DS", "0", "Flag", "Were any of the samples downsampled?")
    add("END", "1", "Integer", "Stop position of the interval")
    add("FS", "1", "Float", "Phred-scaled p-value using Fisher's exact test to detect strand bias")
    add("GQ_HIST", "R", "String", "Histogram for GQ; Mids: " + MIDS)
    add("GQ_MEAN", "1", "Float", "Mean of all GQ values")
    add("GQ_STDDEV", "1", "Float", "Standard deviation of all GQ values")
    add("HWP", "1", "Float", "P value from test of Hardy Weinberg Equilibrium")
    add("HaplotypeScore", "1", "Float", "Consistency of the site with at most two segregating haplotypes")
    for p in POPS:
        add("Hemi_" + p, "A", "Integer", POP_DESC[p] + " Hemizygous Counts")
    for p in POPS:
        add("Het_" + p, "A", "Integer", POP_DESC[p] + " Heterozygous Counts")
    for p in POPS:
        add("Hom_" + p, "A", "Integer", POP_DESC[p] + " Homozygous Counts")
    add("Hom_CONSANGUINEOUS", "A", "Integer", "Homozygote count among individuals with F > 0.05")
    add("InbreedingCoeff", "1", "Float", "Inbreeding coefficient as estimated from the genotype likelihoods per-sample when compared against the Hard-Weinberg expectation")
    add("MLEAC", "A", "Integer", "Maximum likelihood expectation (MLE) for the allele counts (not necessarily the same as the AC), for each ALT allele, in the same order as listed")
    add("MLEAF", "A", "Float", "Maximum likelihood expectation (MLE) for the allele frequency (not necessarily the same as the AF), for each ALT allele, in the same order as listed")
    add("MQ", "1", "Float", "RMS Mapping Quality")
    add("MQ0", "1", "Integer", "Total Mapping Quality Zero Reads")
    add("MQRankSum", "1", "Float", "Z-score From Wilcoxon rank sum test of Alt vs. Ref read mapping qualities")
    add("NCC", "1", "Integer", "Number of no-called samples")
    add("NEGATIVE_TRAIN_SITE", "0", "Flag", "This variant was used to build the negative training set of bad variants")
    add("POPMAX", "A", "String", "Population with max AF")
    add("POSITIVE_TRAIN_SITE", "0", "Flag", "This variant was used to build the positive training set of good variants")
    add("QD", "1", "Float", "Variant Confidence/Quality by Depth")
    add("ReadPosRankSum", "1", "Float", "Z-score from Wilcoxon rank sum test of Alt vs. Ref read position bias")
    add("VQSLOD", "1", "Float", "Log odds ratio of being a true variant versus being false under the trained gaussian mixture model")
    add("culprit", "1", "String", "The annotation which was the worst performing in the Gaussian mixture model, likely the reason why the variant was filtered out")
    h += info
    for name, length, _ in CONTIGS:
        h.append("##contig=<ID=%s,length=%d,assembly=b37>" % (contig_names[name], length))
    h += [
        "##reference=file:///seq/references/Homo_sapiens_assembly19/v1/Homo_sapiens_assembly19.fasta",
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence type as predicted by VEP. Format: %s">' % CSQ_FORMAT,
        "##VEP=v77 cache=/humgen/atgu1/fs03/konradk/vep/homo_sapiens/77_GRCh37 db=. sift=sift5.2.2 polyphen=2.2.2 COSMIC=67 ESP=20140509 gencode=GENCODE 19 HGMD-PUBLIC=2014.1 genebuild=2011-04 regbuild=11 ClinVar=201404 dbSNP=138 assembly=GRCh37.p13",
        "##LoF=Loss-of-function annotation (HC = High Confidence; LC = Low Confidence)",
        "##LoF_filter=Reason for LoF not being HC",
        "##LoF_flags=Possible warning flags for LoF",
        "##LoF_info=Info used for LoF annotation",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    return h


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

BASES = "ACGT"
OTHER = {"A": "CGT", "C": "AGT", "G": "ACT", "T": "ACG"}
COMP = str.maketrans("ACGTacgt", "TGCAtgca")
AA1 = "ACDEFGHIKLMNPQRSTVWY"
AA3 = {"A": "Ala", "C": "Cys", "D": "Asp", "E": "Glu", "F": "Phe", "G": "Gly", "H": "His",
       "I": "Ile", "K": "Lys", "L": "Leu", "M": "Met", "N": "Asn", "P": "Pro", "Q": "Gln",
       "R": "Arg", "S": "Ser", "T": "Thr", "V": "Val", "W": "Trp", "Y": "Tyr", "*": "Ter"}
CODONS = [a + b + c for a in BASES for b in BASES for c in BASES]


def revcomp(s):
    return s.translate(COMP)[::-1]


def min_rep(pos, ref, alt):
    """Minimal representation as in docs/schema.md (suffix first, then prefix)."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref = ref[:-1]
        alt = alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref = ref[1:]
        alt = alt[1:]
        pos += 1
    return pos, ref, alt


def fmt_af(x):
    # GATK style: 6.998e-05, 0.012, 1.00
    if x < 0.001:
        return "%.3e" % x
    if x >= 1.0:
        return "1.00"
    return "%.3f" % x


class Pools:
    """Precomputed string pools indexed with getrandbits(12)."""

    def __init__(self, rng):
        g, n = rng.gauss, 4096
        self.baseq = ["%.3f" % g(0.0, 1.0) for _ in range(n)]
        self.clip = ["%.3f" % g(-0.1, 0.6) for _ in range(n)]
        self.mqrank = ["%.3f" % g(0.2, 0.7) for _ in range(n)]
        self.readpos = ["%.3f" % g(0.25, 0.8) for _ in range(n)]
        self.fs = ["0.000" if rng.random() < 0.45 else "%.3f" % rng.expovariate(0.4) for _ in range(n)]
        self.gqmean = ["%.2f" % (8 + 80 * rng.random()) for _ in range(n)]
        self.gqsd = ["%.2f" % (5 + 25 * rng.random()) for _ in range(n)]
        self.ic = ["%.4f" % max(-0.19, g(0.0, 0.05)) for _ in range(n)]
        self.ic_bad = ["%.4f" % (-0.2 - 0.6 * rng.random()) for _ in range(n)]
        self.mq = ["%.2f" % min(70.0, g(59.5, 1.8)) for _ in range(n)]
        self.qd = ["%.2f" % (1.5 + 33 * rng.random()) for _ in range(n)]
        self.vqslod_good = ["%.2f" % (rng.random() * 18 - 2.6) for _ in range(n)]
        self.vqslod_bad = ["%.2f" % (-2.7 - rng.expovariate(0.15)) for _ in range(n)]
        self.hwp = ["%.4f" % rng.random() for _ in range(n)]
        self.qual = []
        for _ in range(n):
            q = math.exp(rng.uniform(3.0, 15.0))
            self.qual.append("%.2f" % q)
        # 'all genotypes' histograms: counts of ~60k samples over 20 bins
        self.hist_all = []
        for _ in range(n):
            peak = rng.uniform(1.0, 12.0)
            w = [math.exp(-((i - peak) ** 2) / (2 * rng.uniform(3.0, 16.0))) + 0.002 for i in range(20)]
            tot = N_TOTAL * rng.uniform(0.55, 1.0)
            sw = sum(w)
            self.hist_all.append("|".join(str(int(tot * x / sw)) for x in w))
        self.gq_all = []
        for _ in range(n):
            # GQ: many in the top bin (99)
            w = [rng.random() * 0.3 + (i / 19.0) ** 3 for i in range(20)]
            w[19] += rng.uniform(2, 12)
            tot = N_TOTAL * rng.uniform(0.55, 1.0)
            sw = sum(w)
            self.gq_all.append("|".join(str(int(tot * x / sw)) for x in w))
        # allele histograms by carrier count (0..8 exact, 9 = "many")
        self.hist_alt = []
        zero = "|".join(["0"] * 20)
        for c in range(10):
            lst = []
            for _ in range(256):
                if c == 0:
                    lst.append(zero)
                    continue
                bins = [0] * 20
                k = c if c < 9 else int(math.exp(rng.uniform(2.3, 9.0)))
                if k < 200:
                    for _j in range(k):
                        bins[min(19, int(abs(rng.gauss(6, 4))))] += 1
                else:
                    peak = rng.uniform(2, 10)
                    w = [math.exp(-((i - peak) ** 2) / 12.0) for i in range(20)]
                    sw = sum(w)
                    bins = [int(k * x / sw) for x in w]
                lst.append("|".join(map(str, bins)))
            self.hist_alt.append(lst)
        self.gq_alt = []
        for c in range(10):
            lst = []
            for _ in range(256):
                if c == 0:
                    lst.append(zero)
                    continue
                bins = [0] * 20
                k = c if c < 9 else int(math.exp(rng.uniform(2.3, 9.0)))
                if k < 200:
                    for _j in range(k):
                        bins[19 if rng.random() < 0.7 else rng.randrange(20)] += 1
                else:
                    bins[19] = int(k * 0.7)
                    for i in range(19):
                        bins[i] = int(k * 0.3 / 19 * rng.random() * 2)
                lst.append("|".join(map(str, bins)))
            self.gq_alt.append(lst)
        # per-population AN jitter (call rate variation)
        self.pop_jit = [[rng.uniform(0.85, 1.0) for _ in POPS] for _ in range(512)]
        # per-population frequency multipliers for common variants
        self.pop_mult = [[math.exp(rng.gauss(0, 0.8)) for _ in POPS] for _ in range(512)]
        # CSQ MAF tuples (GMAF, AFR, AMR, EAS, EUR, SAS, AA, EA)
        self.maf = []
        for _ in range(512):
            f = math.exp(rng.uniform(-9, -0.8))
            vals = [min(0.5, f * math.exp(rng.gauss(0, 1))) for _ in range(8)]
            self.maf.append(["%.4f" % v if v >= 0.0001 else "1e-04" for v in vals])
        self.context = [a + b + c for a in BASES for b in BASES for c in BASES]


# --------------------------------------------------------------------------
# Gene model (built lazily as the generator walks along a contig)
# --------------------------------------------------------------------------

SYMBOL_PREFIX = ["SLC", "ZNF", "KRT", "OR", "TMEM", "CCDC", "FAM", "ANKRD", "KIAA", "LRRC",
                 "PCDH", "TBC1D", "ABC", "ADAM", "ARHGAP", "C", "CDH", "COL", "DNAH", "EPHA",
                 "FBXO", "GPR", "HLA", "IFT", "KCN", "KLHL", "MYO", "NLRP", "PRR", "RBM",
                 "SEC", "SPATA", "TRIM", "USP", "WDR", "ZBTB", "ZFP", "PLEKH", "RNF", "DDX"]
BIOTYPES_ALT = ["processed_transcript", "retained_intron", "nonsense_mediated_decay",
                "processed_transcript", "retained_intron", "lincRNA", "antisense"]
DOMAIN_POOL = ["Pfam_domain:PF00069", "Pfam_domain:PF00001", "Pfam_domain:PF00096",
               "Pfam_domain:PF07714", "Pfam_domain:PF00400", "PROSITE_profiles:PS50011",
               "PROSITE_profiles:PS50262", "PROSITE_profiles:PS50157", "SMART_domains:SM00220",
               "SMART_domains:SM00355", "Superfamily_domains:SSF56112", "Superfamily_domains:SSF81321",
               "Superfamily_domains:SSF57667", "PIRSF_domain:PIRSF000615", "Prints_domain:PR00237",
               "hmmpanther:PTHR24249", "hmmpanther:PTHR11732", "Low_complexity_(Seg):Seg"]
REG_BIOTYPES = ["promoter_flanking_region", "CTCF_binding_site", "enhancer", "promoter",
                "open_chromatin_region", "TF_binding_site"]
UC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
UCD = UC + "0123456789"


class IdGen:
    """Increasing Ensembl-like identifiers (cheap: getrandbits only)."""

    def __init__(self, rng):
        self.bits = rng.getrandbits
        self.g = 100000
        self.t = 300000
        self.p = 250000
        self.r = 1000
        self.ccds = 1000
        self.hgnc = 10

    def gene(self):
        self.g += 1 + self.bits(5)
        return "ENSG%011d" % self.g

    def tx(self):
        self.t += 1 + self.bits(4)
        return "ENST%011d" % self.t

    def prot(self):
        self.p += 1 + self.bits(4)
        return "ENSP%011d" % self.p

    def reg(self):
        self.r += 1 + self.bits(6)
        return "ENSR%011d" % self.r


DIG = "0123456789"


def make_gene(rng, ids):
    r = rng.random
    bits = rng.getrandbits
    gid = ids.gene()
    sym = SYMBOL_PREFIX[bits(5) % len(SYMBOL_PREFIX)] + str(1 + bits(9) % 400) + (UC[bits(5) % 26] if r() < 0.3 else "")
    ids.hgnc += 1 + bits(1)
    hgnc = str(ids.hgnc)
    strand = "1" if bits(1) else "-1"
    minus = strand == "-1"
    coding_gene = r() < 0.85
    ntx = 3 + min(int(rng.expovariate(0.3)), 11)
    txs = []
    for i in range(ntx):
        enst = ids.tx()
        ver = DIG[1 + bits(3) % 6]
        if coding_gene and (i == 0 or r() < 0.55):
            biotype = "protein_coding"
        else:
            biotype = BIOTYPES_ALT[bits(3) % len(BIOTYPES_ALT)]
        coding = biotype in ("protein_coding", "nonsense_mediated_decay")
        canon = "YES" if i == 0 else ""
        if coding:
            ensp = ids.prot()
            if biotype == "protein_coding" and r() < 0.6:
                ids.ccds += 1 + bits(1)
                ccds = "CCDS%d.%d" % (ids.ccds, 1 + bits(1))
            else:
                ccds = ""
            sp = ("OPQ"[bits(2) % 3] + DIG[bits(3)] + UCD[bits(5)] + UCD[bits(5)] + UCD[bits(5)]
                  + DIG[bits(3)]) if r() < 0.7 else ""
            tr = ("ABCDEFGHIJKLMNRSTUVWXYZ"[bits(4)] + DIG[bits(3)] + UC[bits(4)] + UCD[bits(5)]
                  + UCD[bits(5)] + DIG[bits(3)]) if r() < 0.5 else ""
            upi = "UPI%010X" % bits(40)
            cds_len = 3 * (60 + bits(11))
            domains = "&".join(rng.sample(DOMAIN_POOL, 1 + bits(2))) if r() < 0.7 else ""
        else:
            ensp = ccds = sp = tr = upi = domains = ""
            cds_len = 3 * (100 + bits(10))
        static_a = "%s|%s|Transcript" % (gid, enst)
        static_b = "|".join([strand, sym, "HGNC", hgnc, biotype, canon, ccds, ensp, sp, tr, upi])
        txs.append((
            static_a,                          # 0
            static_b,                          # 1
            enst + "." + ver,                  # 2 hgvsc prefix
            (ensp + "." + ver) if ensp else "",  # 3 hgvsp prefix
            coding,                            # 4
            biotype == "nonsense_mediated_decay",  # 5
            biotype == "protein_coding",       # 6
            cds_len,                           # 7
            20 + bits(8),                      # 8 utr5 length
            1 + bits(5) % 30,                  # 9 exons
            bits(20),                          # 10 offset
            minus,                             # 11
            domains,                           # 12
        ))
    return txs


def make_reg(rng, ids):
    biot = REG_BIOTYPES[rng.getrandbits(3) % len(REG_BIOTYPES)]
    static_a = "|%s|RegulatoryFeature" % ids.reg()
    static_b = "|".join(["", "", "", "", biot, "", "", "", "", "", ""])
    return static_a, static_b


# --------------------------------------------------------------------------
# Site layout
# --------------------------------------------------------------------------

def plan_sites(n_sites):
    """Number of sites per contig (weights ~ gene density), capped by capacity."""
    wsum = float(sum(w for _, _, w in CONTIGS))
    caps = [(length - 80) // 40 for _, length, _ in CONTIGS]
    if n_sites > sum(caps):
        sys.exit("too many sites for the genome (max %d)" % sum(caps))
    counts = [min(caps[i], int(n_sites * CONTIGS[i][2] / wsum)) for i in range(len(CONTIGS))]
    left = n_sites - sum(counts)
    order = sorted(range(len(CONTIGS)), key=lambda i: -CONTIGS[i][2])
    while left > 0:
        for i in order:
            if left == 0:
                break
            if counts[i] < caps[i]:
                counts[i] += 1
                left -= 1
    return counts, caps


# --------------------------------------------------------------------------
# Main generator
# --------------------------------------------------------------------------

def generate(n_sites, seed, chr_prefix, out):
    rng = random.Random(seed)
    rnd = rng.random
    bits = rng.getrandbits
    pools = Pools(random.Random(seed * 7919 + 17))
    ids = IdGen(rng)
    names = {c[0]: (chr_prefix + c[0]) for c in CONTIGS}
    if chr_prefix:
        names["MT"] = chr_prefix + "M"

    text = "\n".join(header_lines(names)) + "\n"
    out(text)
    nbytes = len(text)
    n_alleles = 0

    counts, caps = plan_sites(n_sites)
    P_BASEQ, P_CLIP, P_MQR, P_RP = pools.baseq, pools.clip, pools.mqrank, pools.readpos
    P_FS, P_GQM, P_GQS, P_IC, P_ICB = pools.fs, pools.gqmean, pools.gqsd, pools.ic, pools.ic_bad
    P_MQ, P_QD, P_VG, P_VB, P_QUAL = pools.mq, pools.qd, pools.vqslod_good, pools.vqslod_bad, pools.qual
    P_HALL, P_GALL, P_HALT, P_GALT = pools.hist_all, pools.gq_all, pools.hist_alt, pools.gq_alt
    P_JIT, P_MULT, P_MAF, P_CTX = pools.pop_jit, pools.pop_mult, pools.maf, pools.context
    P_HWP = pools.hwp
    NP = len(POPS)
    cum = []
    s = 0.0
    for w in POP_RARE_W:
        s += w
        cum.append(s)
    cum_tot = cum[-1]
    culprits = ["MQ", "FS", "QD", "MQRankSum", "ReadPosRankSum", "InbreedingCoeff", "DP", "FS", "MQ"]
    wsum = float(sum(w for _, _, w in CONTIGS))
    total_genes = 20000

    buf = []
    for ci, (cname, clen, cw) in enumerate(CONTIGS):
        n_here = counts[ci]
        if n_here == 0:
            continue
        chrom = names[cname]
        sex = cname in ("X", "Y")
        is_y = cname == "Y"
        if is_y:
            an_fac = 0.55          # only males
            male_share = 1.0
        elif cname == "X":
            an_fac = 1.45          # females diploid, males haploid
            male_share = 0.55 / 1.45
        else:
            an_fac = 2.0
            male_share = 0.55
        male_pct = int(male_share * 100)
        ks = sorted(rng.sample(range(1, caps[ci] + 1), n_here))
        n_genes = max(1, min(n_here, int(total_genes * cw / wsum)))
        cur_gene = -1
        txs = None
        for li in range(n_here):
            gi = li * n_genes // n_here
            if gi != cur_gene:
                cur_gene = gi
                txs = make_gene(rng, ids)
                reg = make_reg(rng, ids)
            pos = ks[li] * 40 + bits(4)

            # ---------------- alleles ----------------
            u = rnd()
            nalt = 1 if u < 0.88 else (2 if u < 0.97 else 3)
            if rnd() < 0.10:
                # indel line (REF may be padded; some ALTs need trimming)
                L = (1, 2, 2, 3, 3, 3, 4, 5, 6, 8)[bits(4) % 10]
                ref = "".join(BASES[bits(2)] for _ in range(L))
                alts = []
                first = True
                tries = 0
                while len(alts) < nalt and tries < 40:
                    tries += 1
                    kind = bits(2)
                    if first:
                        kind = 0 if (L > 1 and kind < 2) else 1
                    if kind == 0 and L > 1:             # deletion
                        d = 1 + bits(3) % (L - 1)
                        a = ref[0] + ref[1 + d:]
                    elif kind == 3 and L > 1:           # SNV written with padding
                        a = OTHER[ref[0]][bits(2) % 3] + ref[1:]
                    else:                               # insertion (repeat or random)
                        if L > 1 and bits(1):
                            ins = ref[1] * (1 + bits(2))
                        else:
                            ins = "".join(BASES[bits(2)] for _ in range(1 + bits(2) % 3 + bits(1)))
                        a = ref[0] + ins + ref[1:]
                    if a != ref and a not in alts:
                        alts.append(a)
                        first = False
                nalt = len(alts)
                indel = True
            else:
                ref = BASES[bits(2)]
                o = OTHER[ref]
                if nalt == 1:
                    alts = [o[bits(2) % 3]]
                else:
                    st = bits(2) % 3
                    alts = [o[(st + j) % 3] for j in range(nalt)]
                indel = False
            n_alleles += nalt

            # VEP allele strings (first base dropped when shared by all alleles)
            f0 = ref[0]
            if len(ref) > 1 or any(len(a) > 1 for a in alts):
                if all(a[0] == f0 for a in alts):
                    vep_alleles = [a[1:] or "-" for a in alts]
                else:
                    vep_alleles = alts
            else:
                vep_alleles = alts

            has_rs = rnd() < 0.42
            rsid = ("rs%d" % (1000 + bits(27))) if has_rs else "."

            # ---------------- counts ----------------
            cr = 0.55 + 0.45 * rnd()
            jit = P_JIT[bits(9)]
            if sex:
                an_p = [int(POP_N[i] * an_fac * cr * jit[i]) for i in range(NP)]
            else:
                an_p = [2 * int(POP_N[i] * cr * jit[i]) for i in range(NP)]
            an_adj = sum(an_p)
            an_raw = an_adj + int(an_adj * 0.4 * rnd())
            an_cap = int(N_TOTAL * an_fac)
            if an_raw > an_cap:
                an_raw = an_cap
            if an_raw < an_adj:
                an_raw = an_adj

            # per allele: population vectors + scalar fields (ints or strings)
            l_acp, l_hom, l_het, l_hemi, l_sc = [], [], [], [], []
            any_nonzero = False
            maxf = 0.9 / nalt
            for k in range(nalt):
                v = rnd()
                if v < 0.06:
                    ac = 0
                elif v < 0.50:
                    ac = 1
                elif v < 0.64:
                    ac = 2
                elif v < 0.75:
                    ac = 3 + bits(2)
                elif v < 0.90:
                    ac = 6 + bits(7)
                elif v < 0.97:
                    ac = 100 + bits(11)
                else:
                    ac = int(an_adj * maxf * rnd())
                if ac <= 5:
                    acp = [0, 0, 0, 0, 0, 0, 0]
                    for _j in range(ac):
                        acp[bisect(cum, rnd() * cum_tot)] += 1
                    ac_adj = ac
                else:
                    f = ac / an_adj
                    mult = P_MULT[bits(9)]
                    acp = []
                    for i in range(NP):
                        x = int(an_p[i] * f * mult[i] + 0.5)
                        lim = int(an_p[i] * maxf)
                        acp.append(x if x < lim else lim)
                    ac_adj = sum(acp)
                if is_y:
                    homp, hetp, hemip = Z7, Z7, acp
                    hom, het, hemi = 0, 0, ac_adj
                elif ac_adj <= 1 and not sex:
                    homp, hetp, hemip = Z7, acp, Z7
                    hom, het, hemi = 0, ac_adj, 0
                else:
                    homp = [0] * NP
                    for i in range(NP):
                        a_ = acp[i]
                        if a_ >= 2:
                            h_ = a_ * a_ // (2 * an_p[i])
                            if h_ == 0 and bits(5) == 0:
                                h_ = 1
                            homp[i] = h_
                    if sex:
                        hemip = [0] * NP
                        for i in range(NP):
                            rem = acp[i] - 2 * homp[i]
                            if rem:
                                hemip[i] = (rem * 45 + bits(7) % 100) // 100
                        hetp = [acp[i] - 2 * homp[i] - hemip[i] for i in range(NP)]
                        hemi = sum(hemip)
                    else:
                        hemip = Z7
                        hetp = [acp[i] - 2 * homp[i] for i in range(NP)]
                        hemi = 0
                    hom = sum(homp)
                    het = ac_adj - 2 * hom - hemi
                ac_raw = ac_adj + (0 if rnd() < 0.7 else 1 + bits(2))
                if ac_raw == 0:
                    ac_raw = 1
                if ac_adj:
                    any_nonzero = True
                ac_male = (ac_adj * male_pct + bits(7) % 100) // 100
                if ac_male > ac_adj:
                    ac_male = ac_adj
                ac_cons = (ac_adj * 2 + bits(6) % 100) // 100
                # POPMAX (OTH excluded, as in ExAC)
                best = -1
                bestf = -1.0
                if ac_adj:
                    for i in (0, 1, 2, 3, 4, 6):
                        if acp[i]:
                            fr = acp[i] / an_p[i]
                            if fr > bestf:
                                bestf = fr
                                best = i
                carriers = het + hom + hemi
                hk = carriers if carriers < 9 else 9
                if best >= 0:
                    sc = (ac_raw, ac_adj, ac_cons, ac_adj - ac_male, hemi, het, hom, ac_male,
                          acp[best], fmt_af(ac_raw / an_raw), an_p[best],
                          hom if hom < ac_cons // 2 else ac_cons // 2,
                          ac_raw + (bits(3) == 0), fmt_af(min(1.0, (ac_raw + 0.5) / an_raw)),
                          POPS[best], P_HALT[hk][bits(8)], P_GALT[hk][bits(8)])
                else:
                    sc = (ac_raw, ac_adj, ac_cons, ac_adj - ac_male, hemi, het, hom, ac_male,
                          ".", fmt_af(ac_raw / an_raw), ".",
                          hom if hom < ac_cons // 2 else ac_cons // 2,
                          ac_raw + (bits(3) == 0), fmt_af(min(1.0, (ac_raw + 0.5) / an_raw)),
                          ".", P_HALT[hk][bits(8)], P_GALT[hk][bits(8)])
                l_acp.append(acp)
                l_hom.append(homp)
                l_het.append(hetp)
                l_hemi.append(hemip)
                l_sc.append(sc)
            if nalt == 1:
                A, HO, HE, HM, S = l_acp[0], l_hom[0], l_het[0], l_hemi[0], l_sc[0]
            else:
                A = [",".join(map(str, x)) for x in zip(*l_acp)]
                HO = [",".join(map(str, x)) for x in zip(*l_hom)]
                HE = [",".join(map(str, x)) for x in zip(*l_het)]
                HM = [",".join(map(str, x)) for x in zip(*l_hemi)]
                S = [",".join(map(str, x)) for x in zip(*l_sc)]
            # S: 0 AC, 1 AC_Adj, 2 AC_CONS, 3 AC_FEMALE, 4 AC_Hemi, 5 AC_Het, 6 AC_Hom,
            #    7 AC_MALE, 8 AC_POPMAX, 9 AF, 10 AN_POPMAX, 11 Hom_CONS, 12 MLEAC, 13 MLEAF,
            #    14 POPMAX, 15 DP_HIST alt part(s), 16 GQ_HIST alt part(s)

            # ---------------- site-level ----------------
            w = rnd()
            if w < 0.84:
                filt = "PASS"
                bad = False
            else:
                bad = True
                if not any_nonzero and w < 0.92:
                    filt = "AC_Adj0"
                elif indel:
                    filt = INDEL_BAD_FILTERS[bits(4) % len(INDEL_BAD_FILTERS)]
                else:
                    filt = SNP_BAD_FILTERS[bits(4) % len(SNP_BAD_FILTERS)]
            qual = P_QUAL[bits(12)] if bits(7) else "."
            an_male = int(an_adj * male_share)
            has_rank = bits(5) != 0
            t = bits(4)
            info = [INFO_TPL % (
                S[0], A[0], A[1], S[1], S[2], A[2], S[3], A[3],
                (";AC_Hemi=%s" % (S[4],)) if sex else "",
                S[5], S[6], S[7], A[4], A[5], S[8], A[6], S[9],
                an_raw, an_p[0], an_p[1], an_adj, an_adj // 50, an_p[2], an_adj - an_male, an_p[3],
                an_male, an_p[4], an_p[5], S[10], an_p[6],
                (";BaseQRankSum=%s;ClippingRankSum=%s" % (P_BASEQ[bits(12)], P_CLIP[bits(12)])) if has_rank else "",
                ";DB" if has_rs else "",
                int(an_raw * (8 + 30 * rnd())), P_FS[bits(12)], P_GQM[bits(12)], P_GQS[bits(12)],
                (HEMI_TPL % tuple(HM)) if sex else "",
                HE[0], HE[1], HE[2], HE[3], HE[4], HE[5], HE[6],
                HO[0], HO[1], HO[2], HO[3], HO[4], HO[5], HO[6],
                S[11], P_HWP[bits(12)],
                P_ICB[bits(12)] if (bad and "Inbreeding" in filt) else P_IC[bits(12)],
                S[12], S[13], P_MQ[bits(12)],
                (";MQRankSum=" + P_MQR[bits(12)]) if has_rank else "",
                bits(10),
                ";NEGATIVE_TRAIN_SITE" if t == 0 else (";POSITIVE_TRAIN_SITE" if (t < 4 and not bad) else ""),
                S[14], P_QD[bits(12)],
                (";ReadPosRankSum=" + P_RP[bits(12)]) if has_rank else "",
                P_VB[bits(12)] if bad else P_VG[bits(12)],
                culprits[bits(3)],
                P_HALL[bits(12)], S[15], P_GALL[bits(12)], S[16])]
            # ---------------- CSQ ----------------
            tmin = (3 + nalt - 1) // nalt
            tmax = 10 // nalt
            T = tmin + bits(4) % (tmax - tmin + 1)
            if T > len(txs):
                T = len(txs)
            start = bits(4) % (len(txs) - T + 1)
            sel = txs[start:start + T]
            rv = rnd()
            if rv < 0.50:
                region = 0          # coding exon
            elif rv < 0.72:
                region = 1          # intron
            elif rv < 0.78:
                region = 2          # splice
            elif rv < 0.84:
                region = 3          # 5'UTR
            elif rv < 0.92:
                region = 4          # 3'UTR
            else:
                region = 5          # up/downstream
            use_reg = bits(4) == 0
            ctx = P_CTX[bits(6)][0] + ref[0] + P_CTX[bits(6)][2]
            existing = rsid if has_rs else ""
            if has_rs and bits(3) == 0:
                existing += "&COSM%d" % (10000 + bits(20))
            clin = "|||||||"            # CLIN_SIG|SOMATIC|PHENO|PUBMED|MOTIF_NAME|MOTIF_POS|HIGH_INF_POS|MOTIF_SCORE_CHANGE
            if has_rs and bits(4) == 0:
                clin = "%s||1|%d&%d||||" % (("benign", "likely_benign", "uncertain_significance",
                                          "pathogenic")[bits(2)], 10000000 + bits(24), 20000000 + bits(24))
            # per-allele: minimal representation -> HGVS change strings
            allele_info = []
            for k in range(nalt):
                a = alts[k]
                _p, r_, a_ = min_rep(pos, ref, a)
                if len(r_) == 1 and len(a_) == 1:
                    kind = 0
                    chp = r_ + ">" + a_
                    chm = r_.translate(COMP) + ">" + a_.translate(COMP)
                    span = 1
                elif len(a_) == 1 and a_[0] == r_[0]:
                    kind = 1                        # deletion
                    seq = r_[1:]
                    chp = "del" + seq
                    chm = "del" + revcomp(seq)
                    span = len(seq)
                elif len(r_) == 1 and a_[0] == r_[0]:
                    kind = 2                        # insertion
                    seq = a_[1:]
                    chp = "ins" + seq
                    chm = "ins" + revcomp(seq)
                    span = len(seq)
                else:
                    kind = 3                        # complex / MNP
                    chp = "delins" + a_
                    chm = "delins" + revcomp(a_)
                    span = len(r_)
                if has_rs and bits(1):
                    m = P_MAF[bits(9)]
                    va = vep_alleles[k]
                    maf = "|".join([va + ":" + m[0], va + ":" + m[1], va + ":" + m[2], "",
                                    va + ":" + m[4], va + ":" + m[3], va + ":" + m[5],
                                    va + ":" + m[6], va + ":" + m[7]]) + "|||||||||"
                else:
                    maf = "|||||||||||||||||"
                allele_info.append((kind, chp, chm, span, maf, vep_alleles[k], str(k + 1), r_, a_))

            entries = []
            for ti, tx in enumerate(sel):
                if use_reg and ti == T - 1:
                    ra, rb = reg
                    for (kind, chp, chm, span, maf, va, anum, r_, a_) in allele_info:
                        entries.append("|".join([
                            va, ra, "regulatory_region_variant", "", "", "", "", "", existing, anum, "",
                            rb, "", "", "", "", "", "", "", maf, clin, "", "", "", "", ctx, ""]))
                    continue
                (sa, sb, hc, hp, coding, nmd, pc, cds_len, utr5, nex, off, minus, doms) = tx
                rt = region if bits(2) else (1, 5, 1, 4)[bits(2)]
                q = (pos + off) % cds_len + 1
                for (kind, chp, chm, span, maf, va, anum, r_, a_) in allele_info:
                    ch = chm if minus else chp
                    cdna = cdsp = protp = aa = codons = dist = sift = pp = exon = intron = dom = hgvsc = hgvsp = ""
                    lof = lof_filter = lof_flags = lof_info = anc = ""
                    if rt == 5:
                        cons = "upstream_gene_variant" if bits(1) else "downstream_gene_variant"
                        dist = str(1 + (pos + off) % 4999)
                    elif rt == 1 or (rt == 2 and not coding):
                        cons = "intron_variant" if coding else "intron_variant&non_coding_transcript_variant"
                        if nmd:
                            cons += "&NMD_transcript_variant"
                        ex = 1 + q * (nex - 1) // cds_len if nex > 1 else 1
                        intron = "%d/%d" % (ex, nex - 1 if nex > 1 else 1)
                        d = 1 + (pos + off) % 900
                        sgn = "+" if bits(1) else "-"
                        if kind == 0:
                            hgvsc = "%s:%s.%d%s%d%s" % (hc, "c" if coding else "n", q, sgn, d, ch)
                        elif kind == 2:
                            d1, d2 = (d, d + 1) if sgn == "+" else (d + 1, d)
                            hgvsc = "%s:%s.%d%s%d_%d%s%d%s" % (hc, "c" if coding else "n", q, sgn, d1, q, sgn, d2, ch)
                        elif span == 1:
                            hgvsc = "%s:%s.%d%s%d%s" % (hc, "c" if coding else "n", q, sgn, d, ch)
                        else:
                            d1, d2 = (d, d + span - 1) if sgn == "+" else (d + span - 1, d)
                            hgvsc = "%s:%s.%d%s%d_%d%s%d%s" % (hc, "c" if coding else "n", q, sgn, d1, q, sgn, d2, ch)
                    elif rt == 2:
                        sv = bits(2)
                        ex = 1 + q * (nex - 1) // cds_len if nex > 1 else 1
                        intron = "%d/%d" % (ex, nex - 1 if nex > 1 else 1)
                        if sv == 0:
                            cons = "splice_acceptor_variant"
                            hgvsc = "%s:c.%d-%d%s" % (hc, q, 1 + bits(1), ch)
                        elif sv == 1:
                            cons = "splice_donor_variant"
                            hgvsc = "%s:c.%d+%d%s" % (hc, q, 1 + bits(1), ch)
                        else:
                            cons = "splice_region_variant&intron_variant"
                            hgvsc = "%s:c.%d+%d%s" % (hc, q, 3 + bits(3), ch)
                        if nmd:
                            cons += "&NMD_transcript_variant"
                        if sv < 2 and pc:
                            if bits(3):
                                lof = "HC"
                            else:
                                lof = "LC"
                                lof_filter = ("NON_CAN_SPLICE", "EXON_INTRON_UNDEF", "END_TRUNC", "ANC_ALLELE")[bits(2)]
                            lof_info = "INTRON_END:%d&EXON_END:%d&DONOR_ES:%.4f&ACCEPTOR_ES:%.4f&INTRON_SIZE:%d" % (
                                pos + 2, pos - 1, rnd() * 10, rnd() * 10, 80 + bits(14))
                            if nex == 1:
                                lof_flags = "SINGLE_EXON"
                    elif not coding:
                        cons = "non_coding_transcript_exon_variant&non_coding_transcript_variant"
                        cdna = str(q) if (kind == 0 or (span == 1 and kind != 2)) else "%d-%d" % (q, q + (1 if kind == 2 else span - 1))
                        exon = "%d/%d" % (1 + q * nex // (cds_len + 1), nex)
                        hgvsc = "%s:n.%s%s" % (hc, cdna.replace("-", "_"), ch)
                    elif rt == 3:
                        cons = "5_prime_UTR_variant" + ("&NMD_transcript_variant" if nmd else "")
                        u5 = 1 + (pos + off) % utr5
                        cdna = str(utr5 - u5 + 1)
                        exon = "1/%d" % nex
                        hgvsc = "%s:c.-%d%s" % (hc, u5, ch)
                    elif rt == 4:
                        cons = "3_prime_UTR_variant" + ("&NMD_transcript_variant" if nmd else "")
                        u3 = 1 + (pos + off) % 1500
                        cdna = str(utr5 + cds_len + u3)
                        exon = "%d/%d" % (nex, nex)
                        hgvsc = "%s:c.*%d%s" % (hc, u3, ch)
                    else:
                        # coding exon
                        pn = (q + 2) // 3
                        ex = 1 + q * nex // (cds_len + 1)
                        exon = "%d/%d" % (ex, nex)
                        if doms and bits(1):
                            dom = doms
                        if kind == 0:
                            cdna = str(q + utr5)
                            cdsp = str(q)
                            protp = str(pn)
                            cp = (q - 1) % 3
                            cod = CODONS[(pos + off) & 63].lower()
                            rb_, ab_ = (r_.translate(COMP), a_.translate(COMP)) if minus else (r_, a_)
                            codons = "%s%s%s/%s%s%s" % (cod[:cp], rb_, cod[cp + 1:], cod[:cp], ab_, cod[cp + 1:])
                            hgvsc = "%s:c.%d%s" % (hc, q, ch)
                            cv = rnd()
                            a1 = AA1[(pos + off) % 20]
                            if cv < 0.60:
                                a2 = AA1[(pos + off + 1 + bits(4)) % 20]
                                cons = "missense_variant"
                                aa = a1 + "/" + a2
                                hgvsp = "%s:p.%s%d%s" % (hp, AA3[a1], pn, AA3[a2])
                                sv_ = rnd()
                                sift = ("deleterious(%.2f)" % (sv_ * 0.05)) if sv_ < 0.4 else ("tolerated(%.2f)" % sv_)
                                pv = rnd()
                                pp = ("probably_damaging(%.3f)" % (0.909 + pv * 0.091) if pv < 0.3 else
                                      "possibly_damaging(%.3f)" % (0.447 + pv * 0.46) if pv < 0.5 else
                                      "benign(%.3f)" % (pv * 0.446))
                            elif cv < 0.94:
                                cons = "synonymous_variant"
                                aa = a1
                                hgvsp = "%s:c.%d%s(p.%%3D)" % (hc, q, ch)
                            elif cv < 0.985:
                                cons = "stop_gained"
                                aa = a1 + "/*"
                                hgvsp = "%s:p.%s%dTer" % (hp, AA3[a1], pn)
                                if pc:
                                    lof = "HC" if bits(3) else "LC"
                                    if lof == "LC":
                                        lof_filter = "END_TRUNC"
                                    lof_info = "POSITION:%.4f&ANN_ORF:%.3f&MAX_ORF:%.3f" % (
                                        q / cds_len, -rnd() * 500, -rnd() * 500)
                                    anc = r_
                            elif cv < 0.99:
                                cons = "stop_lost"
                                aa = "*/" + a1
                                hgvsp = "%s:p.Ter%d%sext*?" % (hp, pn, AA3[a1])
                            else:
                                cons = "start_lost"
                                aa = "M/" + a1
                                hgvsp = "%s:p.Met1?" % hp
                            if bits(4) == 0:
                                cons += "&splice_region_variant"
                        else:
                            q2 = q + 1 if kind == 2 else q + span - 1
                            if q2 == q:
                                cdna = str(q + utr5)
                                cdsp = str(q)
                            else:
                                cdna = "%d-%d" % (q + utr5, q2 + utr5)
                                cdsp = "%d-%d" % (q, q2)
                            pn2 = (q2 + 2) // 3
                            protp = str(pn) if pn2 == pn else "%d-%d" % (pn, pn2)
                            a1 = AA1[(pos + off) % 20]
                            a2 = AA1[(pos + off + 7) % 20]
                            hgvsc = ("%s:c.%d_%d%s" % (hc, q, q2, ch)) if q2 != q else ("%s:c.%d%s" % (hc, q, ch))
                            if kind == 3:
                                cons = "missense_variant" if span % 3 == 0 else "frameshift_variant"
                            elif span % 3:
                                cons = "frameshift_variant"
                            elif kind == 1:
                                cons = "inframe_deletion"
                            else:
                                cons = "inframe_insertion"
                            if cons == "frameshift_variant":
                                aa = a1 + "/X"
                                hgvsp = "%s:p.%s%dfs" % (hp, AA3[a1], pn)
                                if pc:
                                    lof = "HC" if bits(3) else "LC"
                                    if lof == "LC":
                                        lof_filter = "END_TRUNC"
                                    elif nex == 1:
                                        lof_flags = "SINGLE_EXON"
                                    lof_info = "POSITION:%.4f&ANN_ORF:%.3f&MAX_ORF:%.3f" % (
                                        q / cds_len, -rnd() * 500, -rnd() * 500)
                            elif cons == "inframe_deletion":
                                aa = a1 + a2 + "/" + a1
                                hgvsp = "%s:p.%s%ddel" % (hp, AA3[a2], pn + 1)
                            elif cons == "inframe_insertion":
                                aa = a1 + "/" + a1 + a2
                                hgvsp = "%s:p.%s%d_%s%dins%s" % (hp, AA3[a1], pn, AA3[a2], pn + 1, AA3[a2])
                            else:
                                aa = a1 + "/" + a2
                                hgvsp = "%s:p.%s%d%s" % (hp, AA3[a1], pn, AA3[a2])
                            cod = CODONS[(pos + off) & 63].lower()
                            if kind == 1:      # deleted bases upper case
                                codons = "%s%s%s/%s" % (cod[0], (revcomp(r_[1:]) if minus else r_[1:]), cod[1:], cod)
                            elif kind == 2:    # inserted bases upper case
                                codons = "%s/%s%s%s" % (cod, cod[0], (revcomp(a_[1:]) if minus else a_[1:]), cod[1:])
                            else:
                                codons = "%s%s%s/%s%s%s" % (cod[0], (revcomp(r_) if minus else r_), cod[1:],
                                                            cod[0], (revcomp(a_) if minus else a_), cod[1:])
                        if nmd:
                            cons += "&NMD_transcript_variant"
                    entries.append("|".join([
                        va, sa, cons, cdna, cdsp, protp, aa, codons, existing, anum, dist, sb,
                        sift, pp, exon, intron, dom, hgvsc, hgvsp, maf, clin, lof, lof_filter,
                        lof_flags, lof_info, ctx, anc]))
            info.append(",".join(entries))
            info.append("\n")
            line = "%s\t%d\t%s\t%s\t%s\t%s\t%s\t" % (chrom, pos, rsid, ref, ",".join(alts), qual, filt)
            buf.append(line)
            buf.append("".join(info))
            if len(buf) >= 2000:
                chunk = "".join(buf)
                nbytes += len(chunk)
                out(chunk)
                buf = []
    if buf:
        chunk = "".join(buf)
        nbytes += len(chunk)
        out(chunk)
    return n_alleles, nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, required=True, help="number of VCF data lines")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--chr-prefix", default="", help="prefix for contig names, e.g. 'chr' (MT becomes chrM)")
    args = ap.parse_args()
    if args.sites < 0:
        ap.error("--sites must be >= 0")
    t0 = time.time()
    try:
        n_alleles, nbytes = generate(args.sites, args.seed, args.chr_prefix, sys.stdout.write)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.write("gen_exac_vcf: output pipe closed early\n")
        try:
            sys.stdout = None
        finally:
            sys.exit(1)
    sys.stderr.write("gen_exac_vcf: sites=%d alleles=%d bytes=%d seconds=%.1f\n"
                     % (args.sites, n_alleles, nbytes, time.time() - t0))


if __name__ == "__main__":
    main()
