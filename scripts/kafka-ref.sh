#!/usr/bin/env bash
# Apache Kafka 4.2.1, the reference broker that Runnel's compatibility tests and benchmarks are checked
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
#       --override lines are appended to server.properties (later keys win).
#   scripts/kafka-ref.sh stop DIR
#       Stop the broker started in DIR (SIGTERM, then SIGKILL after 30 s) and wait for it to exit.
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

start() {
    local port=19092 cport=19093 dir="" heap=1g timeout=90
    local -a overrides=()
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --port) port="$2"; shift 2 ;;
            --controller-port) cport="$2"; shift 2 ;;
            --dir) dir="$2"; shift 2 ;;
            --heap) heap="$2"; shift 2 ;;
            --timeout) timeout="$2"; shift 2 ;;
            --override) overrides+=("$2"); shift 2 ;;
            *) die "unknown start option: $1" ;;
        esac
    done
    fetch
    if port_open "$port"; then die "port $port is already in use"; fi
    if port_open "$cport"; then die "controller port $cport is already in use"; fi
    [[ -n "$dir" ]] || dir="$(mktemp -d -t kafka-ref.XXXXXX)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [[ -e "$dir/data" ]] && die "$dir/data already exists: give a fresh --dir"

    cat > "$dir/server.properties" <<EOF
# Single-node KRaft reference broker written by scripts/kafka-ref.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
    local kv
    for kv in "${overrides[@]+"${overrides[@]}"}"; do
        [[ "$kv" == *=* ]] || die "--override needs key=value, got: $kv"
        echo "$kv" >> "$dir/server.properties"
    done

    cat > "$dir/log4j2.properties" <<'EOF'
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

    # Kafka's Uuid is 16 random bytes, URL-safe base64 without padding; generating it here saves a JVM start.
    # It may begin with "-", so it is passed as --cluster-id=ID, never as a separate argument.
    local cluster_id
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    local -a jvm=(java "-Xms$heap" "-Xmx$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
                  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
                  -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties"
                  -cp "$LIB/*")
    if ! java -cp "$LIB/*" "-Dlog4j2.configurationFile=$dir/log4j2.properties" kafka.tools.StorageTool \
            format --cluster-id="$cluster_id" -c "$dir/server.properties" > "$dir/format.log" 2>&1; then
        cat "$dir/format.log" >&2
        die "storage format failed"
    fi

    # The launch instant (epoch seconds), for start-up timing that leaves out the storage format above.
    date +%s.%N > "$dir/launch.ts"
    "${jvm[@]}" kafka.Kafka "$dir/server.properties" > "$dir/kafka.log" 2>&1 < /dev/null &
    local pid=$!
    echo "$pid" > "$dir/kafka.pid"

    # The listener socket is bound before request processing is enabled, so an open port alone is not
    # enough: wait for the server's own "started" line too.
    local deadline=$((SECONDS + timeout))
    until port_open "$port" && grep -q "Kafka Server started" "$dir/kafka.log"; do
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

stop() {
    local dir="${1:-}"
    [[ -n "$dir" && -f "$dir/kafka.pid" ]] || die "usage: stop DIR (no DIR/kafka.pid)"
    local pid
    pid="$(cat "$dir/kafka.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        local deadline=$((SECONDS + 30))
        while kill -0 "$pid" 2>/dev/null; do
            if (( SECONDS >= deadline )); then
                echo "kafka-ref: pid $pid still running after 30s, killing" >&2
                kill -9 "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    fi
    rm -f "$dir/kafka.pid"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    fetch) fetch ;;
    classpath) fetch; echo "$LIB/*" ;;
    start) start "$@" ;;
    stop) stop "$@" ;;
    *) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
