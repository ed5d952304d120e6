# shellcheck shell=bash
# setup/lib/postgres.sh: PostgreSQL for native mode and the tests: the server binaries
# (ensure_postgres_binaries, pg_tool), a cluster on a data directory (start_postgres,
# stop_postgres, postgres_running), password authentication (pg_require_password) and
# databases (create_database, pg_url_for_db, postgres_answers). As root, the server tools run
# as the postgres OS user.
#
# Sourced by setup/lib.sh (source that, not this file); it only defines functions.

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
# listening on 127.0.0.1:PORT only, with its unix socket beside the data dir, and with
# wal_level=logical (the relay's RELAY_CAPTURE=wal reads the outbox from a logical replication
# slot, as Debezium does). SERVER_OPTIONs (e.g. `-c fsync=off`) are passed to postgres. Does
# nothing when it already runs.
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
        local opts="-c listen_addresses=127.0.0.1 -p $port -k $sockdir -c wal_level=logical"
        opts+=" -c max_replication_slots=64 -c max_wal_senders=64"
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
        _as_pg "$(pg_tool pg_ctl)" reload -D "$data" -s >&2 || die "reloading PostgreSQL failed"
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
