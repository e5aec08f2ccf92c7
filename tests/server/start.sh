#!/usr/bin/env bash
# Usage: start.sh STATE_DIR SERVER_BIN PING_BIN
#
# Starts a fresh test server (empty data folder STATE_DIR/data) on a free
# loopback port and waits until it answers {hello: 1}. On success these files
# exist in STATE_DIR:
#   pid         PID of the server
#   port        its TCP port
#   uri         mongodb://127.0.0.1:PORT/?serverSelectionTimeoutMS=5000
#   server.log  the server's stdout/stderr
# Exits 1 (after printing the end of server.log and killing the server) on
# failure. Any server still recorded in STATE_DIR/pid is stopped first.
set -eu
set -o pipefail

SFL_SCRIPT_NAME=start.sh
# shellcheck source=common.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

if [ "$#" -ne 3 ]; then
    echo "usage: $0 STATE_DIR SERVER_BIN PING_BIN" >&2
    exit 2
fi
state=$(sfl_abs_dir "$1")
server=$2
ping=$3
for exe in "$server" "$ping"; do
    if [ ! -x "$exe" ]; then
        sfl_log "not an executable: $exe"
        exit 1
    fi
done

# A server left over from an interrupted run would hold the old data folder.
sfl_stop_state "$state" || {
    sfl_log "cannot stop the old server recorded in $state/pid"
    exit 1
}

rm -rf -- "$state/data"
mkdir -p -- "$state/data"
rm -f -- "$state/port" "$state/uri" "$state/pid"
: >"$state/server.log"

start=$SECONDS
sfl_launch "$state" "$server" 127.0.0.1:0
if ! sfl_wait_ready "$state" "$ping"; then
    sfl_fail "$state" "$SFL_FAIL_REASON"
fi
sfl_log "server $SFL_PID is ready at mongodb://127.0.0.1:$SFL_PORT/ (after $((SECONDS - start))s)"
exit 0
