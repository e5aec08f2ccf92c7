#!/usr/bin/env bash
# The floor under `dump --dry-run` that no conversion work can remove, next
# to the reference tool, in one run on the same VCF (issue 25):
#
#   inflate  the CPU of `bgzip -dc FILE` (the same libdeflate that bcftools
#            and swefreq-load use);
#   digest   what manifest format 2 must compute for the run's output: the
#            SHA-256 of every document's BSON bytes and 2,048 bytes of
#            ChaCha20 keystream per document (docs/manifest.md), plus the
#            SHA-256 of the source file, priced at the rates `openssl speed`
#            measures on this machine in the same run (8 KB and 2 KB
#            blocks: a lower bound, no per-call cost counted);
#
# against the reference tool and the dry run at --threads N (N = 1 and 2),
# alternating, medians of --repeat runs (default 5). The reference is
# `bcftools view --threads N -Ou` for a VCF and `bgzip -dc` for coverage,
# dbSNP and GTF files. It prints floor / reference CPU (>= 1 means that CPU
# <= 1.0x the reference cannot be reached with that digest whatever the
# parsing costs), what the dry run spends above the floor (parsing,
# encoding, checks, hand-offs, kernel), and the least wall time the floor
# allows on the machine's cores.
#
# With --perf, one more dry run per thread count under `perf record` says
# where all of its CPU goes: seconds per library (libdeflate: inflate;
# libcrypto: the digest; the project's library and libc: parsing and
# encoding; the kernel) and the project's ten costliest functions.
#
#   bench/floor.sh BINARY [--vcf FILE | --sites N | --coverage FILE | --dbsnp FILE
#                  | --gtf FILE] [--repeat N] [--perf]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,29p' "$0"; exit 2; }
BIN=$1; shift
SITES=200000 REPEAT=5 VCF="" FLAG=--vcf PERF=0
while [ $# -gt 0 ]; do
  case "$1" in
    --vcf|--coverage|--dbsnp|--gtf) FLAG=$1 VCF=$2; shift 2;;
    --sites) SITES=$2; shift 2;;
    --repeat) REPEAT=$2; shift 2;;
    --perf) PERF=1; shift;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
if [ -z "$VCF" ]; then
  mkdir -p bench/out
  VCF=bench/out/exac_$SITES.vcf.gz
  [ -s "$VCF" ] || python3 bench/gen/gen_exac_vcf.py --sites "$SITES" | bgzip -@2 -c > "$VCF"
fi
CORES=$(nproc)

# one CMD...: "wall cpu" (cpu = user + system) of one run, output discarded
one() {
  local t; t=$(mktemp)
  /usr/bin/time -f "%e %U %S" -o "$t" "$@" >/dev/null 2>"$t.err" ||
    { cat "$t.err" >&2; rm -f "$t" "$t.err"; echo "FAILED: $*" >&2; exit 1; }
  awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$t"; rm -f "$t" "$t.err"
}
# median of "wall cpu" lines: the middle wall time and the middle CPU time
median() {
  local l; l=$(cat)
  printf '%s %s\n' "$(printf '%s\n' "$l" | awk '{ print $1 }' | sort -n | mid)" \
    "$(printf '%s\n' "$l" | awk '{ print $2 }' | sort -n | mid)"
}
mid() { awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# rate ALGO BYTES: bytes per second of `openssl speed -evp ALGO` at BYTES
rate() {
  openssl speed -evp "$1" -bytes "$2" -seconds 1 2>/dev/null |
    awk -v b="$2" '$1 == "type" { next } NF >= 2 && $NF ~ /k$/ { v = $NF; sub(/k$/, "", v); r = v * 1000 }
                   END { print r }'
}

echo "# $(date -u +%FT%TZ) $CORES cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# binary: $BIN"
echo "# input: $VCF ($(stat -c %s "$VCF") bytes); medians of $REPEAT alternating runs"
SUMMARY=$("$BIN" dump --dry-run --quiet --json --threads 2 "$FLAG" "$VCF")
read -r DOCS BSON TEXT < <(printf '%s' "$SUMMARY" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum(s["documents"].values()), sum(s["bson_bytes"].values()), s["bytes_read"])')
SHA=$(rate sha256 8192) CHACHA=$(rate chacha20 2048)
FILE_BYTES=$(stat -c %s "$VCF")
DIGEST=$(awk -v d="$DOCS" -v b="$BSON" -v f="$FILE_BYTES" -v s="$SHA" -v c="$CHACHA" \
  'BEGIN { printf "%.3f", (b + f) / s + d * 2048 / c }')
printf '# %s documents, %s bytes of BSON from %s bytes of text\n' "$DOCS" "$BSON" "$TEXT"
printf '# openssl speed: SHA-256 %.0f MB/s (8 KB), ChaCha20 %.0f MB/s (2 KB)\n' \
  "$(awk -v r="$SHA" 'BEGIN { print r / 1e6 }')" "$(awk -v r="$CHACHA" 'BEGIN { print r / 1e6 }')"
printf '# digest floor: %s s of CPU (SHA-256 of the BSON and the file, keystream)\n' "$DIGEST"

for n in 1 2; do
  rb="" ri="" rs=""
  for ((i = 0; i < REPEAT; i++)); do
    if [ "$FLAG" = --vcf ]; then
      rb+="$(one bcftools view --threads "$n" -Ou -o /dev/null "$VCF")"$'\n'
    fi
    ri+="$(one bgzip -dc "$VCF")"$'\n'
    rs+="$(one "$BIN" dump --dry-run --quiet --threads "$n" "$FLAG" "$VCF")"$'\n'
  done
  [ "$FLAG" = --vcf ] || rb=$ri
  mb=$(printf '%s' "$rb" | median) mi=$(printf '%s' "$ri" | median)
  ms=$(printf '%s' "$rs" | median)
  ref=bcftools; [ "$FLAG" = --vcf ] || ref="bgzip -dc"
  awk -v b="$mb" -v i="$mi" -v s="$ms" -v d="$DIGEST" -v n="$n" -v k="$CORES" -v ref="$ref" 'BEGIN {
    split(b, B, " "); split(i, I, " "); split(s, S, " ");
    if (B[1] < 0.01) B[1] = 0.01; if (B[2] < 0.01) B[2] = 0.01;  # --smoke sizes
    floor = I[2] + d;
    printf "threads %d: %s %.2f s wall %.2f s CPU | inflate %.2f s CPU + digest %.2f = floor %.2f s CPU (%.2fx %s CPU)\n",
      n, ref, B[1], B[2], I[2], d, floor, floor / B[2], ref;
    printf "           dry run %.2f s wall %.2f s CPU (%.2fx wall, %.2fx CPU); above the floor %.2f s CPU (%.2fx %s CPU)\n",
      S[1], S[2], S[1] / B[1], S[2] / B[2], S[2] - floor, (S[2] - floor) / B[2], ref;
    w = floor / k; printf "           least wall the floor allows on %d cores: %.2f s (%.2fx %s wall)\n",
      k, w, w / B[1], ref }'
done
# where_cpu_goes N: one dry run at --threads N under perf; CPU seconds per
# library (the samples' share of the run's user + system time) and the top
# functions of the project's library
where_cpu_goes() {
  local data; data=$(mktemp)
  local t; t=$(one perf record -q -F 1999 -o "$data" -- "$BIN" dump --dry-run --quiet \
    --threads "$1" "$FLAG" "$VCF")
  local cpu; cpu=$(echo "$t" | awk '{ print $2 }')
  echo "threads $1 under perf ($cpu s CPU, with perf's own share): seconds by library"
  perf report -i "$data" --no-children --sort dso -g none 2>/dev/null |
    awk -v c="$cpu" '/^ *[0-9.]+%/ { p = $1; sub(/%/, "", p); if (p >= 0.5)
      printf "  %-28s %5.1f%%  %.3f s\n", $2, p, p * c / 100 }'
  echo "  the project's costliest functions:"
  perf report -i "$data" --no-children --sort sym -g none --dsos "$(basename "$(readlink -f \
    "$(ldd "$BIN" | awk '/libswefreq-load/ { print $3 }')")")" 2>/dev/null |
    awk -v c="$cpu" '/^ *[0-9.]+%/ && n++ < 10 { p = $1; sub(/%/, "", p);
      printf "    %-30s %5.1f%%  %.3f s\n", $3, p, p * c / 100 }'
  rm -f "$data"
}
if [ "$PERF" = 1 ]; then
  where_cpu_goes 1
  where_cpu_goes 2
fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
