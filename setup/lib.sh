# shellcheck shell=bash
# setup/lib.sh: helpers shared by setup/startup.sh, setup/shutdown.sh and scripts/test.sh.
#
# Source it; it only defines functions (no side effects at source time). The callers run with
# `set -euo pipefail`, and so do these functions. The functions live in setup/lib/, one file per
# topic; this file sources them all, so it stays the one file to source.
#
# What is here:
#   setup/lib/common.sh
#     log / warn / die                      progress and errors, on stderr
#     apt_install, ensure_command           Debian packages, installed when missing
#     random_token, kept_secret, abspath    secrets and paths
#     pid_running, pidfile_pid, port_open, ensure_port_free, wait_port_released
#                                           processes and ports
#     wait_for, wait_for_port, wait_for_http   readiness polls with a deadline (never fixed sleeps)
#     start_service / stop_pidfile          background processes tracked by pid files
#   setup/lib/postgres.sh
#     ensure_postgres_binaries, start_postgres, stop_postgres, create_database, pg_url_for_db,
#     pg_require_password                   password (scram) authentication for native mode
#   setup/lib/kafka.sh
#     ensure_kafka, kafka_class             Apache Kafka from Maven Central; run one of its classes
#     ensure_kafka_connect                  Kafka Connect with Debezium (Maven Central; benchmark only)
#     maven_libs                            a pom's dependencies copied into a cached libs dir
#     kafka_prepare, start_kafka, stop_kafka  a KRaft cluster of 1 or 3 nodes (native mode, tests)
#     kafka_create_topics                   topics through Kafka's own admin tool
#     kafka_topic_partitions                KAFKA_TOPIC_PARTITIONS (default 1), checked
#   setup/lib/python.sh
#     ensure_secantus, start_mongo          SecantusDB, the MongoDB-protocol server (pip, project venv)
#     venv_install, ensure_schemathesis     other Python tools in the project venv (the API fuzzer)
#   setup/lib/maildev.sh
#     ensure_maildev, start_maildev         maildev, the SMTP mail catcher with an HTTP API (npm)
#   setup/lib/browser.sh
#     ensure_chromium, ensure_playwright    Debian's Chromium and playwright-core, for browser tests
#   setup/lib/docker.sh
#     docker_available, platform_mode       docker or native
#     compose                               docker compose on docker-compose.kafka.yml

# shellcheck source=setup/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=setup/lib/postgres.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"
# shellcheck source=setup/lib/kafka.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/kafka.sh"
# shellcheck source=setup/lib/python.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/python.sh"
# shellcheck source=setup/lib/maildev.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/maildev.sh"
# shellcheck source=setup/lib/browser.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/browser.sh"
# shellcheck source=setup/lib/docker.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/docker.sh"
