#!/usr/bin/env bash
# swefreq-step.sh: run one step of a scale-out load (plan, one part, or
# finish; docs/scale.md "Running it") the way a batch system needs it:
# its --json outcome kept in a file, "already complete" counted as done,
# "not ready" retried.
#
#   deploy/swefreq-step.sh OUTCOME.json swefreq-load load --db NAME --group G --part K
#
# The command gets --json; its standard output (one JSON object: ok,
# exit_code, error, ...) goes to OUTCOME.json (rewritten on each attempt),
# its messages to standard error. Then:
#   exit 0 or 11 (the part was already complete: nothing was done) -> 0;
#   exit 12 (not ready: retry later, e.g. finish before every part is
#     complete) -> wait SWEFREQ_RETRY_SECONDS (default 60, doubled after
#     each attempt up to 600) and run it again, at most SWEFREQ_RETRIES
#     times (default 30); then 12;
#   any other exit code (README "Exit codes") is returned as it is.
# The URI reaches swefreq-load through SWEFREQ_MONGO_URI_FILE (or
# SWEFREQ_MONGO_URI) in the environment, never through this command line.
set -u
if [ $# -lt 2 ]; then
    echo "usage: swefreq-step.sh OUTCOME.json swefreq-load COMMAND ARGS..." >&2
    exit 2
fi
outcome=$1
shift
retries=${SWEFREQ_RETRIES:-30}
wait_s=${SWEFREQ_RETRY_SECONDS:-60}
case "$retries$wait_s" in *[!0-9]*) echo "swefreq-step.sh: SWEFREQ_RETRIES and SWEFREQ_RETRY_SECONDS must be numbers" >&2; exit 2;; esac

# The outcome's exit_code and error, for the log (python3 if there is one).
summary() {
    python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
    print("exit_code %s: %s" % (d.get("exit_code"), d.get("error") or "ok"))
except Exception as e:
    print("no JSON outcome (%s)" % e)' "$outcome" 2>/dev/null || echo "(outcome in $outcome)"
}

attempt=0
while :; do
    attempt=$((attempt + 1))
    "$@" --json >"$outcome"
    rc=$?
    echo "swefreq-step.sh: $2 attempt $attempt: $(summary)" >&2
    case $rc in
        0) exit 0;;
        11) echo "swefreq-step.sh: already complete: nothing to do" >&2; exit 0;;
        12) if [ "$attempt" -gt "$retries" ]; then
                echo "swefreq-step.sh: still not ready after $attempt attempts" >&2
                exit 12
            fi
            echo "swefreq-step.sh: not ready; again in ${wait_s} s" >&2
            sleep "$wait_s"
            wait_s=$((wait_s * 2 > 600 ? 600 : wait_s * 2));;
        *) exit "$rc";;
    esac
done
