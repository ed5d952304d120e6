# shellcheck shell=bash
# setup/lib/docker.sh: docker or native mode: whether a Docker engine answers
# (docker_available), which mode to run in (platform_mode), and docker compose on
# docker-compose.kafka.yml (compose).
#
# Sourced by setup/lib.sh (source that, not this file); it only defines functions.

# --- modes ------------------------------------------------------------------------------------

# docker_available: true when a Docker engine answers.
docker_available() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# platform_mode [FLAG]: prints `docker` or `native`. FLAG is --docker / --native / empty;
# without a flag, PLATFORM_MODE decides, else docker when an engine answers.
platform_mode() {
    case ${1:-} in
    --docker) echo docker ;;
    --native) echo native ;;
    "")
        case ${PLATFORM_MODE:-} in
        docker | native) echo "$PLATFORM_MODE" ;;
        "") if docker_available; then echo docker; else echo native; fi ;;
        *) die "PLATFORM_MODE must be docker or native (got: $PLATFORM_MODE)" ;;
        esac
        ;;
    *) die "unknown mode flag: $1" ;;
    esac
}

# compose CMD...: `docker compose -f docker-compose.kafka.yml CMD...` from the repo root ($1).
compose() {
    local repo=$1
    shift
    docker compose version >/dev/null 2>&1 ||
        die "the docker compose plugin is missing (\`docker compose version\` fails); install docker-compose-plugin"
    (cd "$repo" && docker compose -f docker-compose.kafka.yml "$@")
}
