# shellcheck shell=bash
# scripts/bench/workload.sh: the load the stages generate: wrk's Lua script (post.lua, unique
# customers through the API) and the API's transaction for pgbench (create.sql), written into
# $work, with pgbench_run, pgbench_quantiles and merge (JSON) to run and read them, and
# fill_outbox, the pre-filled outbox the relay stages drain.
#
# Sourced by scripts/bench.sh (and runs in its shell, with its variables), before the stages.
# shellcheck disable=SC2154 # variables shared with scripts/bench.sh, which sources this file

# wrk's summary, the same for every script: one JSON line the stages read back.
wrk_summary_lua=$(
    cat <<'EOF'
function done(summary, latency, requests)
    local s = summary.duration / 1e6
    io.write(string.format('WRK_JSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"non_2xx":%d,"socket_errors":%d,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
        summary.requests, s, summary.requests / s, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
EOF
)

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
EOF
printf '%s\n' "$wrk_summary_lua" >>"$work/post.lua"

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

# GET one customer by id, a random one of those listed in the file args[1], with a token.
cat >"$work/get.lua" <<'EOF'
local ids = {}
function init(args)
    for line in io.lines(args[1]) do
        if #line > 0 then ids[#ids + 1] = line end
    end
    token = args[2]
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
    return wrk.format("GET", "/api/v1/customers/" .. ids[math.random(#ids)],
        {["Authorization"] = "Bearer " .. token})
end
EOF
printf '%s\n' "$wrk_summary_lua" >>"$work/get.lua"

# The API's read (store.rs `get`): the live customer by primary key.
cat >"$work/get.sql" <<'EOF'
\set n random(1, :rows)
SELECT id, name, email, phone, version, created_at, updated_at FROM customers WHERE id = (SELECT id FROM bench_ids WHERE n = :n) AND deleted_at IS NULL;
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

# pgbench_run NAME CLIENTS SECONDS [pgbench options...]: the API's transaction (create.sql, or
# the script pgbench_script names); prints the tps line's number.
pgbench_run() {
    local name=$1 c=$2 secs=$3 threads script=${pgbench_script:-$work/create.sql}
    shift 3
    threads=$((c < 2 ? c : 2))
    (cd "$work" && "$pgbench" "$pg_url" -n -M prepared -c "$c" -j "$threads" -T "$secs" \
        -f "$script" "$@" >"$logs/$name.log" 2>&1) || {
        show_log_tail "$logs/$name.log"
        die "pgbench failed ($name)"
    }
    sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$logs/$name.log" | head -n 1
}

# merge JSON KEY VALUE_JSON: JSON with KEY set to VALUE_JSON.
merge() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d[sys.argv[2]]=json.loads(sys.argv[3]); print(json.dumps(d))' "$@"; }

# fill_outbox N [KEYS]: commits N customer events into the outbox in one transaction, the
# payloads shaped like the API's (see create.sql). KEYS aggregates (default N: one
# customer.created each); with fewer, each aggregate gets versions 1, 2, ... in outbox order
# (customer.created, then customer.updated), so that per-key order can be checked.
fill_outbox() {
    local n=$1 keys=${2:-$1}
    log "  filling the outbox with $n events of $keys customers (one transaction)"
    sql -v n="$n" -v k="$keys" <<'EOF'
INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload)
SELECT e, 'customer', c::text, t, 'customers',
       jsonb_build_object('id', e, 'type', t, 'op', CASE WHEN v = 1 THEN 'c' ELSE 'u' END,
           'aggregate_type', 'customer', 'aggregate_id', c::text, 'version', v,
           'before', CASE WHEN v = 1 THEN NULL ELSE doc || jsonb_build_object('version', v - 1) END,
           'after', doc,
           'source', jsonb_build_object('service', 'customer-api', 'table', 'customers',
               'tx_id', txid_current(), 'committed_at', ts),
           'occurred_at', ts)
FROM (SELECT i, v, c, e, CASE WHEN v = 1 THEN 'customer.created' ELSE 'customer.updated' END AS t, ts,
             jsonb_build_object('id', c, 'name', 'Bench ' || i,
                 'email', 'fill-' || i || '@bench.example', 'phone', '+44 20 7946 0000',
                 'version', v, 'created_at', ts, 'updated_at', ts) AS doc
      FROM (SELECT i, (i - 1) / :k + 1 AS v, (i - 1) % :k AS j, gen_random_uuid() AS e,
                   to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
            FROM generate_series(1, :n) AS i) AS s
      JOIN (SELECT j, gen_random_uuid() AS c FROM generate_series(0, :k - 1) AS j) AS keys USING (j)
      ORDER BY i) AS f;
EOF
}
