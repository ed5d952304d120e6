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
#   5 debezium         our relay side by side with Debezium's PostgreSQL connector (pgoutput) and
#                      Outbox Event Router on Kafka Connect standalone (from Maven Central; JVM
#                      heap BENCH_DBZ_HEAP), each alone on the same work: events/s draining
#                      BENCH_OUTBOX_EVENTS committed at once (4 versions per customer); commit →
#                      broker timestamp latency (LogAppendTime topics) p50/p99 while pgbench
#                      commits at each rate of BENCH_DBZ_RATES, up to the first rate not
#                      sustained (the highest sustained rate); CPU seconds and peak RSS of each
#                      publisher (and PostgreSQL's CPU). Every event is read back and checked
#                      (all delivered, per key in version order, key and headers as the payload).
#                      The report shows ours / Debezium for each figure.
#   6 scale          replicator events/s with 1 and with 2 instances of one consumer group on a
#                      topic of BENCH_SCALE_PARTITIONS (3) partitions holding stage 2's events
#                      (needs stage 2). Not in the default run: BENCH_STAGES="relay scale".
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
#   BENCH_STAGES ["api relay replicator e2e debezium"; also: scale] (a subset runs faster while
#   tuning one stage)  BENCH_SCALE_PARTITIONS [3] (stage 6)
#   BENCH_RUNTIME_DIR [.runtime/bench]   BENCH_OUTBOX_EVENTS [100000; quick 5000]
#   BENCH_PG_PORT [26432]  BENCH_KAFKA_PORT [30092] (controller 30192)  BENCH_MONGO_PORT [29017]
#   BENCH_API_PORT [26001]  BENCH_RELAY_PORT [26005]  BENCH_REPLICATOR_PORT [26006]
#   BENCH_CONCURRENCY ["1 16 64"]  BENCH_API_SECS [20; quick 5] (per level, API and pgbench)
#   BENCH_READ_ROWS [10000] (customers the read path picks from)
#   BENCH_RELAY_RATE [1000] BENCH_RELAY_SECS [20; quick 5] (steady-rate relay latency)
#   BENCH_E2E_RATES ["25 50 100 200 400 800"; quick "25 100"]  BENCH_E2E_SECS [20; quick 8]
#   BENCH_DBZ_RATES ["1000 1500 2000 2500 3000 4000"; quick "1000 2000"] (stage 5; the first
#   gives p50/p99)
#   BENCH_CONNECT_PORT [26083] (Kafka Connect's REST API)  BENCH_DBZ_HEAP [-Xms256m -Xmx512m]
#   BENCH_DBZ_PROPS [""] (extra connector properties, e.g. "poll.interval.ms=10 max.batch.size=4096")
#   BENCH_CONNECT_PROPS [""] (extra Connect worker properties, e.g. "producer.linger.ms=5
#   producer.batch.size=262144"); Debezium's and Connect's own defaults otherwise
#   BENCH_PG_OPTS [-c max_connections=200 -c wal_level=logical]  (wal_level=logical for Debezium;
#   otherwise PostgreSQL runs with its durable defaults)
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
stages=${BENCH_STAGES:-api relay replicator e2e debezium}
relay_rate=${BENCH_RELAY_RATE:-1000}
pg_opts=${BENCH_PG_OPTS:--c max_connections=200 -c wal_level=logical}
connect_port=${BENCH_CONNECT_PORT:-26083}
dbz_heap=${BENCH_DBZ_HEAP:--Xms256m -Xmx512m}
dbz_props=${BENCH_DBZ_PROPS:-}
connect_props=${BENCH_CONNECT_PROPS:-}
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
    dbz_rates=${BENCH_DBZ_RATES:-1000 2000}
else
    events=${BENCH_OUTBOX_EVENTS:-100000}
    api_secs=${BENCH_API_SECS:-20}
    relay_secs=${BENCH_RELAY_SECS:-20}
    e2e_rates=${BENCH_E2E_RATES:-25 50 100 200 400 800}
    e2e_secs=${BENCH_E2E_SECS:-20}
    dbz_rates=${BENCH_DBZ_RATES:-1000 1500 2000 2500 3000 4000}
fi
[[ $events =~ ^[1-9][0-9]*$ ]] || die "BENCH_OUTBOX_EVENTS must be a positive integer (got: $events)"
for stage in $stages; do
    case $stage in
    api | relay | replicator | e2e | debezium | scale) ;;
    *) die "BENCH_STAGES: unknown stage $stage (stages: api relay replicator e2e debezium scale)" ;;
    esac
done
selected() { [[ " $stages " == *" $1 "* ]]; }
for stage in replicator scale; do
    if selected $stage && ! selected relay; then
        die "BENCH_STAGES: the $stage stage reads the events the relay stage writes; add relay"
    fi
done

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

# The steps live in scripts/bench/ and are sourced into this shell in order (they share its
# variables and functions):
#   report.sh      write_report (report.md and report.json; also for a partial report)
#   infra.sh       tools, release build, cleanup trap, runtime dir, PostgreSQL, Kafka, SecantusDB
#   services.sh    customer-api, and sql, start, reset_tables, result, start_relay, start_replicator
#   workload.sh    wrk's Lua script and the API's SQL for pgbench; pgbench_run, pgbench_quantiles
#   api.sh, relay.sh, replicator.sh, e2e.sh, debezium.sh, scale.sh   stages 1 to 6, each when BENCH_STAGES
#                  selects it
#   rss.sh         peak RSS of every process

# shellcheck source=scripts/bench/report.sh
source "$repo/scripts/bench/report.sh"
# shellcheck source=scripts/bench/infra.sh
source "$repo/scripts/bench/infra.sh"
# shellcheck source=scripts/bench/services.sh
source "$repo/scripts/bench/services.sh"
# shellcheck source=scripts/bench/workload.sh
source "$repo/scripts/bench/workload.sh"

# --- stage 1: API write path vs pgbench -------------------------------------------------------

if selected api; then
    # shellcheck source=scripts/bench/api.sh
    source "$repo/scripts/bench/api.sh"
fi

# --- stage 2: relay vs bare producer ----------------------------------------------------------

if selected relay; then
    # shellcheck source=scripts/bench/relay.sh
    source "$repo/scripts/bench/relay.sh"
fi

# --- stage 3: replicator vs direct bulk upserts -----------------------------------------------

if selected replicator; then
    # shellcheck source=scripts/bench/replicator.sh
    source "$repo/scripts/bench/replicator.sh"
fi

# --- stage 4: end to end ----------------------------------------------------------------------

if selected e2e; then
    # shellcheck source=scripts/bench/e2e.sh
    source "$repo/scripts/bench/e2e.sh"
fi

# --- stage 5: our relay vs Debezium ----------------------------------------------------------

if selected debezium; then
    # shellcheck source=scripts/bench/debezium.sh
    source "$repo/scripts/bench/debezium.sh"
fi

# --- stage 6: the replicator scaled out ------------------------------------------------------

if selected scale; then
    # shellcheck source=scripts/bench/scale.sh
    source "$repo/scripts/bench/scale.sh"
fi

# --- peak RSS ---------------------------------------------------------------------------------

# shellcheck source=scripts/bench/rss.sh
source "$repo/scripts/bench/rss.sh"

# --- report ---------------------------------------------------------------------------------

log "== report"
current_stage=report
write_report complete
