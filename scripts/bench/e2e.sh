# shellcheck shell=bash
# scripts/bench/e2e.sh: stage 4, end to end (API 201 → document visible in MongoDB) at each
# rate of BENCH_E2E_RATES, with the relay's commit → ack latency at that rate; stops at the
# first rate not sustained.
#
# Sourced by scripts/bench.sh when BENCH_STAGES selects e2e (runs in its shell, with its
# variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

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
