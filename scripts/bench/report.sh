# shellcheck shell=bash
# scripts/bench/report.sh: write_report, which turns the measurements in $results (one JSON file
# each) into $runtime/report.md and $runtime/report.json, with the run's settings.
#
# Sourced by scripts/bench.sh (and runs in its shell, with its variables); defines functions only.
# The EXIT trap calls write_report too, for a partial report after a failure.
# shellcheck disable=SC2154 # variables shared with scripts/bench.sh, which sources this file

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
    "debezium": {"version": "${DEBEZIUM_VERSION:-}", "kafka_connect": "$KAFKA_CONNECT_VERSION", "rates": "$dbz_rates".split(),
                 "seconds_per_rate": $relay_secs, "heap": "$dbz_heap", "extra_connector_properties": "$dbz_props".split(),
                 "extra_worker_properties": "$connect_props".split(),
                 "connect_rest_port": $connect_port},
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
# The API against pgbench at each concurrency: writes (POST) and reads (GET by id).
for key, prefix, label in (("api", "", "1 API POST"), ("api_reads", "get-", "1b API GET by id")):
    levels = []
    for c in settings["concurrency"]:
        a, p = r.get(f"api-{prefix}c{c}"), r.get(f"pgbench-{prefix}c{c}")
        if not a or not p:
            continue
        levels.append({"concurrency": int(c), "api": a, "pgbench": p, "ratio": ratio(a["rps"], p["tps"])})
        rows.append((f"{label}, c={c}", f"{fmt(a['rps'])} req/s (p50 {fmt(a['p50_ms'],2)} ms, p99 {fmt(a['p99_ms'],2)} ms, non-2xx {a['non_2xx']})",
                     f"pgbench {fmt(p['tps'])} tx/s (p50 {fmt(p['p50_ms'],2)} ms, p99 {fmt(p['p99_ms'],2)} ms)", ratio(a["rps"], p["tps"])))
    stages[key] = levels
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
scale = [r[k] for k in ("replicator-scale-1", "replicator-scale-2") if k in r]
stages["scale"] = scale
for x in scale:
    run = x["run"]
    rows.append((f"6 replicator, {x['instances']} instance(s) of one group, {x['partitions']} partitions, {run['target']:,.0f} events",
                 f"{fmt(run['per_sec'])} events/s ({fmt(run['seconds_from_first_progress'])} s; {fmt(run['seconds_total'])} s with group join)",
                 "1 instance" if x["instances"] == 1 else f"{fmt(scale[0]['run']['per_sec'])} events/s with 1 instance",
                 ratio(run["per_sec"], scale[0]["run"]["per_sec"]) if x["instances"] > 1 else None))
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
# Stage 5: our relay (polling, and from the WAL) and Debezium, each figure side by side with
# ours / Debezium.
publishers = ("ours", "ours-wal", "debezium")
side = {}
for who in publishers:
    prefix = f"side-{who}-r"
    rates = sorted((r[k] for k in r if k.startswith(prefix) and k[len(prefix):].isdigit()), key=lambda x: x["rate"])
    if f"side-{who}-drain" not in r and not rates:
        continue
    sustained = [x["rate"] for x in rates if x["sustained"]]
    side[who] = {"drain": r.get(f"side-{who}-drain"), "rates": rates,
                 "highest_sustained_rate": max(sustained) if sustained else None,
                 "peak_rss_kb": r.get(f"side-{who}-peak-rss", {}).get("vmhwm_kb")}
side_rows = []
if side:
    def get(who, *path):
        x = side.get(who)
        for p in path:
            if x is None:
                return None
            x = x[p] if isinstance(x, list) and isinstance(p, int) and len(x) > p else (x.get(p) if isinstance(x, dict) else None)
        return x
    first_rate = settings["debezium"]["rates"][0] if settings["debezium"]["rates"] else None
    figures = [
        (f"drain of {settings['outbox_events']:,} events committed at once, events/s (first → last broker timestamp)", ("drain", "per_sec_first_to_last"), 0, "higher"),
        ("drain, events/s from the fill's commit (includes noticing it)", ("drain", "per_sec_from_since"), 0, "higher"),
        ("drain, publisher CPU seconds", ("drain", "cpu_seconds"), 2, "lower"),
        ("drain, PostgreSQL CPU seconds (fill included, the same work for both)", ("drain", "postgres_cpu_seconds"), 2, "lower"),
        (f"commit → broker p50 ms at {first_rate}/s", ("rates", 0, "latency_p50_ms"), 1, "lower"),
        (f"commit → broker p99 ms at {first_rate}/s", ("rates", 0, "latency_p99_ms"), 1, "lower"),
        (f"publisher CPU seconds at {first_rate}/s for {settings['debezium']['seconds_per_rate']} s", ("rates", 0, "cpu_seconds"), 2, "lower"),
        (f"PostgreSQL CPU seconds at {first_rate}/s (pgbench's load included)", ("rates", 0, "postgres_cpu_seconds"), 2, "lower"),
        (f"highest steady rate sustained, commits/s (tried: {' '.join(settings['debezium']['rates'])})", ("highest_sustained_rate",), 0, "higher"),
        ("peak RSS (VmHWM), MiB", ("peak_rss_kb",), 1, "lower"),
    ]
    ratios = {"ours": {}, "ours-wal": {}}

    def row(label, values, digits, better):
        rts = {who: ratio(values["ours"], values["debezium"]) if who == "ours" else ratio(values["ours-wal"], values["debezium"]) for who in ratios}
        for who, rt in rts.items():
            ratios[who][label] = rt
        shown = lambda rt: "—" if rt is None else f"{rt:.2f}"
        return (label, *(fmt(values[w], digits) for w in publishers), shown(rts["ours"]), shown(rts["ours-wal"]), better)

    for label, path, digits, better in figures:
        values = {w: get(w, *path) for w in publishers}
        if path == ("peak_rss_kb",):
            values = {w: v and v / 1024 for w, v in values.items()}
        side_rows.append(row(label, values, digits, better))
    # The whole cost of publishing at the first rate: the publisher's CPU and what it adds to
    # PostgreSQL's (our relay's queries and updates; a walsender decoding the WAL).
    totals = {}
    for who in publishers:
        a, b = get(who, "rates", 0, "cpu_seconds"), get(who, "rates", 0, "postgres_cpu_seconds")
        totals[who] = a + b if a is not None and b is not None else None
    label = f"publisher + PostgreSQL CPU seconds at {first_rate}/s (the machine's whole bill)"
    side_rows.insert(8, row(label, totals, 2, "lower"))
    side["postgres_alone"] = r.get("side-alone")
    side["ratios_over_debezium"] = ratios
stages["debezium"] = side
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
if e2e:  # only when the end-to-end stage ran
    md += ["", f"Highest end-to-end rate sustained without backlog growth: {stages['highest_sustained_rate'] or 'none of the rates tried'} writes/s (rates tried: {', '.join(settings['e2e_rates'])}; the search stops at the first rate not sustained)."]
if side_rows:
    md += ["", "## Stage 5: our relay vs Debezium (outbox event router on Kafka Connect)", "",
           f"Debezium {settings['debezium']['version']} PostgreSQL connector (pgoutput, a publication of inserts only) with io.debezium.transforms.outbox.EventRouter on Kafka Connect {settings['debezium']['kafka_connect']} standalone (heap {settings['debezium']['heap']}; extra connector properties: {' '.join(settings['debezium']['extra_connector_properties']) or 'none'}; extra worker properties: {' '.join(settings['debezium']['extra_worker_properties']) or 'none'}; Debezium's and Connect's defaults otherwise), against our outbox-relay; each alone, on the same events, keys and headers. Latency: broker timestamp (LogAppendTime) − the payload's source.committed_at. PostgreSQL's CPU counts every backend (walsender included) and a VACUUM and CHECKPOINT at the end of each window, so each is charged for cleaning up what it wrote.", "",
           "`poll` is our relay with `RELAY_CAPTURE=poll` (reads the table, woken by NOTIFY, marks what it published); `wal` with `RELAY_CAPTURE=wal` (reads a logical replication slot, as Debezium does, and deletes what it published).", "",
           "| figure | ours, poll | ours, wal | Debezium | poll / Debezium | wal / Debezium | better is |", "|---|---|---|---|---|---|---|"]
    md += ["| " + " | ".join(x) + " |" for x in side_rows]
    alone = side.get("postgres_alone")
    if alone:
        md.append(f"\nPostgreSQL alone (the same pgbench load at {alone['rate']}/s, no publisher): {fmt(alone['postgres_cpu_seconds'], 2)} CPU seconds; subtract it for what a publisher adds, keeping in mind that on a shared machine the same load varies by a few CPU seconds from window to window.")
    top = settings["debezium"]["rates"][-1] if settings["debezium"]["rates"] else None
    for who in publishers:
        if top is not None and side.get(who, {}).get("highest_sustained_rate") == float(top):
            md.append(f"\n{who} sustained every rate tried: its highest sustained rate is at least {top}/s.")
    md += ["", "Every rate tried (each publisher stops at its first rate not sustained: pgbench reached under 90% of it, an event took over a minute, or the lag grew):", "",
           "| publisher | rate/s | pgbench tx/s | p50 ms | p99 ms | max ms | publisher CPU s | PostgreSQL CPU s | delivered | duplicates | sustained |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for who in publishers:
        for x in side.get(who, {}).get("rates", []):
            md.append(f"| {who} | {x['rate']} | {fmt(x['pgbench_tps'])} | {fmt(x['latency_p50_ms'])} | {fmt(x['latency_p99_ms'])} | {fmt(x['latency_max_ms'])} | {fmt(x['cpu_seconds'],2)} | {fmt(x['postgres_cpu_seconds'],2)} | {x['delivered']}/{x['expected']} | {x['duplicates']} | {'yes' if x['sustained'] else 'no: ' + (x.get('not_sustained_because') or '')} |")
    for who in publishers:
        d = side.get(who, {}).get("drain")
        if d:
            md.append(f"\nDrain check ({who}): {d['delivered']}/{d['expected']} delivered, {d['out_of_order']} out of per-key order, {d['duplicates']} duplicates, {d['mismatched_key_or_headers']} with a wrong key or headers.")
md += ["", "## Peak RSS (VmHWM)", "", "| process | MiB |", "|---|---|"]
for name, kb in stages["peak_rss_kb"].items():
    md.append(f"| {name} | {fmt(kb and kb/1024)} |")
md += ["", "## Settings", "", "```json", json.dumps(settings, indent=2), "```", ""]
with open(os.path.join(out_dir, "report.md"), "w") as f:
    f.write("\n".join(md))
print("\n".join(md))
EOF
    log "report: $runtime/report.md and $runtime/report.json"
}
