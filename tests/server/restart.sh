#!/usr/bin/env bash
# Usage: restart.sh STATE_DIR SERVER_BIN PING_BIN
#
# Starts the server again on the SAME port and data folder that start.sh
# chose (read from STATE_DIR/port), e.g. after a test killed it with
# `kill -KILL "$(cat STATE_DIR/pid)"`. If the old server is still running it
# is stopped first (SIGTERM, then SIGKILL). Waits until the new server answers
# {hello: 1}, then rewrites STATE_DIR/pid and STATE_DIR/uri (the URI is
# unchanged). Output is appended to STATE_DIR/server.log.
set -eu
set -o pipefail

SFL_SCRIPT_NAME=restart.sh
# shellcheck source=common.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

if [ "$#" -ne 3 ]; then
    echo "usage: $0 STATE_DIR SERVER_BIN PING_BIN" >&2
    exit 2
fi
if [ ! -s "$1/port" ]; then
    echo "restart.sh: no port file in $1 (was start.sh run?)" >&2
    exit 1
fi
state=$(cd -- "$1" && pwd -P)
server=$2
ping=$3
port=$(tr -d '[:space:]' <"$state/port")
case $port in '' | *[!0-9]*)
    sfl_log "bad port file content: '$port'"
    exit 1
    ;;
esac

sfl_stop_state "$state" || {
    sfl_log "cannot stop the old server recorded in $state/pid"
    exit 1
}
mkdir -p -- "$state/data"
printf '=== restart.sh: restarting on port %s ===\n' "$port" >>"$state/server.log"

# The port was released when the old server died, but another process may
# grab it in between or the kernel may lag briefly: retry a few times.
start=$SECONDS
attempt=1
while :; do
    sfl_launch "$state" "$server" "127.0.0.1:$port"
    if sfl_wait_ready "$state" "$ping"; then
        break
    fi
    if [ "$attempt" -ge 5 ] || sfl_is_alive "$SFL_PID"; then
        # Do not lose the port number: a later restart.sh needs it.
        sfl_write_atomic "$state/port" "$port"
        sfl_fail "$state" "$SFL_FAIL_REASON"
    fi
    sfl_log "attempt $attempt failed ($SFL_FAIL_REASON), retrying"
    attempt=$((attempt + 1))
    sleep 0.5
done
sfl_log "server $SFL_PID is ready again at mongodb://127.0.0.1:$SFL_PORT/ (after $((SECONDS - start))s)"
exit 0
