#!/usr/bin/env bash
# Two swefreq-load binaries side by side, in one run, on bench/run.sh's
# input: `dump --dry-run` at 1 and 2 threads, and `verify --dump` of a dump
# each binary wrote itself (its own manifest format). The runs of the two
# binaries alternate (A B A B ...) so that a change in the machine's load
# hits both alike; each figure is the median of --repeat runs (default 5),
# with the user and system CPU seconds of the median run. The load average
# is printed before and after: the machines are shared.
#
#   bench/compare.sh OLD_BINARY NEW_BINARY [--sites N] [--repeat N] [--rows N] [--dbsnp N]
#
# --rows and --dbsnp (0 = skip, the default) add the coverage and dbSNP
# dry runs of bench/run.sh's generated files. Generated inputs and the two
# dumps go to bench/out/ (never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
A=$1 B=$2; shift 2
SITES=200000 REPEAT=5 ROWS=0 DBSNP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sites) SITES=$2; shift 2;;
    --repeat) REPEAT=$2; shift 2;;
    --rows) ROWS=$2; shift 2;;
    --dbsnp) DBSNP=$2; shift 2;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
OUT=bench/out
mkdir -p "$OUT"
VCF=$OUT/exac_$SITES.vcf.gz
[ -s "$VCF" ] || python3 bench/gen/gen_exac_vcf.py --sites "$SITES" | bgzip -@2 -c > "$VCF"

# one NAME CMD...: "wall user sys" of one run
one() {
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %U %S" -o "$t" "$@" >/dev/null 2>"$t.err" || { cat "$t.err" >&2; rm -f "$t" "$t.err"; echo "FAILED: $*" >&2; exit 1; }
  cat "$t"; rm -f "$t" "$t.err"
}
# median of the lines "wall user sys" on stdin: the middle one by wall
median() { sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }

# pair NAME ARGS...: both binaries, alternating, REPEAT times each; prints
# the medians and the ratio B/A. {BIN} in ARGS is replaced per binary.
pair() {
  local name=$1; shift
  local ra="" rb="" i
  for ((i = 0; i < REPEAT; i++)); do
    ra+="$(one "$A" "${@//\{DUMP\}/$DA}")"$'\n'
    rb+="$(one "$B" "${@//\{DUMP\}/$DB}")"$'\n'
  done
  local ma mb
  ma=$(printf '%s' "$ra" | median)
  mb=$(printf '%s' "$rb" | median)
  printf '%-30s %s\n' "$name" "$(awk -v a="$ma" -v b="$mb" -v mb_="${MB:-0}" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    rate = mb_ > 0 ? sprintf("  %6.2f vs %6.2f GB/s", mb_ / 1000 / x[1], mb_ / 1000 / y[1]) : "";
    printf "old %6.2f s (%5.2f u %4.2f s)  new %6.2f s (%5.2f u %4.2f s)  new/old %.2f%s",
      x[1], x[2], x[3], y[1], y[2], y[3], y[1] / x[1], rate }')"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# old: $A"
echo "# new: $B"
echo "# input: $VCF; median of $REPEAT alternating runs"
DA=$OUT/compare_old DB=$OUT/compare_new
rm -rf "$DA" "$DB"
"$A" dump --quiet --out "$DA" --vcf "$VCF"
"$B" dump --quiet --out "$DB" --vcf "$VCF"
cmp -s "$DA/swefreq/variants.bson" "$DB/swefreq/variants.bson" || { echo "the two dumps differ" >&2; exit 1; }
MB=0 pair "dump --dry-run --threads 1" dump --dry-run --quiet --threads 1 --vcf "$VCF"
MB=0 pair "dump --dry-run --threads 2" dump --dry-run --quiet --threads 2 --vcf "$VCF"
MB=$(stat -c %s "$DA/swefreq/variants.bson" | awk '{ print $1 / 1e6 }')
MB=$MB pair "verify --dump (own dump)" verify --dump "{DUMP}"
if [ "$ROWS" -gt 0 ]; then
  COV=$OUT/coverage_$ROWS.tsv.gz
  [ -s "$COV" ] || python3 bench/gen/gen_coverage.py --rows "$ROWS" | bgzip -@2 -c > "$COV"
  MB=0 pair "coverage --dry-run --threads 1" dump --dry-run --quiet --threads 1 --coverage "$COV"
  MB=0 pair "coverage --dry-run --threads 2" dump --dry-run --quiet --threads 2 --coverage "$COV"
fi
if [ "$DBSNP" -gt 0 ]; then
  SNP=$OUT/dbsnp_$DBSNP.tsv.gz
  [ -s "$SNP" ] || python3 bench/gen/gen_dbsnp.py --rows "$DBSNP" | bgzip -@2 -c > "$SNP"
  MB=0 pair "dbsnp --dry-run --threads 1" dump --dry-run --quiet --threads 1 --dbsnp "$SNP"
  MB=0 pair "dbsnp --dry-run --threads 2" dump --dry-run --quiet --threads 2 --dbsnp "$SNP"
fi
rm -rf "$DA" "$DB"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
