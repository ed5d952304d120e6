# shellcheck shell=bash
# scripts/bench/api.sh: stage 1, the API write path (POST /api/v1/customers with wrk at each
# concurrency level) against pgbench running the API's transaction with as many clients, then
# the read path (GET /api/v1/customers/{id}) against pgbench running the same lookup.
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

# The read path: GET /api/v1/customers/{id} with a token, as a client calls it, against pgbench
# running the same primary-key query with as many clients. Both pick one of the same
# $read_rows customers at random per request; pgbench finds the id through a small numbered
# table (one more index lookup on its side, a few microseconds).
read_rows=${BENCH_READ_ROWS:-10000}
log "== stage 1b: API read path vs pgbench (${api_secs}s per level, $read_rows customers)"
reset_tables
sql -c "INSERT INTO customers (id, name, email, phone, version, created_at, updated_at)
        SELECT gen_random_uuid(), 'Reader ' || n, 'r-' || n || '@bench.example', '+44 20 7946 0000', 1, now(), now()
        FROM generate_series(1, $read_rows) AS n" >/dev/null
sql -c "DROP TABLE IF EXISTS bench_ids;
        CREATE TABLE bench_ids (n int PRIMARY KEY, id uuid NOT NULL);
        INSERT INTO bench_ids SELECT row_number() OVER (ORDER BY id), id FROM customers;
        ANALYZE customers; ANALYZE bench_ids" >/dev/null
sql -c "SELECT id FROM bench_ids ORDER BY n" >"$work/read-ids.txt"
for c in $concurrency; do
    threads=$((c < 2 ? c : 2))
    log "  wrk GET: $c connection(s), $threads thread(s), ${api_secs}s"
    out=$(wrk -t "$threads" -c "$c" -d "${api_secs}s" --latency -s "$work/get.lua" "$api_url" \
        -- "$work/read-ids.txt" "$token" 2>&1) || die "wrk failed: $out"
    printf '%s\n' "$out" >"$logs/wrk-get-c$c.log"
    json=$(grep '^WRK_JSON ' <<<"$out" | sed 's/^WRK_JSON //') || die "wrk printed no summary: $out"
    result "api-get-c$c" "$json"
    log "  API GET c=$c: $json"

    log "  pgbench read: $c client(s), $threads thread(s), ${api_secs}s"
    rm -f "$work"/pgbench_log.*
    tps=$(pgbench_script="$work/get.sql" pgbench_run "pgbench-get-c$c" "$c" "$api_secs" \
        -D rows="$read_rows" -l --log-prefix=pgbench_log)
    json=$(merge "$(pgbench_quantiles "$work"/pgbench_log.*)" tps "$tps")
    result "pgbench-get-c$c" "$json"
    log "  pgbench read c=$c: $json"
done
sql -c "DROP TABLE IF EXISTS bench_ids" >/dev/null
rm -f "$work"/pgbench_log.*
