# shellcheck shell=bash
# scripts/bench/scale.sh: stage 6, the replicator as one and then two instances of one consumer
# group on a topic of BENCH_SCALE_PARTITIONS (3) partitions. The events stage 2 wrote are
# produced once to scale.customers, keyed as the relay keys them (murmur2, so spread over the
# partitions); each run then applies all of them with a new group into a new MongoDB database,
# with only its own instances running, and is timed from its first progress.
#
# Sourced by scripts/bench.sh when BENCH_STAGES selects scale (runs in its shell, with its
# variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

current_stage="stage 6 (scale)"
scale_partitions=${BENCH_SCALE_PARTITIONS:-3}
total=$(wc -l <"$work/events.tsv")
log "== stage 6: replicator, 1 and 2 instances of one group on $scale_partitions partitions ($total events)"
"$bin/bench" produce --bootstrap "$kafka" --topic scale.customers --partitions "$scale_partitions" \
    --input "$work/events.tsv" --linger-ms "$RELAY_LINGER_MS" >/dev/null 2>>"$logs/bench.log" ||
    die "bench produce to scale.customers failed (see $logs/bench.log)"
for instances in 1 2; do
    group="bench-scale-$instances-$(date +%s)" database="scale_$instances" urls=()
    for ((i = 1; i <= instances; i++)); do
        port=$((replicator_port + 10 * instances + i))
        start_as "replicator-scale-$instances-$i" replicator "127.0.0.1:$port" \
            REPLICATOR_ADDR="127.0.0.1:$port" KAFKA_BOOTSTRAP_SERVERS="$kafka" \
            MONGODB_URI="$mongo_uri" MONGODB_DATABASE="$database" TOPIC_PREFIX=scale. \
            REPLICATOR_TOPICS=customers REPLICATOR_GROUP="$group"
        urls+=(--url "http://127.0.0.1:$port/metrics")
    done
    json=$("$bin/bench" wait-metric "${urls[@]}" --name replicator_events_total \
        --target "$total" --timeout-secs "$stage_timeout") ||
        die "$instances replicator(s) did not apply $total events (see $logs/replicator-scale-$instances-*.log)"
    "$bin/bench" wait-count --uri "$mongo_uri" --database "$database" --collection customers \
        --target "$total" --timeout-secs 60 >/dev/null ||
        die "$instances replicator(s) counted $total events applied but MongoDB does not hold them all"
    result "replicator-scale-$instances" "$(merge "{\"instances\": $instances, \"partitions\": $scale_partitions}" run "$json")"
    log "  $instances instance(s): $json"
    for ((i = 1; i <= instances; i++)); do
        stop_pidfile "$pids/replicator-scale-$instances-$i.pid" 30
    done
done
