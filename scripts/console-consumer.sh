#!/usr/bin/env bash
# Watch a topic, one event value per line, with kafka-console-consumer's flags:
#   scripts/console-consumer.sh --bootstrap-server 127.0.0.1:9092 --topic customers \
#       --from-beginning [--group G] [--max-messages N] [--timeout-ms MS] [--property print.key=true]
# JSON topics go through Apache Kafka's own console consumer (scripts/kafka-console-consumer.sh,
# or the Kafka container's when docker mode is up). Avro topics, asked for with
# `--property schema.registry.url=http://127.0.0.1:8081`, go through the project's
# console-consumer binary, which decodes Confluent-framed Avro with the registry's schema.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

avro=false
for arg in "$@"; do
  case $arg in schema.registry.url=*) avro=true ;; esac
done

if ! $avro; then
  compose="$repo/docker-compose.kafka.yml"
  # The compose file requires its secrets to parse; `ps` and `exec` need none of their values.
  secrets=(--env-file "$repo/.runtime/docker/secrets.env")
  [ -f "$repo/.runtime/docker/secrets.env" ] || secrets=()
  export JWT_SECRET="${JWT_SECRET:-unused}" ADMIN_PASSWORD="${ADMIN_PASSWORD:-unused}" \
    POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-unused}"
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 \
    && [ -n "$(docker compose "${secrets[@]}" -f "$compose" ps -q kafka 2>/dev/null)" ]; then
    # Inside the container the broker is kafka:9092, whatever the host-side address was.
    args=()
    while [ $# -gt 0 ]; do
      if [ "$1" = "--bootstrap-server" ]; then args+=("$1" "kafka:9092"); shift 2; else args+=("$1"); shift; fi
    done
    exec docker compose "${secrets[@]}" -f "$compose" exec -T kafka /opt/kafka/bin/kafka-console-consumer.sh "${args[@]}"
  fi
  exec "$repo/scripts/kafka-console-consumer.sh" "$@"
fi

profile="${CONSOLE_CONSUMER_PROFILE:-release}"
bin="$repo/target/$profile/console-consumer"
if [ ! -x "$bin" ]; then
  echo "Building the console consumer (first use only)..." >&2
  flag=(); [ "$profile" = "release" ] && flag=(--release)
  (cd "$repo" && cargo build "${flag[@]}" -p console-consumer >&2)
fi
exec "$bin" "$@"
