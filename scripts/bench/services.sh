# shellcheck shell=bash
# scripts/bench/services.sh: the platform's services under test and the helpers the stages
# share to drive them: sql, start (a release binary), reset_tables, result, the admin token;
# starts customer-api, and defines start_relay / start_replicator for the stages that need them.
#
# Sourced by scripts/bench.sh (and runs in its shell, with its variables), after infra.sh.
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

sql() { "$psql" "$pg_url" -XqAt -v ON_ERROR_STOP=1 "$@"; }

# start NAME ADDR [VAR=VALUE...]: a release binary with LOG_FORMAT=text, ready on ADDR.
start() {
    local name=$1
    shift
    start_as "$name" "$name" "$@"
}

# start_as NAME BINARY ADDR [VAR=VALUE...]: like start, for one of several instances of BINARY
# (pid and log files named NAME).
start_as() {
    local name=$1 binary=$2 addr=$3 pid
    shift 3
    start_service "$name" "$logs/$name.log" "$pids/$name.pid" -- \
        env LOG_FORMAT=text RUST_LOG=warn "$@" "$bin/$binary"
    pid=$(<"$pids/$name.pid")
    wait_for_http "http://$addr/health/live" 60 "$logs/$name.log" "$pid"
}

# reset_tables: empties customers and outbox between measurements. A request that wrk cuts off
# at the end of a run can leave an API connection idle in a transaction holding locks (the
# handler is dropped mid-transaction); those sessions would block TRUNCATE forever, so they are
# counted (the report shows it) and terminated first.
stuck_total=0
reset_tables() {
    local stuck
    stuck=$(sql -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                      AND state LIKE 'idle in transaction%' AND state_change < now() - interval '1 second'")
    if ((stuck > 0)); then
        warn "$stuck connection(s) were left idle in a transaction (cancelled requests); terminated them"
        stuck_total=$((stuck_total + stuck))
        result stuck-transactions "{\"terminated\": $stuck_total}"
    fi
    sql -c "SET lock_timeout = '30s'; TRUNCATE customers, outbox"
}

# result NAME JSON: stores one measurement for the report.
result() { printf '%s\n' "$2" >"$results/$1.json"; }

jwt_secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export JWT_SECRET=$jwt_secret
token=$("$bin/bench" token --ttl-secs 14400)

log "== customer-api on 127.0.0.1:$api_port (AUTH_MODE=jwt, DB_POOL_SIZE=$DB_POOL_SIZE)"
start customer-api "127.0.0.1:$api_port" CUSTOMER_API_ADDR="127.0.0.1:$api_port" \
    CUSTOMER_DATABASE_URL="$pg_url" AUTH_MODE=jwt JWT_SECRET="$jwt_secret"
wait_for_http "$api_url/health/ready" 60 "$logs/customer-api.log"

# start_relay / start_replicator: the services stages 2-4 measure, once each.
start_relay() {
    pidfile_pid "$pids/outbox-relay.pid" >/dev/null && return 0
    log "  outbox-relay (RELAY_BATCH_SIZE=$RELAY_BATCH_SIZE, RELAY_PIPELINE_DEPTH=$RELAY_PIPELINE_DEPTH, RELAY_LINGER_MS=$RELAY_LINGER_MS)"
    # Stages 2-4 count what the relay published in the outbox table, which the polling relay
    # keeps: they run it unless RELAY_CAPTURE says otherwise. Stage 5 measures both modes.
    start outbox-relay "127.0.0.1:$relay_port" RELAY_ADDR="127.0.0.1:$relay_port" \
        RELAY_DATABASE_URL="$pg_url" KAFKA_BOOTSTRAP_SERVERS="$kafka" \
        RELAY_CAPTURE="${RELAY_CAPTURE:-poll}"
}
start_replicator() {
    pidfile_pid "$pids/replicator.pid" >/dev/null && return 0
    log "  replicator (new group, REPLICATOR_BATCH_SIZE=$REPLICATOR_BATCH_SIZE, KAFKA_FETCH_WAIT_MAX_MS=$KAFKA_FETCH_WAIT_MAX_MS)"
    start replicator "127.0.0.1:$replicator_port" REPLICATOR_ADDR="127.0.0.1:$replicator_port" \
        KAFKA_BOOTSTRAP_SERVERS="$kafka" MONGODB_URI="$mongo_uri" MONGODB_DATABASE=replica \
        REPLICATOR_TOPICS=customers REPLICATOR_GROUP="bench-$(date +%s)"
}
