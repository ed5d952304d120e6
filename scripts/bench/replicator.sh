# shellcheck shell=bash
# scripts/bench/replicator.sh: stage 3, the replicator applying the whole topic stage 2 filled
# to MongoDB with a new consumer group, against the same documents bulk-upserted directly
# (`bench mongo-upsert`).
#
# Sourced by scripts/bench.sh when BENCH_STAGES selects replicator (runs in its shell, with its
# variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

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
