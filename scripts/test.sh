#!/usr/bin/env bash
# scripts/test.sh: THE test command. Starts a throw-away PostgreSQL, Apache Kafka (KRaft),
# SecantusDB (MongoDB API) and maildev (SMTP mail catcher) on their own ports and data
# directory, runs `cargo test --workspace --all-targets --no-fail-fast` against them (one
# failing test binary does not hide the others) and stops them again, whatever happens. Extra
# arguments go to cargo test; with -p/--package only those packages are tested, e.g.
#
#   scripts/test.sh -p outbox-relay -- --nocapture
#
# Environment: TEST_RUNTIME_DIR (default .runtime/test, wiped at start), TEST_PG_PORT (25432),
# KAFKA_BROKERS (1; 3 runs every test against a three-node cluster on TEST_KAFKA_PORT and the
# two ports above it), TEST_KAFKA_PORT (29092; its controllers on TEST_KAFKA_CONTROLLER_PORT,
# 29192 and up), TEST_MONGO_PORT (28017), TEST_SMTP_PORT (21025), TEST_MAIL_WEB_PORT
# (21080); the defaults lie outside Linux's ephemeral port range (32768-60999), so an outgoing
# connection never holds them. It never touches a running platform (setup/startup.sh).
#
# The tests get: TEST_DATABASE_URL (admin URL; tests create their own databases),
# TEST_KAFKA_BOOTSTRAP, TEST_MONGODB_URI (mongodb://127.0.0.1:PORT/?directConnection=true),
# TEST_SMTP_PORT and TEST_MAIL_API (maildev's HTTP API, http://127.0.0.1:PORT), KAFKA_LIBS (the
# Kafka jars, for tests that run private clusters), SECANTUSD_BIN and MAILDEV_BIN (to start
# servers of their own), SCHEMATHESIS_BIN (the OpenAPI fuzzer), CHROMIUM_BIN and
# PLAYWRIGHT_NODE_PATH (the browser test; empty when they could not be installed) and
# TEST_RUNTIME_DIR.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup/lib.sh
source "$repo/setup/lib.sh"

runtime=$(abspath "${TEST_RUNTIME_DIR:-$repo/.runtime/test}")
pg_port=${TEST_PG_PORT:-25432}
kafka_port=${TEST_KAFKA_PORT:-29092}
kafka_controller_port=${TEST_KAFKA_CONTROLLER_PORT:-29192}
kafka_brokers=${KAFKA_BROKERS:-1}
mongo_port=${TEST_MONGO_PORT:-28017}
smtp_port=${TEST_SMTP_PORT:-21025}
mail_web_port=${TEST_MAIL_WEB_PORT:-21080}
pg_data=$runtime/pg/data
mongo_pidfile=$runtime/pids/secantusd.pid
maildev_pidfile=$runtime/pids/maildev.pid

case $runtime in
/ | "$HOME" | "$repo" | "$(dirname "$repo")") die "refusing to use $runtime as TEST_RUNTIME_DIR (it is wiped)" ;;
esac

# Stops what this script started (also what a killed earlier run left in the same directory).
stop_test_infra() {
    stop_pidfile "$maildev_pidfile" 20
    stop_pidfile "$mongo_pidfile" 20
    stop_kafka "$runtime/pids"
    if [[ -f $pg_data/PG_VERSION ]]; then stop_postgres "$pg_data"; fi
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    log "cleaning up test infrastructure"
    stop_test_infra || warn "cleanup failed; check with: ps aux | grep $runtime"
    if ((rc != 0)); then log "logs kept in $runtime/logs"; fi
    exit "$rc"
}

log "== tools"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup) first"
ensure_command curl
ensure_postgres_binaries
ensure_kafka
ensure_secantus
log "== docker-compose.kafka.yml (scripts/check-compose.py: published ports, secrets, Kafka version)"
venv_bin=$(dirname "$SECANTUSD_BIN")
if ! "$venv_bin/python" -c 'import yaml' 2>/dev/null; then
    log "installing PyYAML into the project venv for the compose check"
    "$venv_bin/pip" install --quiet --disable-pip-version-check pyyaml >&2 || die "pip install pyyaml failed"
fi
"$venv_bin/python" "$repo/scripts/check-compose.py" "$KAFKA_VERSION" >&2
ensure_maildev
ensure_schemathesis
# Chromium and playwright-core for the gateway's browser test. When they cannot be installed,
# the run goes on and that one test fails, saying what is missing.
if (ensure_chromium && ensure_playwright); then
    ensure_chromium
    ensure_playwright
else
    warn "Chromium or playwright-core could not be installed: the gateway's browser test will fail"
fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "== runtime dir $runtime (wiped)"
stop_test_infra
rm -rf "$runtime"
mkdir -p "$runtime/logs" "$runtime/pids" "$runtime/kafka"

log "== PostgreSQL on 127.0.0.1:$pg_port"
# A disposable cluster: durability settings off for speed, room for many test pools.
start_postgres "$pg_data" "$pg_port" "$runtime/logs/postgres.log" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400

bootstrap=$(kafka_bootstrap "$kafka_port" "$kafka_brokers")
log "== Apache Kafka $KAFKA_VERSION, $kafka_brokers node(s): $bootstrap"
start_kafka "$runtime/kafka" "$kafka_brokers" "$kafka_port" "$kafka_controller_port" "$runtime/logs" "$runtime/pids"

log "== SecantusDB (MongoDB API) on 127.0.0.1:$mongo_port"
start_mongo "$runtime/mongo" "$mongo_port" "$runtime/logs/secantusd.log" "$mongo_pidfile"

log "== maildev (SMTP mail catcher) on 127.0.0.1:$smtp_port, HTTP API on 127.0.0.1:$mail_web_port"
start_maildev "$smtp_port" "$mail_web_port" "$runtime/logs/maildev.log" "$maildev_pidfile" "$runtime/mail"

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export TEST_KAFKA_BOOTSTRAP=$bootstrap
export TEST_MONGODB_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true"
export TEST_SMTP_PORT=$smtp_port
export TEST_MAIL_API="http://127.0.0.1:$mail_web_port"
export KAFKA_LIBS SECANTUSD_BIN MAILDEV_BIN SCHEMATHESIS_BIN
export CHROMIUM_BIN=${CHROMIUM_BIN:-} PLAYWRIGHT_NODE_PATH=${PLAYWRIGHT_NODE_PATH:-}
export TEST_RUNTIME_DIR=$runtime
for var in TEST_DATABASE_URL TEST_KAFKA_BOOTSTRAP TEST_MONGODB_URI TEST_SMTP_PORT TEST_MAIL_API \
    KAFKA_LIBS SECANTUSD_BIN MAILDEV_BIN SCHEMATHESIS_BIN CHROMIUM_BIN PLAYWRIGHT_NODE_PATH TEST_RUNTIME_DIR; do
    log "$var=${!var}"
done

# The whole workspace, unless the arguments (before a `--`) choose packages: cargo ignores -p
# when --workspace is given.
scope=(--workspace)
for arg in "$@"; do
    case $arg in
    --) break ;;
    -p | -p* | --package | --package=* | --workspace | --all) scope=() && break ;;
    esac
done

# Every target, unless the arguments (before a `--`) pick some (`--test conformance`, `--lib`).
targets=(--all-targets)
for arg in "$@"; do
    case $arg in
    --) break ;;
    --test | --test=* | --lib | --bin | --bin=* | --bins | --tests | --doc | --examples) targets=() && break ;;
    esac
done

cmd=(cargo test "${scope[@]}" "${targets[@]}" --no-fail-fast "$@")
log "== ${cmd[*]}"
cd "$repo"
rc=0
"${cmd[@]}" || rc=$?
if ((rc == 0)); then log "tests passed"; else log "tests failed (exit $rc)"; fi
exit "$rc"
