#!/usr/bin/env bash
# P part processes on one host against one process (issue 24): the
# conversion each part of a plan does (`dump --dry-run` of the part's
# regions, which is a part's load without its inserts) with all parts
# started at once, against the whole file in one process, with
# `bcftools view --threads T -Ou` of the whole file in the same loop.
# The runs alternate (whole, parts, reference, ...) so that a change in
# the machine's load hits all alike; each figure is the median of
# --repeat runs (default 5): wall seconds, and the CPU seconds (user +
# system) of all processes of the run. The load average is printed
# before and after: the machines are shared.
#
#   bench/parts.sh BINARY VCF.gz PLAN.json [--threads T] [--repeat N] [--pin]
#                  [-- LOAD_OPTIONS...]
#
# --pin confines each process to one core (taskset): the whole file to
# core 0, part K to core K-1 (modulo the cores), bcftools to core 0. One
# process then has one core whatever its threads, so P parts on P cores
# against one process on one core is the scaling a host of P or more
# cores gives, which an unpinned run on a small host cannot show (one
# process at --threads 1 already keeps more than one core busy).
#
# PLAN.json is what `swefreq-load plan --parts P --out PLAN.json --vcf
# VCF.gz` wrote (plan needs a server; the test server will do:
# build/swefreq-testserver -dir DIR -port-file FILE). LOAD_OPTIONS are the
# plan's options (for example --histograms columns); --threads (default
# 1) is given to every process.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,28p' "$0"; exit 2; }
BIN=$1 VCF=$2 PLAN=$3; shift 3
THREADS=1 REPEAT=5 PIN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pin) PIN=1; shift;;
    --threads) THREADS=$2; shift 2;;
    --repeat) REPEAT=$2; shift 2;;
    --) shift; break;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
OPTS=("$@")
NCPU=$(nproc)
# pin CORE: the command prefix that confines a process to CORE with --pin
pin() { if [ "$PIN" = 1 ]; then echo taskset -c "$1"; else echo env; fi; }

# one --region argument list per part, one part per line
mapfile -t PARTS < <(python3 - "$PLAN" <<'EOF'
import json, sys
plan = json.load(open(sys.argv[1]))
for part in plan["parts"]:
    args = []
    for src in part["sources"]:
        if src.get("read") != "regions" or len(plan["plan"]["sources"]) != 1:
            sys.exit("bench/parts.sh handles plans of one VCF read by regions")
        for r in src["regions"]:
            reg = r["chrom"]
            if r.get("start", 0) or "end" in r:
                # plan regions are 0-based half-open; --region is 1-based closed
                # an open end: past any contig (htslib positions are 64-bit)
                end = r.get("end", 1 << 40)
                reg += ":%d-%d" % (r.get("start", 0) + 1, end)
            args.append("--region=" + reg)
    print(" ".join(args))
EOF
)

# timed NAME CMD...: appends "wall cpu" (seconds) to $TMP/NAME
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$TMP/cpu.$name" $(pin 0) "$@" > /dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" '{ printf "%.3f %.3f\n", b - a, $1 + $2 }' \
    "$TMP/cpu.$name" >> "$TMP/$name"
}
parts() {
  local i=0 pids=() args
  for args in "${PARTS[@]}"; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    /usr/bin/time -f "%U %S" -o "$TMP/cpu.part$i" \
      $(pin $(((i - 1) % NCPU))) "$BIN" dump --dry-run --threads "$THREADS" "${OPTS[@]}" --vcf "$VCF" $args \
      > /dev/null 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}
timed_parts() {
  local t0 t1
  t0=$(date +%s.%N)
  parts
  t1=$(date +%s.%N)
  cat "$TMP"/cpu.part* | awk -v a="$t0" -v b="$t1" \
    '{ c += $1 + $2 } END { printf "%.3f %.3f\n", b - a, c }' >> "$TMP/parts"
  rm -f "$TMP"/cpu.part*
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$REPEAT"); do
  timed whole "$BIN" dump --dry-run --threads "$THREADS" "${OPTS[@]}" --vcf "$VCF"
  timed_parts
  timed bcftools bcftools view --threads "$THREADS" -Ou -o /dev/null "$VCF"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n -k1,1 "$TMP/$1" | awk -v n="$REPEAT" 'NR == int((n + 1) / 2)'; }
printf '%-34s %8s %8s\n' "run (median of $REPEAT)" "wall s" "CPU s"
printf '%-34s %8s %8s\n' "P = 1 (whole file)" $(median whole)
printf '%-34s %8s %8s\n' "P = ${#PARTS[@]} (parts at once)" $(median parts)
printf '%-34s %8s %8s\n' "bcftools view --threads $THREADS -Ou" $(median bcftools)
