#!/usr/bin/env bash
# Two swefreq-load binaries side by side, in one run, on bench/run.sh's
# input: `dump --dry-run` at 1 and 2 threads, each with the reference tool
# in the same loop (`bcftools view --threads N -Ou` for the VCF, `bgzip -dc`
# for the other sources), and `verify --dump` of a dump each binary wrote
# itself (its own manifest format). The runs alternate (A B ref A B ref
# ...) so that a change in the machine's load hits all alike; each figure
# is the median of --repeat runs (default 5), with the user and system CPU
# seconds of the median run. The load average is printed before and
# after: the machines are shared.
#
#   bench/compare.sh OLD_BINARY NEW_BINARY [--sites N] [--repeat N] [--rows N] [--dbsnp N]
#                    [--genes N] [--no-verify]
#
# --rows, --dbsnp and --genes (0 = skip, the default) add the coverage,
# dbSNP and GTF dry runs of bench/run.sh's generated files, with rows/s.
# Generated inputs and the two dumps go to bench/out/ (never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,17p' "$0"; exit 2; }
A=$1 B=$2; shift 2
SITES=200000 REPEAT=5 ROWS=0 DBSNP=0 GENES=0 VERIFY=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sites) SITES=$2; shift 2;;
    --repeat) REPEAT=$2; shift 2;;
    --rows) ROWS=$2; shift 2;;
    --dbsnp) DBSNP=$2; shift 2;;
    --genes) GENES=$2; shift 2;;
    --no-verify) VERIFY=0; shift;;
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

# trio NAME ROWS REF_CMD -- ARGS...: both binaries and the reference
# command, alternating, REPEAT times each; medians, rows/s of the new
# binary (ROWS > 0) and the ratios new/old and new/ref, for wall time and
# for CPU (user + system).
trio() {
  local name=$1 rows=$2; shift 2
  local ref=()
  while [ "$1" != -- ]; do ref+=("$1"); shift; done
  shift
  local ra="" rb="" rr="" i
  for ((i = 0; i < REPEAT; i++)); do
    ra+="$(one "$A" "$@")"$'\n'
    rb+="$(one "$B" "$@")"$'\n'
    rr+="$(one "${ref[@]}")"$'\n'
  done
  local ma mb mr
  ma=$(printf '%s' "$ra" | median)
  mb=$(printf '%s' "$rb" | median)
  mr=$(printf '%s' "$rr" | median)
  printf '%-30s %s\n' "$name" "$(awk -v a="$ma" -v b="$mb" -v r="$mr" -v n="$rows" 'BEGIN {
    split(a, x, " "); split(b, y, " "); split(r, z, " ");
    ca = x[2] + x[3]; cb = y[2] + y[3]; cr = z[2] + z[3];
    q = "%.2f"; rw = (z[1] > 0) ? sprintf(q, y[1] / z[1]) : "-";
    rc = (cr > 0) ? sprintf(q, cb / cr) : "-"; ro = (ca > 0) ? sprintf(q, cb / ca) : "-";
    printf "old %6.2f s (%5.2f u %4.2f s)  new %6.2f s (%5.2f u %4.2f s)  ref %6.2f s (%5.2f u %4.2f s)  new/old wall %.2f cpu %s  new/ref wall %s cpu %s",
      x[1], x[2], x[3], y[1], y[2], y[3], z[1], z[2], z[3], y[1] / x[1], ro, rw, rc;
    if (n > 0) printf "  new %.0f rows/s", n / y[1] }')"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# old: $A"
echo "# new: $B"
echo "# input: $VCF; median of $REPEAT alternating runs"
DA=$OUT/compare_old DB=$OUT/compare_new
rm -rf "$DA" "$DB"
if [ "$VERIFY" = 1 ]; then
  "$A" dump --quiet --out "$DA" --vcf "$VCF"
  "$B" dump --quiet --out "$DB" --vcf "$VCF"
  cmp -s "$DA/swefreq/variants.bson" "$DB/swefreq/variants.bson" || { echo "the two dumps differ" >&2; exit 1; }
fi
for n in 1 2; do
  trio "dump --dry-run --threads $n" 0 bcftools view --threads "$n" -Ou -o /dev/null "$VCF" -- \
    dump --dry-run --quiet --threads "$n" --vcf "$VCF"
done
if [ "$VERIFY" = 1 ]; then
  MB=$(stat -c %s "$DA/swefreq/variants.bson" | awk '{ print $1 / 1e6 }')
  MB=$MB pair "verify --dump (own dump)" verify --dump "{DUMP}"
fi
# other NAME FLAG FILE GENERATOR ARGS...: its dry runs against bgzip -dc
other() {
  local name=$1 flag=$2 file=$3; shift 3
  [ -s "$file" ] || python3 "$@" | bgzip -@2 -c > "$file"
  local rows; rows=$(bgzip -dc "$file" | grep -vc '^#' || true)
  for n in 1 2; do
    trio "$name --dry-run --threads $n" "$rows" bgzip -dc "$file" -- \
      dump --dry-run --quiet --threads "$n" "$flag" "$file"
  done
}
if [ "$ROWS" -gt 0 ]; then
  other coverage --coverage "$OUT/coverage_$ROWS.tsv.gz" bench/gen/gen_coverage.py --rows "$ROWS"
fi
if [ "$DBSNP" -gt 0 ]; then
  other dbsnp --dbsnp "$OUT/dbsnp_$DBSNP.tsv.gz" bench/gen/gen_dbsnp.py --rows "$DBSNP"
fi
if [ "$GENES" -gt 0 ]; then
  other gtf --gtf "$OUT/gencode_$GENES.gtf.gz" bench/gen/gen_gtf.py --genes "$GENES"
fi
rm -rf "$DA" "$DB"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
