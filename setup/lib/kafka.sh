# shellcheck shell=bash
# setup/lib/kafka.sh: Apache Kafka (KRaft) for native mode and the tests: the jars from Maven
# Central (ensure_java, ensure_kafka; Kafka Connect with Debezium for the benchmark:
# ensure_kafka_connect), running one of Kafka's classes (kafka_class), a cluster
# of 1 to 9 nodes (kafka_bootstrap, kafka_prepare, kafka_node_command, kafka_ready,
# start_kafka, stop_kafka) and topics (kafka_create_topics). Sets KAFKA_VERSION (default 4.4.0),
# DEBEZIUM_VERSION (3.6.1.Final) and KAFKA_CONNECT_VERSION (4.3.2) when they are not set.
#
# Sourced by setup/lib.sh (source that, not this file); it defines functions and the versions.

# --- Apache Kafka (KRaft, from Maven Central) -------------------------------------------------

# The Kafka version and where its jars are cached (outside the checkout, so --purge and a fresh
# clone keep them): KAFKA_HOME, default ${XDG_CACHE_HOME:-~/.cache}/cdc-platform/kafka-<version>.
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}

# ensure_java: a Java 17+ runtime (Debian's openjdk-17-jre-headless when there is none).
ensure_java() {
    command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
    command -v java >/dev/null 2>&1 || die "java still not found after installing openjdk-17-jre-headless"
}

# maven_libs HOME POM WHAT [MAVEN_PROPERTY...]: copies POM's runtime dependencies with Maven
# into HOME/libs, once (Maven's own cache is ~/.m2). A rerun downloads nothing: the marker
# libs/.complete is written last, and a lock lets one install run at a time (startup.sh,
# test.sh and the benchmark may run together).
maven_libs() {
    local home=$1 pom=$2 what=$3
    shift 3
    [[ -f $home/libs/.complete ]] && return 0
    ensure_command mvn maven
    mkdir -p "$home"
    (
        flock 9
        if [[ -f $home/libs/.complete ]]; then exit 0; fi
        log "installing $what from Maven Central into $home/libs (once)"
        rm -rf "$home/libs"
        mvn -B -q -Dstyle.color=never -f "$pom" "$@" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$home/libs" >&2 ||
            die "mvn dependency:copy-dependencies for $what failed"
        touch "$home/libs/.complete"
    ) 9>"$home/.install.lock" || die "installing $what failed"
}

# ensure_kafka: finds Apache Kafka's jars (KAFKA_HOME/libs) or copies them there from Maven
# Central (maven_libs; setup/kafka/pom.xml: the broker kafka_2.13, kafka-tools and a log4j2
# binding, with every dependency; about 60 MB). Exports KAFKA_HOME and KAFKA_LIBS.
ensure_kafka() {
    local home
    home=$(abspath "${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/kafka-$KAFKA_VERSION}")
    export KAFKA_HOME=$home KAFKA_LIBS=$home/libs
    ensure_java
    maven_libs "$home" "$(_lib_repo_root)/setup/kafka/pom.xml" "Apache Kafka $KAFKA_VERSION" \
        -Dkafka.version="$KAFKA_VERSION"
}

# ensure_kafka_connect: Kafka Connect with Debezium's PostgreSQL connector and its outbox event
# router on one classpath, for the benchmark only (setup/kafka-connect/pom.xml; about 40 MB), in
# its own cache directory kafka-connect-<version>-debezium-<version>. Connect is
# KAFKA_CONNECT_VERSION (4.3.2, the Kafka line Debezium 3.6 is built against; see the pom).
# Exports KAFKA_CONNECT_LIBS.
DEBEZIUM_VERSION=${DEBEZIUM_VERSION:-3.6.1.Final}
KAFKA_CONNECT_VERSION=${KAFKA_CONNECT_VERSION:-4.3.2}
ensure_kafka_connect() {
    local home
    home=$(abspath "${XDG_CACHE_HOME:-$HOME/.cache}/cdc-platform/kafka-connect-$KAFKA_CONNECT_VERSION-debezium-$DEBEZIUM_VERSION")
    export KAFKA_CONNECT_LIBS=$home/libs
    ensure_java
    maven_libs "$home" "$(_lib_repo_root)/setup/kafka-connect/pom.xml" \
        "Kafka Connect $KAFKA_CONNECT_VERSION with Debezium $DEBEZIUM_VERSION" \
        -Dconnect.version="$KAFKA_CONNECT_VERSION" -Ddebezium.version="$DEBEZIUM_VERSION"
}

# kafka_class CLASS ARG...: runs one of Kafka's main classes from the Maven install, the way the
# distribution's bin/kafka-run-class.sh does. Heap from KAFKA_HEAP_OPTS (tools: 256 MB); tools
# log warnings to stderr (setup/kafka/tools-log4j2.properties) unless KAFKA_LOG4J_OPTS says else.
kafka_class() {
    ensure_kafka
    local class=$1
    shift
    # Readiness probes bound each call (_KAFKA_CLASS_TIMEOUT seconds): a client waits long for a
    # broker that is not there yet.
    local pre=()
    [[ -n ${_KAFKA_CLASS_TIMEOUT:-} ]] && pre=(timeout "$_KAFKA_CLASS_TIMEOUT")
    # shellcheck disable=SC2086 # the *_OPTS variables hold several JVM options, as in Kafka's scripts
    exec "${pre[@]}" java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
        -Djava.awt.headless=true \
        ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$(_lib_repo_root)/setup/kafka/tools-log4j2.properties} \
        ${KAFKA_OPTS:-} -cp "$KAFKA_LIBS/*" "$class" "$@"
}

# kafka_bootstrap PORT NODES: the bootstrap list of a cluster whose brokers listen on PORT,
# PORT+1, ... (127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 for 9092 and 3).
kafka_bootstrap() {
    local port=$1 nodes=$2 i list=""
    for ((i = 0; i < nodes; i++)); do list+="${list:+,}127.0.0.1:$((port + i))"; done
    printf '%s\n' "$list"
}

# kafka_prepare DATA_DIR NODES PORT CONTROLLER_PORT
# Writes DATA_DIR/node-<id>/server.properties for a KRaft cluster of NODES combined
# broker+controller nodes (ids 1..NODES; node i listens on PORT+i-1 for clients and
# CONTROLLER_PORT+i-1 for the controller quorum, 127.0.0.1 only) and formats each node's log
# directory on first use (cluster id kept in DATA_DIR/cluster.id). Topics default to
# KAFKA_TOPIC_PARTITIONS partitions (1 unless set) and, on three nodes, replication factor 3 with
# min.insync.replicas=2. Idempotent:
# a formatted node is left alone. The test harness calls this too, then runs the nodes itself.
kafka_prepare() {
    local data nodes=$2 port=$3 cport=$4 i voters="" cluster_id rf isr
    data=$(abspath "$1")
    [[ $nodes =~ ^[1-9]$ ]] || die "KAFKA_BROKERS must be a number of nodes from 1 to 9 (got: $nodes)"
    ensure_kafka
    mkdir -p "$data"
    rf=$nodes isr=$((nodes >= 3 ? 2 : 1))
    local partitions
    partitions=$(kafka_topic_partitions)
    for ((i = 1; i <= nodes; i++)); do voters+="${voters:+,}$i@127.0.0.1:$((cport + i - 1))"; done
    if [[ ! -s $data/cluster.id ]]; then
        # A Kafka cluster id is a base64url UUID without padding (what `kafka-storage random-uuid`
        # prints). Like Kafka's own generator, never one starting with '-': the tools would read
        # it as an option.
        local id="-"
        while [[ $id == -* ]]; do
            id=$(random_token 16)
        done
        printf '%s' "$id" >"$data/cluster.id"
    fi
    cluster_id=$(<"$data/cluster.id")
    if [[ -s $data/nodes && $(<"$data/nodes") != "$nodes" ]]; then
        die "$data holds a Kafka cluster of $(<"$data/nodes") node(s), not $nodes: start with KAFKA_BROKERS=$(<"$data/nodes"), or delete the data (setup/shutdown.sh --purge)"
    fi
    printf '%s\n' "$nodes" >"$data/nodes"
    local pids=() node
    for ((i = 1; i <= nodes; i++)); do
        node=$data/node-$i
        mkdir -p "$node/data"
        cat >"$node/server.properties" <<PROPS
# Written by setup/lib.sh kafka_prepare; rewritten at every start.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$((port + i - 1)),CONTROLLER://127.0.0.1:$((cport + i - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$((port + i - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$node/data
num.partitions=$partitions
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
unclean.leader.election.enable=false
# A consumer group forms at once instead of waiting 3 s for more members (one machine, few members).
group.initial.rebalance.delay.ms=0
PROPS
        if [[ ! -f $node/data/meta.properties ]]; then
            log "formatting Kafka node $i (cluster $cluster_id) in $node/data"
            (kafka_class kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
                -c "$node/server.properties" >"$node/format.log" 2>&1) &
            pids+=($!)
        fi
    done
    local pid
    for pid in "${pids[@]}"; do
        wait "$pid" || {
            cat "$data"/node-*/format.log >&2
            die "formatting the Kafka log directories in $data failed"
        }
    done
}

# kafka_node_command NODE_DIR: the command line that runs one node (used by start_kafka and the
# test harness). Heap KAFKA_HEAP_OPTS, default 512 MB (the machines have 2 cores and every JVM
# shares them); G1 with short pauses, as Kafka's own scripts choose.
kafka_node_command() {
    local node
    node=$(abspath "$1")
    ensure_kafka
    # shellcheck disable=SC2086
    printf '%s\n' java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
        ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError} \
        -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$(_lib_repo_root)/setup/kafka/log4j2.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$node/server.properties"
}

# kafka_ready BOOTSTRAP NODES: true when a metadata request answers with NODES unfenced brokers.
kafka_ready() {
    local count
    count=$( (_KAFKA_CLASS_TIMEOUT=20 kafka_class org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "$1" 2>/dev/null) | grep -c 'isFenced: false') || true
    ((count >= $2))
}

# start_kafka DATA_DIR NODES PORT CONTROLLER_PORT LOG_DIR PID_DIR
# Prepares (kafka_prepare) and starts NODES Kafka nodes in the background (logs
# LOG_DIR/kafka-<id>.log, pid files PID_DIR/kafka-<id>.pid) and waits until a metadata request
# lists every broker. Nodes already running are left alone.
start_kafka() {
    local data nodes=$2 port=$3 cport=$4 logs pids i pid cmd
    data=$(abspath "$1")
    logs=$(abspath "$5")
    pids=$(abspath "$6")
    kafka_prepare "$data" "$nodes" "$port" "$cport"
    mkdir -p "$logs" "$pids"
    for ((i = 1; i <= nodes; i++)); do
        if pid=$(pidfile_pid "$pids/kafka-$i.pid"); then
            log "Kafka node $i already running (pid $pid)"
            continue
        fi
        ensure_port_free 127.0.0.1 "$((port + i - 1))" "Kafka node $i"
        ensure_port_free 127.0.0.1 "$((cport + i - 1))" "Kafka node $i (controller)"
        mapfile -t cmd < <(kafka_node_command "$data/node-$i")
        start_service "kafka-$i" "$logs/kafka-$i.log" "$pids/kafka-$i.pid" -- "${cmd[@]}"
    done
    local bootstrap
    bootstrap=$(kafka_bootstrap "$port" "$nodes")
    for ((i = 1; i <= nodes; i++)); do
        wait_for_port 127.0.0.1 "$((port + i - 1))" 120 "$logs/kafka-$i.log" "$(<"$pids/kafka-$i.pid")"
    done
    wait_for --log "$logs/kafka-1.log" "Kafka metadata listing $nodes broker(s) at $bootstrap" 120 -- \
        kafka_ready "$bootstrap" "$nodes"
}

# stop_kafka PID_DIR: SIGTERM every node (a controlled shutdown), SIGKILL after 60 s.
stop_kafka() {
    local pids=$1 pidfile
    for pidfile in "$pids"/kafka-*.pid; do
        [[ -f $pidfile ]] && stop_pidfile "$pidfile" 60 &
    done
    wait
}

# kafka_topic_partitions: KAFKA_TOPIC_PARTITIONS (default 1), checked: the partitions of every
# topic the platform creates. One is a total order per topic; more keep the order per key (the
# producers hash the key as Java's clients do) and let a consumer group's instances share them.
kafka_topic_partitions() {
    local partitions=${KAFKA_TOPIC_PARTITIONS:-1}
    [[ $partitions =~ ^[1-9][0-9]{0,2}$ ]] || die "KAFKA_TOPIC_PARTITIONS must be a number of partitions from 1 to 999 (got: $partitions)"
    printf '%s\n' "$partitions"
}

# kafka_create_topics BOOTSTRAP NODES [--config KEY=VALUE]... TOPIC...: creates each missing
# topic with Kafka's own admin tool: KAFKA_TOPIC_PARTITIONS partitions (default 1, the total
# order), replication factor NODES and, on three nodes or more, min.insync.replicas=2 (an
# acknowledged write survives losing one broker), with any further topic configs given. A topic
# that exists keeps its partitions.
kafka_create_topics() {
    local bootstrap=$1 nodes=$2 topic isr configs=() partitions
    partitions=$(kafka_topic_partitions)
    shift 2
    while [[ ${1:-} == --config ]]; do
        configs+=(--config "$2")
        shift 2
    done
    isr=$((nodes >= 3 ? 2 : 1))
    for topic in "$@"; do
        (kafka_class org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
            --if-not-exists --topic "$topic" --partitions "$partitions" --replication-factor "$nodes" \
            --config "min.insync.replicas=$isr" "${configs[@]}" >/dev/null) &
    done
    wait_all_or_die "creating topics $*"
}
