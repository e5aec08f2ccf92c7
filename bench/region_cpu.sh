#!/usr/bin/env bash
# The calling thread's CPU for a part-sized region read (issue 25): two
# swefreq-load binaries, alternating (old, new, old, ...), each running
# `dump --dry-run --threads T` of VCF.gz's regions under `perf record -F
# 999`; the calling thread (the one whose id is the process's: it reads
# the file and hands out the chunks) is its samples / 999 s, the whole
# process the user + system seconds of /usr/bin/time. Prints the median
# of --repeat runs (default 5) of each and the load average before and
# after: the machines are shared, so say how noisy it was.
#
#   bench/region_cpu.sh OLD_BINARY NEW_BINARY VCF.gz [--threads T] [--repeat N]
#                       -- REGION_OPTIONS...
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,12p' "$0"; exit 2; }
A=$1 B=$2 VCF=$3; shift 3
THREADS=2 REPEAT=5
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2;;
    --repeat) REPEAT=$2; shift 2;;
    --) shift; break;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$REPEAT"); do
  for w in old new; do
    bin=$A; [ $w = new ] && bin=$B
    /usr/bin/time -f "%U %S" -o "$T/time" perf record -q -F 999 -o "$T/perf.data" -- \
      "$bin" dump --dry-run --quiet --threads "$THREADS" --vcf "$VCF" "$@" >/dev/null 2>&1
    # perf's own user + system time is in /usr/bin/time's figure too;
    # the samples of the binary's threads are the binary's alone
    perf script -i "$T/perf.data" -F pid,tid 2>/dev/null \
      | awk '{split($1, a, "/"); n++; if (a[1] == a[2]) m++}
             END {printf "%.3f %.3f\n", m / 999, n / 999}' >> "$T/$w.samples"
    awk '{printf "%.2f\n", $1 + $2}' "$T/time" >> "$T/$w.cpu"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for w in old new; do
  printf '%s: calling thread %s s (runs: %s), all threads (perf) %s s, user+sys %s s\n' "$w" \
    "$(cut -d' ' -f1 "$T/$w.samples" | median)" "$(cut -d' ' -f1 "$T/$w.samples" | tr '\n' ' ')" \
    "$(cut -d' ' -f2 "$T/$w.samples" | median)" "$(median < "$T/$w.cpu")"
done
