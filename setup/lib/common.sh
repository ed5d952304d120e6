# shellcheck shell=bash
# setup/lib/common.sh: the general helpers every other part of setup/lib.sh builds on: output
# (log, warn, die, show_log_tail), root and Debian packages (as_root, apt_install,
# ensure_command), secrets (random_token, kept_secret), paths (abspath, _lib_repo_root),
# processes and ports (pid_running, pidfile_pid, port_open, ensure_port_free, port_released,
# wait_port_released), readiness polls (wait_for, wait_for_port, wait_for_http) and background
# processes (start_service, stop_pidfile, wait_all_or_die).
#
# Sourced by setup/lib.sh (source that, not this file); it only defines functions.

# --- output -----------------------------------------------------------------------------------

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { log "WARNING: $*"; }
die() {
    log "ERROR: $*"
    exit 1
}

# show_log_tail FILE [LINES]: the last lines of a log, to explain a failure.
show_log_tail() {
    local file=$1 lines=${2:-40}
    if [[ -s $file ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" >&2 || true
        printf -- '----- end of %s -----\n' "$file" >&2
    elif [[ -n $file ]]; then
        log "(log $file is empty or missing)"
    fi
}

# --- small utilities --------------------------------------------------------------------------

# as_root CMD...: run a command as root (directly when we are root, else through sudo).
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (run as root or install sudo)"
    fi
}

# apt_install PKG...: install Debian packages (apt-get update once per process).
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install manually: $*"
    if [[ -z ${_LIB_APT_UPDATED:-} ]]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
        _LIB_APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 ||
        die "apt-get install $* failed"
}

# ensure_command CMD [PKG]: install the Debian package PKG (default: CMD) when CMD is missing.
ensure_command() {
    local cmd=$1 pkg=${2:-$1}
    command -v "$cmd" >/dev/null 2>&1 && return 0
    log "$cmd not found; installing package $pkg"
    apt_install "$pkg"
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still not found after installing $pkg"
}

# random_token BYTES: BYTES random bytes as unpadded base64url (safe in a URL, an env file,
# SQL and a command line).
random_token() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# kept_secret FILE BYTES WHAT: prints the secret kept in FILE, first generating one of BYTES
# random bytes there (directory 0700, file 0600) when FILE is empty or missing.
kept_secret() {
    local file=$1 bytes=$2 what=$3
    if [[ ! -s $file ]]; then
        log "generating $what ($file)"
        (umask 077 && mkdir -p "$(dirname "$file")" && random_token "$bytes" >"$file")
    fi
    printf '%s\n' "$(<"$file")"
}

# abspath PATH: absolute path (the path need not exist).
abspath() { realpath -m -- "$1"; }

# _lib_repo_root: the repository root (this file lives in setup/lib/).
_lib_repo_root() { abspath "$(dirname "${BASH_SOURCE[0]}")/../.."; }

# pid_running PID: true when the process exists and is not a zombie.
pid_running() {
    local pid=$1 stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) } # the state letter follows the command name in parentheses
    [[ ${stat:0:1} != Z ]]
}

# pidfile_pid PIDFILE: prints the pid recorded in PIDFILE when that process is alive.
pidfile_pid() {
    local pidfile=$1 pid
    [[ -f $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile")
    pid_running "$pid" || return 1
    printf '%s\n' "$pid"
}

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# ensure_port_free HOST PORT WHAT: fail clearly when another program already listens there.
ensure_port_free() {
    local host=$1 port=$2 what=$3
    if port_open "$host" "$port"; then
        local who=""
        command -v ss >/dev/null 2>&1 && who=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 3)
        die "port $host:$port (wanted for $what) is already in use by another program${who:+:
$who}
Stop that program or choose another port (see the script's environment variables)."
    fi
}

# port_released PORT: true when no socket (listening, connected or in TIME-WAIT) uses PORT as
# its local port. Without `ss` it cannot tell and says yes.
port_released() {
    command -v ss >/dev/null 2>&1 || return 0
    [[ -z $(ss -Htan "sport = :$1" 2>/dev/null) ]]
}

# wait_port_released PORT: after a server failed to bind PORT with "address in use" although
# nothing listens there, waits (up to 90 s) until no socket uses PORT any more. A port in the
# ephemeral range (see /proc/sys/net/ipv4/ip_local_port_range) can be held by an outgoing
# connection, or by a closed one in TIME-WAIT for up to 60 s.
wait_port_released() {
    local port=$1
    log "port $port is held by an outgoing or recently closed connection; waiting for the kernel to release it:"
    ss -Htan "sport = :$port" >&2 2>/dev/null || true
    wait_for "port $port to be released" 90 -- port_released "$port"
}

# --- waiting ----------------------------------------------------------------------------------

# wait_for [--log FILE] [--pid PID] DESCRIPTION TIMEOUT_SECONDS -- CHECK_CMD...
# Polls CHECK_CMD until it succeeds. Fails (showing the log's tail) on timeout, or at once when
# the process PID has exited. Prints a progress line every 10 s.
wait_for() {
    local logfile="" pid=""
    while [[ $# -gt 0 ]]; do
        case $1 in
        --log) logfile=$2 && shift 2 ;;
        --pid) pid=$2 && shift 2 ;;
        *) break ;;
        esac
    done
    local what=$1 timeout=$2
    shift 2
    [[ ${1:-} == -- ]] && shift
    local start=$SECONDS next_report=$((SECONDS + 10))
    while ! "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! pid_running "$pid"; then
            show_log_tail "$logfile"
            die "$what: the process (pid $pid) exited while we waited for it"
        fi
        if ((SECONDS - start >= timeout)); then
            show_log_tail "$logfile"
            die "timed out after ${timeout}s waiting for $what"
        fi
        if ((SECONDS >= next_report)); then
            log "still waiting for $what ($((SECONDS - start))s of ${timeout}s)"
            next_report=$((SECONDS + 10))
        fi
        sleep 0.2
    done
    log "$what is ready ($((SECONDS - start))s)"
}

# wait_for_port HOST PORT TIMEOUT [LOGFILE [PID]]
wait_for_port() {
    local host=$1 port=$2 timeout=$3 logfile=${4:-} pid=${5:-}
    wait_for --log "$logfile" --pid "$pid" "$host:$port to accept connections" "$timeout" -- \
        port_open "$host" "$port"
}

# wait_for_http URL TIMEOUT [LOGFILE [PID]]: until URL answers 2xx (curl -fsS).
wait_for_http() {
    local url=$1 timeout=$2 logfile=${3:-} pid=${4:-}
    wait_for --log "$logfile" --pid "$pid" "$url" "$timeout" -- \
        curl -fsS --max-time 3 -o /dev/null "$url"
}

# --- background processes ---------------------------------------------------------------------

# start_service NAME LOGFILE PIDFILE -- CMD...
# Starts CMD in the background (nohup, stdin from /dev/null, output appended to LOGFILE) and
# records its pid. Does nothing when the pid file names a live process. The working directory
# is $SERVICE_CWD when set.
start_service() {
    local name=$1 logfile=$2 pidfile=$3 pid
    shift 3
    [[ ${1:-} == -- ]] && shift
    [[ $# -gt 0 ]] || die "start_service $name: no command given"
    if pid=$(pidfile_pid "$pidfile"); then
        log "$name is already running (pid $pid)"
        return 0
    fi
    mkdir -p "$(dirname "$logfile")" "$(dirname "$pidfile")"
    log "starting $name (log: $logfile)"
    (
        if [[ -n ${SERVICE_CWD:-} ]]; then cd "$SERVICE_CWD" || exit 1; fi
        exec nohup "$@" >>"$logfile" 2>&1 </dev/null
    ) &
    pid=$!
    disown "$pid" 2>/dev/null || true # a daemon, not a job of this shell: no job reports
    printf '%s\n' "$pid" >"$pidfile"
    log "$name started (pid $pid)"
}

# stop_pidfile PIDFILE [TIMEOUT]: SIGTERM, wait up to TIMEOUT seconds (default 20), then
# SIGKILL. Removes the pid file. Harmless when nothing runs.
stop_pidfile() {
    local pidfile=$1 timeout=${2:-20} pid name
    [[ -f $pidfile ]] || return 0
    name=$(basename "$pidfile" .pid)
    if pid=$(pidfile_pid "$pidfile"); then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + timeout))
        while pid_running "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if pid_running "$pid"; then
            warn "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while pid_running "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
            pid_running "$pid" && warn "$name (pid $pid) is still alive after SIGKILL"
        fi
        log "$name stopped"
    fi
    rm -f "$pidfile"
}

# wait_all_or_die WHAT: waits for every background job of this shell; dies when one failed.
wait_all_or_die() {
    local pid failed=0
    for pid in $(jobs -p); do wait "$pid" || failed=1; done
    ((failed == 0)) || die "$1 failed"
}
