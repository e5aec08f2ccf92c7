#!/usr/bin/env bash
# Usage: stop.sh STATE_DIR
#
# Stops the server recorded in STATE_DIR/pid: SIGTERM, wait up to 10 s, then
# SIGKILL. Exits 0 once it is gone (or if none was running); the data folder
# and server.log are kept for inspection.
set -eu
set -o pipefail

SFL_SCRIPT_NAME=stop.sh
# shellcheck source=common.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

if [ "$#" -ne 1 ]; then
    echo "usage: $0 STATE_DIR" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    exit 0
fi
state=$(cd -- "$1" && pwd -P)

if ! sfl_stop_state "$state"; then
    exit 1
fi
rm -f -- "$state/uri"
exit 0
