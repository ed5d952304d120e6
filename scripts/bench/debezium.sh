# shellcheck shell=bash
# scripts/bench/debezium.sh: stage 5, our relay side by side with what people pick instead:
# Debezium's PostgreSQL connector (pgoutput) with its Outbox Event Router, on Kafka Connect
# standalone. Each publisher in turn, alone (the other stopped, so neither disturbs the other),
# on the same work:
#   1. drain: it runs idle, then BENCH_OUTBOX_EVENTS events commit in one transaction (4 versions
#      per customer), timed to the last broker acknowledgement;
#   2. steady rates: pgbench commits the API's transaction at each rate of BENCH_DBZ_RATES for
#      BENCH_RELAY_SECS (the first rate, 1000/s by default, gives the latency figures), up to the
#      first rate not sustained;
#   3. CPU seconds of the publisher and of PostgreSQL during each, and its peak RSS (VmHWM).
# `bench topic-check` reads every measured event back from the publisher's topic (created with
# message.timestamp.type=LogAppendTime): all delivered, per key in version order, key and
# headers matching the payload (the stage fails otherwise), and latency = broker append time -
# the payload's source.committed_at. Ours publishes to ours.customers (TOPIC_PREFIX), Debezium
# to dbz.customers.
#
# Debezium goes first, then the same pgbench load with no publisher (PostgreSQL's own CPU, to
# tell what each publisher adds to it), then our relay, which is left running for the peak-RSS
# table. Debezium sees only inserts: the stage creates the publication itself with
# publish = 'insert' (our relay's published_at updates never reach it), and the router's
# table.op.invalid.behavior=warn would drop any other operation.
#
# Sourced by scripts/bench.sh when BENCH_STAGES selects debezium (runs in its shell, with its
# variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

current_stage="stage 5 (debezium)"
log "== stage 5: our relay vs Debezium's outbox router: drain $events events, then rates $dbz_rates (${relay_secs}s each)"
ensure_kafka_connect
clk_tck=$(getconf CLK_TCK)
connect_url="http://127.0.0.1:$connect_port"

# cpu_ticks PID: user + system CPU of a process (with its reaped children, for the postmaster).
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"; }
# pg_cpu_ticks: PostgreSQL's CPU, every backend included (the postmaster reaps exited ones).
pg_cpu_ticks() {
    local pm total child
    pm=$(head -n 1 "$pg_data/postmaster.pid")
    total=$(cpu_ticks "$pm")
    for child in $(ps -o pid= --ppid "$pm"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || echo 0)))
    done
    printf '%s\n' "$total"
}
# pg_cpu_start / pg_cpu_seconds_since TICKS: PostgreSQL's CPU over a measured window. Both
# vacuum the two tables and checkpoint first, so that a window starts clean and is charged for
# cleaning up and flushing what it wrote itself (our relay's published_at updates leave dead
# rows and more WAL; autovacuum and checkpoints would otherwise land in whichever window).
pg_settle() { sql -c "VACUUM outbox, customers" -c "CHECKPOINT"; }
pg_cpu_start() { pg_settle && pg_cpu_ticks; }
pg_cpu_seconds_since() {
    pg_settle
    seconds_of $(($(pg_cpu_ticks) - $1))
}
seconds_of() { python3 -c 'import sys; print(round(int(sys.argv[1]) / int(sys.argv[2]), 2))' "$1" "$clk_tck"; }
outbox_max_id() { sql -c "SELECT coalesce(max(id), 0) FROM bench_expected"; }
# expect_after ID FILE: the event ids of the outbox rows after ID, in outbox order.
expect_after() { sql -c "SELECT event_id FROM bench_expected WHERE id > $1 ORDER BY id" >"$2"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]))' "$1" "$2"; }

# topic_check NAME TOPIC IDS TIMEOUT [--since-ms MS]: bench topic-check, its JSON kept as NAME's
# log line; fails the stage when an event is out of order or its key or headers are wrong.
topic_check() {
    local name=$1 topic=$2 ids=$3 timeout=$4 json
    shift 4
    json=$("$bin/bench" topic-check --bootstrap "$kafka" --topic "$topic" --expect "$ids" \
        --timeout-secs "$timeout" "$@" 2>>"$logs/bench.log") || die "bench topic-check failed (see $logs/bench.log)"
    if [[ $(field "$json" out_of_order) != 0 || $(field "$json" mismatched_key_or_headers) != 0 ]]; then
        die "$name: $topic breaks the contract: $(field "$json" first_problem)"
    fi
    printf '%s\n' "$json"
}

# measure_publisher WHO TOPIC PID: the drain and the steady rates for one running publisher.
measure_publisher() {
    local who=$1 topic=$2 pid=$3 from start c0 p0 since json tps rate sustained
    log "  $who: warm-up event"
    from=$(outbox_max_id)
    fill_outbox 1
    expect_after "$from" "$work/$who-warmup.ids"
    json=$(topic_check "$who warm-up" "$topic" "$work/$who-warmup.ids" 180)
    [[ $(field "$json" missing) == 0 ]] || die "$who did not deliver the warm-up event: $json"

    start=$(outbox_max_id)
    p0=$(pg_cpu_start) c0=$(cpu_ticks "$pid")
    fill_outbox "$events" "$(((events + 3) / 4))"
    since=$(date +%s%3N)
    expect_after "$start" "$work/$who-drain.ids"
    json=$(topic_check "$who drain" "$topic" "$work/$who-drain.ids" "$stage_timeout" --since-ms "$since")
    [[ $(field "$json" missing) == 0 ]] || die "$who did not deliver $events events in ${stage_timeout}s: $json"
    json=$(merge "$json" cpu_seconds "$(seconds_of $(($(cpu_ticks "$pid") - c0)))")
    json=$(merge "$json" postgres_cpu_seconds "$(pg_cpu_seconds_since "$p0")")
    result "side-$who-drain" "$json"
    log "  $who drain: $json"

    for rate in $dbz_rates; do
        current_stage="stage 5 (debezium: $who at $rate/s)"
        from=$(outbox_max_id)
        p0=$(pg_cpu_start) c0=$(cpu_ticks "$pid")
        tps=$(pgbench_run "pgbench-$who-r$rate" 16 "$relay_secs" -R "$rate")
        expect_after "$from" "$work/$who-r$rate.ids"
        json=$(topic_check "$who at $rate/s" "$topic" "$work/$who-r$rate.ids" 60)
        json=$(merge "$json" cpu_seconds "$(seconds_of $(($(cpu_ticks "$pid") - c0)))")
        json=$(merge "$json" postgres_cpu_seconds "$(pg_cpu_seconds_since "$p0")")
        json=$(merge "$json" rate "$rate")
        json=$(merge "$json" pgbench_tps "${tps:-0}")
        # Sustained: pgbench committed at (nearly) the rate, everything arrived within the
        # settle time, and the lag did not grow over the run.
        json=$(python3 - "$json" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
why = []
if d["missing"]:
    why.append(f"{d['missing']} events still missing a minute after the load")
if d["lag_grew"]:
    why.append(f"the lag grew (median {d['lag_mid_p50_ms']:.0f} ms in the 2nd quarter, {d['lag_late_p50_ms']:.0f} ms in the 4th)")
if d["pgbench_tps"] < 0.9 * d["rate"]:
    why.append(f"pgbench committed only {d['pgbench_tps']:.0f}/s")
d["sustained"] = not why
d["not_sustained_because"] = "; ".join(why) or None
print(json.dumps(d))
EOF
        )
        sustained=$(field "$json" sustained)
        result "side-$who-r$rate" "$json"
        log "  $who at $rate/s: $json"
        if [[ $sustained != True ]]; then
            log "  $who: $rate/s not sustained ($(field "$json" not_sustained_because)); stopping the step search"
            break
        fi
    done
    current_stage="stage 5 (debezium: $who, every event)"
    expect_after "$start" "$work/$who-all.ids"
    json=$(topic_check "$who, every event" "$topic" "$work/$who-all.ids" "$stage_timeout")
    [[ $(field "$json" missing) == 0 ]] || die "$who lost events: $json"
    result "side-$who-peak-rss" "{\"vmhwm_kb\": $(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")}"
}

kafka_create_topics "$kafka" 1 --config message.timestamp.type=LogAppendTime ours.customers ours-wal.customers dbz.customers
# What each window committed, kept beside the outbox: a relay reading the WAL deletes the rows it
# published, so the outbox itself cannot say afterwards what was expected. The same trigger runs
# under every publisher (and under PostgreSQL alone), so its cost is everyone's.
sql -c "SET client_min_messages = warning;
    CREATE TABLE IF NOT EXISTS bench_expected (id bigint PRIMARY KEY, event_id uuid NOT NULL);
    CREATE OR REPLACE FUNCTION bench_expect() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN INSERT INTO bench_expected VALUES (NEW.id, NEW.event_id); RETURN NULL; END \$\$;
    DROP TRIGGER IF EXISTS bench_expect ON outbox;
    CREATE TRIGGER bench_expect AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION bench_expect()" >/dev/null

# --- Debezium ---------------------------------------------------------------------------------

current_stage="stage 5 (debezium: start)"
stop_pidfile "$pids/outbox-relay.pid" 20 # alone: no relay publishes or updates the outbox now
reset_tables
sql -c "SET client_min_messages = warning; DROP PUBLICATION IF EXISTS dbz_outbox; CREATE PUBLICATION dbz_outbox FOR TABLE outbox WITH (publish = 'insert')"
cat >"$work/connect-worker.properties" <<EOF
bootstrap.servers=$kafka
listeners=http://127.0.0.1:$connect_port
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$work/connect.offsets
EOF
for prop in $connect_props; do printf '%s\n' "$prop" >>"$work/connect-worker.properties"; done
cat >"$work/outbox-connector.properties" <<EOF
name=outbox
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
plugin.name=pgoutput
database.hostname=127.0.0.1
database.port=$pg_port
database.user=postgres
database.dbname=customers
topic.prefix=dbz
table.include.list=public.outbox
publication.name=dbz_outbox
publication.autocreate.mode=disabled
slot.name=dbz_outbox
snapshot.mode=no_data
transforms=outbox
transforms.outbox.type=io.debezium.transforms.outbox.EventRouter
transforms.outbox.table.field.event.id=event_id
transforms.outbox.table.field.event.key=aggregate_id
transforms.outbox.table.field.event.payload=payload
transforms.outbox.table.fields.additional.placement=event_type:header:type
transforms.outbox.route.by.field=topic
transforms.outbox.route.topic.replacement=dbz.\${routedByValue}
transforms.outbox.table.op.invalid.behavior=warn
EOF
for prop in $dbz_props; do printf '%s\n' "$prop" >>"$work/outbox-connector.properties"; done
ensure_port_free 127.0.0.1 "$connect_port" "Kafka Connect's REST API"
log "  Kafka Connect $KAFKA_CONNECT_VERSION standalone with Debezium $DEBEZIUM_VERSION (REST $connect_url, heap ${dbz_heap})"
# shellcheck disable=SC2086 # the heap options are words
start_service kafka-connect "$logs/kafka-connect.log" "$pids/kafka-connect.pid" -- \
    java $dbz_heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$repo/setup/kafka/log4j2.properties" \
    -cp "$KAFKA_CONNECT_LIBS/*" org.apache.kafka.connect.cli.ConnectStandalone \
    "$work/connect-worker.properties" "$work/outbox-connector.properties"
connect_pid=$(<"$pids/kafka-connect.pid")
# connector_state: the connector's and its task's states, e.g. "RUNNING RUNNING" (the task's
# error follows a FAILED one).
connector_state() {
    curl -fsS "$connect_url/connectors/outbox/status" 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["connector"]["state"], *[t["state"] + (" " + t.get("trace", "") if t["state"] == "FAILED" else "") for t in d["tasks"]])'
}
connector_started() { [[ $(connector_state) =~ ^RUNNING\ (RUNNING|FAILED) ]]; }
wait_for --log "$logs/kafka-connect.log" --pid "$connect_pid" "the Debezium outbox connector's task" 180 -- connector_started
[[ $(connector_state) == "RUNNING RUNNING" ]] || die "the Debezium connector failed: $(connector_state | head -n 5)"
# slot_active COUNT: true when COUNT (0 or 1) walsenders stream from Debezium's slot.
slot_active() { [[ $(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'dbz_outbox' AND active") == "$1" ]]; }
wait_for --log "$logs/kafka-connect.log" --pid "$connect_pid" "Debezium's replication slot in use" 120 -- slot_active 1
measure_publisher debezium dbz.customers "$connect_pid"
stop_pidfile "$pids/kafka-connect.pid" 30
wait_for "the replication slot released" 30 -- slot_active 0
sql -c "SELECT pg_drop_replication_slot('dbz_outbox'); DROP PUBLICATION dbz_outbox" >/dev/null

# --- PostgreSQL alone -------------------------------------------------------------------------

# The same load with no publisher, for what each one adds to PostgreSQL's CPU.
current_stage="stage 5 (debezium: PostgreSQL alone)"
first_rate=${dbz_rates%% *}
p0=$(pg_cpu_start)
tps=$(pgbench_run pgbench-alone-r"$first_rate" 16 "$relay_secs" -R "$first_rate")
result side-alone "{\"rate\": $first_rate, \"pgbench_tps\": ${tps:-0}, \"postgres_cpu_seconds\": $(pg_cpu_seconds_since "$p0")}"
log "  PostgreSQL alone at $first_rate/s: $(<"$results/side-alone.json")"

# --- our relay --------------------------------------------------------------------------------

current_stage="stage 5 (debezium: our relay, polling)"
reset_tables
RELAY_CAPTURE=poll TOPIC_PREFIX=ours. start_relay
measure_publisher ours ours.customers "$(<"$pids/outbox-relay.pid")"

# --- our relay, from the write-ahead log --------------------------------------------------------

current_stage="stage 5 (debezium: our relay, from the WAL)"
stop_pidfile "$pids/outbox-relay.pid" 20
reset_tables
RELAY_CAPTURE=wal TOPIC_PREFIX=ours-wal. start_relay
# ours_slot_active: the relay made its slot and streams from it (so the fill below is streamed,
# not found by the first drain).
ours_slot_active() { [[ $(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'outbox_relay_%' AND active") == 1 ]]; }
wait_for --log "$logs/outbox-relay.log" "our relay's replication slot in use" 60 -- ours_slot_active
measure_publisher ours-wal ours-wal.customers "$(<"$pids/outbox-relay.pid")"
