#!/usr/bin/env bash
# submit.sh: a scale-out load on a Slurm cluster (docs/scale.md "Slurm"):
# plan here, then the parts as one job array, then finish once every part
# has succeeded.
#
#   export SWEFREQ_MONGO_URI_FILE=$HOME/.swefreq/cluster.uri   # chmod 600, shared storage
#   deploy/slurm/submit.sh --db swefreq --group v4g --parts 64 [--shard-key range] \
#       [--outcomes DIR] [-- sbatch options...] -- \
#       --vcf /data/gnomad.genomes.v4.sites.vcf.bgz --coverage /data/cov.tsv.bgz
#
# The options after the last `--` are the sources and document options,
# given to `plan` only: the parts and finish read the plan from the
# database. Every step writes its --json outcome to DIR (default
# ./swefreq-outcomes-GROUP) as plan.json, part-K.json, finish.json; the
# plan file goes there as group-plan.json and each part's manifest as
# part-K.manifest.json, and finish checks the database's records against
# them (README "Partitioned loads": the records alone could be forged).
#   - plan runs on this host, at once (it reads only the files' indexes);
#   - the parts: `sbatch --array=1-N deploy/slurm/part.sbatch`; part K is
#     SLURM_ARRAY_TASK_ID; a part that is already complete exits 11, which
#     counts as success; "not ready" (12) is retried in the job
#     (deploy/swefreq-step.sh);
#   - finish: `sbatch --dependency=afterok:ARRAY deploy/slurm/finish.sbatch`,
#     so it starts only when every array task succeeded (and is cancelled
#     if one fails: --kill-on-invalid-dep=yes). A failed part is continued
#     by submitting that task again (`sbatch --array=K ...part.sbatch`):
#     it resumes, then submit finish again.
# sbatch passes the environment (SWEFREQ_MONGO_URI_FILE, not the URI) to
# the jobs. Resources: set them in the .sbatch files or pass them after
# the first `--` (e.g. --cpus-per-task=4 --time=04:00:00).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
tool=${SWEFREQ_LOAD:-swefreq-load}
db="" group="" parts="" shard=() outdir="" sbatch_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --db) db=$2; shift 2;;
        --group) group=$2; shift 2;;
        --parts) parts=$2; shift 2;;
        --shard-key) shard=(--shard-key "$2"); shift 2;;
        --outcomes) outdir=$2; shift 2;;
        --) shift; break;;
        *) echo "submit.sh: unknown option '$1'" >&2; exit 2;;
    esac
done
# An optional block of sbatch options, then `--`, then the sources.
if printf '%s\n' "$@" | grep -qx -- '--'; then
    while [ $# -gt 0 ] && [ "$1" != -- ]; do sbatch_opts+=("$1"); shift; done
    shift
fi
[ -n "$db" ] && [ -n "$group" ] && [ -n "$parts" ] && [ $# -gt 0 ] ||
    { echo "submit.sh: --db, --group, --parts and the sources (after --) are required" >&2; exit 2; }
case "$parts" in ''|*[!0-9]*|0) echo "submit.sh: --parts must be a positive number" >&2; exit 2;; esac
[ -n "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ] ||
    { echo "submit.sh: set SWEFREQ_MONGO_URI_FILE (a file only you can read, on storage the nodes share)" >&2; exit 2; }
outdir=${outdir:-$PWD/swefreq-outcomes-$group}
mkdir -p "$outdir" || exit 4
export SWEFREQ_LOAD=$tool SWEFREQ_DEPLOY=$here SWEFREQ_DB=$db SWEFREQ_GROUP=$group SWEFREQ_OUTCOMES=$outdir

"$here/swefreq-step.sh" "$outdir/plan.json" "$tool" plan --db "$db" --group "$group" \
    --parts "$parts" --out "$outdir/group-plan.json" "${shard[@]}" "$@" || { echo "submit.sh: plan failed (see $outdir/plan.json)" >&2; exit 1; }
array=$(sbatch --parsable --job-name="swefreq-$group" --array="1-$parts" "${sbatch_opts[@]}" \
        "$here/slurm/part.sbatch") || exit 1
array=${array%%;*}
fin=$(sbatch --parsable --job-name="swefreq-$group-finish" --dependency="afterok:$array" \
      --kill-on-invalid-dep=yes "${sbatch_opts[@]}" "$here/slurm/finish.sbatch") || exit 1
echo "submit.sh: group $group: parts are job array $array (tasks 1-$parts), finish is job ${fin%%;*}; outcomes in $outdir"
