# shellcheck shell=bash
# scripts/bench/api.sh: stage 1, the API write path (POST /api/v1/customers with wrk at each
# concurrency level) against pgbench running the API's transaction with as many clients.
#
# Sourced by scripts/bench.sh when BENCH_STAGES selects api (runs in its shell, with its
# variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

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
