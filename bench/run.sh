#!/usr/bin/env bash
# The benchmark: runs, in one go on the same generated files, the
# decompression floor (bgzip -dc), htslib's own full parse (bcftools view
# -Ou), swefreq-load --dry-run at 1 and at N threads, the dump sink, dump
# verification, and the coverage, dbSNP and GTF paths; prints wall time,
# documents/s, MB/s (uncompressed input), peak RSS and the ratio to bcftools
# for each (best of --repeat runs); then bench/floor.sh: the dry run against
# `bcftools view --threads N -Ou` for N = 1, 2 in one loop, medians of 5.
#
#   bench/run.sh [--sites N] [--rows N] [--threads N] [--repeat N] [--mongo URI] [--smoke]
#
# --mongo URI also loads into that server with swefreq-load and with a
# Python loader (pymongo insert_many, as the ExAC/SweFreq loaders do) and
# reports client CPU seconds per 100,000 documents. Generated inputs live in
# bench/out/ (never committed) and are reused when their size matches.
set -euo pipefail
cd "$(dirname "$0")/.."
SITES=200000 ROWS=2000000 THREADS=$(nproc) MONGO="" SMOKE=0 REPEAT=3 DBSNP_ROWS=5000000 GENES=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --sites) SITES=$2; shift 2;;
    --rows) ROWS=$2; shift 2;;
    --threads) THREADS=$2; shift 2;;
    --mongo) MONGO=$2; shift 2;;
    --smoke) SMOKE=1; SITES=2000; ROWS=20000; REPEAT=1; DBSNP_ROWS=20000; GENES=200; shift;;
    --repeat) REPEAT=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
BUILD=${BUILD:-build}
TOOL=$BUILD/swefreq-load
[ -x "$TOOL" ] || { cmake -S . -B "$BUILD" -G Ninja >/dev/null; cmake --build "$BUILD" >/dev/null; }
OUT=bench/out
mkdir -p "$OUT"
VCF=$OUT/exac_$SITES.vcf.gz
COV=$OUT/coverage_$ROWS.tsv.gz
[ -s "$VCF" ] || python3 bench/gen/gen_exac_vcf.py --sites "$SITES" | bgzip -@2 -c > "$VCF"
[ -s "$COV" ] || python3 bench/gen/gen_coverage.py --rows "$ROWS" | bgzip -@2 -c > "$COV"
VCF_MB=$(bgzip -dc "$VCF" | wc -c | awk '{print $1/1e6}')
COV_MB=$(bgzip -dc "$COV" | wc -c | awk '{print $1/1e6}')

# measure NAME DOCS MB CMD... : wall seconds and peak RSS via GNU time;
# the best (lowest) wall time of REPEAT runs, as the machine is shared.
REF=""
printf '%-34s %8s %12s %8s %9s %8s\n' "run" "wall s" "docs/s" "MB/s" "RSS MB" "x bcftools"
measure() {
  local name=$1 docs=$2 mb=$3; shift 3
  local t; t=$(mktemp)
  local wall="" rss="" user="" sys="" i w m u s
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f "%e %M %U %S" -o "$t" "$@" >/dev/null 2>"$t.err" || { cat "$t.err" >&2; echo "FAILED: $name" >&2; exit 1; }
    read -r w m u s < "$t"
    if [ -z "$wall" ] || awk -v a="$w" -v b="$wall" 'BEGIN{exit !(a < b)}'; then
      wall=$w; user=$u; sys=$s
    fi
    if [ -z "$rss" ] || [ "$m" -gt "$rss" ]; then rss=$m; fi
  done
  rm -f "$t" "$t.err"
  local ratio="-"
  [ -n "$REF" ] && ratio=$(awk -v a="$wall" -v b="$REF" 'BEGIN{printf "%.2f", a/b}')
  awk -v n="$name" -v w="$wall" -v d="$docs" -v mb="$mb" -v r="$rss" -v x="$ratio" \
    'BEGIN{ if (w < 0.01) w = 0.01; printf "%-34s %8.2f %12s %8.1f %9.1f %8s\n", n, w, (d>0? sprintf("%.0f", d/w) : "-"), mb/w, r/1024, x }'
  LAST_WALL=$wall; LAST_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')
}
DOCS=$("$TOOL" dump --dry-run --quiet --json --vcf "$VCF" | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"]["variants"])')
echo "# input: $VCF ($SITES sites, $DOCS documents, $VCF_MB MB text); $COV ($ROWS rows, $COV_MB MB); $(nproc) cores"
measure "bgzip -dc (floor)" 0 "$VCF_MB" bgzip -dc "$VCF"
measure "bcftools view -Ou (reference)" "$SITES" "$VCF_MB" bcftools view -Ou -o /dev/null "$VCF"
REF=$LAST_WALL
measure "swefreq-load --dry-run 1 thread" "$DOCS" "$VCF_MB" "$TOOL" dump --dry-run --quiet --threads 1 --vcf "$VCF"
measure "swefreq-load --dry-run $THREADS threads" "$DOCS" "$VCF_MB" "$TOOL" dump --dry-run --quiet --threads "$THREADS" --vcf "$VCF"
rm -rf "$OUT/dump1" "$OUT/dumpN"
measure "swefreq-load dump 1 thread" "$DOCS" "$VCF_MB" "$TOOL" dump --quiet --threads 1 --out "$OUT/dump1" --vcf "$VCF"
measure "swefreq-load dump $THREADS threads" "$DOCS" "$VCF_MB" "$TOOL" dump --quiet --threads "$THREADS" --out "$OUT/dumpN" --vcf "$VCF"
if cmp -s "$OUT/dump1/swefreq/variants.bson" "$OUT/dumpN/swefreq/variants.bson"; then
  echo "dumps at 1 and $THREADS threads: identical ($(stat -c %s "$OUT/dumpN/swefreq/variants.bson") bytes)"
else
  echo "dumps at 1 and $THREADS threads: DIFFERENT" >&2; exit 1
fi
BSON_MB=$(stat -c %s "$OUT/dumpN/swefreq/variants.bson" | awk '{print $1/1e6}')
measure "write floor: cat > file; sync" 0 "$BSON_MB" sh -c "cat '$OUT/dumpN/swefreq/variants.bson' > '$OUT/floor.bson' && sync '$OUT/floor.bson'"
rm -f "$OUT/floor.bson"
measure "cat dump.bson (read floor)" 0 "$BSON_MB" cat "$OUT/dumpN/swefreq/variants.bson"
measure "verify dump (MB = BSON)" "$DOCS" "$BSON_MB" "$TOOL" verify --dump "$OUT/dumpN" --db swefreq
REF=""
measure "coverage --dry-run 1 thread" "$ROWS" "$COV_MB" "$TOOL" dump --dry-run --quiet --threads 1 --coverage "$COV"
measure "coverage --dry-run $THREADS threads" "$ROWS" "$COV_MB" "$TOOL" dump --dry-run --quiet --threads "$THREADS" --coverage "$COV"

# dbSNP and GTF: documents/s and the ratio to bgzip -dc of the same file
# (the "x bcftools" column is then "x bgzip -dc"); the coverage path above
# is the bar for dbSNP's rows/s.
SNP=$OUT/dbsnp_$DBSNP_ROWS.tsv.gz
GTF=$OUT/gencode_$GENES.gtf.gz
[ -s "$SNP" ] || python3 bench/gen/gen_dbsnp.py --rows "$DBSNP_ROWS" | bgzip -@2 -c > "$SNP"
[ -s "$GTF" ] || python3 bench/gen/gen_gtf.py --genes "$GENES" | bgzip -@2 -c > "$GTF"
SNP_MB=$(bgzip -dc "$SNP" | wc -c | awk '{print $1/1e6}')
GTF_MB=$(bgzip -dc "$GTF" | wc -c | awk '{print $1/1e6}')
SNP_DOCS=$("$TOOL" dump --dry-run --quiet --json --dbsnp "$SNP" | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"]["dbsnp"])')
GTF_DOCS=$("$TOOL" dump --dry-run --quiet --json --gtf "$GTF" | python3 -c 'import json,sys; d=json.load(sys.stdin)["documents"]; print(d["genes"]+d["transcripts"]+d["exons"])')
echo "# dbSNP: $SNP ($DBSNP_ROWS rows, $SNP_DOCS documents, $SNP_MB MB); GTF: $GTF ($GENES genes, $GTF_DOCS documents, $GTF_MB MB)"
REF=""
measure "dbsnp: bgzip -dc (floor)" 0 "$SNP_MB" bgzip -dc "$SNP"
REF=$LAST_WALL
measure "dbsnp --dry-run 1 thread" "$SNP_DOCS" "$SNP_MB" "$TOOL" dump --dry-run --quiet --threads 1 --dbsnp "$SNP"
measure "dbsnp --dry-run $THREADS threads" "$SNP_DOCS" "$SNP_MB" "$TOOL" dump --dry-run --quiet --threads "$THREADS" --dbsnp "$SNP"
REF=""
measure "gtf: bgzip -dc (floor)" 0 "$GTF_MB" bgzip -dc "$GTF"
REF=$LAST_WALL
measure "gtf --dry-run 1 thread" "$GTF_DOCS" "$GTF_MB" "$TOOL" dump --dry-run --quiet --threads 1 --gtf "$GTF"
measure "gtf --dry-run $THREADS threads" "$GTF_DOCS" "$GTF_MB" "$TOOL" dump --dry-run --quiet --threads "$THREADS" --gtf "$GTF"
REF=""
# The metrics' cost: the spill file (bytes per variant) from the log.
"$TOOL" dump --dry-run --verbose --vcf "$VCF" 2>&1 | grep -o 'metrics: .*' || true

# Issue 25's comparison: the dry run against `bcftools view --threads N -Ou`
# at N = 1 and 2, alternating in one loop, medians of 5 (1 in --smoke), with
# the floor no conversion work removes (inflate + the digest of the output).
bench/floor.sh "$TOOL" --vcf "$VCF" --repeat "$([ "$SMOKE" = 1 ] && echo 1 || echo 5)"

if [ -n "$MONGO" ]; then
  REPEAT=1
  echo "# MongoDB: $(echo "$MONGO" | sed -E 's#(://[^:/@]+:)[^@]*@#\1***@#')"
  rm -rf "$OUT/dumpc"
  "$TOOL" dump --quiet --histograms columns --out "$OUT/dumpc" --vcf "$VCF"
  measure "swefreq-load load" "$DOCS" "$VCF_MB" "$TOOL" load --quiet --uri "$MONGO" --db bench_sfl --histograms columns --vcf "$VCF"
  CPU_SFL=$LAST_CPU; WALL_SFL=$LAST_WALL
  PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
  measure "python pymongo insert_many" "$DOCS" "$VCF_MB" "$PY" bench/py_loader.py "$MONGO" bench_py "$OUT/dumpc/swefreq/variants.bson"
  CPU_PY=$LAST_CPU; WALL_PY=$LAST_WALL
  awk -v a="$CPU_SFL" -v b="$CPU_PY" -v n="$DOCS" -v wa="$WALL_SFL" -v wb="$WALL_PY" 'BEGIN{
    printf "client CPU s per 100k docs: swefreq-load %.2f (parsing included), python %.2f (ratio %.2f); wall ratio %.2f\n",
      a*100000/n, b*100000/n, a/b, wa/wb }'
  # A load killed (kill -9) once half of its documents are acknowledged,
  # then resumed: the resume re-parses everything (to rebuild the digests)
  # and sends only what follows the acknowledged position.
  ACKED=$("$PY" bench/kill_at.py "$MONGO" bench_sfl_resume 0.5 "$DOCS" "$TOOL" load --quiet --uri "$MONGO" \
          --db bench_sfl_resume --histograms columns --record-interval 200 --vcf "$VCF")
  sleep 1.2  # the killed loader's lock goes stale after --lock-timeout 1
  measure "swefreq-load load --resume (50%)" "$DOCS" "$VCF_MB" "$TOOL" load --quiet --uri "$MONGO" \
    --db bench_sfl_resume --histograms columns --lock-timeout 1 --resume --vcf "$VCF"
  CPU_RES=$LAST_CPU; WALL_RES=$LAST_WALL
  measure "re-parse only (dry run)" "$DOCS" "$VCF_MB" "$TOOL" dump --dry-run --quiet --histograms columns --vcf "$VCF"
  CPU_PARSE=$LAST_CPU
  awk -v a="$CPU_RES" -v b="$CPU_SFL" -v wa="$WALL_RES" -v wb="$WALL_SFL" -v p="$CPU_PARSE" -v k="$ACKED" -v n="$DOCS" 'BEGIN{
    printf "resume after kill -9 at %d of %d documents acknowledged: wall %.2f s vs clean %.2f s (%.0f%%), client CPU %.2f s vs %.2f s; re-parsing the skipped part costs %.2f s CPU\n",
      k, n, wa, wb, 100*wa/wb, a, b, p*k/n }'
fi
