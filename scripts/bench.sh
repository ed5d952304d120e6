#!/usr/bin/env bash
# scripts/bench.sh: measures the platform stage by stage on this machine, each stage beside a
# baseline measured in the same run, and writes .runtime/bench/report.md and report.json.
#
#   scripts/bench.sh            # full run (100 000 outbox events; about 15-25 minutes on 2 cores)
#   scripts/bench.sh --quick    # short run (5 000 events, short load phases; a few minutes)
#
# Stages (and their baselines):
#   1 API write path   POST /api/v1/customers with wrk (unique emails from a Lua script) at
#                      concurrency 1, 16, 64: requests/s, p50, p99.
#                      Baseline: pgbench running the API's SQL (customer insert, tx id, outbox
#                      insert, one transaction) with the same client count.
#   2 relay            events/s draining a pre-filled outbox of BENCH_OUTBOX_EVENTS to Kafka,
#                      then commit → broker acknowledgement latency (p50, p99) while pgbench
#                      commits the API's transaction at a steady BENCH_RELAY_RATE.
#                      Baseline: a bare idempotent rdkafka producer sending the same keys,
#                      payloads and headers to the same broker (`bench produce`), as fast as it
#                      can, then at the same steady rate (send → acknowledgement).
#   3 replicator       events/s applying the full topic to MongoDB with a new consumer group
#                      (needs stage 2, which fills the topic).
#                      Baseline: the same documents bulk-upserted directly (`bench mongo-upsert`).
#   4 end to end       API 201 → document visible in MongoDB at steady rates (p50, p99), the
#                      highest rate sustained without backlog growth (coarse step search), and
#                      the relay's commit→ack latency (relay_publish_latency_seconds) at each rate.
#   Peak RSS (VmHWM) of every platform process.
#
# A stage that fails stops the run; the report is still written, with what was measured and
# which stage failed.
#
# Everything runs on its own ports and in its own runtime dir (wiped at start), never touching
# a running platform (setup/startup.sh) or the tests (scripts/test.sh); a trap stops what it
# started. The customer-api runs with AUTH_MODE=jwt (the default) and a random JWT_SECRET; the
# load carries an admin token minted by `bench token`, so token checking is part of the cost.
#
# Environment (defaults in brackets):
#   BENCH_STAGES ["api relay replicator e2e"] (a subset runs faster while tuning one stage)
#   BENCH_RUNTIME_DIR [.runtime/bench]   BENCH_OUTBOX_EVENTS [100000; quick 5000]
#   BENCH_PG_PORT [26432]  BENCH_KAFKA_PORT [30092] (controller 30192)  BENCH_MONGO_PORT [29017]
#   BENCH_API_PORT [26001]  BENCH_RELAY_PORT [26005]  BENCH_REPLICATOR_PORT [26006]
#   BENCH_CONCURRENCY ["1 16 64"]  BENCH_API_SECS [20; quick 5] (per level, API and pgbench)
#   BENCH_RELAY_RATE [1000] BENCH_RELAY_SECS [20; quick 5] (steady-rate relay latency)
#   BENCH_E2E_RATES ["25 50 100 200 400 800"; quick "25 100"]  BENCH_E2E_SECS [20; quick 8]
#   BENCH_PG_OPTS [-c max_connections=200]  (PostgreSQL runs with its durable defaults)
#   BENCH_STAGE_TIMEOUT [600] (seconds a drain may take before the run fails)
#   BENCH_BIN_DIR [target/release] (the binaries to measure, e.g. another checkout's build for
#   an A/B comparison; the release build of this checkout runs anyway)
#   BENCH_KEEP_RUNNING [0] (1 leaves the infrastructure and services up afterwards, to inspect)
#   The services' own settings pass through and are reported, e.g. DB_POOL_SIZE,
#   RELAY_BATCH_SIZE, RELAY_PIPELINE_DEPTH, RELAY_LINGER_MS, REPLICATOR_BATCH_SIZE,
#   KAFKA_FETCH_WAIT_MAX_MS (the benchmark's defaults are the services' defaults).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup/lib.sh
source "$repo/setup/lib.sh"

quick=0
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $arg (see --help)" ;;
    esac
done

runtime=$(abspath "${BENCH_RUNTIME_DIR:-$repo/.runtime/bench}")
pg_port=${BENCH_PG_PORT:-26432}
kafka_port=${BENCH_KAFKA_PORT:-30092}
mongo_port=${BENCH_MONGO_PORT:-29017}
api_port=${BENCH_API_PORT:-26001}
relay_port=${BENCH_RELAY_PORT:-26005}
replicator_port=${BENCH_REPLICATOR_PORT:-26006}
concurrency=${BENCH_CONCURRENCY:-1 16 64}
stage_timeout=${BENCH_STAGE_TIMEOUT:-600}
stages=${BENCH_STAGES:-api relay replicator e2e}
relay_rate=${BENCH_RELAY_RATE:-1000}
pg_opts=${BENCH_PG_OPTS:--c max_connections=200}
export DB_POOL_SIZE=${DB_POOL_SIZE:-16}
export RELAY_BATCH_SIZE=${RELAY_BATCH_SIZE:-500}
export REPLICATOR_BATCH_SIZE=${REPLICATOR_BATCH_SIZE:-500}
export RELAY_LINGER_MS=${RELAY_LINGER_MS:-5}
export RELAY_PIPELINE_DEPTH=${RELAY_PIPELINE_DEPTH:-4}
export KAFKA_FETCH_WAIT_MAX_MS=${KAFKA_FETCH_WAIT_MAX_MS:-500}
if ((quick)); then
    events=${BENCH_OUTBOX_EVENTS:-5000}
    api_secs=${BENCH_API_SECS:-5}
    relay_secs=${BENCH_RELAY_SECS:-5}
    e2e_rates=${BENCH_E2E_RATES:-25 100}
    e2e_secs=${BENCH_E2E_SECS:-8}
else
    events=${BENCH_OUTBOX_EVENTS:-100000}
    api_secs=${BENCH_API_SECS:-20}
    relay_secs=${BENCH_RELAY_SECS:-20}
    e2e_rates=${BENCH_E2E_RATES:-25 50 100 200 400 800}
    e2e_secs=${BENCH_E2E_SECS:-20}
fi
[[ $events =~ ^[1-9][0-9]*$ ]] || die "BENCH_OUTBOX_EVENTS must be a positive integer (got: $events)"
for stage in $stages; do
    case $stage in
    api | relay | replicator | e2e) ;;
    *) die "BENCH_STAGES: unknown stage $stage (stages: api relay replicator e2e)" ;;
    esac
done
selected() { [[ " $stages " == *" $1 "* ]]; }
if selected replicator && ! selected relay; then
    die "BENCH_STAGES: the replicator stage reads the topic the relay stage fills; add relay"
fi

pg_data=$runtime/pg/data
pids=$runtime/pids
logs=$runtime/logs
results=$runtime/results
work=$runtime/work
pg_url="postgres://postgres@127.0.0.1:$pg_port/customers"
mongo_uri="mongodb://127.0.0.1:$mongo_port/?directConnection=true"
kafka="127.0.0.1:$kafka_port"
api_url="http://127.0.0.1:$api_port"
relay_metrics="http://127.0.0.1:$relay_port/metrics"
services=(replicator outbox-relay customer-api)
bin=$(abspath "${BENCH_BIN_DIR:-$repo/target/release}")

case $runtime in
/ | "$HOME" | "$repo" | "$(dirname "$repo")") die "refusing to use $runtime as BENCH_RUNTIME_DIR (it is wiped)" ;;
esac

stop_bench_infra() {
    local s
    for s in "${services[@]}"; do stop_pidfile "$pids/$s.pid" 20; done
    stop_pidfile "$pids/secantusd.pid" 20
    stop_kafka "$pids"
    if [[ -f $pg_data/PG_VERSION ]]; then stop_postgres "$pg_data"; fi
}

# write_report STATUS: the report of whatever has been measured so far (also after a failure).
write_report() {
    local status=$1 settings

    settings=$(python3 - <<EOF
import json
print(json.dumps({
    "mode": "quick" if $quick else "full",
    "status": "$status",
    "stages": "$stages".split(),
    "outbox_events": $events,
    "api_seconds_per_level": $api_secs,
    "concurrency": "$concurrency".split(),
    "e2e_rates": "$e2e_rates".split(),
    "e2e_seconds": $e2e_secs,
    "auth": "AUTH_MODE=jwt, admin bearer token minted by bench token",
    "load_generator": "$(wrk -v 2>&1 | head -n 1 | tr -d '"')",
    "pgbench": "$("$pgbench" --version)",
    "postgres_options": "$pg_opts",
    "DB_POOL_SIZE": $DB_POOL_SIZE,
    "RELAY_BATCH_SIZE": $RELAY_BATCH_SIZE,
    "RELAY_LINGER_MS": $RELAY_LINGER_MS,
    "RELAY_PIPELINE_DEPTH": $RELAY_PIPELINE_DEPTH,
    "KAFKA_FETCH_WAIT_MAX_MS": $KAFKA_FETCH_WAIT_MAX_MS,
    "relay_steady_rate": $relay_rate,
    "relay_steady_seconds": $relay_secs,
    "REPLICATOR_BATCH_SIZE": $REPLICATOR_BATCH_SIZE,
    "ports": {"postgres": $pg_port, "kafka": $kafka_port, "mongo": $mongo_port, "api": $api_port,
              "relay": $relay_port, "replicator": $replicator_port},
    "machine": {"cores": $(nproc), "loadavg_at_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
                "kernel": "$(uname -r)"},
    "git_commit": "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)",
    "binaries": "$bin",
    "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
}))
EOF
    )
    python3 - "$results" "$runtime" "$settings" <<'EOF'
import json, os, sys
results_dir, out_dir, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
r = {}
for name in sorted(os.listdir(results_dir)):
    with open(os.path.join(results_dir, name)) as f:
        r[name[:-5]] = json.load(f)

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

def fmt(x, digits=1):
    return "—" if x is None else f"{x:,.{digits}f}"

rows, stages = [], {}
api = []
for c in settings["concurrency"]:
    a, p = r.get(f"api-c{c}"), r.get(f"pgbench-c{c}")
    if not a or not p:
        continue
    api.append({"concurrency": int(c), "api": a, "pgbench": p, "ratio": ratio(a["rps"], p["tps"])})
    rows.append((f"1 API POST, c={c}", f"{fmt(a['rps'])} req/s (p50 {fmt(a['p50_ms'],2)} ms, p99 {fmt(a['p99_ms'],2)} ms, non-2xx {a['non_2xx']})",
                 f"pgbench {fmt(p['tps'])} tx/s (p50 {fmt(p['p50_ms'],2)} ms, p99 {fmt(p['p99_ms'],2)} ms)", ratio(a["rps"], p["tps"])))
stages["api"] = api
if "relay-drain" in r and "kafka-baseline" in r:
    a, b = r["relay-drain"], r["kafka-baseline"]
    stages["relay"] = {"relay": a, "bare_producer": b, "ratio": ratio(a["per_sec"], b["events_per_sec"])}
    rows.append((f"2 relay drain, {settings['outbox_events']} events", f"{fmt(a['per_sec'])} events/s ({fmt(a['seconds_from_first_progress'])} s)",
                 f"bare producer {fmt(b['events_per_sec'])} events/s ({fmt(b['seconds'])} s)", stages["relay"]["ratio"]))
if "relay-steady" in r and "kafka-baseline-steady" in r:
    a, b = r["relay-steady"], r["kafka-baseline-steady"]
    stages["relay_steady"] = {"relay": a, "bare_producer": b}
    rl = a["relay_latency"]
    p50 = rl.get("p50_seconds"); p99 = rl.get("p99_seconds")
    rows.append((f"2 relay at a steady {fmt(settings['relay_steady_rate'],0)} writes/s", f"commit→ack p50 {fmt(p50 and p50*1000)} ms, p99 {fmt(p99 and p99*1000)} ms (histogram); pgbench committed {fmt(a['pgbench_tps'])} tx/s",
                 f"bare producer send→ack p50 {fmt(b['p50_ms'])} ms, p99 {fmt(b['p99_ms'])} ms at {fmt(b['achieved_rate'])}/s", None))
if "replicator-drain" in r and "mongo-baseline" in r:
    a, b = r["replicator-drain"], r["mongo-baseline"]
    stages["replicator"] = {"replicator": a, "direct_upserts": b, "ratio": ratio(a["per_sec"], b["docs_per_sec"])}
    rows.append((f"3 replicator, {a['target']:,.0f} events", f"{fmt(a['per_sec'])} events/s ({fmt(a['seconds_from_first_progress'])} s; {fmt(a['seconds_total'])} s with group join)",
                 f"direct bulk upserts {fmt(b['docs_per_sec'])} docs/s ({fmt(b['seconds'])} s)", stages["replicator"]["ratio"]))
e2e = [r[k] for k in sorted((k for k in r if k.startswith("e2e-r")), key=lambda k: float(k[5:]))]
stages["e2e"] = e2e
sustained = [x["rate"] for x in e2e if x["sustained"]]
stages["highest_sustained_rate"] = max(sustained) if sustained else None
for x in e2e:
    rl = x.get("relay_latency", {})
    p50 = rl.get("p50_seconds"); p99 = rl.get("p99_seconds")
    rows.append((f"4 end to end at {fmt(x['rate'],0)}/s", f"201→visible p50 {fmt(x['p50_ms'])} ms, p99 {fmt(x['p99_ms'])} ms; achieved {fmt(x['achieved_rate'])}/s, errors {x['errors']}, missing {x['missing']}, {'sustained' if x['sustained'] else 'NOT sustained'}",
                 f"relay commit→ack p50 {fmt(p50 and p50*1000)} ms, p99 {fmt(p99 and p99*1000)} ms (histogram)", None))
stages["peak_rss_kb"] = r.get("rss-kb", {})
stages["api_connections_left_idle_in_transaction"] = r.get("stuck-transactions", {}).get("terminated", 0)
report = {"settings": settings, "stages": stages}
with open(os.path.join(out_dir, "report.json"), "w") as f:
    json.dump(report, f, indent=2)
md = ["# Benchmark report", "",
      f"{settings['date']}, commit {settings['git_commit']}, {settings['mode']} run, {settings['machine']['cores']} cores, load average at the end {settings['machine']['loadavg_at_end']}.",
      f"Status: {settings['status']} (stages: {' '.join(settings['stages'])}).",
      "Numbers from a shared 2-core machine with other builds running are noisy; compare ratios, not absolutes.", "",
      "| stage | platform | baseline (same run) | ratio |", "|---|---|---|---|"]
for stage, plat, base, rt in rows:
    md.append(f"| {stage} | {plat} | {base} | {'—' if rt is None else f'{rt:.2f}'} |")
if stages["api_connections_left_idle_in_transaction"]:
    md += ["", f"**Finding:** {stages['api_connections_left_idle_in_transaction']} customer-api pool connection(s) were left *idle in transaction* after wrk cut off in-flight requests at the end of a load phase (a dropped handler future leaves its diesel-async transaction open, holding locks); the script terminated them before the next phase."]
md += ["", f"Highest end-to-end rate sustained without backlog growth: {stages['highest_sustained_rate'] or 'none of the rates tried'} writes/s (rates tried: {', '.join(settings['e2e_rates'])}; the search stops at the first rate not sustained).", "",
       "## Peak RSS (VmHWM)", "", "| process | MiB |", "|---|---|"]
for name, kb in stages["peak_rss_kb"].items():
    md.append(f"| {name} | {fmt(kb and kb/1024)} |")
md += ["", "## Settings", "", "```json", json.dumps(settings, indent=2), "```", ""]
with open(os.path.join(out_dir, "report.md"), "w") as f:
    f.write("\n".join(md))
print("\n".join(md))
EOF
    log "report: $runtime/report.md and $runtime/report.json"
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

sql() { "$psql" "$pg_url" -XqAt -v ON_ERROR_STOP=1 "$@"; }

# start NAME ADDR [VAR=VALUE...]: a release binary with LOG_FORMAT=text, ready on ADDR.
start() {
    local name=$1 addr=$2 pid
    shift 2
    start_service "$name" "$logs/$name.log" "$pids/$name.pid" -- \
        env LOG_FORMAT=text RUST_LOG=warn "$@" "$bin/$name"
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

# --- stage 1: API write path vs pgbench -------------------------------------------------------

cat >"$work/post.lua" <<'EOF'
-- Unique emails: a per-run tag, the thread number and a per-thread counter.
local threads = 0
function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end
function init(args)
    tag = args[1]
    token = args[2]
    n = 0
end
function request()
    n = n + 1
    local body = string.format('{"name":"Bench %d","email":"w-%s-%d-%d@bench.example","phone":"+44 20 7946 0000"}', n, tag, tid, n)
    return wrk.format("POST", "/api/v1/customers",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
function done(summary, latency, requests)
    local s = summary.duration / 1e6
    io.write(string.format('WRK_JSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"non_2xx":%d,"socket_errors":%d,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
        summary.requests, s, summary.requests / s, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
EOF

# The API's statements per create (store.rs, outbox::record), with a payload of the same shape
# that the consumers accept (timestamps as RFC 3339, the event id in the payload); prepared
# statements like diesel-async's statement cache.
cat >"$work/create.sql" <<'EOF'
BEGIN;
INSERT INTO customers (id, name, email, phone, version, created_at, updated_at) VALUES (gen_random_uuid(), 'Bench pgbench', 'p-' || gen_random_uuid() || '@bench.example', '+44 20 7946 0000', 1, now(), now()) RETURNING id AS cid, name, email, phone, version, created_at, updated_at
\gset
SELECT txid_current() AS txid, transaction_timestamp() AS ts
\gset
WITH e AS (SELECT gen_random_uuid() AS id) INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload) SELECT e.id, 'customer', :cid, 'customer.created', 'customers', jsonb_build_object('id', e.id, 'type', 'customer.created', 'op', 'c', 'aggregate_type', 'customer', 'aggregate_id', :cid::text, 'version', 1, 'before', NULL, 'after', jsonb_build_object('id', :cid::text, 'name', :name::text, 'email', :email::text, 'phone', :phone::text, 'version', 1, 'created_at', :created_at::timestamptz, 'updated_at', :updated_at::timestamptz), 'source', jsonb_build_object('service', 'customer-api', 'table', 'customers', 'tx_id', :txid::bigint, 'committed_at', :ts::timestamptz), 'occurred_at', clock_timestamp()) FROM e;
COMMIT;
EOF

# pgbench's per-transaction logs: quantiles of the latency column (microseconds).
pgbench_quantiles() {
    python3 - "$@" <<'EOF'
import json, math, sys
lat = []
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                lat.append(int(parts[2]) / 1000.0)
lat.sort()
def q(p):
    if not lat:
        return None
    return lat[max(1, math.ceil(p * len(lat))) - 1]  # nearest rank
print(json.dumps({"p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": lat[-1] if lat else None}))
EOF
}

# start_relay / start_replicator: the services stages 2-4 measure, once each.
start_relay() {
    pidfile_pid "$pids/outbox-relay.pid" >/dev/null && return 0
    log "  outbox-relay (RELAY_BATCH_SIZE=$RELAY_BATCH_SIZE, RELAY_PIPELINE_DEPTH=$RELAY_PIPELINE_DEPTH, RELAY_LINGER_MS=$RELAY_LINGER_MS)"
    start outbox-relay "127.0.0.1:$relay_port" RELAY_ADDR="127.0.0.1:$relay_port" \
        RELAY_DATABASE_URL="$pg_url" KAFKA_BOOTSTRAP_SERVERS="$kafka"
}
start_replicator() {
    pidfile_pid "$pids/replicator.pid" >/dev/null && return 0
    log "  replicator (new group, REPLICATOR_BATCH_SIZE=$REPLICATOR_BATCH_SIZE, KAFKA_FETCH_WAIT_MAX_MS=$KAFKA_FETCH_WAIT_MAX_MS)"
    start replicator "127.0.0.1:$replicator_port" REPLICATOR_ADDR="127.0.0.1:$replicator_port" \
        KAFKA_BOOTSTRAP_SERVERS="$kafka" MONGODB_URI="$mongo_uri" MONGODB_DATABASE=replica \
        REPLICATOR_TOPICS=customers REPLICATOR_GROUP="bench-$(date +%s)"
}

# pgbench_run NAME CLIENTS SECONDS [pgbench options...]: the API's transaction (create.sql);
# prints the tps line's number.
pgbench_run() {
    local name=$1 c=$2 secs=$3 threads
    shift 3
    threads=$((c < 2 ? c : 2))
    (cd "$work" && "$pgbench" "$pg_url" -n -M prepared -c "$c" -j "$threads" -T "$secs" \
        -f "$work/create.sql" "$@" >"$logs/$name.log" 2>&1) || {
        show_log_tail "$logs/$name.log"
        die "pgbench failed ($name)"
    }
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$logs/$name.log" | head -n 1
}

# merge JSON KEY VALUE_JSON: JSON with KEY set to VALUE_JSON.
merge() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d[sys.argv[2]]=json.loads(sys.argv[3]); print(json.dumps(d))' "$@"; }

if selected api; then
    current_stage="stage 1 (API)"
    log "== stage 1: API write path vs pgbench (${api_secs}s per level, concurrency: $concurrency)"
    for c in $concurrency; do
        threads=$((c < 2 ? c : 2))
        sleep 2 && reset_tables
        log "  wrk: $c connection(s), $threads thread(s), ${api_secs}s"
        out=$(wrk -t "$threads" -c "$c" -d "${api_secs}s" --latency -s "$work/post.lua" "$api_url" \
            -- "$(date +%s%N)" "$token" 2>&1) || die "wrk failed: $out"
        printf '%s\n' "$out" >"$logs/wrk-c$c.log"
        json=$(grep '^WRK_JSON ' <<<"$out" | sed 's/^WRK_JSON //') || die "wrk printed no summary: $out"
        result "api-c$c" "$json"
        log "  API c=$c: $json"

        sleep 2 && reset_tables
        log "  pgbench: $c client(s), $threads thread(s), ${api_secs}s"
        rm -f "$work"/pgbench_log.*
        tps=$(pgbench_run "pgbench-c$c" "$c" "$api_secs" -l --log-prefix=pgbench_log)
        json=$(merge "$(pgbench_quantiles "$work"/pgbench_log.*)" tps "$tps")
        result "pgbench-c$c" "$json"
        log "  pgbench c=$c: $json"
    done
    rm -f "$work"/pgbench_log.*
fi

# --- stage 2: relay vs bare producer ----------------------------------------------------------

if selected relay; then
    current_stage="stage 2 (relay)"
    log "== stage 2: relay draining $events outbox events vs a bare producer"
    sleep 2 && reset_tables
    log "  filling the outbox with $events customer.created events"
    sql -v n="$events" <<'EOF'
INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
SELECT e, 'customer', c::text, 'customer.created', 'customers',
       jsonb_build_object('id', e, 'type', 'customer.created', 'op', 'c',
           'aggregate_type', 'customer', 'aggregate_id', c::text, 'version', 1, 'before', NULL,
           'after', jsonb_build_object('id', c, 'name', 'Bench ' || i,
               'email', 'fill-' || i || '@bench.example', 'phone', '+44 20 7946 0000',
               'version', 1, 'created_at', ts, 'updated_at', ts),
           'source', jsonb_build_object('service', 'customer-api', 'table', 'customers',
               'tx_id', txid_current(), 'committed_at', ts),
           'occurred_at', ts)
FROM (SELECT i, gen_random_uuid() AS c, gen_random_uuid() AS e,
             to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
      FROM generate_series(1, :n) AS i) AS s;
EOF
    sql -F $'\t' -c "SELECT aggregate_id, payload FROM outbox ORDER BY id" >"$work/events.tsv"
    log "  events file: $(wc -l <"$work/events.tsv") events, $(du -h "$work/events.tsv" | cut -f1)"

    log "  baseline: bare producer to topic bench-baseline"
    json=$("$bin/bench" produce --bootstrap "$kafka" --topic bench-baseline --input "$work/events.tsv" \
        --linger-ms "$RELAY_LINGER_MS" 2>>"$logs/bench.log") || die "bench produce failed (see $logs/bench.log)"
    result kafka-baseline "$json"
    log "  bare producer: $json"

    start_relay
    json=$("$bin/bench" wait-metric --url "$relay_metrics" --name relay_published_total \
        --target "$events" --timeout-secs "$stage_timeout") || die "the relay did not publish $events events (see $logs/outbox-relay.log)"
    result relay-drain "$json"
    log "  relay: $json"

    log "  steady rate: pgbench commits the API's transaction at ${relay_rate}/s for ${relay_secs}s"
    "$bin/bench" histogram --url "$relay_metrics" --name relay_publish_latency_seconds \
        --save "$work/relay-hist.json" >/dev/null
    tps=$(pgbench_run pgbench-steady 8 "$relay_secs" -R "$relay_rate")
    total=$(sql -c "SELECT count(*) FROM outbox")
    "$bin/bench" wait-metric --url "$relay_metrics" --name relay_published_total \
        --target "$total" --timeout-secs "$stage_timeout" >/dev/null ||
        die "the relay did not publish the steady-rate events (see $logs/outbox-relay.log)"
    json=$(merge "{\"pgbench_tps\": $tps}" relay_latency "$("$bin/bench" histogram --url "$relay_metrics" \
        --name relay_publish_latency_seconds --since "$work/relay-hist.json")")
    result relay-steady "$json"
    log "  relay at ${relay_rate}/s: $json"
    json=$("$bin/bench" produce --bootstrap "$kafka" --topic bench-baseline-steady --input "$work/events.tsv" \
        --linger-ms "$RELAY_LINGER_MS" --rate "$relay_rate" --duration-secs "$relay_secs" 2>>"$logs/bench.log") ||
        die "bench produce --rate failed (see $logs/bench.log)"
    result kafka-baseline-steady "$json"
    log "  bare producer at ${relay_rate}/s: $json"
fi

# --- stage 3: replicator vs direct bulk upserts -----------------------------------------------

if selected replicator; then
    current_stage="stage 3 (replicator)"
    total=$(sql -c "SELECT count(*) FROM outbox")
    log "== stage 3: replicator applying $total events vs direct bulk upserts"
    log "  baseline: bulk upserts into database bench_baseline"
    json=$("$bin/bench" mongo-upsert --uri "$mongo_uri" --database bench_baseline \
        --input "$work/events.tsv" --batch-size "$REPLICATOR_BATCH_SIZE" 2>>"$logs/bench.log") ||
        die "bench mongo-upsert failed (see $logs/bench.log)"
    result mongo-baseline "$json"
    log "  direct upserts: $json"

    start_replicator
    # Progress from the replicator's own counter: counting the collection while it fills is a
    # full scan in SecantusDB, and polling it took half the server's time from the replicator
    # (the rate fell from 530 to 250 events/s as the collection grew). The count is checked
    # once at the end.
    json=$("$bin/bench" wait-metric --url "http://127.0.0.1:$replicator_port/metrics" \
        --name replicator_events_total --target "$total" --timeout-secs "$stage_timeout") ||
        die "the replicator did not apply $total events (see $logs/replicator.log)"
    "$bin/bench" wait-count --uri "$mongo_uri" --database replica --collection customers \
        --target "$total" --timeout-secs 60 >/dev/null ||
        die "the replicator counted $total events applied but MongoDB does not hold them all"
    result replicator-drain "$json"
    log "  replicator: $json"
fi

# --- stage 4: end to end ----------------------------------------------------------------------

if selected e2e; then
    current_stage="stage 4 (end to end)"
    log "== stage 4: end to end (API 201 → visible in MongoDB) at rates: $e2e_rates (${e2e_secs}s each)"
    start_relay
    start_replicator
    for rate in $e2e_rates; do
        current_stage="stage 4 (end to end at $rate/s)"
        "$bin/bench" histogram --url "$relay_metrics" --name relay_publish_latency_seconds \
            --save "$work/relay-hist.json" >/dev/null
        json=$(BENCH_TOKEN=$token "$bin/bench" e2e --api "$api_url" --mongo-uri "$mongo_uri" \
            --database replica --rate "$rate" --duration-secs "$e2e_secs") || die "bench e2e failed"
        relay=$("$bin/bench" histogram --url "$relay_metrics" --name relay_publish_latency_seconds \
            --since "$work/relay-hist.json")
        json=$(merge "$json" relay_latency "$relay")
        result "e2e-r$rate" "$json"
        log "  e2e at $rate/s: $json"
        if ! python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["sustained"] else 1)' "$json"; then
            log "  $rate/s not sustained; stopping the step search"
            break
        fi
    done
fi

# --- peak RSS ---------------------------------------------------------------------------------

current_stage="peak RSS"
vmhwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || true; }
rss="{}"
add_rss() { rss=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d[sys.argv[2]]=int(sys.argv[3]) if sys.argv[3] else None; print(json.dumps(d))' "$rss" "$1" "$2"); }
for s in "${services[@]}" kafka-1 secantusd; do
    pid=$(pidfile_pid "$pids/$s.pid" || true)
    add_rss "$s" "$([[ -n $pid ]] && vmhwm "$pid")"
done
pm=$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null || true)
if [[ -n $pm ]]; then
    add_rss postgres-postmaster "$(vmhwm "$pm")"
    largest=0
    for child in $(ps -o pid= --ppid "$pm"); do
        k=$(vmhwm "$child")
        [[ -n $k ]] && ((k > largest)) && largest=$k
    done
    add_rss postgres-largest-backend "$largest"
fi
result rss-kb "$rss"

# --- report ---------------------------------------------------------------------------------

log "== report"
current_stage=report
write_report complete
