#!/usr/bin/env bash
# Benchmark: Runnel beside Apache Kafka 4.2.1 on the same machine, with Kafka's own tools (kafka-tools
# 4.2.1: ProducerPerformance, ConsumerPerformance, EndToEndLatency, TopicCommand), fetched from Maven
# Central by scripts/kafka-ref.sh and cached under target/kafka-ref/.
#
# Usage: scripts/bench.sh [options]
#   --reps N              repetitions per system, median reported (default 3); the order of the two
#                         systems alternates per repetition so drift on a noisy machine hits both
#   --records N           records per throughput run (default 300000 x 1 KiB: about 300 MB)
#   --record-size BYTES   default 1024
#   --partitions P        partitions of the throughput topics (default 6)
#   --latency-rate R      records/s of the fixed-rate latency run (default 2000, about 2 MB/s)
#   --latency-records N   records of the fixed-rate latency run (default 30000: 15 s), of which the
#                         first 2 s are warm-up (--warmup-records: the client's metadata fetch and JIT)
#   --e2e-records N       round trips of the one-in-flight end-to-end run (default 3000)
#   --workloads "..."     subset of: startup produce1 consume produceall latency e2erate e2e
#                         (default all; startup and memory are always measured, as each run starts a broker)
#   --heap SIZE           broker heap, -Xms and -Xmx alike, for both (default 1g, as kafka-server-start.sh)
#   --systems "..."       default "runnel kafka"
#   --port PORT           listener port (default 19292; Kafka's controller takes PORT+1)
#   --cluster             the three-node workloads (RF=3, min.insync.replicas=2): not available until
#                         Runnel clusters; the option says so and exits
#   --keep-data           keep the brokers' data directories (default: delete after each run)
#
# Each (repetition, system) run: a fresh, empty single node (KRaft broker+controller for Kafka), timed
# from the JVM launch until an ApiVersions request is answered (Kafka's storage format runs before and is
# not counted); resident memory (VmRSS) 2 s after ready = idle; then, in this order, produce acks=1 at
# full speed (ProducerPerformance --throughput -1, default producer settings: batch.size 16384,
# linger.ms 5, no compression) to topic bench; consume the same records (ConsumerPerformance; its fetch.*
# columns, without the group join); produce acks=all at full speed to topic bench-all; a fixed-rate
# produce (ProducerPerformance --throughput R, acks=all, linger.ms=0) whose send-to-acknowledgement
# percentiles are the produce-acknowledgement latency at a fixed rate; the end-to-end latency at the same
# fixed rate (scripts/bench/FixedRateEndToEnd.java: the Java producer sends on a schedule, linger.ms=0,
# acks=all, the Java consumer in the same JVM times each record from its scheduled send until polled,
# microsecond resolution, first 2 s discarded, its own young generation large enough not to collect during
# the measured window) - kafka-tools' EndToEndLatency cannot hold a rate, as it
# keeps one record in flight, so it runs last, as extra information. Resident memory
# under load is the peak VmRSS sampled every 0.25 s from the first produce to the end of the acks=all
# produce. Client tools run one at a time with -Xmx512m on the same machine.
# Runnel starts through scripts/runnel.sh, which maps a class-data-sharing archive (AppCDS) written by
# the first start after a build; when none is up to date, an unmeasured priming start writes it first.
# Kafka starts as kafka-server-start.sh would (its JVM flags), with the JDK's default CDS archive.
#
# Output under target/bench/<timestamp>/: results.csv (rep,system,metric,value), summary.json,
# summary.txt (the table), plot.svg (ratios Runnel/Kafka), raw tool output and broker logs.
# Builds nothing: build target/runnel.jar first (mvn -B -q package -DskipTests).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPS=3
RECORDS=300000
RECORD_SIZE=1024
PARTITIONS=6
LAT_RATE=2000
LAT_RECORDS=30000
E2E_RECORDS=3000
WORKLOADS="startup produce1 consume produceall latency e2erate e2e"
HEAP=1g
SYSTEMS="runnel kafka"
PORT=19292
CLUSTER=0
KEEP_DATA=0
START_TIMEOUT=120

while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --records) RECORDS="$2"; shift 2 ;;
        --record-size) RECORD_SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --latency-rate) LAT_RATE="$2"; shift 2 ;;
        --latency-records) LAT_RECORDS="$2"; shift 2 ;;
        --e2e-records) E2E_RECORDS="$2"; shift 2 ;;
        --workloads) WORKLOADS="$2"; shift 2 ;;
        --heap) HEAP="$2"; shift 2 ;;
        --systems) SYSTEMS="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --cluster) CLUSTER=1; shift ;;
        --keep-data) KEEP_DATA=1; shift ;;
        -h|--help) sed -n '2,45p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() {
    echo "bench.sh: $*" >&2
    if [[ -n "${OUT:-}" && -f "$OUT/results.csv" ]] && (( $(wc -l < "$OUT/results.csv") > 1 )); then
        echo "bench.sh: partial results, up to the failure:" >&2
        "$PY" "$LIB" report "$OUT" >&2 || true
    fi
    exit 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wants() { [[ " $WORKLOADS " == *" $1 "* ]]; }
PY="$(command -v python3 || true)"
[[ -n "$PY" ]] || die "python3 is needed (probe, parsing, report): apt-get install python3"
LIB="$ROOT/scripts/bench_lib.py"
BEGAN=$SECONDS
progress() { printf 'bench.sh: [%3ds] %s\n' $((SECONDS - BEGAN)) "$*"; }

if (( CLUSTER )); then
    # TODO(clustering): three nodes per system on loopback (Kafka: three KRaft combined nodes with a
    # three-voter quorum; Runnel: three nodes joined through Hazelcast), topic with RF=3 and
    # min.insync.replicas=2, then ProducerPerformance acks=all at full speed and EndToEndLatency,
    # recorded as cluster_produce_acksall_mbps and cluster_e2e_p99_ms (bench_lib.py already reports
    # them, target >= 1.2x for the produce). Needs Runnel's replication, which is not built yet.
    die "--cluster: the three-node workloads need Runnel clustering, which is not built yet"
fi
[[ -f "$ROOT/target/runnel.jar" ]] || die "target/runnel.jar not found: build it first (mvn -B -q package -DskipTests)"
for sys in $SYSTEMS; do
    [[ "$sys" == runnel || "$sys" == kafka ]] || die "unknown system $sys (runnel or kafka)"
done

OUT="$ROOT/target/bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
"$ROOT/scripts/kafka-ref.sh" fetch
TOOLS_CP="$("$ROOT/scripts/kafka-ref.sh" classpath)"
BOOTSTRAP="127.0.0.1:$PORT"
TOOL_JVM=(java -Xmx512m -XX:+UseG1GC -cp "$TOOLS_CP")
echo "rep,system,metric,value" > "$OUT/results.csv"
DESC="$RECORDS x $RECORD_SIZE B records, $PARTITIONS partitions, heap $HEAP, $(nproc) cores, $REPS rep(s); latency at $LAT_RATE rec/s"
cat > "$OUT/meta.json" <<EOF
{"description": "$DESC", "reps": $REPS, "records": $RECORDS, "record_size": $RECORD_SIZE,
 "partitions": $PARTITIONS, "heap": "$HEAP", "latency_rate": $LAT_RATE, "latency_records": $LAT_RECORDS,
 "e2e_records": $E2E_RECORDS, "cores": $(nproc), "kafka": "4.2.1", "runnel_commit": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"}
EOF

BROKER_PID=""
KAFKA_DIR=""
DATA_DIR=""
SAMPLER_PID=""
stop_sampler() {
    if [[ -n "$SAMPLER_PID" ]]; then
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
    fi
}
stop_broker() {
    stop_sampler
    if [[ -n "$KAFKA_DIR" ]]; then
        "$ROOT/scripts/kafka-ref.sh" stop "$KAFKA_DIR" 2>/dev/null || true
        (( KEEP_DATA )) || rm -rf "$KAFKA_DIR/data"
        KAFKA_DIR=""
        BROKER_PID=""
    fi
    if [[ -n "$BROKER_PID" ]]; then
        kill "$BROKER_PID" 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while kill -0 "$BROKER_PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
        kill -9 "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=""
    fi
    if [[ -n "$DATA_DIR" ]]; then
        (( KEEP_DATA )) || rm -rf "$DATA_DIR"
        DATA_DIR=""
    fi
}
trap stop_broker EXIT
trap 'exit 130' INT TERM

record() { (( REP == 0 )) || echo "$REP,$SYS,$1,$2" >> "$OUT/results.csv"; }

# Starts the system's broker on an empty data directory and records startup_s; sets BROKER_PID.
start_broker() {
    local run="$1"
    local launch="$run/launch.ts" startup
    case "$SYS" in
        runnel)
            DATA_DIR="$run/runnel-data"
            mkdir -p "$DATA_DIR"
            date +%s.%N > "$launch"
            RUNNEL_HEAP_OPTS="-Xms$HEAP -Xmx$HEAP" "$ROOT/scripts/runnel.sh" \
                --override "listeners=PLAINTEXT://$BOOTSTRAP" \
                --override "advertised.listeners=PLAINTEXT://$BOOTSTRAP" \
                --override "admin.listener=127.0.0.1:0" \
                --override "log.dirs=$DATA_DIR" \
                --override group.initial.rebalance.delay.ms=0 \
                > "$run/broker.log" 2>&1 < /dev/null &
            BROKER_PID=$!
            if ! startup="$("$PY" "$LIB" probe "$PORT" "$launch" "$START_TIMEOUT" "$BROKER_PID")"; then
                tail -20 "$run/broker.log" >&2
                die "[$SYS] the broker did not answer ApiVersions on $BOOTSTRAP (log: $run/broker.log)"
            fi
            ;;
        kafka)
            KAFKA_DIR="$run/kafka"
            "$ROOT/scripts/kafka-ref.sh" start --port "$PORT" --controller-port $((PORT + 1)) --dir "$KAFKA_DIR" \
                --heap "$HEAP" --timeout "$START_TIMEOUT" --override group.initial.rebalance.delay.ms=0 \
                > "$run/kafka-start.out" 2> "$run/kafka-start.err" &
            local starter=$!
            if ! startup="$("$PY" "$LIB" probe "$PORT" "$KAFKA_DIR/launch.ts" "$START_TIMEOUT" "$starter")"; then
                wait "$starter" || true
                cat "$run/kafka-start.err" >&2
                die "[$SYS] the broker did not answer ApiVersions on $BOOTSTRAP (log: $KAFKA_DIR/kafka.log)"
            fi
            wait "$starter" || { cat "$run/kafka-start.err" >&2; die "[$SYS] Apache Kafka did not start (log: $KAFKA_DIR/kafka.log)"; }
            BROKER_PID="$(cat "$KAFKA_DIR/kafka.pid")"
            ;;
    esac
    record startup_s "$startup"
    progress "[rep $REP/$REPS] [$SYS] ready in ${startup}s after launch (pid $BROKER_PID)"
}

create_topic() {
    local run="$1" topic="$2" partitions="$3"
    timeout 120 "${TOOL_JVM[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --create --topic "$topic" --partitions "$partitions" --replication-factor 1 > "$run/topic-$topic.txt" 2>&1 \
        || { cat "$run/topic-$topic.txt" >&2; die "[$SYS] creating topic $topic failed"; }
}

# Peak VmRSS of the broker, every 0.25 s, into FILE (one line, rewritten), until killed.
start_sampler() {
    local file="$1" pid="$BROKER_PID"
    (
        peak=0
        while [[ -r "/proc/$pid/status" ]]; do
            kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
            if [[ -n "$kb" ]] && (( kb > peak )); then peak=$kb; echo "$peak" > "$file"; fi
            sleep 0.25
        done
    ) &
    SAMPLER_PID=$!
}

run_producer() {
    local run="$1" name="$2" topic="$3" records="$4" throughput="$5"
    shift 5
    # tool options, then "--", then producer properties; or producer properties alone
    local -a extra=()
    if [[ " $* " == *" -- "* ]]; then
        while [[ "$1" != -- ]]; do extra+=("$1"); shift; done
        shift
    fi
    local raw="$run/$name.txt"
    timeout 900 "${TOOL_JVM[@]}" org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
        --num-records "$records" --record-size "$RECORD_SIZE" --throughput "$throughput" "${extra[@]+"${extra[@]}"}" \
        --producer-props "bootstrap.servers=$BOOTSTRAP" "$@" > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] ProducerPerformance ($name) failed: $raw"; }
    grep -q "ERROR\|Exception" "$raw" && die "[$SYS] the producer reported errors: see $raw"
    local parsed
    parsed="$("$PY" "$LIB" parse producer "$raw")" || die "[$SYS] cannot read $raw"
    [[ "$(awk '$1 == "records" { print $2 }' <<< "$parsed")" == "$records" ]] \
        || die "[$SYS] $name sent fewer than $records records: see $raw"
    echo "$parsed"
}

val() { awk -v k="$1" '$1 == k { print $2 }' <<< "$2"; }

run_system() {
    local run="$OUT/rep$REP-$SYS"
    mkdir -p "$run"
    port_open "$PORT" && die "port $PORT is already in use"
    port_open $((PORT + 1)) && die "port $((PORT + 1)) is already in use"
    progress "[rep $REP/$REPS] [$SYS] starting an empty broker"
    start_broker "$run"

    sleep 2
    local mem
    mem="$("$PY" "$LIB" rss "$BROKER_PID")"
    record rss_idle_mib "${mem%% *}"
    progress "[rep $REP/$REPS] [$SYS] idle resident memory ${mem%% *} MiB"

    if ! wants produce1 && ! wants consume && ! wants produceall && ! wants latency && ! wants e2erate && ! wants e2e; then
        stop_broker
        return
    fi
    create_topic "$run" bench "$PARTITIONS"
    wants produceall && create_topic "$run" bench-all "$PARTITIONS"
    if wants latency || wants e2erate; then create_topic "$run" bench-latency 1; fi
    # EndToEndLatency would create it itself, but its consumer may then look before the metadata has it
    wants e2e && create_topic "$run" bench-e2e 1

    start_sampler "$run/rss-peak-kib"
    local p
    if wants produce1 || wants consume; then
        progress "[rep $REP/$REPS] [$SYS] produce acks=1: $RECORDS records of $RECORD_SIZE B"
        p="$(run_producer "$run" produce-acks1 bench "$RECORDS" -1 acks=1)"
        wants produce1 && record produce_acks1_mbps "$(val mbps "$p")"
        progress "[rep $REP/$REPS] [$SYS] produce acks=1: $(val rps "$p") records/s, $(val mbps "$p") MB/s"
    fi
    if wants consume; then
        progress "[rep $REP/$REPS] [$SYS] consume $RECORDS records"
        local raw="$run/consume.txt"
        timeout 900 "${TOOL_JVM[@]}" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOTSTRAP" \
            --topic bench --num-records "$RECORDS" --timeout 60000 --group "bench-$SYS-$REP-$$" > "$raw" 2>&1 \
            || { tail -20 "$raw" >&2; die "[$SYS] ConsumerPerformance failed: $raw"; }
        local c
        c="$("$PY" "$LIB" parse consumer "$raw")" || die "[$SYS] cannot read $raw"
        (( $(val records "$c") >= RECORDS )) || die "[$SYS] the consumer read $(val records "$c") records, not $RECORDS: $raw"
        record consume_mbps "$(val mbps "$c")"
        progress "[rep $REP/$REPS] [$SYS] consume: $(val rps "$c") records/s, $(val mbps "$c") MB/s (group join $(val rebalance_ms "$c") ms, not counted)"
    fi
    if wants produceall; then
        progress "[rep $REP/$REPS] [$SYS] produce acks=all: $RECORDS records"
        p="$(run_producer "$run" produce-acksall bench-all "$RECORDS" -1 acks=all)"
        record produce_acksall_mbps "$(val mbps "$p")"
        progress "[rep $REP/$REPS] [$SYS] produce acks=all: $(val rps "$p") records/s, $(val mbps "$p") MB/s"
    fi
    stop_sampler
    if [[ -s "$run/rss-peak-kib" ]]; then
        record rss_load_mib "$(awk '{ printf "%.1f", $1 / 1024 }' "$run/rss-peak-kib")"
        progress "[rep $REP/$REPS] [$SYS] peak resident memory under load $(awk '{ printf "%.0f", $1 / 1024 }' "$run/rss-peak-kib") MiB"
    fi
    if wants latency; then
        progress "[rep $REP/$REPS] [$SYS] latency at $LAT_RATE records/s: $LAT_RECORDS records"
        p="$(run_producer "$run" latency bench-latency "$LAT_RECORDS" "$LAT_RATE" --warmup-records $((LAT_RATE * 2)) \
            -- acks=all linger.ms=0)"
        record latency_p50_ms "$(val p50_ms "$p")"
        record latency_p99_ms "$(val p99_ms "$p")"
        progress "[rep $REP/$REPS] [$SYS] latency: $(val rps "$p") records/s, p50 $(val p50_ms "$p") ms, p99 $(val p99_ms "$p") ms, max $(val max_ms "$p") ms"
    fi
    if wants e2erate; then
        progress "[rep $REP/$REPS] [$SYS] end-to-end latency at $LAT_RATE records/s: $LAT_RECORDS records"
        local raw="$run/e2e-rate.txt"
        # a young generation that the run does not fill: the tool's own collections would stall its producer
        # and consumer and count as the broker's latency (G1 sized for -Xmx512m paused every ~1 s for 2-15 ms;
        # it allocates ~45 MB/s at 2000 records/s, and collects once just before its clock starts)
        timeout 600 "${TOOL_JVM[@]}" -Xms1536m -Xmx1536m -Xmn1g "$ROOT/scripts/bench/FixedRateEndToEnd.java" "$BOOTSTRAP" bench-latency "$LAT_RATE" \
            "$LAT_RECORDS" $((LAT_RATE * 2)) "$RECORD_SIZE" all > "$raw" 2>&1 \
            || { tail -20 "$raw" >&2; die "[$SYS] FixedRateEndToEnd failed: $raw"; }
        local e
        e="$("$PY" "$LIB" parse e2erate "$raw")" || die "[$SYS] cannot read $raw"
        record e2e_rate_p50_ms "$(val p50_ms "$e")"
        record e2e_rate_p99_ms "$(val p99_ms "$e")"
        progress "[rep $REP/$REPS] [$SYS] end-to-end at fixed rate: p50 $(val p50_ms "$e") ms, p99 $(val p99_ms "$e") ms, p99.9 $(val p999_ms "$e") ms, max $(val max_ms "$e") ms (client GC in window: $(val client_gc "$e") x, $(val client_gc_ms "$e") ms)"
    fi
    if wants e2e; then
        progress "[rep $REP/$REPS] [$SYS] end-to-end latency, one in flight: $E2E_RECORDS round trips"
        local raw="$run/e2e.txt"
        timeout 600 "${TOOL_JVM[@]}" org.apache.kafka.tools.EndToEndLatency "$BOOTSTRAP" bench-e2e "$E2E_RECORDS" all \
            "$RECORD_SIZE" > "$raw" 2>&1 || { tail -20 "$raw" >&2; die "[$SYS] EndToEndLatency failed: $raw"; }
        local e
        e="$("$PY" "$LIB" parse e2e "$raw")" || die "[$SYS] cannot read $raw"
        record e2e_p50_ms "$(val p50_ms "$e")"
        record e2e_p99_ms "$(val p99_ms "$e")"
        progress "[rep $REP/$REPS] [$SYS] end-to-end: avg $(val avg_ms "$e") ms, p50 $(val p50_ms "$e") ms, p99 $(val p99_ms "$e") ms"
    fi
    stop_broker
}

progress "output in $OUT"
# scripts/runnel.sh maps a class-data archive that the first start after a build writes at exit (Java 17
# has no -XX:+AutoCreateSharedArchive): make that first start an unmeasured one that serves every request
# type the workloads use, so the measured starts are the ones a user sees from the second start on.
ARCHIVE="$ROOT/target/runnel.jsa"
if [[ " $SYSTEMS " == *" runnel "* && ! ( -f "$ARCHIVE" && "$ARCHIVE" -nt "$ROOT/target/runnel.jar" ) ]]; then
    REP=0
    SYS=runnel
    progress "[prime] [runnel] first start after the build: writing its class-data archive (not measured)"
    prime="$OUT/prime-runnel"
    mkdir -p "$prime"
    start_broker "$prime"
    create_topic "$prime" prime 2
    run_producer "$prime" produce prime 20000 -1 acks=1 > /dev/null
    timeout 300 "${TOOL_JVM[@]}" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOTSTRAP" \
        --topic prime --num-records 20000 --timeout 60000 --group prime > "$prime/consume.txt" 2>&1 \
        || die "[prime] ConsumerPerformance failed: $prime/consume.txt"
    stop_broker
    # the next start adopts the archive the JVM wrote at exit
fi
for ((REP = 1; REP <= REPS; REP++)); do
    order="$SYSTEMS"
    if (( REP % 2 == 0 )); then
        order="$(tr ' ' '\n' <<< "$SYSTEMS" | tac | tr '\n' ' ')"
    fi
    for SYS in $order; do
        run_system
    done
done
progress "done"
echo
"$PY" "$LIB" report "$OUT"
echo "Raw results: $OUT (results.csv, summary.json, plot.svg)"
