#!/usr/bin/env bash
# Watch a topic, one event value per line, with kafka-console-consumer's flags:
#   scripts/console-consumer.sh --bootstrap-server 127.0.0.1:9092 --topic customers \
#       --from-beginning [--group G] [--max-messages N] [--timeout-ms MS] [--property print.key=true]
# Uses Apache Kafka's own kafka-console-consumer when one is installed (or the Kafka container
# of docker mode is up), otherwise the project's rdkafka-based console-consumer binary.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

for real in kafka-console-consumer kafka-console-consumer.sh; do
  if command -v "$real" >/dev/null 2>&1; then
    exec "$real" "$@"
  fi
done

compose="$repo/docker-compose.kafka.yml"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 \
  && [ -n "$(docker compose -f "$compose" ps -q kafka 2>/dev/null)" ]; then
  # Inside the container the broker is kafka:9092, whatever the host-side address was.
  args=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--bootstrap-server" ]; then args+=("$1" "kafka:9092"); shift 2; else args+=("$1"); shift; fi
  done
  exec docker compose -f "$compose" exec -T kafka /opt/kafka/bin/kafka-console-consumer.sh "${args[@]}"
fi

profile="${CONSOLE_CONSUMER_PROFILE:-release}"
bin="$repo/target/$profile/console-consumer"
if [ ! -x "$bin" ]; then
  echo "Building the console consumer (first use only)..." >&2
  flag=(); [ "$profile" = "release" ] && flag=(--release)
  (cd "$repo" && cargo build "${flag[@]}" -p console-consumer >&2)
fi
exec "$bin" "$@"
