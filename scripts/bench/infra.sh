# shellcheck shell=bash
# scripts/bench/infra.sh: the benchmark's infrastructure: the tools and the release build,
# the cleanup trap (stop_bench_infra, cleanup), the wiped runtime dir, then PostgreSQL, Apache
# Kafka and SecantusDB on the benchmark's own ports.
#
# Sourced by scripts/bench.sh (and runs in its shell, with its variables), before any stage.
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

stop_bench_infra() {
    local s
    for s in "${services[@]}"; do stop_pidfile "$pids/$s.pid" 20; done
    stop_pidfile "$pids/kafka-connect.pid" 30
    stop_pidfile "$pids/secantusd.pid" 20
    stop_kafka "$pids"
    if [[ -f $pg_data/PG_VERSION ]]; then stop_postgres "$pg_data"; fi
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    log "cleaning up the benchmark infrastructure"
    if [[ ${BENCH_KEEP_RUNNING:-0} == 1 ]]; then
        log "BENCH_KEEP_RUNNING=1: leaving the benchmark's processes up (PostgreSQL $pg_port, Kafka $kafka_port, MongoDB $mongo_port); the next run stops them"
    else
        stop_bench_infra || warn "cleanup failed; check with: ps aux | grep $runtime"
    fi
    if ((rc != 0)); then
        log "benchmark failed (exit $rc) during: ${current_stage:-setup}; logs kept in $logs"
        if compgen -G "$results/*.json" >/dev/null; then
            write_report "incomplete: failed during ${current_stage:-setup} (exit $rc)" ||
                warn "writing the partial report failed"
        fi
    fi
    exit "$rc"
}

# --- tools ------------------------------------------------------------------------------------

log "== tools"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup) first"
ensure_command curl
ensure_command python3
ensure_command wrk
ensure_postgres_binaries
psql=$(pg_tool psql)
pgbench=$(pg_tool pgbench)
ensure_kafka
ensure_secantus
log "cargo build --release -p customer-api -p outbox-relay -p replicator -p bench"
(cd "$repo" && cargo build --release -p customer-api -p outbox-relay -p replicator -p bench >&2) ||
    die "release build failed"

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "== runtime dir $runtime (wiped)"
stop_bench_infra
rm -rf "$runtime"
mkdir -p "$logs" "$pids" "$results" "$work" "$runtime/kafka"

# --- infrastructure ---------------------------------------------------------------------------

log "== PostgreSQL on 127.0.0.1:$pg_port ($pg_opts)"
# shellcheck disable=SC2086 # the options are words
start_postgres "$pg_data" "$pg_port" "$logs/postgres.log" $pg_opts
create_database "$pg_url" customers
log "== Apache Kafka $KAFKA_VERSION on $kafka"
start_kafka "$runtime/kafka" 1 "$kafka_port" "${BENCH_KAFKA_CONTROLLER_PORT:-30192}" "$logs" "$pids"
log "== SecantusDB (MongoDB API) on 127.0.0.1:$mongo_port"
start_mongo "$runtime/mongo" "$mongo_port" "$logs/secantusd.log" "$pids/secantusd.pid"
