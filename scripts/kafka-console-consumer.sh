#!/usr/bin/env bash
# scripts/kafka-console-consumer.sh: Apache Kafka's own kafka-console-consumer (org.apache.kafka.tools.consumer.ConsoleConsumer, the class behind the
# distribution's bin/kafka-console-consumer.sh), from the Maven install setup/lib.sh keeps in
# ~/.cache/cdc-platform (installed on first use). Every flag is Kafka's, unchanged.
# Read a topic, e.g. --bootstrap-server 127.0.0.1:9092 --topic customers --from-beginning --formatter-property print.key=true
set -euo pipefail
# shellcheck source=setup/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/setup/lib.sh"
kafka_class org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
