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
