#!/usr/bin/env bash
# Throughput benchmark: Runnel beside Apache Kafka 4.2.1 on the same machine, with Kafka's own tools
# (org.apache.kafka.tools.ProducerPerformance and ConsumerPerformance from kafka-tools 4.2.1).
#
# Usage: scripts/bench.sh [--records N] [--record-size BYTES] [--partitions P] [--heap SIZE]
#                         [--systems "runnel kafka"] [--port PORT] [--acks 1]
#   --records      records produced, then consumed (default 500000: about 500 MB at 1 KiB; the whole
#                  run takes 1-2 minutes on 2 cores)
#   --record-size  default 1024
#   --partitions   default 6: enough for several partitions per core and batches to several
#                  partitions in flight, few enough that each batch stays large
#   --heap         broker heap, -Xms and -Xmx alike (default 1g, as kafka-server-start.sh)
#   --systems      which brokers, in order (default "runnel kafka")
#   --port         listener port (default 19292; Kafka's controller takes PORT+1)
#
# Same conditions for both: one node on 127.0.0.1, a fresh data directory, the same heap and G1,
# Kafka's default flush policy (no fsync per write: the page cache, as both ship), topic created with
# kafka-tools' TopicCommand (P partitions, replication factor 1), one producer run
# (--throughput -1, acks as given, otherwise default producer settings: batch.size 16384, linger.ms 5,
# no compression), then one consumer run over the same records. The client tools run with -Xmx512m
# each, one at a time, on the same machine as the broker. No warm-up run: both start cold.
# Consumer figures are ConsumerPerformance's fetch.* columns (the time spent fetching, without the
# group join); the join time is kept in the raw output.
# Raw tool output and broker logs go to target/bench/<timestamp>/.
# Builds nothing: build target/runnel.jar first (mvn -B -q package -DskipTests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RECORDS=500000
RECORD_SIZE=1024
PARTITIONS=6
HEAP=1g
SYSTEMS="runnel kafka"
PORT=19292
ACKS=1
START_TIMEOUT=120

while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --record-size) RECORD_SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --heap) HEAP="$2"; shift 2 ;;
        --systems) SYSTEMS="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --acks) ACKS="$2"; shift 2 ;;
        -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "bench.sh: $*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

OUT="$ROOT/target/bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
"$ROOT/scripts/kafka-ref.sh" fetch
TOOLS_CP="$("$ROOT/scripts/kafka-ref.sh" classpath)"
BOOTSTRAP="127.0.0.1:$PORT"
TOPIC="bench"

BROKER_PID=""
KAFKA_DIR=""
DATA_DIR=""
stop_broker() {
    if [[ -n "$KAFKA_DIR" ]]; then
        "$ROOT/scripts/kafka-ref.sh" stop "$KAFKA_DIR" || true
        rm -rf "$KAFKA_DIR/data"
        KAFKA_DIR=""
    fi
    if [[ -n "$BROKER_PID" ]]; then
        kill "$BROKER_PID" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$BROKER_PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
        kill -9 "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=""
    fi
    if [[ -n "$DATA_DIR" ]]; then rm -rf "$DATA_DIR"; DATA_DIR=""; fi
}
trap stop_broker EXIT
trap 'exit 130' INT TERM

start_runnel() {
    [[ -f "$ROOT/target/runnel.jar" ]] || die "target/runnel.jar not found: build it first (mvn -B -q package -DskipTests)"
    DATA_DIR="$(mktemp -d -t bench-runnel.XXXXXX)"
    local log="$OUT/runnel-broker.log"
    RUNNEL_HEAP_OPTS="-Xms$HEAP -Xmx$HEAP" "$ROOT/scripts/runnel.sh" \
        --override "listeners=PLAINTEXT://$BOOTSTRAP" \
        --override "advertised.listeners=PLAINTEXT://$BOOTSTRAP" \
        --override "admin.listener=127.0.0.1:0" \
        --override "log.dirs=$DATA_DIR" \
        --override group.initial.rebalance.delay.ms=0 \
        > "$log" 2>&1 < /dev/null &
    BROKER_PID=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$PORT"; do
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            local rc=0
            wait "$BROKER_PID" || rc=$?
            BROKER_PID=""
            tail -20 "$log" >&2
            die "the Runnel broker exited during startup with exit code $rc (log: $log)"
        fi
        (( SECONDS < deadline )) || { tail -20 "$log" >&2; die "the Runnel broker did not listen on $BOOTSTRAP within ${START_TIMEOUT}s (log: $log)"; }
        sleep 0.5
    done
}

start_kafka() {
    KAFKA_DIR="$OUT/kafka-broker"
    "$ROOT/scripts/kafka-ref.sh" start --port "$PORT" --controller-port $((PORT + 1)) --dir "$KAFKA_DIR" \
        --heap "$HEAP" --timeout "$START_TIMEOUT" --override group.initial.rebalance.delay.ms=0 >/dev/null \
        || die "Apache Kafka did not start (log: $KAFKA_DIR/kafka.log)"
}

# Results, per system: producer records/s, producer MB/s, consumer records/s, consumer MB/s.
declare -A RESULT

run_system() {
    local sys="$1"
    port_open "$PORT" && die "port $PORT is already in use"
    echo "bench.sh: [$sys] starting the broker"
    case "$sys" in
        runnel) start_runnel ;;
        kafka) start_kafka ;;
        *) die "unknown system $sys (runnel or kafka)" ;;
    esac

    echo "bench.sh: [$sys] creating topic $TOPIC with $PARTITIONS partitions"
    timeout 120 java -Xmx256m -cp "$TOOLS_CP" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --create --topic "$TOPIC" --partitions "$PARTITIONS" --replication-factor 1 > "$OUT/$sys-topic.txt" 2>&1 \
        || { cat "$OUT/$sys-topic.txt" >&2; die "[$sys] creating the topic failed"; }

    echo "bench.sh: [$sys] producing $RECORDS records of $RECORD_SIZE bytes"
    timeout 900 java -Xmx512m -cp "$TOOLS_CP" org.apache.kafka.tools.ProducerPerformance --topic "$TOPIC" \
        --num-records "$RECORDS" --record-size "$RECORD_SIZE" --throughput -1 \
        --producer-props "acks=$ACKS" "bootstrap.servers=$BOOTSTRAP" > "$OUT/$sys-producer.txt" 2>&1 \
        || { tail -20 "$OUT/$sys-producer.txt" >&2; die "[$sys] ProducerPerformance failed"; }
    # Final line: "N records sent, R records/sec (M MB/sec), ..."
    local final
    final="$(grep -E '^[0-9]+ records sent, ' "$OUT/$sys-producer.txt" | tail -1)"
    [[ -n "$final" ]] || die "[$sys] no summary line in $OUT/$sys-producer.txt"
    [[ "${final%% *}" == "$RECORDS" ]] || die "[$sys] producer sent ${final%% *} records, not $RECORDS"
    grep -q "ERROR\|Exception" "$OUT/$sys-producer.txt" && die "[$sys] the producer reported errors: see $OUT/$sys-producer.txt"
    RESULT[$sys,prod_rps]="$(sed -E 's/.* records sent, ([0-9.]+) records\/sec.*/\1/' <<< "$final")"
    RESULT[$sys,prod_mbps]="$(sed -E 's/.*records\/sec \(([0-9.]+) MB\/sec\).*/\1/' <<< "$final")"
    echo "bench.sh: [$sys] $final"

    echo "bench.sh: [$sys] consuming $RECORDS records"
    timeout 900 java -Xmx512m -cp "$TOOLS_CP" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOTSTRAP" \
        --topic "$TOPIC" --num-records "$RECORDS" --timeout 60000 --group "bench-$sys-$$" > "$OUT/$sys-consumer.txt" 2>&1 \
        || { tail -20 "$OUT/$sys-consumer.txt" >&2; die "[$sys] ConsumerPerformance failed"; }
    # A header line naming the columns, then one line of values; pick the columns by name.
    local values
    values="$(awk -F', *' '
        /^start.time/ { for (i = 1; i <= NF; i++) col[$i] = i; next }
        length(col) && NF > 5 { print $col["data.consumed.in.nMsg"], $col["fetch.nMsg.sec"], $col["fetch.MB.sec"], $col["rebalance.time.ms"] }
    ' "$OUT/$sys-consumer.txt" | tail -1)"
    [[ -n "$values" ]] || die "[$sys] no result line in $OUT/$sys-consumer.txt"
    local n rps mbps rebalance
    read -r n rps mbps rebalance <<< "$values"
    (( n >= RECORDS )) || die "[$sys] the consumer read $n records, not $RECORDS (timed out?): see $OUT/$sys-consumer.txt"
    RESULT[$sys,cons_rps]="$rps"
    RESULT[$sys,cons_mbps]="$mbps"
    echo "bench.sh: [$sys] consumed $n records: $rps records/s, $mbps MB/s (group join ${rebalance} ms, not counted)"

    stop_broker
}

for sys in $SYSTEMS; do
    run_system "$sys"
done

{
    echo
    echo "Benchmark: $RECORDS records x $RECORD_SIZE B, $PARTITIONS partitions, acks=$ACKS, heap $HEAP, $(nproc) cores"
    printf '%-12s %14s %12s %14s %12s\n' system "produce rec/s" "produce MB/s" "consume rec/s" "consume MB/s"
    for sys in $SYSTEMS; do
        printf '%-12s %14.0f %12.2f %14.0f %12.2f\n' "$sys" "${RESULT[$sys,prod_rps]}" "${RESULT[$sys,prod_mbps]}" \
            "${RESULT[$sys,cons_rps]}" "${RESULT[$sys,cons_mbps]}"
    done
    if [[ -n "${RESULT[runnel,prod_rps]:-}" && -n "${RESULT[kafka,prod_rps]:-}" ]]; then
        ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
        printf '%-12s %14s %12s %14s %12s\n' "runnel/kafka" \
            "$(ratio "${RESULT[runnel,prod_rps]}" "${RESULT[kafka,prod_rps]}")" \
            "$(ratio "${RESULT[runnel,prod_mbps]}" "${RESULT[kafka,prod_mbps]}")" \
            "$(ratio "${RESULT[runnel,cons_rps]}" "${RESULT[kafka,cons_rps]}")" \
            "$(ratio "${RESULT[runnel,cons_mbps]}" "${RESULT[kafka,cons_mbps]}")"
    fi
    echo "Raw output: $OUT"
} | tee "$OUT/summary.txt"
