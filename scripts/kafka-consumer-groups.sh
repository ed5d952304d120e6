#!/usr/bin/env bash
# scripts/kafka-consumer-groups.sh: Apache Kafka's own kafka-consumer-groups (org.apache.kafka.tools.consumer.group.ConsumerGroupCommand, the class behind the
# distribution's bin/kafka-consumer-groups.sh), from the Maven install setup/lib.sh keeps in
# ~/.cache/cdc-platform (installed on first use). Every flag is Kafka's, unchanged.
# Consumer groups and their lag, e.g. --bootstrap-server 127.0.0.1:9092 --describe --group replicator
set -euo pipefail
# shellcheck source=setup/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/setup/lib.sh"
kafka_class org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@"
