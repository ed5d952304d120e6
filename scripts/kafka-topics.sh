#!/usr/bin/env bash
# scripts/kafka-topics.sh: Apache Kafka's own kafka-topics (org.apache.kafka.tools.TopicCommand, the class behind the
# distribution's bin/kafka-topics.sh), from the Maven install setup/lib.sh keeps in
# ~/.cache/cdc-platform (installed on first use). Every flag is Kafka's, unchanged.
# List, describe and create topics, e.g. --bootstrap-server 127.0.0.1:9092 --describe --topic customers
set -euo pipefail
# shellcheck source=setup/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/setup/lib.sh"
kafka_class org.apache.kafka.tools.TopicCommand "$@"
