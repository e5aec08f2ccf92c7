#!/usr/bin/env bash
# check-sharded.sh: exercise swefreq-load's sharded path end to end on a
# real sharded cluster, with the bundled test data, in a scratch database
# of its own (docs/scale.md, "Checking a cluster"). No sharded cluster can
# run where swefreq-load is developed, so this is how an operator checks
# it before a real load.
#
#   SWEFREQ_MONGO_URI_FILE=/etc/swefreq/cluster.uri deploy/check-sharded.sh [options]
#   SWEFREQ_MONGO_URI=mongodb://... deploy/check-sharded.sh [options]
#
# The URI (of a mongos) comes from the environment or --uri-file FILE,
# never from the command line; it is never printed. Options:
#   --uri-file FILE  a file only you can read holding the mongos URI
#   --db NAME        the scratch database (default swefreq_check_sharded);
#                    it must be empty or absent, and is dropped at the end
#   --keep           leave the scratch database for inspection
#   --parts N        parts of the group run (default 4)
#
# What it does, stopping at the first failure:
#   1. the server: hello (must be a mongos: msg "isdbgrid"), buildInfo
#      (MongoDB >= 5.0), listShards, the balancer's state (reported, never
#      changed). On a server that is not a mongos it still runs step 2's
#      first load to show that swefreq-load refuses it (exit 9) and writes
#      nothing, then exits 9.
#   2. single loads: --shard-key hashed, then --shard-key range with two
#      regions (bgzipped, indexed copies of the test data); after each,
#      verify --uri, and config.collections must show variants,
#      base_coverage and dbsnp sharded on the key ({_id: "hashed"} or
#      {xpos: 1}), genes unsharded; the chunks per shard are printed.
#   3. the group path, when this swefreq-load has `plan`: plan --parts N
#      --group G --shard-key range, the N parts at once in the background,
#      one part run again (must exit 11: already complete), finish,
#      verify; the same sharding checks.
#
# Exit 0: all passed. 2: usage (or a URI on the command line). 9: the
# server cannot take a sharded load (not a mongos, older than 5.0), or the
# scratch database is not empty. 1: a check failed (the step is named).
# 77: python3 with pymongo (used to read the cluster's metadata; another
# interpreter with SWEFREQ_PYTHON) missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tool=${SWEFREQ_LOAD:-}
if [ -z "$tool" ]; then
    if [ -x "$here/../build/swefreq-load" ]; then tool=$here/../build/swefreq-load; else tool=swefreq-load; fi
fi
testdata=${SWEFREQ_TESTDATA:-$here/../testdata}
db=swefreq_check_sharded keep=0 parts=4

say() { printf 'check-sharded: %s\n' "$*"; }
die() { rc=$1; shift; printf 'check-sharded: FAILED: %s\n' "$*" >&2; exit "$rc"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --uri-file) [ $# -ge 2 ] || die 2 "--uri-file needs a FILE"; export SWEFREQ_MONGO_URI_FILE=$2; shift 2;;
        --uri|--uri=*|mongodb://*|mongodb+srv://*)
            die 2 "a URI is never taken on the command line (it would show in ps and shell history): set SWEFREQ_MONGO_URI_FILE or SWEFREQ_MONGO_URI, or use --uri-file FILE";;
        --db) [ $# -ge 2 ] || die 2 "--db needs a NAME"; db=$2; shift 2;;
        --keep) keep=1; shift;;
        --parts) [ $# -ge 2 ] || die 2 "--parts needs N"; parts=$2; shift 2;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;;
        *) die 2 "unknown option '$1' (see --help)";;
    esac
done
case "$parts" in ''|*[!0-9]*) die 2 "--parts must be a number";; esac
case "$db" in ''|*[./\\\ \"\$]*) die 2 "--db must be a database name without . / \\ space \" \$";; esac
if [ -z "${SWEFREQ_MONGO_URI_FILE:-}${SWEFREQ_MONGO_URI:-}" ]; then
    die 2 "set SWEFREQ_MONGO_URI_FILE (a file only you can read, holding the mongos URI) or SWEFREQ_MONGO_URI, or use --uri-file FILE"
fi
py=${SWEFREQ_PYTHON:-python3}
command -v "$py" >/dev/null && "$py" -c 'import pymongo' 2>/dev/null ||
    { say "$py with pymongo is needed to read the cluster's metadata (set SWEFREQ_PYTHON): skipped"; exit 77; }
"$tool" --version >/dev/null 2>&1 || die 2 "cannot run swefreq-load ($tool); set SWEFREQ_LOAD"
for f in exac_sample.vcf coverage_sample.tsv dbsnp_sample.tsv gencode_sample.gtf; do
    [ -f "$testdata/$f" ] || die 2 "test data $testdata/$f is missing; set SWEFREQ_TESTDATA"
done
export SWEFREQ_CHECK_DB=$db

# cluster QUERY [ARGS]: one question to the cluster, answered on stdout
# (python3 + pymongo; the URI is read from the environment or its file).
cluster() {
    "$py" - "$@" <<'PY'
import json, os, sys
import pymongo
uri = os.environ.get("SWEFREQ_MONGO_URI") or open(os.environ["SWEFREQ_MONGO_URI_FILE"]).read().strip()
c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
db = os.environ["SWEFREQ_CHECK_DB"]
q = sys.argv[1]
if q == "server":
    hello, info = c.admin.command("hello"), c.admin.command("buildInfo")
    kind = "mongos" if hello.get("msg") == "isdbgrid" else (
        "FerretDB" if "ferretdbVersion" in info else "mongod")
    print(kind, info.get("version", "?"))
elif q == "shards":
    print(" ".join(s["_id"] for s in c.admin.command("listShards")["shards"]))
elif q == "balancer":
    b = c.admin.command("balancerStatus")
    print(b.get("mode", "?"), "running" if b.get("inBalancerRound") else "idle")
elif q == "collections":  # the database's collections, one a line
    print("\n".join(sorted(c[db].list_collection_names())))
elif q == "sharding":  # COLL...: "COLL KEY CHUNKS-PER-SHARD" or "COLL unsharded"
    for name in sys.argv[2:]:
        rec = c.config.collections.find_one({"_id": f"{db}.{name}"})
        if not rec or rec.get("dropped"):
            print(name, "unsharded")
            continue
        q2 = {"uuid": rec["uuid"]} if "uuid" in rec else {"ns": f"{db}.{name}"}
        per = {}
        for ch in c.config.chunks.find(q2, {"shard": 1}):
            per[ch["shard"]] = per.get(ch["shard"], 0) + 1
        key = {k: int(v) if isinstance(v, float) and v.is_integer() else v
               for k, v in rec["key"].items()}
        print(name, json.dumps(key, sort_keys=True, separators=(",", ":")),
              ",".join(f"{k}:{v}" for k, v in sorted(per.items())))
elif q == "drop":
    c.drop_database(db)
PY
}

# The server.
read -r kind version < <(cluster server) || die 1 "cannot reach the server (see the error above)"
say "server: $kind $version"
if [ "$kind" != mongos ]; then
    # Show that the loader refuses it, before anything is written.
    before=$(cluster collections)
    out=$("$tool" load --db "$db" --vcf "$testdata/exac_sample.vcf" --shard-key hashed \
          --histograms columns 2>&1)
    rc=$?
    after=$(cluster collections)
    printf '%s\n' "$out" | sed 's/^/  | /' | head -5
    [ "$rc" -eq 9 ] || die 1 "swefreq-load load --shard-key on a $kind exited $rc, expected 9"
    [ "$before" = "$after" ] || die 1 "the refused load changed database $db"
    say "this server is not a mongos ($kind $version): a sharded load is refused (exit 9) and nothing was written to $db"
    die 9 "not a mongos: run this against the mongos of a sharded cluster (MongoDB >= 5.0)"
fi
case "$version" in [0-4].*) die 9 "MongoDB $version: a sharded load needs 5.0 or later";; esac
[ -z "$(cluster collections)" ] || die 9 "database $db is not empty: choose an empty scratch database with --db"
shards=$(cluster shards) || die 1 "listShards failed"
say "shards: $shards"
read -r bmode bround < <(cluster balancer) || bmode="?"
say "balancer: ${bmode} ${bround:-} (left as it is; docs/scale.md says to stop it during a load)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-sharded.XXXXXX")
cleanup() {
    rm -rf "$tmp"
    if [ "$keep" = 0 ]; then cluster drop; else say "kept database $db"; fi
}
trap cleanup EXIT
bgzip -c "$testdata/exac_sample.vcf" >"$tmp/exac.vcf.gz" && tabix -p vcf "$tmp/exac.vcf.gz" &&
bgzip -c "$testdata/coverage_sample.tsv" >"$tmp/coverage.tsv.gz" &&
tabix -s1 -b2 -e2 "$tmp/coverage.tsv.gz" || die 1 "bgzip/tabix of the test data failed"
sources=(--vcf "$tmp/exac.vcf.gz" --coverage "$tmp/coverage.tsv.gz"
         --dbsnp "$testdata/dbsnp_sample.tsv" --gtf "$testdata/gencode_sample.gtf" --skip-unknown-contigs)

# expect_sharded KEYJSON: the three position collections sharded on it,
# genes not.
expect_sharded() {
    local name key chunks
    while read -r name key chunks; do
        say "  $name: ${key} ${chunks:-}"
        case "$name" in
            genes) [ "$key" = unsharded ] || die 1 "genes is sharded ($key); it should stay unsharded";;
            *) [ "$key" = "$1" ] || die 1 "$name is sharded on '$key', expected $1";;
        esac
    done < <(cluster sharding variants base_coverage dbsnp genes)
}

step() { # NAME CMD...: runs a swefreq-load command, its --json outcome kept
    local name=$1; shift
    "$@" --json >"$tmp/$name.json" 2>"$tmp/$name.err"
    local rc=$?
    say "$name: exit $rc"
    return $rc
}

# 2. Single loads.
step load-hashed "$tool" load --db "$db" "${sources[@]}" --shard-key hashed ||
    die 1 "load --shard-key hashed: $(tail -3 "$tmp/load-hashed.err")"
step verify-hashed "$tool" verify --db "$db" || die 1 "verify after the hashed load (see $tmp)"
expect_sharded '{"_id":"hashed"}'
step load-range "$tool" load --db "$db" "${sources[@]}" --shard-key range \
    --region 1:1-69500 --region 1:69501-300000000 ||
    die 1 "load --shard-key range: $(tail -3 "$tmp/load-range.err")"
step verify-range "$tool" verify --db "$db" || die 1 "verify after the range load"
expect_sharded '{"xpos":1}'

# 3. The group path (plan, parts, finish), when this build has it.
if "$tool" plan --help >/dev/null 2>&1; then
    group=check$$
    step plan "$tool" plan --db "$db" --parts "$parts" --group "$group" --shard-key range \
        --out "$tmp/group-plan.json" "${sources[@]}" || die 1 "plan: $(tail -3 "$tmp/plan.err")"
    pids=()
    for ((k = 1; k <= parts; k++)); do
        step "part$k" "$tool" load --db "$db" --group "$group" --part "$k" \
            --manifest "$tmp/part-$k.manifest.json" &
        pids+=($!)
    done
    for k in "${!pids[@]}"; do
        wait "${pids[$k]}" || die 1 "part $((k + 1)): $(tail -3 "$tmp/part$((k + 1)).err")"
    done
    step part1-again "$tool" load --db "$db" --group "$group" --part 1
    rc=$?
    [ "$rc" -eq 11 ] || die 1 "part 1 run again exited $rc, expected 11 (already complete)"
    files=(--plan "$tmp/group-plan.json")
    for ((k = 1; k <= parts; k++)); do files+=(--part-manifest "$tmp/part-$k.manifest.json"); done
    step finish "$tool" finish --db "$db" --group "$group" "${files[@]}" ||
        die 1 "finish: $(tail -3 "$tmp/finish.err")"
    step verify-group "$tool" verify --db "$db" || die 1 "verify after finish"
    expect_sharded '{"xpos":1}'
else
    say "this swefreq-load has no 'plan' command: the group path (plan, parts, finish) was not checked"
fi
say "all checks passed"
exit 0
