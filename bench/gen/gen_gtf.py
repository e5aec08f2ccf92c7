#!/usr/bin/env python3
"""A GENCODE-shaped GTF on stdout: per gene one gene line, 1-4 transcripts,
each with exons, CDS, UTR and start/stop codon lines and GENCODE's long
attribute lists; genes on both strands over chr1..chr22, chrX, chrY, chrM.

usage: gen_gtf.py --genes N [--seed S]
"""
import argparse
import random
import sys

p = argparse.ArgumentParser()
p.add_argument("--genes", type=int, required=True)
p.add_argument("--seed", type=int, default=14)
a = p.parse_args()
rnd = random.Random(a.seed)
chroms = ["chr%d" % i for i in range(1, 23)] + ["chrX", "chrY", "chrM"]
per = a.genes // len(chroms) + 1
out = sys.stdout
out.write("##description: generated for swefreq-load's benchmark\n##provider: GENCODE\n##format: gtf\n")
g = t = e = 0
lines = 0
for c in chroms:
    pos = 20000
    for _ in range(per):
        if g >= a.genes:
            break
        g += 1
        strand = rnd.choice("+-")
        gid = "ENSG%011d.%d" % (g, rnd.randint(1, 9))
        name = "GENE%d" % g
        start = pos
        length = rnd.randint(2000, 60000)
        stop = start + length
        pos = stop + rnd.randint(1000, 50000)
        common = f'gene_id "{gid}"; gene_type "protein_coding"; gene_status "KNOWN"; gene_name "{name}"; level 2; havana_gene "OTTHUMG{g:011d}.1";'
        rows = [(c, "gene", start, stop, f'gene_id "{gid}"; transcript_id "{gid}"; gene_type "protein_coding"; gene_status "KNOWN"; gene_name "{name}"; transcript_type "protein_coding"; transcript_status "KNOWN"; transcript_name "{name}"; level 2; havana_gene "OTTHUMG{g:011d}.1";')]
        for _ in range(rnd.randint(1, 4)):
            t += 1
            tid = "ENST%011d.%d" % (t, rnd.randint(1, 5))
            ta = f'{common} transcript_id "{tid}"; transcript_type "protein_coding"; transcript_status "KNOWN"; transcript_name "{name}-00{t % 9}"; tag "basic"; havana_transcript "OTTHUMT{t:011d}.1";'
            rows.append((c, "transcript", start, stop, ta))
            x = start
            n_ex = rnd.randint(2, 12)
            for k in range(n_ex):
                e += 1
                xs, xe = x, min(stop, x + rnd.randint(80, 400))
                x = xe + rnd.randint(200, 3000)
                ea = f'{ta} exon_number {k + 1}; exon_id "ENSE{e:011d}.1";'
                rows.append((c, "exon", xs, xe, ea))
                rows.append((c, "CDS", xs, xe, ea) if 0 < k < n_ex - 1 else (c, "UTR", xs, xe, ea))
                if x >= stop:
                    break
            rows.append((c, "start_codon", start, start + 2, ta))
        for ch, f, s, en, at in rows:
            out.write(f"{ch}\tHAVANA\t{f}\t{s}\t{en}\t.\t{strand}\t.\t{at}\n")
            lines += 1
print(f"gen_gtf: genes={g} lines={lines}", file=sys.stderr)
