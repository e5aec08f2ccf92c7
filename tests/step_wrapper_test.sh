#!/usr/bin/env bash
# deploy/swefreq-step.sh, the wrapper the Slurm and Nextflow examples run
# each step through: exit 11 (already complete) is success, 12 (not
# ready) is retried with a wait, at most SWEFREQ_RETRIES times, any other
# code is passed on; the command gets --json and its stdout is the
# outcome file. A stand-in command plays swefreq-load's exit codes (the
# wrapper's logic is what is tested here, not the loader).
#   step_wrapper_test.sh DEPLOY_DIR
set -u
step=$1/swefreq-step.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fails=$((fails + 1)); fi; }
# The stand-in: exits with the next code of $tmp/codes on each run, and
# prints its arguments as a JSON outcome.
cat >"$tmp/fake" <<'F'
#!/usr/bin/env bash
codes=$(cat "$FAKE_CODES"); rc=${codes%% *}; rest=${codes#* }
[ "$rest" = "$codes" ] && rest=$rc
echo "$rest" >"$FAKE_CODES"
echo "{ \"ok\" : $([ "$rc" = 0 ] && echo true || echo false), \"exit_code\" : $rc, \"args\" : \"$*\" }"
echo run >>"$FAKE_RUNS"
exit "$rc"
F
chmod +x "$tmp/fake"
export FAKE_CODES=$tmp/codes FAKE_RUNS=$tmp/runs SWEFREQ_RETRY_SECONDS=0
run() { echo "$1" >"$tmp/codes"; : >"$tmp/runs"; shift
        "$step" "$tmp/out.json" "$tmp/fake" load --group g --part 3 "$@" 2>"$tmp/err"; }

run "0"; rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/runs")" -eq 1 ]' "exit 0 is done at once (rc $rc)"
check 'grep -q "\"args\" : \"load --group g --part 3 --json\"" "$tmp/out.json"' "--json added, outcome kept: $(cat "$tmp/out.json")"
run "11"; rc=$?
check '[ $rc -eq 0 ] && grep -q "already complete" "$tmp/err"' "11 counts as done (rc $rc)"
run "12 12 0"; rc=$?
check '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/runs")" -eq 3 ]' "12 is retried until it succeeds (rc $rc, $(wc -l <"$tmp/runs") runs)"
check 'grep -q "\"exit_code\" : 0" "$tmp/out.json"' "the outcome is the last attempt's"
SWEFREQ_RETRIES=2 run "12"; rc=$?
check '[ $rc -eq 12 ] && [ "$(wc -l <"$tmp/runs")" -eq 3 ]' "12 gives up after the retries (rc $rc, $(wc -l <"$tmp/runs") runs)"
run "9"; rc=$?
check '[ $rc -eq 9 ] && [ "$(wc -l <"$tmp/runs")" -eq 1 ]' "another code is passed on, not retried (rc $rc)"
run "3 0"; rc=$?
check '[ $rc -eq 3 ]' "3 is passed on (rc $rc)"
"$step" "$tmp/out.json" 2>/dev/null; rc=$?
check '[ $rc -eq 2 ]' "usage error without a command (rc $rc)"
for f in "$1"/swefreq-step.sh "$1"/slurm/*.sh "$1"/slurm/*.sbatch; do
    check 'bash -n "$f"' "bash -n $f"
done
echo "step_wrapper: $fails failed"
[ "$fails" -eq 0 ]
