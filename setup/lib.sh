# shellcheck shell=bash
# setup/lib.sh: helpers shared by setup/startup.sh, setup/shutdown.sh and scripts/test.sh.
#
# Source it; it only defines functions (no side effects at source time). The callers run with
# `set -euo pipefail`, and so do these functions.
#
# What is here:
#   log / warn / die                      progress and errors, on stderr
#   wait_for, wait_for_port, wait_for_http   readiness polls with a deadline (never fixed sleeps)
#   start_service / stop_pidfile          background processes tracked by pid files
#   ensure_postgres_binaries, start_postgres, stop_postgres, create_database, pg_url_for_db,
#   pg_require_password                   password (scram) authentication for native mode
#   ensure_kafka, kafka_class             Apache Kafka from Maven Central; run one of its classes
#   kafka_prepare, start_kafka, stop_kafka  a KRaft cluster of 1 or 3 nodes (native mode, tests)
#   kafka_create_topics                   topics through Kafka's own admin tool
#   ensure_secantus, start_mongo          SecantusDB, the MongoDB-protocol server (pip, project venv)
#   venv_install, ensure_schemathesis     other Python tools in the project venv (the API fuzzer)
#   ensure_maildev, start_maildev         maildev, the SMTP mail catcher with an HTTP API (npm)
#   ensure_chromium, ensure_playwright    Debian's Chromium and playwright-core, for browser tests
#   docker_available, platform_mode       docker or native

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

# --- PostgreSQL -------------------------------------------------------------------------------

# _find_pg_bin: a directory holding initdb, pg_ctl and postgres (PATH first, then the newest
# /usr/lib/postgresql/*/bin).
_find_pg_bin() {
    local c d
    if c=$(command -v initdb 2>/dev/null); then
        d=$(dirname "$(readlink -f "$c")")
        if [[ -x $d/pg_ctl && -x $d/postgres ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    while IFS= read -r d; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r)
    return 1
}

# ensure_postgres_binaries: finds (or installs) the PostgreSQL server binaries; exports PG_BIN.
ensure_postgres_binaries() {
    if [[ -n ${PG_BIN:-} && -x ${PG_BIN}/pg_ctl ]]; then return 0; fi
    local dir
    if ! dir=$(_find_pg_bin); then
        log "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; installing postgresql"
        apt_install postgresql
        dir=$(_find_pg_bin) || die "PostgreSQL binaries still not found after installing postgresql"
    fi
    export PG_BIN=$dir
    log "PostgreSQL binaries: $PG_BIN ($("$PG_BIN/postgres" --version))"
}

# pg_tool NAME: path of a PostgreSQL client tool (psql, pg_isready), installing the client
# package when there is none.
pg_tool() {
    local name=$1 d
    if [[ -n ${PG_BIN:-} && -x $PG_BIN/$name ]]; then
        printf '%s\n' "$PG_BIN/$name"
        return 0
    fi
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return 0
    fi
    d=$(compgen -G "/usr/lib/postgresql/*/bin/$name" | sort -V -r | head -n 1) || true
    if [[ -z $d ]]; then
        log "$name not found; installing postgresql-client"
        apt_install postgresql-client >/dev/null
        d=$(command -v "$name" || compgen -G "/usr/lib/postgresql/*/bin/$name" | sort -V -r | head -n 1) ||
            true
        [[ -n $d ]] || die "$name still not found after installing postgresql-client"
    fi
    printf '%s\n' "$d"
}

# PostgreSQL refuses to run as root: as root, the server tools run as the `postgres` OS user.
_pg_os_user() {
    if ((EUID != 0)); then return 0; fi
    if ! id -u postgres >/dev/null 2>&1; then
        log "creating the postgres OS user"
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}

# _as_pg CMD...: run a PostgreSQL server tool (as the postgres user when we are root).
_as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# _pg_give DIR_OR_FILE...: as root, hand paths to the postgres user and make every parent
# directory traversable for it.
_pg_give() {
    ((EUID == 0)) || return 0
    local p d
    for p in "$@"; do
        chown postgres: "$p"
        d=$(dirname "$p")
        while [[ $d != / ]]; do
            if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
                log "making $d traversable (o+x) for the postgres user"
                chmod o+x "$d"
            fi
            d=$(dirname "$d")
        done
    done
}

# _pg_socket_dir DATA_DIR: the unix socket directory, beside the data dir (or under /tmp when
# that path would be too long for a unix socket).
_pg_socket_dir() {
    local dir
    dir="$(dirname "$1")/socket"
    if ((${#dir} > 80)); then
        dir="/tmp/pgsock-$(printf '%s' "$1" | md5sum | cut -c1-12)"
    fi
    printf '%s\n' "$dir"
}

# postgres_running DATA_DIR: true when a server runs on that data directory.
postgres_running() {
    local data=$1
    [[ -f $data/PG_VERSION ]] || return 1
    ensure_postgres_binaries
    _pg_os_user
    _as_pg "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

# start_postgres DATA_DIR PORT LOGFILE [SERVER_OPTION...]
# Creates the cluster when DATA_DIR has none (trust auth, user postgres, UTF8), then starts it
# listening on 127.0.0.1:PORT only, with its unix socket beside the data dir. SERVER_OPTIONs
# (e.g. `-c fsync=off`) are passed to postgres. Does nothing when it already runs.
start_postgres() {
    local data port=$2 logfile sockdir
    data=$(abspath "$1")
    logfile=$(abspath "$3")
    shift 3
    ensure_postgres_binaries
    _pg_os_user
    sockdir=$(_pg_socket_dir "$data")
    if postgres_running "$data"; then
        log "PostgreSQL already running on $data"
    else
        ensure_port_free 127.0.0.1 "$port" "PostgreSQL"
        mkdir -p "$data" "$sockdir" "$(dirname "$logfile")"
        touch "$logfile"
        chmod 700 "$data"
        _pg_give "$data" "$sockdir" "$logfile"
        if [[ ! -f $data/PG_VERSION ]]; then
            log "initdb: creating a PostgreSQL cluster in $data"
            _as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C \
                >>"$logfile" 2>&1 || {
                show_log_tail "$logfile"
                die "initdb failed for $data"
            }
        fi
        log "starting PostgreSQL on 127.0.0.1:$port (data: $data, log: $logfile)"
        local opts="-c listen_addresses=127.0.0.1 -p $port -k $sockdir"
        if [[ $# -gt 0 ]]; then opts+=" $*"; fi
        local attempt log_start
        for attempt in 1 2; do
            log_start=$(($(wc -l <"$logfile") + 1))
            if _as_pg "$PG_BIN/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 -o "$opts" >&2; then
                break
            fi
            if ((attempt == 1)) && tail -n "+$log_start" "$logfile" | grep -q 'Address already in use' &&
                ! port_open 127.0.0.1 "$port"; then
                wait_port_released "$port"
                continue
            fi
            show_log_tail "$logfile"
            die "PostgreSQL did not start (data: $data)"
        done
    fi
    local isready
    isready=$(pg_tool pg_isready)
    wait_for --log "$logfile" "PostgreSQL on 127.0.0.1:$port" 60 -- \
        "$isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres
}

# pg_require_password DATA_DIR PORT SECRET_FILE: makes the cluster on DATA_DIR ask every
# client for a password (scram-sha-256, local socket and TCP alike) instead of trusting every
# local user, with the superuser postgres's password generated once into SECRET_FILE (mode
# 0600). Idempotent: a cluster that no longer trusts anyone is left alone. Prints the password.
pg_require_password() {
    local data port=$2 secret_file=$3 secret psql
    data=$(abspath "$1")
    secret=$(kept_secret "$secret_file" 24 "the PostgreSQL password")
    if _as_pg grep -Eq '^[^#]*[[:space:]]trust[[:space:]]*$' "$data/pg_hba.conf"; then
        log "PostgreSQL: switching from trust to password (scram-sha-256) authentication"
        psql=$(pg_tool psql)
        # On stdin, so the password shows in no process list.
        printf "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD '%s';\n" "$secret" |
            "$psql" "postgres://postgres@127.0.0.1:$port/postgres" -Xq -v ON_ERROR_STOP=1 >&2 ||
            die "setting the postgres password failed"
        _as_pg sed -i -E 's/[[:space:]]trust[[:space:]]*$/ scram-sha-256/' "$data/pg_hba.conf"
        _as_pg "$PG_BIN/pg_ctl" reload -D "$data" -s >&2 || die "reloading PostgreSQL failed"
    fi
    printf '%s\n' "$secret"
}

# stop_postgres DATA_DIR: fast shutdown (then immediate) of the server on DATA_DIR; keeps the
# data. Harmless when nothing runs.
stop_postgres() {
    local data
    data=$(abspath "$1")
    postgres_running "$data" || return 0
    log "stopping PostgreSQL ($data)"
    if ! _as_pg "$PG_BIN/pg_ctl" stop -D "$data" -s -m fast -w -t 60 >&2; then
        warn "fast shutdown failed; trying immediate shutdown"
        _as_pg "$PG_BIN/pg_ctl" stop -D "$data" -s -m immediate -w -t 30 >&2 ||
            warn "PostgreSQL on $data did not stop"
    fi
}

# pg_url_for_db URL DB: URL with its database replaced by DB (query parameters are kept).
pg_url_for_db() {
    local url=$1 db=$2
    [[ $url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]] ||
        die "not a postgres:// URL: $url"
    printf '%s/%s%s\n' "${BASH_REMATCH[1]}" "$db" "${BASH_REMATCH[4]}"
}

# postgres_answers URL: true when the server of URL accepts connections.
postgres_answers() {
    local isready
    isready=$(pg_tool pg_isready)
    "$isready" -q -t 3 -d "$1" >/dev/null 2>&1
}

# create_database URL_BASE NAME: creates database NAME on the server of URL_BASE unless it
# exists. URL_BASE may name any database (or none).
create_database() {
    local admin name=$2 psql exists
    admin=$(pg_url_for_db "$1" postgres)
    [[ $name =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] || die "unexpected database name: $name"
    psql=$(pg_tool psql)
    exists=$("$psql" "$admin" -XtAq -v ON_ERROR_STOP=1 \
        -c "SELECT 1 FROM pg_database WHERE datname = '$name'") ||
        die "cannot query databases on $admin"
    if [[ $exists == 1 ]]; then
        log "database $name exists"
        return 0
    fi
    log "creating database $name"
    if ! "$psql" "$admin" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$name\"" >&2; then
        # Another process may have created it at the same moment.
        exists=$("$psql" "$admin" -XtAq -c "SELECT 1 FROM pg_database WHERE datname = '$name'")
        [[ $exists == 1 ]] || die "could not create database $name"
    fi
}

# --- Apache Kafka (KRaft, from Maven Central) -------------------------------------------------

# The Kafka version and where its jars are cached (outside the checkout, so --purge and a fresh
# clone keep them): KAFKA_HOME, default ${XDG_CACHE_HOME:-~/.cache}/cdc-platform/kafka-<version>.
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}

# ensure_java: a Java 17+ runtime (Debian's openjdk-17-jre-headless when there is none).
ensure_java() {
    command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
    command -v java >/dev/null 2>&1 || die "java still not found after installing openjdk-17-jre-headless"
}

# ensure_kafka: finds Apache Kafka's jars (KAFKA_HOME/libs) or copies them there from Maven
# Central with Maven, once (setup/kafka/pom.xml: the broker kafka_2.13, kafka-tools and a log4j2
# binding, with every dependency; Maven's own cache is ~/.m2). A rerun downloads nothing: the
# marker libs/.complete is written last. Exports KAFKA_HOME and KAFKA_LIBS.
ensure_kafka() {
    local home
    home=$(abspath "${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/kafka-$KAFKA_VERSION}")
    export KAFKA_HOME=$home KAFKA_LIBS=$home/libs
    ensure_java
    [[ -f $KAFKA_LIBS/.complete ]] && return 0
    ensure_command mvn maven
    mkdir -p "$home"
    (
        flock 9 # one install at a time (startup.sh and test.sh may run together)
        if [[ -f $KAFKA_LIBS/.complete ]]; then exit 0; fi
        log "installing Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIBS (about 60 MB, once)"
        rm -rf "$KAFKA_LIBS"
        mvn -B -q -Dstyle.color=never -f "$(_lib_repo_root)/setup/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >&2 ||
            die "mvn dependency:copy-dependencies for Apache Kafka $KAFKA_VERSION failed"
        touch "$KAFKA_LIBS/.complete"
    ) 9>"$home/.install.lock" || die "installing Apache Kafka failed"
    log "Apache Kafka $KAFKA_VERSION: $KAFKA_LIBS"
}

# kafka_class CLASS ARG...: runs one of Kafka's main classes from the Maven install, the way the
# distribution's bin/kafka-run-class.sh does. Heap from KAFKA_HEAP_OPTS (tools: 256 MB); tools
# log warnings to stderr (setup/kafka/tools-log4j2.properties) unless KAFKA_LOG4J_OPTS says else.
kafka_class() {
    ensure_kafka
    local class=$1
    shift
    # Readiness probes bound each call (_KAFKA_CLASS_TIMEOUT seconds): a client waits long for a
    # broker that is not there yet.
    local pre=()
    [[ -n ${_KAFKA_CLASS_TIMEOUT:-} ]] && pre=(timeout "$_KAFKA_CLASS_TIMEOUT")
    # shellcheck disable=SC2086 # the *_OPTS variables hold several JVM options, as in Kafka's scripts
    exec "${pre[@]}" java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
        -Djava.awt.headless=true \
        ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$(_lib_repo_root)/setup/kafka/tools-log4j2.properties} \
        ${KAFKA_OPTS:-} -cp "$KAFKA_LIBS/*" "$class" "$@"
}

# kafka_bootstrap PORT NODES: the bootstrap list of a cluster whose brokers listen on PORT,
# PORT+1, ... (127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 for 9092 and 3).
kafka_bootstrap() {
    local port=$1 nodes=$2 i list=""
    for ((i = 0; i < nodes; i++)); do list+="${list:+,}127.0.0.1:$((port + i))"; done
    printf '%s\n' "$list"
}

# kafka_prepare DATA_DIR NODES PORT CONTROLLER_PORT
# Writes DATA_DIR/node-<id>/server.properties for a KRaft cluster of NODES combined
# broker+controller nodes (ids 1..NODES; node i listens on PORT+i-1 for clients and
# CONTROLLER_PORT+i-1 for the controller quorum, 127.0.0.1 only) and formats each node's log
# directory on first use (cluster id kept in DATA_DIR/cluster.id). Topics default to one
# partition and, on three nodes, replication factor 3 with min.insync.replicas=2. Idempotent:
# a formatted node is left alone. The test harness calls this too, then runs the nodes itself.
kafka_prepare() {
    local data nodes=$2 port=$3 cport=$4 i voters="" cluster_id rf isr
    data=$(abspath "$1")
    [[ $nodes =~ ^[1-9]$ ]] || die "KAFKA_BROKERS must be a number of nodes from 1 to 9 (got: $nodes)"
    ensure_kafka
    mkdir -p "$data"
    rf=$nodes isr=$((nodes >= 3 ? 2 : 1))
    for ((i = 1; i <= nodes; i++)); do voters+="${voters:+,}$i@127.0.0.1:$((cport + i - 1))"; done
    if [[ ! -s $data/cluster.id ]]; then
        # A Kafka cluster id is a base64url UUID without padding (what `kafka-storage random-uuid`
        # prints). Like Kafka's own generator, never one starting with '-': the tools would read
        # it as an option.
        local id="-"
        while [[ $id == -* ]]; do
            id=$(random_token 16)
        done
        printf '%s' "$id" >"$data/cluster.id"
    fi
    cluster_id=$(<"$data/cluster.id")
    if [[ -s $data/nodes && $(<"$data/nodes") != "$nodes" ]]; then
        die "$data holds a Kafka cluster of $(<"$data/nodes") node(s), not $nodes: start with KAFKA_BROKERS=$(<"$data/nodes"), or delete the data (setup/shutdown.sh --purge)"
    fi
    printf '%s\n' "$nodes" >"$data/nodes"
    local pids=() node
    for ((i = 1; i <= nodes; i++)); do
        node=$data/node-$i
        mkdir -p "$node/data"
        cat >"$node/server.properties" <<PROPS
# Written by setup/lib.sh kafka_prepare; rewritten at every start.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$((port + i - 1)),CONTROLLER://127.0.0.1:$((cport + i - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$((port + i - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$node/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
unclean.leader.election.enable=false
# A consumer group forms at once instead of waiting 3 s for more members (one machine, few members).
group.initial.rebalance.delay.ms=0
PROPS
        if [[ ! -f $node/data/meta.properties ]]; then
            log "formatting Kafka node $i (cluster $cluster_id) in $node/data"
            (kafka_class kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
                -c "$node/server.properties" >"$node/format.log" 2>&1) &
            pids+=($!)
        fi
    done
    local pid
    for pid in "${pids[@]}"; do
        wait "$pid" || {
            cat "$data"/node-*/format.log >&2
            die "formatting the Kafka log directories in $data failed"
        }
    done
}

# kafka_node_command NODE_DIR: the command line that runs one node (used by start_kafka and the
# test harness). Heap KAFKA_HEAP_OPTS, default 512 MB (the machines have 2 cores and every JVM
# shares them); G1 with short pauses, as Kafka's own scripts choose.
kafka_node_command() {
    local node
    node=$(abspath "$1")
    ensure_kafka
    # shellcheck disable=SC2086
    printf '%s\n' java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
        ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError} \
        -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$(_lib_repo_root)/setup/kafka/log4j2.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$node/server.properties"
}

# kafka_ready BOOTSTRAP NODES: true when a metadata request answers with NODES unfenced brokers.
kafka_ready() {
    local count
    count=$( (_KAFKA_CLASS_TIMEOUT=20 kafka_class org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "$1" 2>/dev/null) | grep -c 'isFenced: false') || true
    ((count >= $2))
}

# start_kafka DATA_DIR NODES PORT CONTROLLER_PORT LOG_DIR PID_DIR
# Prepares (kafka_prepare) and starts NODES Kafka nodes in the background (logs
# LOG_DIR/kafka-<id>.log, pid files PID_DIR/kafka-<id>.pid) and waits until a metadata request
# lists every broker. Nodes already running are left alone.
start_kafka() {
    local data nodes=$2 port=$3 cport=$4 logs pids i pid cmd
    data=$(abspath "$1")
    logs=$(abspath "$5")
    pids=$(abspath "$6")
    kafka_prepare "$data" "$nodes" "$port" "$cport"
    mkdir -p "$logs" "$pids"
    for ((i = 1; i <= nodes; i++)); do
        if pid=$(pidfile_pid "$pids/kafka-$i.pid"); then
            log "Kafka node $i already running (pid $pid)"
            continue
        fi
        ensure_port_free 127.0.0.1 "$((port + i - 1))" "Kafka node $i"
        ensure_port_free 127.0.0.1 "$((cport + i - 1))" "Kafka node $i (controller)"
        mapfile -t cmd < <(kafka_node_command "$data/node-$i")
        start_service "kafka-$i" "$logs/kafka-$i.log" "$pids/kafka-$i.pid" -- "${cmd[@]}"
    done
    local bootstrap
    bootstrap=$(kafka_bootstrap "$port" "$nodes")
    for ((i = 1; i <= nodes; i++)); do
        wait_for_port 127.0.0.1 "$((port + i - 1))" 120 "$logs/kafka-$i.log" "$(<"$pids/kafka-$i.pid")"
    done
    wait_for --log "$logs/kafka-1.log" "Kafka metadata listing $nodes broker(s) at $bootstrap" 120 -- \
        kafka_ready "$bootstrap" "$nodes"
}

# stop_kafka PID_DIR: SIGTERM every node (a controlled shutdown), SIGKILL after 60 s.
stop_kafka() {
    local pids=$1 pidfile
    for pidfile in "$pids"/kafka-*.pid; do
        [[ -f $pidfile ]] && stop_pidfile "$pidfile" 60 &
    done
    wait
}

# kafka_create_topics BOOTSTRAP NODES TOPIC...: creates each missing topic with Kafka's own
# admin tool: one partition (the ordering contract), replication factor NODES and, on three
# nodes or more, min.insync.replicas=2 (an acknowledged write survives losing one broker).
kafka_create_topics() {
    local bootstrap=$1 nodes=$2 topic isr
    shift 2
    isr=$((nodes >= 3 ? 2 : 1))
    for topic in "$@"; do
        (kafka_class org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
            --if-not-exists --topic "$topic" --partitions 1 --replication-factor "$nodes" \
            --config "min.insync.replicas=$isr" >/dev/null) &
    done
    wait_all_or_die "creating topics $*"
}

# wait_all_or_die WHAT: waits for every background job of this shell; dies when one failed.
wait_all_or_die() {
    local pid failed=0
    for pid in $(jobs -p); do wait "$pid" || failed=1; done
    ((failed == 0)) || die "$1 failed"
}

# --- SecantusDB (MongoDB wire protocol) -------------------------------------------------------

# _lib_repo_root: the repository root (this file lives in setup/).
_lib_repo_root() { abspath "$(dirname "${BASH_SOURCE[0]}")/.."; }

# venv_install TOOL PIP_SPEC WHAT: makes sure the project venv (PLATFORM_VENV, default .venv)
# has the command TOOL, installing PIP_SPEC with pip when it does not (creating the venv, and
# installing python3-venv with apt when needed). Prints TOOL's path.
venv_install() {
    local tool=$1 spec=$2 what=$3 venv
    venv=$(abspath "${PLATFORM_VENV:-$(_lib_repo_root)/.venv}")
    if [[ ! -x $venv/bin/$tool ]]; then
        ensure_command python3
        mkdir -p "$venv"
        (
            flock 9 # one install at a time (startup.sh and test.sh may run together)
            if [[ -x $venv/bin/$tool ]]; then exit 0; fi
            if [[ ! -x $venv/bin/pip ]]; then
                log "creating the Python venv $venv"
                if ! python3 -m venv "$venv" >&2; then
                    log "python3 -m venv failed; installing python3-venv"
                    apt_install python3-venv
                    python3 -m venv --clear "$venv" >&2 || die "python3 -m venv $venv failed"
                fi
            fi
            log "installing $what into $venv: pip install $spec"
            "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" >&2 ||
                die "pip install $spec failed"
        ) 9>"$venv/.install.lock" || die "installing $what failed"
        [[ -x $venv/bin/$tool ]] || die "$tool not found in $venv after pip install $spec"
    fi
    printf '%s\n' "$venv/bin/$tool"
}

# ensure_secantus: finds SecantusDB's server (SECANTUSD_BIN, else the project venv) or installs
# it there with pip (`pip install --pre SecantusDB`, version SECANTUS_VERSION, default 0.7.0b3;
# about 20 s); exports SECANTUSD_BIN.
ensure_secantus() {
    if [[ -z ${SECANTUSD_BIN:-} || ! -x $SECANTUSD_BIN ]]; then
        SECANTUSD_BIN=$(venv_install secantusd-py "SecantusDB==${SECANTUS_VERSION:-0.7.0b3}" \
            "SecantusDB (MongoDB wire protocol)") || die "SecantusDB is not available"
    fi
    export SECANTUSD_BIN
    log "SecantusDB: $SECANTUSD_BIN"
}

# ensure_schemathesis: the property-based API fuzzer the tests run against every OpenAPI
# document (SCHEMATHESIS_BIN, else installed into the project venv, version
# SCHEMATHESIS_VERSION, default 4.32.5); exports SCHEMATHESIS_BIN.
ensure_schemathesis() {
    if [[ -z ${SCHEMATHESIS_BIN:-} || ! -x $SCHEMATHESIS_BIN ]]; then
        SCHEMATHESIS_BIN=$(venv_install schemathesis "schemathesis==${SCHEMATHESIS_VERSION:-4.32.5}" \
            "Schemathesis (OpenAPI fuzzer)") || die "Schemathesis is not available"
    fi
    export SCHEMATHESIS_BIN
    log "Schemathesis: $SCHEMATHESIS_BIN"
}

# start_mongo DATA_DIR PORT LOGFILE PIDFILE
# Runs SecantusDB in the background on 127.0.0.1:PORT with its storage in DATA_DIR (durable;
# only one server may use a DATA_DIR). Clients connect with
# mongodb://127.0.0.1:PORT/?directConnection=true . Does nothing when the pid file names a
# live process.
start_mongo() {
    local data port=$2 logfile pidfile pid
    data=$(abspath "$1")
    logfile=$(abspath "$3")
    pidfile=$(abspath "$4")
    ensure_secantus
    if pid=$(pidfile_pid "$pidfile"); then
        log "SecantusDB already running (pid $pid)"
        wait_for_port 127.0.0.1 "$port" 60 "$logfile" "$pid"
        return 0
    fi
    ensure_port_free 127.0.0.1 "$port" "SecantusDB (MongoDB API)"
    mkdir -p "$data"
    start_service secantusd "$logfile" "$pidfile" -- \
        "$SECANTUSD_BIN" --host 127.0.0.1 --port "$port" --storage-path "$data" --log-level WARNING
    pid=$(<"$pidfile")
    if ! (wait_for_port 127.0.0.1 "$port" 60 "$logfile" "$pid"); then
        stop_pidfile "$pidfile" 5
        die "SecantusDB did not come up on 127.0.0.1:$port (a server still using $data exits with \"Device or resource busy\")"
    fi
}

# --- maildev (SMTP mail catcher with an HTTP API) ---------------------------------------------

# ensure_maildev: finds maildev (MAILDEV_BIN, else MAILDEV_HOME, default
# ${XDG_CACHE_HOME:-~/.cache}/cdc-platform/maildev, a cache outside the runtime dirs so that
# --purge keeps it) or installs it there with `npm install maildev@3` (about 30 s; installs
# Node.js and npm with apt-get when missing); exports MAILDEV_BIN.
ensure_maildev() {
    if [[ -n ${MAILDEV_BIN:-} && -x $MAILDEV_BIN ]]; then
        export MAILDEV_BIN
        return 0
    fi
    local dir version=${MAILDEV_VERSION:-3}
    dir=$(abspath "${MAILDEV_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/maildev}")
    if [[ ! -x $dir/node_modules/.bin/maildev ]]; then
        ensure_command node nodejs
        ensure_command npm
        mkdir -p "$dir"
        (
            flock 9 # one install at a time
            if [[ -x $dir/node_modules/.bin/maildev ]]; then exit 0; fi
            log "installing maildev@$version (SMTP mail catcher) into $dir: npm install maildev@$version"
            # EBADENGINE warnings about the Node.js version are harmless.
            npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "maildev@$version" >&2 ||
                die "npm install maildev@$version failed"
        ) 9>"$dir/.install.lock" || die "installing maildev failed"
        [[ -x $dir/node_modules/.bin/maildev ]] || die "maildev not found in $dir after npm install"
    fi
    export MAILDEV_BIN=$dir/node_modules/.bin/maildev
    log "maildev: $MAILDEV_BIN"
}

# start_maildev SMTP_PORT WEB_PORT LOGFILE PIDFILE [MAIL_DIR]
# Runs maildev in the background: SMTP on 127.0.0.1:SMTP_PORT, web UI and API (GET /api/email)
# on 127.0.0.1:WEB_PORT. With MAIL_DIR the received mail is kept there across restarts. The
# binary is started directly (node), not through npx, so that SIGTERM reaches it. Does nothing
# when the pid file names a live process.
start_maildev() {
    local smtp_port=$1 web_port=$2 logfile pidfile mail_dir=${5:-} pid
    logfile=$(abspath "$3")
    pidfile=$(abspath "$4")
    ensure_maildev
    if pid=$(pidfile_pid "$pidfile"); then
        log "maildev already running (pid $pid)"
    else
        ensure_port_free 127.0.0.1 "$smtp_port" "maildev (SMTP)"
        ensure_port_free 127.0.0.1 "$web_port" "maildev (web API)"
        local args=(--smtp "$smtp_port" --web "$web_port" --ip 127.0.0.1 --web-ip 127.0.0.1)
        if [[ -n $mail_dir ]]; then
            mail_dir=$(abspath "$mail_dir")
            mkdir -p "$mail_dir"
            args+=(--mail-directory "$mail_dir")
        fi
        start_service maildev "$logfile" "$pidfile" -- "$MAILDEV_BIN" "${args[@]}"
        pid=$(<"$pidfile")
    fi
    # The web port opens at once, SMTP a few seconds later.
    if ! (wait_for_port 127.0.0.1 "$smtp_port" 60 "$logfile" "$pid" &&
        wait_for_http "http://127.0.0.1:$web_port/api/healthz" 30 "$logfile" "$pid"); then
        stop_pidfile "$pidfile" 5
        die "maildev did not come up (SMTP 127.0.0.1:$smtp_port, web 127.0.0.1:$web_port)"
    fi
}

# --- browser tests (Chromium driven by Playwright) --------------------------------------------

# ensure_chromium: finds Chromium for the browser tests (CHROMIUM_BIN, else Debian's
# /usr/bin/chromium) or installs Debian's `chromium` package with apt-get (a minute or two, a
# few hundred MB); exports CHROMIUM_BIN. Playwright's own browser download is never used.
ensure_chromium() {
    if [[ -n ${CHROMIUM_BIN:-} && -x $CHROMIUM_BIN ]]; then
        export CHROMIUM_BIN
        return 0
    fi
    local bin=/usr/bin/chromium
    if [[ ! -x $bin ]]; then
        log "Chromium not found at $bin; installing Debian's chromium for the browser tests (a minute or two)"
        apt_install chromium
    fi
    [[ -x $bin ]] || die "Chromium still not found at $bin after apt-get install chromium"
    export CHROMIUM_BIN=$bin
    log "Chromium: $CHROMIUM_BIN"
}

# ensure_playwright: finds playwright-core (PLAYWRIGHT_NODE_PATH, a node_modules directory) else
# installs it into PLAYWRIGHT_HOME, default ${XDG_CACHE_HOME:-~/.cache}/cdc-platform/playwright
# (a cache outside the runtime dirs, like maildev's), with `npm install playwright-core@VERSION`
# (PLAYWRIGHT_VERSION, default 1; a few seconds; no browser download, the tests drive
# CHROMIUM_BIN); exports PLAYWRIGHT_NODE_PATH. Scripts load it with
# createRequire(PLAYWRIGHT_NODE_PATH) (NODE_PATH does not reach ES module imports).
ensure_playwright() {
    if [[ -n ${PLAYWRIGHT_NODE_PATH:-} && -f $PLAYWRIGHT_NODE_PATH/playwright-core/package.json ]]; then
        export PLAYWRIGHT_NODE_PATH
        return 0
    fi
    local dir version=${PLAYWRIGHT_VERSION:-1}
    dir=$(abspath "${PLAYWRIGHT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/playwright}")
    if [[ ! -f $dir/node_modules/playwright-core/package.json ]]; then
        ensure_command node nodejs
        ensure_command npm
        mkdir -p "$dir"
        (
            flock 9 # one install at a time
            if [[ -f $dir/node_modules/playwright-core/package.json ]]; then exit 0; fi
            log "installing playwright-core@$version (browser automation, no browsers) into $dir"
            PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir" --no-audit --no-fund \
                --loglevel=error "playwright-core@$version" >&2 ||
                die "npm install playwright-core@$version failed"
        ) 9>"$dir/.install.lock" || die "installing playwright-core failed"
        [[ -f $dir/node_modules/playwright-core/package.json ]] ||
            die "playwright-core not found in $dir after npm install"
    fi
    export PLAYWRIGHT_NODE_PATH=$dir/node_modules
    log "playwright-core: $PLAYWRIGHT_NODE_PATH/playwright-core"
}

# --- modes ------------------------------------------------------------------------------------

# docker_available: true when a Docker engine answers.
docker_available() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# platform_mode [FLAG]: prints `docker` or `native`. FLAG is --docker / --native / empty;
# without a flag, PLATFORM_MODE decides, else docker when an engine answers.
platform_mode() {
    case ${1:-} in
    --docker) echo docker ;;
    --native) echo native ;;
    "")
        case ${PLATFORM_MODE:-} in
        docker | native) echo "$PLATFORM_MODE" ;;
        "") if docker_available; then echo docker; else echo native; fi ;;
        *) die "PLATFORM_MODE must be docker or native (got: $PLATFORM_MODE)" ;;
        esac
        ;;
    *) die "unknown mode flag: $1" ;;
    esac
}

# compose CMD...: `docker compose -f docker-compose.kafka.yml CMD...` from the repo root ($1).
compose() {
    local repo=$1
    shift
    docker compose version >/dev/null 2>&1 ||
        die "the docker compose plugin is missing (\`docker compose version\` fails); install docker-compose-plugin"
    (cd "$repo" && docker compose -f docker-compose.kafka.yml "$@")
}
