#!/usr/bin/env bash
# setup/startup.sh: starts the platform and prints every URL. Safe to rerun: what already runs
# is left alone.
#
#   setup/startup.sh            docker mode when a Docker engine answers, else native
#   setup/startup.sh --native   PostgreSQL + Apache Kafka + SecantusDB + maildev + the services as
#                               local processes
#   setup/startup.sh --docker   docker compose -f docker-compose.kafka.yml (real Apache Kafka, ...);
#                               JWT_SECRET, ADMIN_PASSWORD and POSTGRES_PASSWORD from the
#                               environment, else generated once and kept in
#                               .runtime/docker/secrets.env; only the gateway (8080), Mailpit's
#                               UI (8025), Kafka (9092) and the schema registry (8081) are
#                               published, on 127.0.0.1
#
# Native mode environment (all optional):
#   PLATFORM_MODE          docker | native (instead of a flag)
#   PLATFORM_RUNTIME_DIR   data, logs and pid files (default .runtime/platform)
#   DATABASE_URL           an existing PostgreSQL server to use; else a project-local cluster
#   PLATFORM_PG_PORT       port of the project-local cluster (default 5433)
#   KAFKA_BROKERS          Kafka nodes: 1 (default) or 3 (a KRaft quorum of three; topics with
#                          replication factor 3 and min.insync.replicas=2)
#   KAFKA_PORT             the first Kafka node's port (default 9092; with three nodes also
#                          9093 and 9094)
#   KAFKA_CONTROLLER_PORT  the first node's controller port (default 9192)
#   KAFKA_TOPIC_PARTITIONS partitions of every topic (default 1: one total order per topic;
#                          more: per-key order, and room for several consumer instances)
#   REPLICATOR_INSTANCES, NOTIFIER_INSTANCES, ORDER_PROCESSOR_INSTANCES
#                          instances of each consumer, one consumer group each (default 1);
#                          instance n > 1 is named <consumer>-n and serves health and metrics
#                          on its first instance's port + 100 * (n - 1) (8106, 8206, ... for
#                          the replicator)
#   KAFKA_HEAP_OPTS        each Kafka node's heap (default -Xms256m -Xmx512m)
#   MONGO_PORT             SecantusDB's port (MongoDB API, default 27017)
#   SMTP_PORT              maildev's SMTP port (default 1025)
#   MAIL_WEB_PORT          maildev's web UI and API port (default 1080)
#   MONGODB_DATABASE       the replicator's database (default replica)
#   CUSTOMER_API_ADDR      default 127.0.0.1:8001
#   MOVIE_API_ADDR         default 127.0.0.1:8002
#   ORDER_API_ADDR         default 127.0.0.1:8003
#   ORDER_PROCESSOR_ADDR   default 127.0.0.1:8004
#   RELAY_ADDR             default 127.0.0.1:8005 (the relays of the other databases take
#                          8015, 8025 and 8035)
#   REPLICATOR_ADDR        default 127.0.0.1:8006
#   NOTIFIER_ADDR          default 127.0.0.1:8007
#   SCHEMA_REGISTRY_ADDR   default 127.0.0.1:8081
#   EVENT_FORMAT           json (default) or avro: the value format the relays publish
#                          (consumers read both, message by message)
#   GATEWAY_ADDR           default 127.0.0.1:8080 (the front door: APIs, login, console)
#   JWT_SECRET             the token secret shared by the gateway and the APIs (default: one
#                          generated once and kept in <runtime>/secrets/jwt_secret)
#   ADMIN_USER, ADMIN_PASSWORD  the first login (default admin and a generated password,
#                          printed once, at the first start)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup/lib.sh
source "$repo/setup/lib.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

flag=""
for arg in "$@"; do
    case $arg in
    --docker | --native) flag=$arg ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown argument: $arg" ;;
    esac
done
mode=$(platform_mode "$flag")

# docker_secrets FILE: sets and exports JWT_SECRET, ADMIN_PASSWORD and POSTGRES_PASSWORD, which
# the compose file requires. The environment wins; else the value kept in FILE; else a random
# one, generated now and appended to FILE (KEY=value lines, readable by `docker compose
# --env-file`). FILE and its directory are private to the user: they hold passwords.
docker_secrets() {
    local file=$1 dir line key value
    dir=$(dirname "$file")
    (umask 077 && mkdir -p "$dir" && touch "$file")
    chmod 700 "$dir"
    chmod 600 "$file"
    while IFS= read -r line || [[ -n $line ]]; do
        key=${line%%=*} value=${line#*=}
        case $key in
        JWT_SECRET | ADMIN_PASSWORD | POSTGRES_PASSWORD)
            if [[ -z ${!key:-} && -n $value ]]; then printf -v "$key" '%s' "$value"; fi
            ;;
        esac
    done <"$file"
    for key in JWT_SECRET ADMIN_PASSWORD POSTGRES_PASSWORD; do
        [[ -z ${!key:-} ]] || continue
        case $key in
        JWT_SECRET) value=$(random_token 32) ;; # as native mode makes it
        *) value=$(random_token 18) ;;
        esac
        log "generating $key (kept in $file)"
        printf '%s=%s\n' "$key" "$value" >>"$file"
        printf -v "$key" '%s' "$value"
    done
    export JWT_SECRET ADMIN_PASSWORD POSTGRES_PASSWORD
}

start_docker() {
    docker_available || die "docker mode needs a running Docker engine (\`docker info\` fails); use --native"
    local secrets=$repo/.runtime/docker/secrets.env admin_from
    # Before docker_secrets fills it in: where the admin password comes from, for the summary.
    if [[ -n ${ADMIN_PASSWORD:-} ]]; then
        admin_from="the ADMIN_PASSWORD set in your environment"
    else
        admin_from="ADMIN_PASSWORD in .runtime/docker/secrets.env"
    fi
    log "== docker mode: secrets from the environment or $secrets"
    docker_secrets "$secrets"

    # POSTGRES_PASSWORD only applies when the volume is first initialised: a volume from an
    # earlier start (or an earlier password) would refuse the services. So PostgreSQL starts
    # first and its postgres role gets the current password, over the container's local socket
    # (trusted by the image, no password needed); stdin keeps it out of the process list.
    log "== docker mode: PostgreSQL first, to set the postgres role's password"
    compose "$repo" up -d --wait postgres
    printf "ALTER ROLE postgres PASSWORD '%s';\n" "${POSTGRES_PASSWORD//"'"/"''"}" |
        compose "$repo" exec -T postgres psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres ||
        die "setting the postgres role's password failed"

    log "== docker mode: docker compose -f docker-compose.kafka.yml up -d --build"
    compose "$repo" up -d --build
    ensure_command curl
    # Only the gateway is published: its own readiness, then /health, which needs every API
    # behind it. The other services' health: `docker compose ps` (their compose health checks).
    wait_for_http "http://127.0.0.1:8080/health/ready" 300
    wait_for_http "http://127.0.0.1:8080/health" 300
    local dc="docker compose -f docker-compose.kafka.yml --env-file .runtime/docker/secrets.env"
    cat <<EOS

Platform is up (docker mode, Apache Kafka 4.4.0 in KRaft mode).
Published on 127.0.0.1 only:
  Gateway (console)   http://127.0.0.1:8080/          (docs: /docs, health: /health)
  APIs                http://127.0.0.1:8080/api/v1/customers, /api/v1/movies, /api/v1/casts,
                      /api/v1/orders (through the gateway; Swagger UIs linked from /docs)
  Login               ${ADMIN_USER:-admin} / $admin_from
                      (used when the gateway created its first admin; an admin made earlier
                      keeps its password)
  Kafka bootstrap     127.0.0.1:9092 (inside the compose network: kafka:9092)
  Schema registry     http://127.0.0.1:8081/subjects
  Mailpit (mail UI)   http://127.0.0.1:8025 (API http://127.0.0.1:8025/api/v1/messages)
The APIs' own ports, the relays, replicator, notifier, order-processor, PostgreSQL, MongoDB and
SMTP are on the compose network only (compose reads the secrets, so pass the env file):
  Status and health   $dc ps
  Logs                $dc logs -f
  PostgreSQL shell    $dc exec postgres psql -U postgres customers

Watch the customer events:
  $dc exec kafka /opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server kafka:9092 --topic customers --from-beginning
  (or from the host: scripts/kafka-console-consumer.sh --bootstrap-server 127.0.0.1:9092 --topic customers --from-beginning)

Stop with: setup/shutdown.sh --docker   (add --purge to delete the volumes)
EOS
}

# warn_if_stale NAME PIDFILE: a rerun keeps running services; say so when the binary they run
# was rebuilt after they started.
warn_if_stale() {
    local name=$1 pid
    pid=$(pidfile_pid "$2") || return 0
    if [[ $repo/target/release/$name -nt /proc/$pid ]]; then
        warn "$name (pid $pid) runs an older build; restart to pick up the new one: setup/shutdown.sh --native && setup/startup.sh --native"
    fi
}

# launch NAME BINARY ADDR [VAR=VALUE...]: starts target/release/BINARY as NAME in the
# background with these settings (pid and log files named after NAME; a rerun leaves a running
# one alone) and waits until its /health/ready answers.
launch() {
    local name=$1 binary=$2 addr=$3 pid
    shift 3
    warn_if_stale "$binary" "$pids/$name.pid"
    start_service "$name" "$logs/$name.log" "$pids/$name.pid" -- \
        env "$@" KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS" LOG_FORMAT=json \
        "$repo/target/release/$binary"
    pid=$(pidfile_pid "$pids/$name.pid") || true
    wait_for_http "http://$addr/health/ready" 60 "$logs/$name.log" "$pid"
}

# launch_instances NAME COUNT ADDR ADDR_VAR [VAR=VALUE...]: COUNT instances of consumer NAME
# in one consumer group (they share the topics' partitions), instance 1 named NAME on ADDR,
# instance n named NAME-n on ADDR's port + 100 * (n - 1), each with its own pid file and log.
launch_instances() {
    local name=$1 count=$2 addr=$3 addr_var=$4 i instance instance_addr
    shift 4
    [[ $count =~ ^[1-9]$ ]] || die "the instance count of $name must be 1 to 9 (got: $count)"
    if ((count > ${KAFKA_TOPIC_PARTITIONS:-1})); then
        warn "$count instances of $name share ${KAFKA_TOPIC_PARTITIONS:-1} partition(s) per topic: some will idle as standbys (set KAFKA_TOPIC_PARTITIONS)"
    fi
    for ((i = 1; i <= count; i++)); do
        instance=$name instance_addr=$addr
        if ((i > 1)); then
            instance=$name-$i instance_addr=${addr%:*}:$((${addr##*:} + 100 * (i - 1)))
        fi
        launch "$instance" "$name" "$instance_addr" "$addr_var=$instance_addr" "$@"
    done
}

start_native() {
    local runtime pg_port kafka_port kafka_controller_port kafka_brokers mongo_port smtp_port mail_web_port mongo_db
    local api_addr movie_addr order_addr processor_addr relay_addr replicator_addr notifier_addr
    local registry_addr gateway_addr logs pids
    runtime=$(abspath "${PLATFORM_RUNTIME_DIR:-$repo/.runtime/platform}")
    pg_port=${PLATFORM_PG_PORT:-5433}
    kafka_port=${KAFKA_PORT:-9092}
    kafka_controller_port=${KAFKA_CONTROLLER_PORT:-9192}
    kafka_brokers=${KAFKA_BROKERS:-1}
    mongo_port=${MONGO_PORT:-27017}
    smtp_port=${SMTP_PORT:-1025}
    mail_web_port=${MAIL_WEB_PORT:-1080}
    mongo_db=${MONGODB_DATABASE:-replica}
    api_addr=${CUSTOMER_API_ADDR:-127.0.0.1:8001}
    movie_addr=${MOVIE_API_ADDR:-127.0.0.1:8002}
    order_addr=${ORDER_API_ADDR:-127.0.0.1:8003}
    processor_addr=${ORDER_PROCESSOR_ADDR:-127.0.0.1:8004}
    registry_addr=${SCHEMA_REGISTRY_ADDR:-127.0.0.1:8081}
    gateway_addr=${GATEWAY_ADDR:-127.0.0.1:8080}
    relay_addr=${RELAY_ADDR:-127.0.0.1:8005}
    local relay_host=${relay_addr%:*} relay_port=${relay_addr##*:}
    replicator_addr=${REPLICATOR_ADDR:-127.0.0.1:8006}
    notifier_addr=${NOTIFIER_ADDR:-127.0.0.1:8007}
    logs=$runtime/logs
    pids=$runtime/pids
    log "== native mode, runtime dir $runtime"
    mkdir -p "$runtime/pg" "$runtime/kafka" "$runtime/mongo" "$runtime/mail" "$logs" "$pids"

    log "== tools"
    command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup) first"
    ensure_command curl
    ensure_kafka
    ensure_secantus
    ensure_maildev

    log "== PostgreSQL"
    local server_url
    if [[ -n ${DATABASE_URL:-} ]] && postgres_answers "$DATABASE_URL"; then
        server_url=$DATABASE_URL
        log "using the existing server from DATABASE_URL"
    else
        if [[ -n ${DATABASE_URL:-} ]]; then
            warn "DATABASE_URL is set but does not answer; using the project-local cluster instead"
        fi
        start_postgres "$runtime/pg/data" "$pg_port" "$logs/postgres.log"
        # Password (scram) authentication, not trust: the secret is kept 0600 beside the JWT's.
        local pg_password
        pg_password=$(pg_require_password "$runtime/pg/data" "$pg_port" "$runtime/secrets/postgres_password")
        server_url="postgres://postgres:$pg_password@127.0.0.1:$pg_port/postgres"
    fi
    # One database per service that owns tables, as in a real deployment.
    local db
    for db in customers movies orders order_processor notifier schema_registry gateway; do
        create_database "$server_url" "$db"
    done
    local customers_url movies_url orders_url processor_url notifier_url registry_url gateway_url
    customers_url=$(pg_url_for_db "$server_url" customers)
    movies_url=$(pg_url_for_db "$server_url" movies)
    orders_url=$(pg_url_for_db "$server_url" orders)
    processor_url=$(pg_url_for_db "$server_url" order_processor)
    notifier_url=$(pg_url_for_db "$server_url" notifier)
    registry_url=$(pg_url_for_db "$server_url" schema_registry)
    gateway_url=$(pg_url_for_db "$server_url" gateway)

    # The APIs check the tokens the gateway signs: one secret for all, made once and kept.
    if [[ -z ${JWT_SECRET:-} ]]; then
        JWT_SECRET=$(kept_secret "$runtime/secrets/jwt_secret" 32 "the JWT secret")
    fi
    export JWT_SECRET
    # The first admin's password: generated once and kept 0600 beside the other secrets, never
    # written to a log (the gateway prints a password only when it generates one itself).
    local admin_password_file=$runtime/secrets/admin_password
    if [[ -z ${ADMIN_PASSWORD:-} ]]; then
        ADMIN_PASSWORD=$(kept_secret "$admin_password_file" 18 "the first admin's password")
    else
        admin_password_file=""
    fi

    KAFKA_BOOTSTRAP_SERVERS=$(kafka_bootstrap "$kafka_port" "$kafka_brokers")
    # Every service creates the topics it misses with as many partitions as startup does.
    KAFKA_TOPIC_PARTITIONS=$(kafka_topic_partitions)
    export KAFKA_BOOTSTRAP_SERVERS KAFKA_TOPIC_PARTITIONS
    log "== Apache Kafka $KAFKA_VERSION (KRaft, $kafka_brokers node(s)) on $KAFKA_BOOTSTRAP_SERVERS, $KAFKA_TOPIC_PARTITIONS partition(s) per topic"
    start_kafka "$runtime/kafka" "$kafka_brokers" "$kafka_port" "$kafka_controller_port" "$logs" "$pids"
    kafka_create_topics "$KAFKA_BOOTSTRAP_SERVERS" "$kafka_brokers" customers movies casts orders order-executions

    log "== SecantusDB (MongoDB API) on 127.0.0.1:$mongo_port"
    start_mongo "$runtime/mongo" "$mongo_port" "$logs/secantusd.log" "$pids/secantusd.pid"
    local mongo_uri="mongodb://127.0.0.1:$mongo_port/?directConnection=true"

    log "== maildev (SMTP mail catcher) on 127.0.0.1:$smtp_port, web on 127.0.0.1:$mail_web_port"
    start_maildev "$smtp_port" "$mail_web_port" "$logs/maildev.log" "$pids/maildev.pid" "$runtime/mail"

    log "== building the services (cargo build --release; the first build takes several minutes)"
    (cd "$repo" && cargo build --release -p customer-api -p movie-api -p order-api \
        -p order-processor -p outbox-relay -p console-consumer -p replicator -p notifier \
        -p schema-registry -p gateway) || die "cargo build failed"

    log "== services"
    export EVENT_FORMAT=${EVENT_FORMAT:-json} SCHEMA_REGISTRY_URL="http://$registry_addr"
    launch schema-registry schema-registry "$registry_addr" \
        SCHEMA_REGISTRY_ADDR="$registry_addr" SCHEMA_REGISTRY_DATABASE_URL="$registry_url"
    launch customer-api customer-api "$api_addr" \
        CUSTOMER_API_ADDR="$api_addr" CUSTOMER_DATABASE_URL="$customers_url"
    launch movie-api movie-api "$movie_addr" \
        MOVIE_API_ADDR="$movie_addr" MOVIE_DATABASE_URL="$movies_url"
    launch order-api order-api "$order_addr" \
        ORDER_API_ADDR="$order_addr" ORDER_DATABASE_URL="$orders_url"
    launch_instances order-processor "${ORDER_PROCESSOR_INSTANCES:-1}" "$processor_addr" ORDER_PROCESSOR_ADDR \
        ORDER_PROCESSOR_DATABASE_URL="$processor_url"
    # One relay per outbox (per database), like one Debezium connector per source database.
    launch outbox-relay outbox-relay "$relay_addr" \
        RELAY_ADDR="$relay_addr" RELAY_DATABASE_URL="$customers_url"
    launch outbox-relay-movies outbox-relay "$relay_host:$((relay_port + 10))" \
        RELAY_ADDR="$relay_host:$((relay_port + 10))" RELAY_DATABASE_URL="$movies_url"
    launch outbox-relay-orders outbox-relay "$relay_host:$((relay_port + 20))" \
        RELAY_ADDR="$relay_host:$((relay_port + 20))" RELAY_DATABASE_URL="$orders_url"
    launch outbox-relay-executions outbox-relay "$relay_host:$((relay_port + 30))" \
        RELAY_ADDR="$relay_host:$((relay_port + 30))" RELAY_DATABASE_URL="$processor_url"
    launch_instances replicator "${REPLICATOR_INSTANCES:-1}" "$replicator_addr" REPLICATOR_ADDR \
        MONGODB_URI="$mongo_uri" MONGODB_DATABASE="$mongo_db"
    launch_instances notifier "${NOTIFIER_INSTANCES:-1}" "$notifier_addr" NOTIFIER_ADDR \
        NOTIFIER_DATABASE_URL="$notifier_url" SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp_port"
    # On its first start the gateway creates the first admin; without ADMIN_PASSWORD it prints a
    # generated password once, to its log. Show that line to the user, this once.
    local gateway_log_lines=0 first_admin=""
    [[ -f $logs/gateway.log ]] && gateway_log_lines=$(wc -l <"$logs/gateway.log")
    launch gateway gateway "$gateway_addr" \
        GATEWAY_ADDR="$gateway_addr" GATEWAY_DATABASE_URL="$gateway_url" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
        CUSTOMER_API_URL="http://$api_addr" MOVIE_API_URL="http://$movie_addr" \
        ORDER_API_URL="http://$order_addr"
    if tail -n +"$((gateway_log_lines + 1))" "$logs/gateway.log" | grep -q "created the first admin user"; then
        first_admin="created the first admin user '${ADMIN_USER:-admin}' with password: $ADMIN_PASSWORD"
        [[ -z $admin_password_file ]] || first_admin+=" (kept in $admin_password_file)"
    fi

    # For other scripts and for people: what is running where.
    # The database URLs carry the PostgreSQL password: readable by this user only.
    (umask 077 && : >"$runtime/platform.env")
    cat >"$runtime/platform.env" <<EOF
CUSTOMER_DATABASE_URL=$customers_url
MOVIE_DATABASE_URL=$movies_url
ORDER_DATABASE_URL=$orders_url
ORDER_PROCESSOR_DATABASE_URL=$processor_url
RELAY_DATABASE_URL=$customers_url
NOTIFIER_DATABASE_URL=$notifier_url
SCHEMA_REGISTRY_DATABASE_URL=$registry_url
SCHEMA_REGISTRY_URL=http://$registry_addr
EVENT_FORMAT=$EVENT_FORMAT
GATEWAY_DATABASE_URL=$gateway_url
GATEWAY_URL=http://$gateway_addr
KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS
MONGODB_URI=$mongo_uri
MONGODB_DATABASE=$mongo_db
SMTP_HOST=127.0.0.1
SMTP_PORT=$smtp_port
MAIL_API_URL=http://127.0.0.1:$mail_web_port
CUSTOMER_API_URL=http://$api_addr
MOVIE_API_URL=http://$movie_addr
ORDER_API_URL=http://$order_addr
ORDER_PROCESSOR_URL=http://$processor_addr
RELAY_URL=http://$relay_addr
REPLICATOR_URL=http://$replicator_addr
NOTIFIER_URL=http://$notifier_addr
EOF

    cat <<EOF

Platform is up (native mode).
  Gateway (console)   http://$gateway_addr/          (docs: /docs, health: /health)
  Login               curl -X POST -u admin:PASSWORD http://$gateway_addr/api/v1/auth/login
  Customer API        http://$api_addr/api/v1/customers      (Swagger UI: /api/v1/customers/docs)
  Movie API           http://$movie_addr/api/v1/movies         (Swagger UI: /api/v1/movies/docs)
  Cast API            http://$movie_addr/api/v1/casts          (Swagger UI: /api/v1/casts/docs)
  Order API           http://$order_addr/api/v1/orders         (Swagger UI: /api/v1/orders/docs)
  Order generator     http://$order_addr/api/v1/orders/generator
  Order executions    http://$processor_addr/metrics/orders
  Schema registry     http://$registry_addr/subjects (events published as $EVENT_FORMAT)
  Relay metrics       http://$relay_addr/metrics (relays of movies, orders, executions: ports +10, +20, +30)
  Replicator metrics  http://$replicator_addr/metrics (${REPLICATOR_INSTANCES:-1} instance(s); more at ports +100, +200, ...)
  Notifier metrics    http://$notifier_addr/metrics (${NOTIFIER_INSTANCES:-1} instance(s); more at ports +100, +200, ...)
  Kafka bootstrap     $KAFKA_BOOTSTRAP_SERVERS (Apache Kafka $KAFKA_VERSION, $kafka_brokers node(s), $KAFKA_TOPIC_PARTITIONS partition(s) per topic)
  PostgreSQL          ${server_url/:${pg_password:-}@/:***@} (databases customers, movies, orders, order_processor,
                      notifier, schema_registry)
  MongoDB             $mongo_uri (database $mongo_db; SecantusDB)
  Mail inbox (UI)     http://127.0.0.1:$mail_web_port (SMTP 127.0.0.1:$smtp_port; maildev)
  Mail API            http://127.0.0.1:$mail_web_port/api/email
  Logs                $logs
  Settings            $runtime/platform.env

Watch the events (topics customers, movies, casts, orders, order-executions) with Kafka's tools:
  scripts/kafka-console-consumer.sh --bootstrap-server $KAFKA_BOOTSTRAP_SERVERS --topic customers --from-beginning --formatter-property print.key=true
  scripts/kafka-consumer-groups.sh --bootstrap-server $KAFKA_BOOTSTRAP_SERVERS --describe --all-groups   (lag)
  scripts/kafka-topics.sh --bootstrap-server $KAFKA_BOOTSTRAP_SERVERS --describe

Rebuild the MongoDB read model from offset 0 into a fresh database:
  MONGODB_URI='$mongo_uri' KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS scripts/resync-replica.sh

Stop with: setup/shutdown.sh   (add --purge to delete the data too)
EOF
    if [[ -n $first_admin ]]; then
        printf '\n  First login: %s\n  (shown this once; add users with scripts/create-user.sh)\n' "$first_admin"
    fi
}

case $mode in
docker) start_docker ;;
native) start_native ;;
esac
