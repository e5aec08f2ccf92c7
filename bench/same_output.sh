#!/usr/bin/env bash
# Proves that two swefreq-load binaries write the same output: every
# collection file of a dump (byte for byte), the manifest (all but its
# "created" time) and the --json summary (all but "seconds" and "threads"),
# for the test data's sources, a few bad inputs skipped under --max-errors
# (documents dropped by the in-order stage), and with --bench the generated
# inputs of bench/run.sh that exist in bench/out/; the old binary at 1 and
# 2 threads, the new one at 1, 2 and 3. Exit 0 when all agree.
#
#   bench/same_output.sh OLD_BINARY NEW_BINARY [--bench]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,10p' "$0"; exit 2; }
A=$1 B=$2 BENCH=${3:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D=testdata
cases=(
  "--vcf $D/exac_sample.vcf --coverage $D/coverage_sample.tsv"
  "--vcf $D/exac_sample.vcf --histograms columns"
  "--vcf $D/exac_sample.vcf --vep-features enst"
  "--vcf $D/gnomad_sample.vcf"
  "--vcf $D/gnomad_r2.0_sample.vcf"
  "--vcf $D/gnomad_v2.1_sample.vcf"
  "--vcf $D/gnomad_v3.1_sample.vcf"
  "--vcf $D/gnomad_v4.0_sample.vcf"
  "--vcf $D/swegen_sample.vcf"
  "--coverage $D/coverage_sample.tsv --coverage-step 10"
  "--dbsnp $D/dbsnp_sample.tsv"
  "--gtf $D/gencode_sample.gtf --canonical-transcripts $D/canonical_sample.txt --omim $D/omim_sample.txt --dbnsfp-genes $D/dbnsfp_genes_sample.txt"
  "--vcf $D/bad/duplicate_variant.vcf --max-errors 5"
  "--vcf $D/bad/duplicate_info_key.vcf --max-errors 5"
  "--vcf $D/bad/ac_short.vcf --max-errors 5"
  "--vcf $D/exac_sample.vcf --vcf $D/exac_sample.vcf --max-errors 100"
)
# Edge cases made here: histogram counts past int32, '.', negative and
# '+'-signed; a non-finite and a -0 Mid (the pairs then take the generic
# path); QUAL 0 and -0.0 and nan (metrics).
E=$T/edge.vcf
sed -e '0,/DP_HIST=22|22|25/s//DP_HIST=3000000000|.|-4/' \
    -e '0,/GQ_HIST=23|18|21/s//GQ_HIST=+23|-9000000000|21/' testdata/exac_sample.vcf \
  | awk 'BEGIN{FS=OFS="\t"} !/^#/ {n++; if (n==2) $6="0"; if (n==3) $6="-0.0"; if (n==4) $6="nan"} {print}' > "$E"
sed -e '/ID=GQ_HIST/s/Mids: 2.5|7.5/Mids: nan|-0.0/' "$E" > "$T/edge_mids.vcf"
cases+=("--vcf $E" "--vcf $E --histograms columns" "--vcf $T/edge_mids.vcf")
# Chunk edges (the reader cuts chunks at a block's last newline): small
# chunks of every source, a multi-block BGZF VCF, CRLF lines (the parser
# drops the '\r'; bytes_read must not count it), a CRLF file whose last
# line has no newline, and rejected lines under small chunks.
sed 's/$/\r/' $D/exac_sample.vcf > "$T/crlf.vcf"
sed 's/$/\r/' $D/coverage_sample.tsv | head -c -1 > "$T/crlf_cut.tsv"
python3 bench/gen/gen_exac_vcf.py --sites 3000 | bgzip -c > "$T/blocks.vcf.gz"
cases+=("--vcf $D/gnomad_v4.0_sample.vcf --coverage $D/coverage_sample.tsv --chunk-size 4096"
  "--dbsnp $D/dbsnp_sample.tsv --gtf $D/gencode_sample.gtf --chunk-size 4096"
  "--vcf $T/crlf.vcf --coverage $T/crlf_cut.tsv" "--vcf $T/crlf.vcf --chunk-size 4096"
  "--vcf $T/blocks.vcf.gz" "--vcf $T/blocks.vcf.gz --chunk-size 5000"
  "--vcf $D/bad/duplicate_variant.vcf --max-errors 5 --chunk-size 4096")
# Regions (issue 25: a region's kept lines that lie whole in a block are
# copied by the block): one starting and ending mid-block, whole contigs,
# one with no record, two in one run, the last line (MT) of a CRLF file and
# of one whose last line has no newline, at 4096-byte and default chunks.
tabix -p vcf "$T/blocks.vcf.gz"
sed 's/$/\r/' <(zcat "$T/blocks.vcf.gz") | head -c -1 | bgzip -c > "$T/crlf_cut.vcf.gz"
tabix -p vcf "$T/crlf_cut.vcf.gz"
for cs in "" "--chunk-size 4096"; do
  for g in "--region 2:60667044-121948215" "--region 1" "--region X --region 2" \
           "--region 2:1-100" "--region 19:1-30000000 --region 19:30000001-60000000" \
           "--region MT"; do
    cases+=("--vcf $T/blocks.vcf.gz $g $cs")
  done
  cases+=("--vcf $T/crlf_cut.vcf.gz --region 2:60667044-121948215 --region MT $cs")
done
# dbSNP rows repeated within a batch and across batches (the uniqueness
# check by batch), rows at one position over several batches, bad rows,
# under --max-errors, in small chunks and large (the first refusal without
# it: test_pipeline; a failed run's bytes_read depends on the read-ahead).
python3 - "$T/dups.tsv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for l in range(1, 6001):
        rs, chrom, pos = l, "1" if l < 4000 else "2", 100 + 10 * (l // 3)
        if 2000 <= l < 2300:
            pos = 7000
        if l % 97 == 0:
            rs, pos = l - 1, 100 + 10 * ((l - 1) // 3) if not 2000 <= l < 2300 else 7000
        if l % 211 == 0:
            rs = "x%d" % l
        if l % 503 == 0:
            chrom = "PAR"
        f.write("%s\t%s\t%d\t1\n" % (rs, chrom, pos))
PY
cases+=("--dbsnp $T/dups.tsv --max-errors 1000 --chunk-size 4096"
  "--dbsnp $T/dups.tsv --max-errors 1000")
if [ "$BENCH" = --bench ]; then
  for f in bench/out/exac_*.vcf.gz; do [ -s "$f" ] && cases+=("--vcf $f"); done
  for f in bench/out/coverage_*.tsv.gz; do [ -s "$f" ] && cases+=("--coverage $f"); done
  for f in bench/out/dbsnp_*.tsv.gz; do [ -s "$f" ] && cases+=("--dbsnp $f"); done
  for f in bench/out/gencode_*.gtf.gz; do [ -s "$f" ] && cases+=("--gtf $f"); done
fi

# run BIN THREADS NAME ARGS...: a dump to $T/NAME, its summary in $T/NAME.json
run() {
  local bin=$1 th=$2 name=$3; shift 3
  rm -rf "${T:?}/$name"
  # shellcheck disable=SC2068
  "$bin" dump --quiet --json --threads "$th" --out "$T/$name" $@ 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("seconds"); d.pop("threads"); print(json.dumps(d, sort_keys=True))' \
    > "$T/$name.json" || true
}
same() { # NAME1 NAME2: the same files, bytes, manifest and summary
  local a=$T/$1 b=$T/$2 f
  cmp -s "$a.json" "$b.json" || { echo "summary differs: $1 vs $2"; diff "$a.json" "$b.json" | head -5; return 1; }
  [ -d "$a" ] || [ -d "$b" ] || return 0
  (cd "$a" && find . -type f | sort) > "$T/la"; (cd "$b" && find . -type f | sort) > "$T/lb"
  cmp -s "$T/la" "$T/lb" || { echo "file lists differ: $1 vs $2"; return 1; }
  while read -r f; do
    case "$f" in
      */manifest.json)
        python3 - "$a/$f" "$b/$f" <<'EOF' || { echo "manifest differs: $1 vs $2 ($f)"; return 1; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for m in (a, b):
    m.pop("created", None)
sys.exit(0 if a == b else 1)
EOF
        ;;
      *) cmp -s "$a/$f" "$b/$f" || { echo "differs: $f ($1 vs $2)"; return 1; } ;;
    esac
  done < "$T/la"
}

fail=0 n=0
for c in "${cases[@]}"; do
  n=$((n + 1)) was=$fail fail=0
  run "$A" 1 "a1" $c
  for th in 2; do run "$A" $th "a$th" $c; same a1 "a$th" || fail=1; done
  for th in 1 2 3; do run "$B" $th "b$th" $c; same a1 "b$th" || fail=1; done
  printf '%-6s %s\n' "$([ $fail = 0 ] && echo same || echo DIFF)" "$c"
  [ $was = 0 ] || fail=1
done
[ $fail = 0 ] && echo "all $n cases: identical output (old at 1, 2 threads; new at 1, 2, 3)"
exit $fail
