#!/usr/bin/env bash
# scripts/replay.sh: moves a consumer group back (or forward) to a point in its topics, with
# Apache Kafka's own offset reset (kafka-consumer-groups --reset-offsets --execute), so that its
# consumer handles everything from there again. The consumers are idempotent (the replicator's
# version guard, the notifier's sent_notifications ledger, the order-processor's order ids):
# replaying history changes no document and sends no email twice.
#
#   scripts/replay.sh --group replicator --to-earliest
#   scripts/replay.sh --group notifier --topic customers --to-datetime 2026-12-01T00:00:00.000
#   scripts/replay.sh --group replicator --topic customers --to-offset 42 --dry-run
#
# Options:
#   --group G          the consumer group (required)
#   exactly one of     --to-earliest | --to-offset N | --to-datetime YYYY-MM-DDTHH:mm:SS.sss
#                      (Kafka's semantics: an offset past the log end is the log end, one before
#                      the log start the log start; a datetime is the first record at or after it)
#   --topic T          a topic to reset, repeatable (Kafka's T:0,1 picks partitions); without it
#                      every topic the group has committed offsets for (--all-topics)
#   --service NAME     the native platform's process that consumes as G (default: G itself when
#                      it names one of replicator, notifier, order-processor)
#   --dry-run          show the plan (Kafka's --dry-run) and change nothing
#
# When the group's consumer runs under the native platform (setup/startup.sh, pid files in
# PLATFORM_RUNTIME_DIR/pids), it is stopped first (SIGTERM: it commits and leaves the group),
# the offsets are reset, and setup/startup.sh --native starts it again (it starts only what is
# not running: run this script with the environment you started the platform with). Any other
# group that still has active members is refused: Kafka resets only inactive groups.
#
# Environment: KAFKA_BOOTSTRAP_SERVERS (default as the platform's: 127.0.0.1:9092, or the
# KAFKA_BROKERS=3 list from KAFKA_PORT), PLATFORM_RUNTIME_DIR (default .runtime/platform).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup/lib.sh
source "$repo/setup/lib.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

group="" service="" dry_run=false chosen=0
target=() topics=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --group) group=${2:?--group needs a value} && shift 2 ;;
    --to-earliest) target=(--to-earliest) chosen=$((chosen + 1)) && shift ;;
    --to-offset) target=(--to-offset "${2:?--to-offset needs a value}") chosen=$((chosen + 1)) && shift 2 ;;
    --to-datetime) target=(--to-datetime "${2:?--to-datetime needs a value}") chosen=$((chosen + 1)) && shift 2 ;;
    --topic) topics+=(--topic "${2:?--topic needs a value}") && shift 2 ;;
    --service) service=${2:?--service needs a value} && shift 2 ;;
    --dry-run) dry_run=true && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown argument: $1" ;;
    esac
done
[[ -n $group ]] || { usage >&2 && die "--group is required"; }
((chosen == 1)) || { usage >&2 && die "choose exactly one of --to-earliest, --to-offset N, --to-datetime T"; }
if [[ ${target[0]} == --to-offset && ! ${target[1]} =~ ^[0-9]+$ ]]; then
    die "--to-offset takes a non-negative offset (got: ${target[1]})"
fi
((${#topics[@]} > 0)) || topics=(--all-topics)

bootstrap=${KAFKA_BOOTSTRAP_SERVERS:-$(kafka_bootstrap "${KAFKA_PORT:-9092}" "${KAFKA_BROKERS:-1}")}
pids=$(abspath "${PLATFORM_RUNTIME_DIR:-$repo/.runtime/platform}")/pids
if [[ -z $service ]]; then
    case $group in replicator | notifier | order-processor) service=$group ;; esac
fi

consumer_groups() { "$repo/scripts/kafka-consumer-groups.sh" --bootstrap-server "$bootstrap" "$@"; }

# active_members: how many members the group has now (0 for an empty or unknown group).
active_members() {
    consumer_groups --describe --group "$group" --state 2>/dev/null |
        awk -v g="$group" '$1 == g { n = $NF } END { print (n ~ /^[0-9]+$/ ? n : 0) }'
}

# Every running instance of the service (startup.sh names instance 1 NAME, instance n NAME-n).
native_pidfiles=()
if [[ -n $service ]]; then
    for pidfile in "$pids/$service.pid" "$pids/$service"-[2-9].pid; do
        if pidfile_pid "$pidfile" >/dev/null 2>&1; then native_pidfiles+=("$pidfile"); fi
    done
fi
native_pid=""
if ((${#native_pidfiles[@]} > 0)); then native_pid=$(pidfile_pid "${native_pidfiles[0]}"); fi

log "group $group on $bootstrap: reset ${target[*]} (${topics[*]})"
if $dry_run; then
    if [[ -n $native_pid ]]; then
        log "dry run: $service (pid $native_pid) would be stopped, the offsets reset, and it started again; the group's current positions:"
        consumer_groups --describe --group "$group"
        exit 0
    fi
    consumer_groups --reset-offsets --group "$group" "${topics[@]}" "${target[@]}" --dry-run
    exit 0
fi

restart=false
# shellcheck disable=SC2317 # invoked by the EXIT trap
restart_consumer() {
    local rc=$?
    trap - EXIT
    if $restart; then
        # As many instances as were stopped, whatever the environment says.
        local count_var
        count_var=$(tr '[:lower:]-' '[:upper:]_' <<<"$service")_INSTANCES
        log "starting $service again, ${#native_pidfiles[@]} instance(s) (setup/startup.sh --native starts what is not running)"
        env "$count_var=${#native_pidfiles[@]}" "$repo/setup/startup.sh" --native >/dev/null || rc=1
    fi
    exit "$rc"
}
if [[ -n $native_pid ]]; then
    trap restart_consumer EXIT
    restart=true
    log "stopping $service (${#native_pidfiles[@]} instance(s)) so that its group is inactive"
    for pidfile in "${native_pidfiles[@]}"; do stop_pidfile "$pidfile" 30; done
fi

members=$(active_members)
if ((members > 0)); then
    die "group $group still has $members active member(s); stop its consumers first (Kafka resets only an inactive group)"
fi
consumer_groups --reset-offsets --group "$group" "${topics[@]}" "${target[@]}" --execute
log "group $group reset; its consumer handles the records from there when it (re)starts"
