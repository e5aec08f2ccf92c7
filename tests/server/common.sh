# Shared helpers for start.sh, stop.sh and restart.sh. Sourced, not run.
# shellcheck shell=bash

# Limits (seconds). Can be overridden from the environment.
: "${SFL_SERVER_PORT_TIMEOUT:=60}"   # wait for the port file
: "${SFL_SERVER_PING_TIMEOUT:=60}"   # wait for hello to succeed
: "${SFL_SERVER_STOP_TIMEOUT:=10}"   # wait after SIGTERM before SIGKILL

sfl_log() {
    printf '%s: %s\n' "${SFL_SCRIPT_NAME:-server}" "$*" >&2
}

# sfl_abs_dir DIR: print DIR as an absolute path (DIR is created if missing).
sfl_abs_dir() {
    mkdir -p -- "$1"
    (cd -- "$1" && pwd -P)
}

# sfl_is_alive PID: true if PID exists and is not a zombie.
sfl_is_alive() {
    local pid=$1 stat
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/stat" ]; then
        # The field after "(comm) " is the state; Z/X = dead, not yet reaped.
        stat=$({ sed 's/^.*) //' "/proc/$pid/stat"; } 2>/dev/null) || return 1
        case $stat in '' | Z* | X*) return 1 ;; esac
    fi
    return 0
}

# sfl_is_our_server PID DATA_DIR: true if PID is alive and (where /proc is
# available) really is a test server using DATA_DIR, so that a PID read from
# a stale pid file and since recycled never gets killed by mistake.
sfl_is_our_server() {
    local pid=$1 data_dir=$2 cmdline
    sfl_is_alive "$pid" || return 1
    if [ -d "/proc/$pid" ]; then
        cmdline=$({ tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null) || return 1
        printf '%s\n' "$cmdline" | grep -Fxq -- "$data_dir" || return 1
    fi
    return 0
}

# sfl_stop_pid PID DATA_DIR: SIGTERM, wait, SIGKILL. Returns 0 once gone.
# With DATA_DIR empty, PID is trusted (a child this script just started).
sfl_stop_pid() {
    local pid=$1 data_dir=$2 deadline i
    if [ -n "$data_dir" ]; then
        sfl_is_our_server "$pid" "$data_dir" || return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + SFL_SERVER_STOP_TIMEOUT))
    while sfl_is_alive "$pid"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            sfl_log "server $pid did not stop after SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            for i in $(seq 1 50); do
                sfl_is_alive "$pid" || return 0
                sleep 0.1
            done
            sfl_log "server $pid is still alive after SIGKILL"
            return 1
        fi
        sleep 0.1
    done
    return 0
}

# sfl_stop_state STATE_DIR: stop the server recorded in STATE_DIR/pid, if any.
sfl_stop_state() {
    local state=$1 pid=""
    if [ -f "$state/pid" ]; then
        pid=$(cat "$state/pid" 2>/dev/null || true)
    fi
    if [ -n "$pid" ]; then
        sfl_stop_pid "$pid" "$state/data" || return 1
    fi
    rm -f -- "$state/pid"
    return 0
}

# sfl_write_atomic FILE CONTENT
sfl_write_atomic() {
    local tmp
    tmp="$1.tmp.$$"
    printf '%s\n' "$2" >"$tmp"
    mv -f -- "$tmp" "$1"
}

# sfl_fail STATE_DIR MESSAGE: report, show the log, kill the server we
# started (SFL_PID), exit 1.
sfl_fail() {
    local state=$1
    shift
    sfl_log "$*"
    if [ -f "$state/server.log" ]; then
        sfl_log "last lines of $state/server.log:"
        tail -n 40 -- "$state/server.log" >&2 || true
    fi
    if [ -n "${SFL_PID:-}" ]; then
        sfl_stop_pid "$SFL_PID" "" || true
    fi
    rm -f -- "$state/pid" "$state/uri"
    exit 1
}

# sfl_launch STATE_DIR SERVER_BIN LISTEN: start the server in the background
# (stdin from /dev/null, output appended to server.log so that it never holds
# CTest's pipes open) and record its PID.
sfl_launch() {
    local state=$1 server=$2 listen=$3 pid
    rm -f -- "$state/port" "$state/uri" "$state/control"
    "$server" -listen "$listen" -dir "$state/data" -port-file "$state/port" \
        -control-file "$state/control" \
        -log-level "${SWEFREQ_TEST_SERVER_LOG_LEVEL:-warn}" \
        </dev/null >>"$state/server.log" 2>&1 &
    pid=$!
    sfl_write_atomic "$state/pid" "$pid"
    SFL_PID=$pid
}

# sfl_wait_ready STATE_DIR PING_BIN: wait for the port file, then for hello;
# write STATE_DIR/uri. Returns 1 (and sets SFL_FAIL_REASON) on failure.
sfl_wait_ready() {
    local state=$1 ping=$2 deadline port="" ping_out
    SFL_FAIL_REASON=""

    deadline=$((SECONDS + SFL_SERVER_PORT_TIMEOUT))
    while [ ! -s "$state/port" ]; do
        if ! sfl_is_alive "$SFL_PID"; then
            SFL_FAIL_REASON="server process $SFL_PID exited before listening"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            SFL_FAIL_REASON="no port file after ${SFL_SERVER_PORT_TIMEOUT}s"
            return 1
        fi
        sleep 0.05
    done
    port=$(tr -d '[:space:]' <"$state/port")
    case $port in '' | *[!0-9]*)
        SFL_FAIL_REASON="bad port file content: '$port'"
        return 1
        ;;
    esac

    deadline=$((SECONDS + SFL_SERVER_PING_TIMEOUT))
    while :; do
        if ! sfl_is_alive "$SFL_PID"; then
            SFL_FAIL_REASON="server process $SFL_PID exited before answering hello"
            return 1
        fi
        if ping_out=$(sfl_run_bounded 15 "$ping" "mongodb://127.0.0.1:$port/" 2>&1); then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            SFL_FAIL_REASON="server did not answer hello within ${SFL_SERVER_PING_TIMEOUT}s: $ping_out"
            return 1
        fi
        sleep 0.1
    done

    sfl_write_atomic "$state/uri" "mongodb://127.0.0.1:$port/?serverSelectionTimeoutMS=5000"
    SFL_PORT=$port
    return 0
}

# sfl_run_bounded SECONDS CMD...: run CMD with a time limit if timeout(1) exists.
sfl_run_bounded() {
    local limit=$1
    shift
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 2 "$limit" "$@"
    else
        "$@"
    fi
}
