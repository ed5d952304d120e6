#!/usr/bin/env bash
# setup/shutdown.sh: stops what setup/startup.sh started; keeps the data. Harmless when
# nothing runs.
#
#   setup/shutdown.sh            stop the native processes, and the compose stack when a Docker
#                                engine answers
#   setup/shutdown.sh --purge    also delete the data (native runtime dir / compose volumes)
#   setup/shutdown.sh --native   only the native processes
#   setup/shutdown.sh --docker   only the compose stack
#
# Environment: PLATFORM_RUNTIME_DIR (default .runtime/platform), PLATFORM_MODE.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup/lib.sh
source "$repo/setup/lib.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

flag="" purge=false
for arg in "$@"; do
    case $arg in
    --docker | --native) flag=$arg ;;
    --purge) purge=true ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown argument: $arg" ;;
    esac
done

stop_native() {
    local runtime
    runtime=$(abspath "${PLATFORM_RUNTIME_DIR:-$repo/.runtime/platform}")
    if [[ ! -d $runtime ]]; then
        log "native: nothing to stop ($runtime does not exist)"
        return 0
    fi
    case $runtime in
    / | "$HOME" | "$repo" | "$(dirname "$repo")") die "refusing to use $runtime as PLATFORM_RUNTIME_DIR" ;;
    esac
    log "== native: stopping the platform in $runtime"
    # Services first (they drain and commit on SIGTERM; whatever startup started has a pid
    # file), then the mail catcher, MongoDB, the broker, and the database last.
    local pidfile infra=" maildev.pid secantusd.pid "
    for pidfile in "$runtime"/pids/*.pid; do
        [[ -e $pidfile && $infra != *" ${pidfile##*/} "* && ${pidfile##*/} != kafka-* ]] || continue
        stop_pidfile "$pidfile" 30
    done
    stop_pidfile "$runtime/pids/maildev.pid" 20
    stop_pidfile "$runtime/pids/secantusd.pid" 30
    stop_kafka "$runtime/pids"
    if [[ -f $runtime/pg/data/PG_VERSION ]]; then stop_postgres "$runtime/pg/data"; fi
    if $purge; then
        log "purging $runtime"
        rm -rf "$runtime"
    else
        log "data kept in $runtime (use --purge to delete it)"
    fi
}

stop_docker() {
    if ! docker_available; then
        log "docker: no Docker engine answers; nothing to stop"
        return 0
    fi
    # Compose interpolates the whole file, so its required secrets must be set even for `down`,
    # which uses none of them: placeholders where the environment has none.
    export JWT_SECRET=${JWT_SECRET:-unused-by-down} ADMIN_PASSWORD=${ADMIN_PASSWORD:-unused-by-down} \
        POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-unused-by-down}
    if $purge; then
        log "== docker: docker compose -f docker-compose.kafka.yml down -v"
        compose "$repo" down -v --remove-orphans
    else
        log "== docker: docker compose -f docker-compose.kafka.yml down (volumes kept)"
        compose "$repo" down --remove-orphans
    fi
}

case $flag in
--native) stop_native ;;
--docker) stop_docker ;;
*)
    # Stop whatever runs: the native processes recorded in the runtime dir, and the compose
    # stack when docker mode applies.
    stop_native
    if [[ $(platform_mode "") == docker ]]; then stop_docker; fi
    ;;
esac
log "done"
