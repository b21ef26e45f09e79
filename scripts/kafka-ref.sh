#!/usr/bin/env bash
# Apache Kafka 4.4.0, the reference broker that Runnel's compatibility tests and benchmarks are checked
# against. The jars come from Maven Central through Maven (scripts/kafka-ref/pom.xml), so no tarball
# download is needed; they are cached under target/kafka-ref/lib.
#
# Usage:
#   scripts/kafka-ref.sh fetch
#       Fetch the jars (skipped when already present). Prints nothing else.
#   scripts/kafka-ref.sh classpath
#       Fetch if needed, then print the classpath (for running kafka-tools classes).
#   scripts/kafka-ref.sh start [--port 19092] [--controller-port 19093] [--dir DIR] [--heap 1g]
#                              [--timeout 90] [--override key=value]...
#       Format a fresh single-node KRaft broker+controller in DIR (default: a new temporary directory),
#       start it in the background on 127.0.0.1, wait until it serves requests, and print its pid on
#       stdout. DIR holds server.properties, data/, kafka.log (stdout+stderr), kafka.pid and launch.ts
#       (epoch seconds just before the broker JVM was launched, after the storage format).
#       --override lines are appended to server.properties (later keys win). --add-scram SPEC (repeatable)
#       seeds a SCRAM credential at the storage format, as `kafka-storage.sh format --add-scram SPEC`
#       (e.g. 'SCRAM-SHA-512=[name=bench,password=bench-secret]'): the only way to have a user on a node
#       whose every listener needs SASL.
#   scripts/kafka-ref.sh start-cluster DIR [--port 19302] [--controller-port 19312] [--heap 1g]
#                                      [--timeout 120] [--override key=value]...
#       Format and start three KRaft nodes in DIR/node-1..3, each a combined broker+controller (a
#       three-voter quorum), with the single node's JVM flags and heap: listeners on PORT..PORT+2,
#       controllers on CONTROLLER-PORT..+2, min.insync.replicas=2, default.replication.factor=3 and the
#       internal topics (offsets, transactions, share state) at replication factor 3, min ISR 2. Waits
#       until all three have started and prints their pids, one a line. DIR/launch.ts is the instant
#       just before the first JVM was launched (after the storage format); DIR/node-N/ holds
#       server.properties, data/, kafka.log and kafka.pid.
#   scripts/kafka-ref.sh restart DIR [HEAP]
#       Launch the single node of a stopped `start` DIR again on its data (no format), in the background;
#       rewrites DIR/launch.ts and DIR/kafka.pid and prints the pid at once (the benchmark times readiness).
#   scripts/kafka-ref.sh stop DIR
#       Stop the broker started in DIR, or the three nodes of start-cluster DIR together (SIGTERM, then
#       SIGKILL after 30 s), and wait for them to exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$ROOT/target/kafka-ref/lib"
POM="$ROOT/scripts/kafka-ref/pom.xml"

die() { echo "kafka-ref: $*" >&2; exit 1; }

fetch() {
    # The marker records which pom the jars came from, so editing the pom refreshes the cache.
    local sum
    sum="$(sha256sum "$POM" | cut -d' ' -f1)"
    if [[ -f "$LIB/.complete" && "$(cat "$LIB/.complete")" == "$sum" ]]; then
        return 0
    fi
    echo "kafka-ref: fetching Apache Kafka jars into $LIB" >&2
    rm -rf "$LIB"
    mkdir -p "$LIB"
    local log="$ROOT/target/kafka-ref/fetch.log"
    if ! mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$LIB" > "$log" 2>&1; then
        tail -30 "$log" >&2
        rm -rf "$LIB"
        die "mvn dependency:copy-dependencies failed (log: $log)"
    fi
    echo "$sum" > "$LIB/.complete"
}

# Port check without nc: bash's /dev/tcp, in a subshell so a failed connect closes nothing of ours.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_log4j() {
    cat > "$1/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

# Kafka's Uuid is 16 random bytes, URL-safe base64 without padding; generating it here saves a JVM start.
# It may begin with "-", so it is passed as --cluster-id=ID, never as a separate argument.
new_cluster_id() {
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='
}

# The broker JVM as kafka-server-start.sh runs it (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS), for DIR's
# log4j configuration; printed space-separated (no element contains a space: paths under target/ or /tmp).
jvm_flags() {
    local heap="$1" dir="$2"
    echo "java -Xms$heap -Xmx$heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35" \
         "-XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true -Dlog4j2.configurationFile=$dir/log4j2.properties" \
         "-cp $LIB/*"
}

# kafka-storage.sh format for DIR/server.properties; its output goes to DIR/format.log, shown on failure.
format_storage() {
    local dir="$1" cluster_id="$2"
    if ! java -cp "$LIB/*" "-Dlog4j2.configurationFile=$dir/log4j2.properties" kafka.tools.StorageTool \
            format --cluster-id="$cluster_id" -c "$dir/server.properties" \
            "${scram_args[@]+"${scram_args[@]}"}" > "$dir/format.log" 2>&1; then
        cat "$dir/format.log" >&2
        return 1
    fi
}

# Parses the options start and start-cluster share into the caller's locals port, cport, heap, timeout,
# overrides and scram_args (bash locals are visible to the functions a function calls), and --dir into dir where
# COMMAND (start) takes it.
parse_start_options() {
    local command="$1"
    shift
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --port) port="$2"; shift 2 ;;
            --controller-port) cport="$2"; shift 2 ;;
            --dir) [[ "$command" == start ]] || die "unknown $command option: $1"; dir="$2"; shift 2 ;;
            --heap) heap="$2"; shift 2 ;;
            --timeout) timeout="$2"; shift 2 ;;
            --override) [[ "$2" == *=* ]] || die "--override needs key=value, got: $2"; overrides+=("$2"); shift 2 ;;
            --add-scram) scram_args+=(--add-scram "$2"); shift 2 ;;
            *) die "unknown $command option: $1" ;;
        esac
    done
}

# NODE_DIR/server.properties of one KRaft broker+controller: NODE_DIR DESCRIPTION NODE_ID VOTERS PORT
# CONTROLLER_PORT REPLICATION_FACTOR MIN_ISR, then the caller's overrides.
write_server_properties() {
    local node="$1" description="$2" id="$3" voters="$4" port="$5" cport="$6" rf="$7" min_isr="$8"
    cat > "$node/server.properties" <<EOF
# $description written by scripts/kafka-ref.sh
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$node/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$min_isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
EOF
    local kv
    for kv in "${overrides[@]+"${overrides[@]}"}"; do echo "$kv" >> "$node/server.properties"; done
}

# Whether the broker of NODE_DIR serves on PORT: the listener socket is bound before request processing is
# enabled, so an open port alone is not enough; its "started" line must be in the log too.
node_ready() {
    port_open "$2" && grep -q "Kafka Server started" "$1/kafka.log"
}

start() {
    local port=19092 cport=19093 dir="" heap=1g timeout=90
    local -a overrides=() scram_args=()
    parse_start_options start "$@"
    fetch
    if port_open "$port"; then die "port $port is already in use"; fi
    if port_open "$cport"; then die "controller port $cport is already in use"; fi
    [[ -n "$dir" ]] || dir="$(mktemp -d -t kafka-ref.XXXXXX)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ -e "$dir/data" ]] && die "$dir/data already exists: give a fresh --dir"

    write_server_properties "$dir" "Single-node KRaft reference broker" 1 "1@127.0.0.1:$cport" "$port" "$cport" 1 1
    write_log4j "$dir"
    local cluster_id
    cluster_id="$(new_cluster_id)"
    local -a jvm
    read -r -a jvm <<< "$(jvm_flags "$heap" "$dir")"
    format_storage "$dir" "$cluster_id" || die "storage format failed"

    # The launch instant (epoch seconds), for start-up timing that leaves out the storage format above.
    date +%s.%N > "$dir/launch.ts"
    "${jvm[@]}" kafka.Kafka "$dir/server.properties" > "$dir/kafka.log" 2>&1 < /dev/null &
    local pid=$!
    echo "$pid" > "$dir/kafka.pid"

    local deadline=$((SECONDS + timeout))
    until node_ready "$dir" "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -40 "$dir/kafka.log" >&2
            die "broker exited during startup (log: $dir/kafka.log)"
        fi
        if (( SECONDS >= deadline )); then
            tail -40 "$dir/kafka.log" >&2
            kill "$pid" 2>/dev/null || true
            die "broker not ready on 127.0.0.1:$port after ${timeout}s (log: $dir/kafka.log)"
        fi
        sleep 0.2
    done
    echo "kafka-ref: Apache Kafka ready on 127.0.0.1:$port (pid $pid, dir $dir)" >&2
    echo "$pid"
}

# Launches the broker of a single-node DIR again on its existing data (no format), after `stop DIR`;
# writes DIR/launch.ts and DIR/kafka.pid and prints the pid without waiting for readiness.
restart() {
    local dir="${1:-}" heap="${2:-1g}"
    [[ -n "$dir" && -f "$dir/server.properties" && -d "$dir/data" ]] || die "usage: restart DIR [HEAP] (a stopped single-node DIR)"
    fetch
    local -a jvm
    read -r -a jvm <<< "$(jvm_flags "$heap" "$dir")"
    date +%s.%N > "$dir/launch.ts"
    "${jvm[@]}" kafka.Kafka "$dir/server.properties" >> "$dir/kafka.log" 2>&1 < /dev/null &
    echo $! > "$dir/kafka.pid"
    echo $!
}

start_cluster() {
    local dir="${1:-}" port=19302 cport=19312 heap=1g timeout=120
    [[ -n "$dir" && "$dir" != --* ]] || die "usage: start-cluster DIR [options]"
    shift
    local -a overrides=() scram_args=()
    parse_start_options start-cluster "$@"
    fetch
    local i p
    for ((i = 0; i < 3; i++)); do
        for p in $((port + i)) $((cport + i)); do
            if port_open "$p"; then die "port $p is already in use"; fi
        done
    done
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ -e "$dir/node-1" ]] && die "$dir/node-1 already exists: give a fresh DIR"
    local voters="1@127.0.0.1:$cport,2@127.0.0.1:$((cport + 1)),3@127.0.0.1:$((cport + 2))"
    local cluster_id node
    cluster_id="$(new_cluster_id)"
    local -a formats=()
    for i in 1 2 3; do
        node="$dir/node-$i"
        mkdir -p "$node"
        write_server_properties "$node" "Node $i of a three-node KRaft reference cluster" "$i" "$voters" \
            $((port + i - 1)) $((cport + i - 1)) 3 2
        write_log4j "$node"
        format_storage "$node" "$cluster_id" &
        formats+=($!)
    done
    for p in "${formats[@]}"; do wait "$p" || die "storage format failed (see $dir/node-*/format.log)"; done

    local -a jvm pids=()
    # The launch instant (epoch seconds) of the first node, for start-up timing without the storage format.
    date +%s.%N > "$dir/launch.ts"
    for i in 1 2 3; do
        node="$dir/node-$i"
        read -r -a jvm <<< "$(jvm_flags "$heap" "$node")"
        "${jvm[@]}" kafka.Kafka "$node/server.properties" > "$node/kafka.log" 2>&1 < /dev/null &
        pids+=($!)
        echo "$!" > "$node/kafka.pid"
    done

    local deadline=$((SECONDS + timeout)) ready
    while true; do
        ready=0
        for i in 1 2 3; do
            node="$dir/node-$i"
            if ! kill -0 "${pids[i - 1]}" 2>/dev/null; then
                tail -40 "$node/kafka.log" >&2
                stop "$dir"
                die "node $i exited during startup (log: $node/kafka.log)"
            fi
            if node_ready "$node" $((port + i - 1)); then
                ready=$((ready + 1))
            fi
        done
        (( ready == 3 )) && break
        if (( SECONDS >= deadline )); then
            stop "$dir"
            die "the three nodes were not all ready after ${timeout}s (logs: $dir/node-*/kafka.log)"
        fi
        sleep 0.2
    done
    echo "kafka-ref: three-node Apache Kafka ready on 127.0.0.1:$port-$((port + 2)) (pids ${pids[*]}, dir $dir)" >&2
    printf '%s\n' "${pids[@]}"
}

# SIGTERM to every pid file in DIR (the single node's, or the three nodes' at once, so that their
# controlled shutdowns overlap), SIGKILL to what still runs 30 s later.
stop() {
    local dir="${1:-}"
    local -a files=()
    [[ -n "$dir" && -f "$dir/kafka.pid" ]] && files+=("$dir/kafka.pid")
    local f
    for f in "$dir"/node-*/kafka.pid; do [[ -f "$f" ]] && files+=("$f"); done
    (( ${#files[@]} > 0 )) || die "usage: stop DIR (no DIR/kafka.pid nor DIR/node-*/kafka.pid)"
    local -a pids=()
    for f in "${files[@]}"; do
        pids+=("$(cat "$f")")
        kill "${pids[-1]}" 2>/dev/null || true
    done
    local deadline=$((SECONDS + 30)) pid alive
    while true; do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        (( alive )) || break
        if (( SECONDS >= deadline )); then
            for pid in "${pids[@]}"; do
                if kill -0 "$pid" 2>/dev/null; then
                    echo "kafka-ref: pid $pid still running after 30s, killing" >&2
                    kill -9 "$pid" 2>/dev/null || true
                fi
            done
            break
        fi
        sleep 0.2
    done
    rm -f "${files[@]}"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    fetch) fetch ;;
    classpath) fetch; echo "$LIB/*" ;;
    start) start "$@" ;;
    restart) restart "$@" ;;
    start-cluster) start_cluster "$@" ;;
    stop) stop "$@" ;;
    *) sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
