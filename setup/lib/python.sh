# shellcheck shell=bash
# setup/lib/python.sh: Python tools installed with pip into the project venv (venv_install):
# SecantusDB, the MongoDB-protocol server (ensure_secantus, start_mongo), and Schemathesis, the
# OpenAPI fuzzer (ensure_schemathesis).
#
# Sourced by setup/lib.sh (source that, not this file); it only defines functions.

# --- SecantusDB (MongoDB wire protocol) -------------------------------------------------------

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
