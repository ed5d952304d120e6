# shellcheck shell=bash
# scripts/bench/rss.sh: the peak RSS (VmHWM) of every process the benchmark started (services,
# Kafka, SecantusDB, the PostgreSQL postmaster and its largest backend), stored as rss-kb.
#
# Sourced by scripts/bench.sh after the stages (runs in its shell, with its variables).
# shellcheck disable=SC2034,SC2154 # variables shared with scripts/bench.sh, which sources this file

current_stage="peak RSS"
vmhwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || true; }
rss="{}"
add_rss() { rss=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d[sys.argv[2]]=int(sys.argv[3]) if sys.argv[3] else None; print(json.dumps(d))' "$rss" "$1" "$2"); }
for s in "${services[@]}" kafka-1 secantusd; do
    pid=$(pidfile_pid "$pids/$s.pid" || true)
    add_rss "$s" "$([[ -n $pid ]] && vmhwm "$pid")"
done
pm=$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null || true)
if [[ -n $pm ]]; then
    add_rss postgres-postmaster "$(vmhwm "$pm")"
    largest=0
    for child in $(ps -o pid= --ppid "$pm"); do
        k=$(vmhwm "$child")
        [[ -n $k ]] && ((k > largest)) && largest=$k
    done
    add_rss postgres-largest-backend "$largest"
fi
result rss-kb "$rss"
