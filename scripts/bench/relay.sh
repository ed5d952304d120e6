# shellcheck shell=bash
# scripts/bench/relay.sh: stage 2, the outbox relay draining a pre-filled outbox to Kafka, then
# its commit → acknowledgement latency at a steady rate, each against a bare rdkafka producer
# (`bench produce`). Writes $work/events.tsv, which stage 3 reads.
#
# Sourced by scripts/bench.sh when BENCH_STAGES selects relay (runs in its shell, with its
# variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

current_stage="stage 2 (relay)"
log "== stage 2: relay draining $events outbox events vs a bare producer"
sleep 2 && reset_tables
fill_outbox "$events"
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
