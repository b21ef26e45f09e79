#!/usr/bin/env bash
# Benchmark: Runnel beside Apache Kafka 4.4.0 on the same machine, with Kafka's own tools (kafka-tools
# 4.4.0: ProducerPerformance, ConsumerPerformance, EndToEndLatency, TopicCommand), fetched from Maven
# Central by scripts/kafka-ref.sh and cached under target/kafka-ref/.
#
# Usage: scripts/bench.sh [options]
#   --reps N              repetitions per system, median reported (default 3); the order of the two
#                         systems alternates per repetition so drift on a noisy machine hits both
#   --records N           records per throughput run (default 300000 x 1 KiB: about 300 MB)
#   --record-size BYTES   default 1024
#   --partitions P        partitions of the throughput topics (default 6)
#   --latency-rate R      records/s of the fixed-rate latency run (default 2000, about 2 MB/s)
#   --latency-records N   records of the fixed-rate latency runs (default 60000: 30 s), of which the
#                         first --latency-warmup seconds are not counted
#   --latency-warmup S    seconds of warm-up (default 10): the clients' JIT compiles for about that long,
#                         using more than one of two cores (p50 end-to-end 4 ms in the first 5 s, 0.5 ms
#                         after 10 s, against either broker), which would measure the client, not the broker
#   --e2e-records N       round trips of the one-in-flight end-to-end run (default 3000)
#   --workloads "..."     single-node part: subset of startup produce1 consume produceall txn latency e2erate e2e
#                         compact users saslssl eventbus (default all; startup and memory are always measured, as
#                         each run starts a broker; eventbus or saslssl alone starts no such run); the three-node
#                         part runs all of its own, its transactional produce only when txn is among the workloads
#   --users-records N     records of each produce and consume of the users workload (default: --records)
#   --users-partitions "P..."  partition counts of the users workload (default "3 1000")
#   --txn-records N       records of the txn workload (default 100000 x RECORD_SIZE B)
#   --txn-size N          records per transaction of the txn workload (default 100)
#   --eb-batch N          event bus: records per batched produce message (default 100)
#   --eb-in-flight N      event bus: batched produce messages unanswered at a time (default 8)
#   --eb-delivery-batch N event bus: records per delivery of the latency run's subscription (default 100; the
#                         per-record delivery is measured too, reported beside it)
#   --eb-port PORT        event bus: the node's Hazelcast member port (default 19294); the application's is PORT+1
#   --compact-records N   records of the compact workload (default 2000000 x 100 B values over
#                         --compact-keys keys, default 10000, into 16 MiB segments: about 220 MB of dirty log)
#   --heap SIZE           broker heap, -Xms and -Xmx alike, for both (default 1g, as kafka-server-start.sh)
#   --systems "..."       default "runnel kafka"
#   --port PORT           listener port (default 19292; Kafka's controller takes PORT+1)
#   --cluster             only the three-node part (default: the single-node part, then the three-node part)
#   --no-cluster          only the single-node part
#   --cluster-port PORT   first listener port of the three nodes (default 19302: 19302-19304); Kafka's
#                         controllers take PORT+10.., Runnel's Hazelcast members PORT+20.., its admin
#                         listeners PORT+30..
#   --keep-data           keep the brokers' data directories (default: delete after each run)
#   --meta-partitions N   partitions of the metadata workloads (default 10000; see "Metadata" below)
#   --only meta           only the metadata workloads: per system three empty nodes for the three-node
#                         ones (cluster start-up is recorded too), then one node for the single-node ones
#
# Single-node part. Each (repetition, system) run: a fresh, empty single node (KRaft broker+controller for Kafka), timed
# from the JVM launch until it answers ApiVersions and its Metadata lists itself (Kafka's storage format runs
# before and is not counted); resident memory (VmRSS) 2 s after ready = idle; then, in this order, produce acks=1 at
# full speed (ProducerPerformance --throughput -1, default producer settings: batch.size 16384,
# linger.ms 5, no compression) to topic bench; consume the same records (ConsumerPerformance; its fetch.*
# columns, without the group join); produce acks=all at full speed to topic bench-all; a fixed-rate
# produce (ProducerPerformance --throughput R, acks=all, linger.ms=0) whose send-to-acknowledgement
# percentiles are the produce-acknowledgement latency at a fixed rate; the end-to-end latency at the same
# fixed rate (scripts/bench/FixedRateEndToEnd.java: the Java producer sends on a schedule, linger.ms=0,
# acks=all, the Java consumer in the same JVM times each record from its scheduled send until polled,
# microsecond resolution, first 10 s discarded, its own young generation large enough not to collect during
# the run) - kafka-tools' EndToEndLatency cannot hold a rate, as it
# keeps one record in flight, so it runs last, as extra information. Resident memory
# under load is the peak VmRSS sampled every 0.25 s from the first produce to the end of the acks=all
# produce. Client tools run one at a time with -Xmx512m on the same machine.
# Transactions (workload txn, after produce acks=all, outside the memory sampling): scripts/bench/TxnProduce.java,
# one transactional producer (acks=all, the client's defaults otherwise) sending --txn-records records of
# RECORD_SIZE B round-robin to a PARTITIONS-partition topic in transactions of --txn-size records, one after the
# other (begin, sends, commitTransaction); MB/s from the first begin to the last commit, with the commit call's p50
# and p99 shown; then a read_committed consumer must read exactly the records committed, or the run fails. On
# three nodes (when txn is among the workloads) the same against an RF=3 topic, after the acks=all produce. Kafka's
# single node runs its transaction log at replication factor 1 (kafka-ref.sh), Runnel caps it at the live brokers.
# Compaction (workload compact, last): scripts/bench/CompactProduce.java creates a one-partition topic
# with cleanup.policy=compact, segment.bytes 16 MiB and min.cleanable.dirty.ratio 0.01 and produces
# --compact-records keyed records at full speed (acks=1, batch.size 128 KiB, linger.ms 20, as a user
# tunes a producer for throughput; with the default 16 KiB batches one partition's five requests in flight
# left client and broker idle and measured the shared machine's scheduling, not the broker: see the
# tool's comment) while the broker's cleaner cleans the segments that roll: its MB/s is "produce to a
# compacted topic while cleaning". After 20 s more for the cleaner
# to catch up, "cleaner throughput" is the MB of log the cleanings processed over the seconds they took,
# summed over every cleaning, from each broker's own log lines (Kafka: "X MB of log processed in Y
# seconds"; Runnel: "Cleaned ... A -> B bytes, ... M ms"). Both brokers run with
# log.cleaner.backoff.ms=1000 so their cleaners look for work as often.
# SASL_SSL (workload saslssl, after the single-node runs, its own broker per (repetition, system)): a PKCS12
# key and certificate for 127.0.0.1 (keytool, RSA 2048) and a truststore holding that certificate, made under
# the run's directory; each broker started fresh with one client listener, SASL_SSL on the same port, serving
# SCRAM-SHA-512 only (the broker's inter-broker listener too, as the README's "Between brokers" example),
# the user bench seeded as each system does it: Kafka at its storage format (kafka-ref.sh --add-scram, i.e.
# kafka-storage.sh format --add-scram), Runnel with runnel.bootstrap.scram.users; Kafka's controller
# listener stays PLAINTEXT on PORT+1. Every tool (TopicCommand, ProducerPerformance, ConsumerPerformance)
# reads one client file: security.protocol=SASL_SSL, sasl.mechanism=SCRAM-SHA-512, ScramLoginModule JAAS,
# ssl.truststore.* (host name verification on). Then, as above: produce acks=1, consume, produce acks=all,
# RECORDS records of RECORD_SIZE B on PARTITIONS partitions, in two passes on the same broker: the first right
# after start-up (reported as "first pass": the broker's JIT compiles during it, a fixed cost that weighs
# heavily on a run of a few seconds on 2 cores), then the measured one on topics of its own, the broker warm as
# a serving broker is (each pass starts fresh client JVMs, so the clients are cold in both). Start-up is not timed (the probe speaks
# plaintext); the broker is used once TopicCommand over SASL_SSL has created the topics. Each broker runs
# TLS on its default engine: Runnel on BoringSSL (runnel.ssl.engine=auto), Kafka on the JDK's SSLEngine;
# RUNNEL_RUNNEL_SSL_ENGINE=jdk in the environment puts Runnel on the JDK's too.
# Event bus (workload eventbus, Runnel only, after the single-node part): the event bus against the Kafka Java
# clients on the same Runnel node. Each repetition starts one node as the README's event-bus section does
# (java -jar target/runnel.jar, cluster.enabled=true, cluster.members listing the node's Hazelcast port
# and the application's, defaults otherwise; its own listener, data directory and admin port), and
# scripts/bench/EventBusBench.java, a plain Vert.x application (vertx-core and vertx-hazelcast only, raw
# addresses; the node's JAR is its class path, no Runnel class is used) joins that cluster as the second
# member. On fresh PARTITIONS-partition topics, RECORDS records of RECORD_SIZE B each: ProducerPerformance
# acks=1 and acks=all (as above), and event-bus batched produce to runnel.produce, the binary batch
# (header format: records) and JSON arrays (values base64), --eb-batch records a message, --eb-in-flight
# messages in flight, acks=1 and acks=-1, from the first send to the last reply, every record's result
# checked. Then end-to-end latency at the fixed rate on one-partition topics: FixedRateEndToEnd (as above),
# and EventBusBench e2e: one record per runnel.produce message (acks=-1) on the same schedule, a
# subscription (runnel.subscribe, credits 1000) delivering to the application, each record timed from its
# scheduled send until its delivery arrives, the same warm-up, record count, JVM and GC rules; run twice:
# with deliveries of up to --eb-delivery-batch records (the "batch" option: what has arrived for the
# partition in one delivery, as the Kafka consumer's poll returns what has arrived; the target line) and
# with the default one record per delivery, whose next record waits for the reply (reported beside it). The
# Kafka clients go first on odd repetitions, the event bus on even ones. Reported in a table of its own,
# ratio = event bus / Kafka clients; targets: batched produce >= 0.5x, p99 end-to-end <= 1.0x.
# Three-node part, each (repetition, system) run: three fresh, empty nodes on 127.0.0.1 with the same heap
# each as the single node: Kafka as three KRaft combined broker+controller nodes (a three-voter quorum,
# kafka-ref.sh start-cluster), Runnel as three scripts/runnel.sh nodes joined through Hazelcast; both with
# min.insync.replicas=2 and default replication factor 3. Start-up = from the first JVM launch until all
# three answer ApiVersions and list all three brokers in their Metadata (a node that answers before it knows
# its cluster does not serve yet). Then scripts/bench/ClusterReady.java checks that each broker lists all three,
# creates the topics (RF=3, min.insync.replicas=2), waits for a leader and a full ISR on every partition
# and for an acks=all record to every partition to be acknowledged: "RF=3 topic produceable" = start-up
# + that tool's time from CreateTopics to the last acknowledgement (its own JVM start is not counted).
# Resident memory, summed over the three processes: idle 2 s after that; under load, the peak while
# ProducerPerformance sends RECORDS records with acks=all at full speed to a PARTITIONS-partition topic.
# Last, the end-to-end latency at the fixed rate with FixedRateEndToEnd (acks=all, one partition, RF=3).
# Every client bootstraps from the three listeners.
# Metadata (part of the three-node part): on one node, the time from CreateTopics to every partition of a
# META_PARTITIONS-partition topic led (created 5000 partitions a request, CreateTopics then CreatePartitions:
# Kafka's controller refuses a request of more than 10,000 metadata records, and a topic of 10,000
# partitions is 10,001), and, after a clean stop, from the launch of the same node on that
# data until every partition is led again (scripts/bench/MetadataBench.java polls Metadata every 50 ms); on
# three nodes, CreateTopics of META_PARTITIONS partitions with replication factor 3 until all are led, then
# kill -9 of node 2 until every partition it led has another leader (its last workload). The default of
# 10000 partitions fits the 20000 open files a process may hold here (RF=3 on three nodes puts every
# partition on every node; Kafka holds one descriptor per segment, its .log: the index files are mapped
# without one; Runnel the same up to log.open.files.max, half the limit by default, closing idle ones beyond
# it) and vm.max_map_count (two index mappings per partition).
# Users (workload users, after the other single-node workloads, its own broker per (repetition, system)): the
# nodes as a user starts and configures them, not tuned for the benchmark. Runnel: the README's command, read
# from README.md (`java @conf/jvm.options -jar target/runnel.jar`: the class-data archive the build writes and
# the JIT flags of conf/jvm.options) from the project root (conf/runnel.properties read as the README's command reads it), no
# other JVM flag (the JVM's default heap, a quarter of RAM; its GC's default young generation), embedded
# defaults; the bare `java -jar target/runnel.jar` (no archive) is started first on a data directory of its
# own, timed to ready and stopped, reported beside it; only what must differ for the bench is set, through
# the README's RUNNEL_<KEY> environment variables: listeners (the bench port), log.dirs (the run's directory),
# admin.listener (an ephemeral port, not 8080) and group.initial.rebalance.delay.ms=0. Kafka: as
# kafka-server-start.sh starts it (kafka-ref.sh start: its JVM flags, -Xms1g -Xmx1g whatever --heap says),
# with group.initial.rebalance.delay.ms=0. Start-up to ready is timed as above, through that same command:
# "start-up to ready, README command", beside the runnel.sh (class-data archive) start-up of the other runs.
# Then, after idle memory: for each partition count of --users-partitions (3 and 1000) and each batching (the
# clients' defaults, batch.size 16384 and linger.ms 5 in kafka-clients 4.4; and batch.size=65536 linger.ms=5,
# as a user tunes a producer for throughput), ProducerPerformance at full speed with acks=1, then with acks=all,
# each to a topic of its own, then ConsumerPerformance of the acks=1 topic (the acks=all topic holds batches of
# the same sizes, so consuming it as well would measure the same again); --users-records records of
# RECORD_SIZE B each. All eight topics are created first, each until every partition is led
# (scripts/bench/MetadataBench.java create), so no produce waits for leaders. Reported per run: records/s,
# MB/s, broker CPU s/GB (below) and their ratios, in a table of its own; peak resident memory over all the
# produces and consumes ("users: resident memory under load").
# Broker CPU per GB (every throughput phase: produce acks=1 and acks=all, consume, plain and SASL_SSL, the
# three-node acks=all produce and the users workload's): utime+stime of the broker JVM from /proc/<pid>/stat
# (clock ticks, getconf CLK_TCK), read right before the client tool is launched and right after it exits, over
# RECORDS x RECORD_SIZE bytes, GB = 10^9 bytes; summed over the three brokers in the three-node part (the
# followers' fetches and appends are part of what an acks=all produce costs). The pid is the JVM itself:
# runnel.sh execs java, the users' start execs java, kafka-ref.sh launches java directly. The window holds the
# client JVM's own start and exit (about 1-2 s in which the broker is idle: its timers only) and, for a
# consume, the group join: what a user's run costs the broker, not only the steady state. A clock tick is
# 10 ms: on runs of a few MB the figure is coarse.
# The summary closes with "issue 18 targets": each of issue 18's targets with the worst ratio over the
# workloads it applies to (produce and consume: the plain single-node ones and the users' matrix; CPU per
# GB: every plain throughput phase, three nodes included; end-to-end p99 at the fixed rate: one node and
# three; memory under load: one node, users, three nodes; start-up: the users' README command, absolute),
# how many of them meet it, and met / NOT met.
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
LAT_RECORDS=60000
LAT_WARMUP_S=10
E2E_RECORDS=3000
WORKLOADS="startup produce1 consume produceall txn latency e2erate e2e compact users saslssl eventbus"
USERS_RECORDS=""
USERS_PARTITIONS="3 1000"
TXN_RECORDS=100000
TXN_SIZE=100
EB_BATCH=100
EB_IN_FLIGHT=8
EB_DELIVERY_BATCH=100
EB_PORT=19294
COMPACT_RECORDS=2000000
COMPACT_KEYS=10000
COMPACT_VALUE_SIZE=100
COMPACT_SEGMENT_BYTES=16777216
COMPACT_SETTLE_S=20
HEAP=1g
SYSTEMS="runnel kafka"
PORT=19292
SINGLE=1
CLUSTER=1
CLUSTER_PORT=19302
KEEP_DATA=0
START_TIMEOUT=120
META_PARTITIONS=10000
ONLY=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --records) RECORDS="$2"; shift 2 ;;
        --record-size) RECORD_SIZE="$2"; shift 2 ;;
        --partitions) PARTITIONS="$2"; shift 2 ;;
        --latency-rate) LAT_RATE="$2"; shift 2 ;;
        --latency-records) LAT_RECORDS="$2"; shift 2 ;;
        --latency-warmup) LAT_WARMUP_S="$2"; shift 2 ;;
        --e2e-records) E2E_RECORDS="$2"; shift 2 ;;
        --workloads) WORKLOADS="$2"; shift 2 ;;
        --users-records) USERS_RECORDS="$2"; shift 2 ;;
        --users-partitions) USERS_PARTITIONS="$2"; shift 2 ;;
        --txn-records) TXN_RECORDS="$2"; shift 2 ;;
        --txn-size) TXN_SIZE="$2"; shift 2 ;;
        --eb-batch) EB_BATCH="$2"; shift 2 ;;
        --eb-in-flight) EB_IN_FLIGHT="$2"; shift 2 ;;
        --eb-delivery-batch) EB_DELIVERY_BATCH="$2"; shift 2 ;;
        --eb-port) EB_PORT="$2"; shift 2 ;;
        --compact-records) COMPACT_RECORDS="$2"; shift 2 ;;
        --compact-keys) COMPACT_KEYS="$2"; shift 2 ;;
        --heap) HEAP="$2"; shift 2 ;;
        --systems) SYSTEMS="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --cluster) SINGLE=0; CLUSTER=1; shift ;;
        --no-cluster) SINGLE=1; CLUSTER=0; shift ;;
        --cluster-port) CLUSTER_PORT="$2"; shift 2 ;;
        --keep-data) KEEP_DATA=1; shift ;;
        --meta-partitions) META_PARTITIONS="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

[[ -z "$ONLY" || "$ONLY" == meta ]] || { echo "bench.sh: --only takes meta" >&2; exit 2; }
USERS_RECORDS="${USERS_RECORDS:-$RECORDS}"
[[ "$USERS_RECORDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --users-records takes a positive integer" >&2; exit 2; }
for p in $USERS_PARTITIONS; do
    [[ "$p" =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --users-partitions takes positive integers, got $p" >&2; exit 2; }
done
[[ -n "${USERS_PARTITIONS// /}" ]] || { echo "bench.sh: --users-partitions is empty" >&2; exit 2; }
[[ "$EB_BATCH" =~ ^[1-9][0-9]*$ && "$EB_IN_FLIGHT" =~ ^[1-9][0-9]*$ ]] \
    || { echo "bench.sh: --eb-batch and --eb-in-flight take positive integers" >&2; exit 2; }
LAT_WARMUP=$((LAT_RATE * LAT_WARMUP_S))
if (( LAT_RECORDS <= LAT_WARMUP )); then
    echo "bench.sh: --latency-records $LAT_RECORDS leaves nothing after the $LAT_WARMUP_S s warm-up at $LAT_RATE records/s" >&2
    exit 2
fi

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
DESC="$RECORDS x $RECORD_SIZE B records, $PARTITIONS partitions, heap $HEAP, $(nproc) cores, $REPS rep(s); latency at $LAT_RATE rec/s for $((LAT_RECORDS / LAT_RATE)) s, the first $LAT_WARMUP_S s not counted"
if (( CLUSTER )); then DESC+="; 3 nodes: RF=3, min.insync.replicas=2, heap $HEAP each"; fi
if (( ! SINGLE )); then DESC+=" (three-node part only)"; fi
if (( SINGLE )) && wants users; then DESC+="; users: README start, $USERS_RECORDS records a run, partitions ${USERS_PARTITIONS// /, }"; fi
if (( SINGLE )) && wants eventbus; then DESC+="; event bus: batches of $EB_BATCH records, $EB_IN_FLIGHT in flight, deliveries of up to $EB_DELIVERY_BATCH"; fi
if [[ "$ONLY" == meta ]]; then DESC="metadata workloads only: $META_PARTITIONS partitions, heap $HEAP, $(nproc) cores, $REPS rep(s)"; fi
cat > "$OUT/meta.json" <<EOF
{"description": "$DESC", "reps": $REPS, "records": $RECORDS, "record_size": $RECORD_SIZE,
 "partitions": $PARTITIONS, "heap": "$HEAP", "latency_rate": $LAT_RATE, "latency_records": $LAT_RECORDS, "latency_warmup_s": $LAT_WARMUP_S,
 "e2e_records": $E2E_RECORDS, "single_node": $SINGLE, "cluster": $CLUSTER, "cores": $(nproc), "kafka": "4.4.0", "runnel_commit": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"}
EOF

BROKER_PID=""
BROKER_PIDS=()   # every broker process of the run: one, or three in the three-node part
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
        (( KEEP_DATA )) || rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR"/node-*/data
        KAFKA_DIR=""
        BROKER_PID=""
        BROKER_PIDS=()
    fi
    if (( ${#BROKER_PIDS[@]} > 0 )); then
        local pid alive deadline=$((SECONDS + 30))
        for pid in "${BROKER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
        while (( SECONDS < deadline )); do
            alive=0
            for pid in "${BROKER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            (( alive )) || break
            sleep 0.2
        done
        for pid in "${BROKER_PIDS[@]}"; do
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
        BROKER_PIDS=()
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

# Launches a single Runnel node on DATA_DIR (empty or not) in the background, writing the launch instant to
# LAUNCH_FILE; sets BROKER_PID.
# LISTENER_OVERRIDES (default PLAINTEXT on BOOTSTRAP) are its listener settings.
LISTENER_OVERRIDES=(--override "listeners=PLAINTEXT://$BOOTSTRAP" --override "advertised.listeners=PLAINTEXT://$BOOTSTRAP")
launch_runnel() {
    local run="$1" launch_file="$2"
    date +%s.%N > "$launch_file"
    RUNNEL_HEAP_OPTS="-Xms$HEAP -Xmx$HEAP" "$ROOT/scripts/runnel.sh" \
        "${LISTENER_OVERRIDES[@]}" \
        --override "admin.listener=127.0.0.1:0" \
        --override "log.dirs=$DATA_DIR" \
        --override group.initial.rebalance.delay.ms=0 \
        --override log.cleaner.backoff.ms=1000 \
        >> "$run/broker.log" 2>&1 < /dev/null &
    BROKER_PID=$!
    BROKER_PIDS=("$BROKER_PID")
}

# Starts the system's broker on an empty data directory and records startup_s (unless NO_STARTUP_RECORD is
# set); sets BROKER_PID.
start_broker() {
    local run="$1"
    local launch="$run/launch.ts" startup
    case "$SYS" in
        runnel)
            DATA_DIR="$run/runnel-data"
            mkdir -p "$DATA_DIR"
            launch_runnel "$run" "$launch"
            if ! startup="$("$PY" "$LIB" probe "$PORT" "$launch" "$START_TIMEOUT" "$BROKER_PID")"; then
                tail -20 "$run/broker.log" >&2
                die "[$SYS] the broker did not answer, or list itself, on $BOOTSTRAP (log: $run/broker.log)"
            fi
            ;;
        kafka)
            KAFKA_DIR="$run/kafka"
            "$ROOT/scripts/kafka-ref.sh" start --port "$PORT" --controller-port $((PORT + 1)) --dir "$KAFKA_DIR" \
                --heap "$HEAP" --timeout "$START_TIMEOUT" --override group.initial.rebalance.delay.ms=0 \
                --override log.cleaner.backoff.ms=1000 \
                > "$run/kafka-start.out" 2> "$run/kafka-start.err" &
            local starter=$!
            if ! startup="$("$PY" "$LIB" probe "$PORT" "$KAFKA_DIR/launch.ts" "$START_TIMEOUT" "$starter")"; then
                wait "$starter" || true
                cat "$run/kafka-start.err" >&2
                die "[$SYS] the broker did not answer, or list itself, on $BOOTSTRAP (log: $KAFKA_DIR/kafka.log)"
            fi
            wait "$starter" || { cat "$run/kafka-start.err" >&2; die "[$SYS] Apache Kafka did not start (log: $KAFKA_DIR/kafka.log)"; }
            BROKER_PID="$(cat "$KAFKA_DIR/kafka.pid")"
            ;;
    esac
    [[ -n "${NO_STARTUP_RECORD:-}" ]] || record startup_s "$startup"
    progress "[rep $REP/$REPS] [$SYS] ready in ${startup}s after launch (pid $BROKER_PID)"
}

# End-to-end latency at the fixed rate (FixedRateEndToEnd) against TOPIC; records METRIC_p50_ms and
# METRIC_p99_ms. LABEL prefixes the progress lines.
run_e2e_rate() {
    local run="$1" topic="$2" metric="$3" label="$4" raw="$1/e2e-rate.txt" e
    progress "[rep $REP/$REPS] [$SYS] ${label}end-to-end latency at $LAT_RATE records/s: $LAT_RECORDS records"
    # a young generation that the run does not fill: the tool's own collections would stall its producer
    # and consumer and count as the broker's latency (G1 sized for -Xmx512m paused every ~1 s for 2-15 ms;
    # it allocates ~45 MB/s at 2000 records/s, and collects once just before its clock starts)
    timeout 600 "${TOOL_JVM[@]}" -Xms2560m -Xmx2560m -Xmn2g "$ROOT/scripts/bench/FixedRateEndToEnd.java" "$BOOTSTRAP" \
        "$topic" "$LAT_RATE" "$LAT_RECORDS" "$LAT_WARMUP" "$RECORD_SIZE" all > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] FixedRateEndToEnd failed: $raw"; }
    e="$("$PY" "$LIB" parse e2erate "$raw")" || die "[$SYS] cannot read $raw"
    record "${metric}_p50_ms" "$(val p50_ms "$e")"
    record "${metric}_p99_ms" "$(val p99_ms "$e")"
    progress "[rep $REP/$REPS] [$SYS] ${label}end-to-end at fixed rate: p50 $(val p50_ms "$e") ms, p99 $(val p99_ms "$e") ms, p99.9 $(val p999_ms "$e") ms, max $(val max_ms "$e") ms (client GC in window: $(val client_gc "$e") x, $(val client_gc_ms "$e") ms)"
}

create_topic() {
    local run="$1" topic="$2" partitions="$3"
    timeout 120 "${TOOL_JVM[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --create --topic "$topic" --partitions "$partitions" --replication-factor 1 > "$run/topic-$topic.txt" 2>&1 \
        || { cat "$run/topic-$topic.txt" >&2; die "[$SYS] creating topic $topic failed"; }
}

# Peak VmRSS of the broker processes (summed over them), every 0.25 s, into FILE (one line, rewritten),
# until killed.
start_sampler() {
    local file="$1"
    shift
    (
        peak=0
        while true; do
            sum=0
            for pid in "$@"; do
                kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
                sum=$((sum + ${kb:-0}))
            done
            (( sum > 0 )) || break
            if (( sum > peak )); then peak=$sum; echo "$peak" > "$file"; fi
            sleep 0.25
        done
    ) &
    SAMPLER_PID=$!
}

val() { awk -v k="$1" '$1 == k { print $2 }' <<< "$2"; }

# Broker CPU: utime+stime (in clock ticks) of the broker JVMs, from /proc/PID/stat, summed over the broker
# processes of the run (BROKER_PIDS, or BROKER_PID alone: Kafka's single node). Both start scripts leave the
# JVM itself as that pid (runnel.sh execs java; kafka-ref.sh and the README start launch java directly), so
# no wrapper's ticks are counted and none of the JVM's are missed. The process totals include every thread,
# the JVM's GC and JIT threads too. Field 2 (the command) may hold spaces: cut after its closing ")", then
# utime and stime are the 12th and 13th fields.
CLK_TCK="$(getconf CLK_TCK)"
cpu_ticks() {
    local -a pids=("${BROKER_PIDS[@]+"${BROKER_PIDS[@]}"}")
    (( ${#pids[@]} > 0 )) || pids=("$BROKER_PID")
    local pid sum=0 t
    for pid in "${pids[@]}"; do
        t="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
        [[ -n "$t" ]] || die "[$SYS] broker pid $pid is gone: cannot read its CPU time"
        sum=$((sum + t))
    done
    echo "$sum"
}
# "cpu_s S" and "cpu_s_per_gb C" lines: the broker CPU seconds between tick counts T0 and T1, and per GB
# (10^9 bytes) of RECORDS x RECORD_SIZE.
cpu_lines() {
    awk -v t0="$1" -v t1="$2" -v hz="$CLK_TCK" -v n="$3" -v size="$RECORD_SIZE" \
        'BEGIN { s = (t1 - t0) / hz; printf "cpu_s %.2f\ncpu_s_per_gb %.3f\n", s, s / (n * size / 1e9) }'
}

# Appends the tick counts to the tool's output FILE, so that every CPU figure can be checked against its raw data.
cpu_note() {
    echo "bench.sh: broker CPU ticks before=$2 after=$3 CLK_TCK=$CLK_TCK pids=${BROKER_PIDS[*]:-$BROKER_PID}" >> "$1"
}

# ProducerPerformance; prints its parsed summary (bench_lib.py parse producer) and the broker's CPU over the
# tool's run (cpu_lines).
run_producer() {
    local run="$1" name="$2" topic="$3" records="$4" throughput="$5"
    shift 5
    # tool options, then "--", then producer properties; or producer properties alone
    local -a extra=()
    if [[ " $* " == *" -- "* ]]; then
        while [[ "$1" != -- ]]; do extra+=("$1"); shift; done
        shift
    fi
    local raw="$run/$name.txt" t0 t1
    t0="$(cpu_ticks)"
    timeout 900 "${TOOL_JVM[@]}" org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
        --num-records "$records" --record-size "$RECORD_SIZE" --throughput "$throughput" "${extra[@]+"${extra[@]}"}" \
        --producer-props "bootstrap.servers=$BOOTSTRAP" "$@" > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] ProducerPerformance ($name) failed: $raw"; }
    t1="$(cpu_ticks)"
    cpu_note "$raw" "$t0" "$t1"
    grep -q "ERROR\|Exception" "$raw" && die "[$SYS] the producer reported errors: see $raw"
    local parsed
    parsed="$("$PY" "$LIB" parse producer "$raw")" || die "[$SYS] cannot read $raw"
    [[ "$(awk '$1 == "records" { print $2 }' <<< "$parsed")" == "$records" ]] \
        || die "[$SYS] $name sent fewer than $records records: see $raw"
    echo "$parsed"
    cpu_lines "$t0" "$t1" "$records"
}

# ConsumerPerformance of RECORDS records of TOPIC in group GROUP (further tool options after it); prints its
# parsed result (bench_lib.py parse consumer) and the broker's CPU over the tool's run (cpu_lines), the group
# join included (a few requests; the throughput figures leave it out).
run_consumer() {
    local run="$1" name="$2" topic="$3" records="$4" group="$5"
    shift 5
    local raw="$run/$name.txt" t0 t1 c
    t0="$(cpu_ticks)"
    timeout 900 "${TOOL_JVM[@]}" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOTSTRAP" \
        --topic "$topic" --num-records "$records" --timeout 60000 --group "$group" "$@" > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] ConsumerPerformance ($name) failed: $raw"; }
    t1="$(cpu_ticks)"
    cpu_note "$raw" "$t0" "$t1"
    c="$("$PY" "$LIB" parse consumer "$raw")" || die "[$SYS] cannot read $raw"
    (( $(val records "$c") >= records )) || die "[$SYS] the consumer read $(val records "$c") records, not $records: $raw"
    echo "$c"
    cpu_lines "$t0" "$t1" "$records"
}


# Transactional produce (TxnProduce) of TXN_RECORDS records in transactions of TXN_SIZE to TOPIC (PARTITIONS
# partitions, existing) on BOOTSTRAP; records METRIC. LABEL prefixes the progress lines.
run_txn() {
    local run="$1" topic="$2" metric="$3" label="$4" raw="$1/txn-produce.txt" t
    progress "[rep $REP/$REPS] [$SYS] ${label}produce in transactions of $TXN_SIZE (acks=all): $TXN_RECORDS records of $RECORD_SIZE B"
    timeout 900 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/TxnProduce.java" "$BOOTSTRAP" "$topic" "$PARTITIONS" \
        "$TXN_RECORDS" "$RECORD_SIZE" "$TXN_SIZE" > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] TxnProduce failed: $raw"; }
    t="$("$PY" "$LIB" parse txnproduce "$raw")" || die "[$SYS] cannot read $raw"
    record "$metric" "$(val mbps "$t")"
    progress "[rep $REP/$REPS] [$SYS] ${label}transactions of $TXN_SIZE: $(val rps "$t") records/s, $(val mbps "$t") MB/s, $(val txns "$t") commits (p50 $(val commit_p50_ms "$t") ms, p99 $(val commit_p99_ms "$t") ms)"
}

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

    if ! wants produce1 && ! wants consume && ! wants produceall && ! wants txn && ! wants latency && ! wants e2erate \
            && ! wants e2e && ! wants compact; then
        stop_broker
        return
    fi
    create_topic "$run" bench "$PARTITIONS"
    wants produceall && create_topic "$run" bench-all "$PARTITIONS"
    wants txn && create_topic "$run" bench-txn "$PARTITIONS"
    if wants latency || wants e2erate; then create_topic "$run" bench-latency 1; fi
    # EndToEndLatency would create it itself, but its consumer may then look before the metadata has it
    wants e2e && create_topic "$run" bench-e2e 1

    start_sampler "$run/rss-peak-kib" "$BROKER_PID"
    local p
    if wants produce1 || wants consume; then
        progress "[rep $REP/$REPS] [$SYS] produce acks=1: $RECORDS records of $RECORD_SIZE B"
        p="$(run_producer "$run" produce-acks1 bench "$RECORDS" -1 acks=1)"
        if wants produce1; then
            record produce_acks1_mbps "$(val mbps "$p")"
            record produce_acks1_cpu_s_per_gb "$(val cpu_s_per_gb "$p")"
        fi
        progress "[rep $REP/$REPS] [$SYS] produce acks=1: $(val rps "$p") records/s, $(val mbps "$p") MB/s, broker CPU $(val cpu_s_per_gb "$p") s/GB"
    fi
    if wants consume; then
        progress "[rep $REP/$REPS] [$SYS] consume $RECORDS records"
        local c
        c="$(run_consumer "$run" consume bench "$RECORDS" "bench-$SYS-$REP-$$")"
        record consume_mbps "$(val mbps "$c")"
        record consume_cpu_s_per_gb "$(val cpu_s_per_gb "$c")"
        progress "[rep $REP/$REPS] [$SYS] consume: $(val rps "$c") records/s, $(val mbps "$c") MB/s, broker CPU $(val cpu_s_per_gb "$c") s/GB (group join $(val rebalance_ms "$c") ms, not counted)"
    fi
    if wants produceall; then
        progress "[rep $REP/$REPS] [$SYS] produce acks=all: $RECORDS records"
        p="$(run_producer "$run" produce-acksall bench-all "$RECORDS" -1 acks=all)"
        record produce_acksall_mbps "$(val mbps "$p")"
        record produce_acksall_cpu_s_per_gb "$(val cpu_s_per_gb "$p")"
        progress "[rep $REP/$REPS] [$SYS] produce acks=all: $(val rps "$p") records/s, $(val mbps "$p") MB/s, broker CPU $(val cpu_s_per_gb "$p") s/GB"
    fi
    stop_sampler
    if [[ -s "$run/rss-peak-kib" ]]; then
        record rss_load_mib "$(awk '{ printf "%.1f", $1 / 1024 }' "$run/rss-peak-kib")"
        progress "[rep $REP/$REPS] [$SYS] peak resident memory under load $(awk '{ printf "%.0f", $1 / 1024 }' "$run/rss-peak-kib") MiB"
    fi
    wants txn && run_txn "$run" bench-txn txn_produce_mbps ""
    if wants latency; then
        progress "[rep $REP/$REPS] [$SYS] latency at $LAT_RATE records/s: $LAT_RECORDS records"
        p="$(run_producer "$run" latency bench-latency "$LAT_RECORDS" "$LAT_RATE" --warmup-records "$LAT_WARMUP" \
            -- acks=all linger.ms=0)"
        record latency_p50_ms "$(val p50_ms "$p")"
        record latency_p99_ms "$(val p99_ms "$p")"
        progress "[rep $REP/$REPS] [$SYS] latency: $(val rps "$p") records/s, p50 $(val p50_ms "$p") ms, p99 $(val p99_ms "$p") ms, max $(val max_ms "$p") ms"
    fi
    wants e2erate && run_e2e_rate "$run" bench-latency e2e_rate ""
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
    wants compact && run_compact "$run"
    stop_broker
}

# Produce to a compacted topic while the cleaner runs, then the cleaner's own throughput from the broker log.
run_compact() {
    local run="$1" raw="$1/compact-produce.txt" p c log
    progress "[rep $REP/$REPS] [$SYS] compact: $COMPACT_RECORDS records of $COMPACT_VALUE_SIZE B over $COMPACT_KEYS keys"
    timeout 900 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/CompactProduce.java" "$BOOTSTRAP" bench-compact \
        "$COMPACT_RECORDS" "$COMPACT_KEYS" "$COMPACT_VALUE_SIZE" "$COMPACT_SEGMENT_BYTES" > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] CompactProduce failed: $raw"; }
    p="$("$PY" "$LIB" parse compactproduce "$raw")" || die "[$SYS] cannot read $raw"
    record compact_produce_mbps "$(val mbps "$p")"
    progress "[rep $REP/$REPS] [$SYS] produce to a compacted topic while cleaning: $(val rps "$p") records/s, $(val mbps "$p") MB/s"
    sleep "$COMPACT_SETTLE_S"
    case "$SYS" in
        runnel) log="$run/broker.log" ;;
        kafka) log="$KAFKA_DIR/kafka.log" ;;
    esac
    c="$("$PY" "$LIB" parse "cleaner-$SYS" "$log")" || die "[$SYS] no cleaning in $log"
    record cleaner_mbps "$(val mbps "$c")"
    progress "[rep $REP/$REPS] [$SYS] cleaner: $(val cleanings "$c") cleanings, $(val mb "$c") MB in $(val seconds "$c") s: $(val mbps "$c") MB/s"
}

# ---- users: the README's start command with defaults (workload users) ----
# USERS_BATCHING: name:producer properties (comma-separated) of the two batchings the matrix runs
USERS_BATCHING=("default:" "b64k:batch.size=65536,linger.ms=5")

# Starts the system as a user does, on an empty data directory, and records users_startup_s: Runnel with the
# README's start command (README_START) from the project root (so conf/runnel.properties is read, as the
# README's command reads it), no other JVM flag (the JVM's default heap, a quarter of RAM), after timing the
# bare java -jar target/runnel.jar (users_plain_jar_startup_s); the bench's listener, data directory, admin port and group.initial.rebalance.delay.ms=0 given
# as RUNNEL_* environment variables (the README's "Configuration"); Kafka as kafka-server-start.sh starts it
# (kafka-ref.sh start: its JVM flags, -Xms1g -Xmx1g whatever --heap says), with only
# group.initial.rebalance.delay.ms=0 beside kafka-ref.sh's single-node properties.
# The README's start command, read from the README itself (the java command after `mvn ... &&` on its
# first start line), so the bench starts Runnel exactly as it says, whatever it says
read -r -a README_START <<< "$(grep -m1 -oE '^mvn -B -q package -DskipTests && java .*target/runnel\.jar$' "$ROOT/README.md" \
    | sed 's/^mvn -B -q package -DskipTests && //')"
[[ "${README_START[0]:-}" == java ]] || die "cannot find the start command (mvn ... && java ... target/runnel.jar) in README.md"

start_users_broker() {
    local run="$1" startup
    case "$SYS" in
        runnel)
            DATA_DIR="$run/runnel-data"
            mkdir -p "$DATA_DIR"
            date +%s.%N > "$run/launch.ts"
            # first, for information, the bare `java -jar target/runnel.jar` (no class-data archive): started on
            # a data directory of its own, timed to ready and stopped
            mkdir -p "$run/plain-jar-data"
            date +%s.%N > "$run/plain-launch.ts"
            (cd "$ROOT" && RUNNEL_LISTENERS="PLAINTEXT://$BOOTSTRAP" RUNNEL_LOG_DIRS="$run/plain-jar-data" \
                RUNNEL_ADMIN_LISTENER=127.0.0.1:0 exec java -jar target/runnel.jar > "$run/plain-jar.log" 2>&1 < /dev/null) &
            local plain_pid=$! plain
            if ! plain="$("$PY" "$LIB" probe "$PORT" "$run/plain-launch.ts" "$START_TIMEOUT" "$plain_pid")"; then
                tail -20 "$run/plain-jar.log" >&2
                die "[$SYS] users: java -jar target/runnel.jar did not answer on $BOOTSTRAP (log: $run/plain-jar.log)"
            fi
            kill "$plain_pid"; wait "$plain_pid" 2>/dev/null || true
            rm -rf "$run/plain-jar-data"
            record users_plain_jar_startup_s "$plain"
            date +%s.%N > "$run/launch.ts"
            (cd "$ROOT" && RUNNEL_LISTENERS="PLAINTEXT://$BOOTSTRAP" RUNNEL_LOG_DIRS="$DATA_DIR" \
                RUNNEL_ADMIN_LISTENER=127.0.0.1:0 RUNNEL_GROUP_INITIAL_REBALANCE_DELAY_MS=0 \
                exec "${README_START[@]}" > "$run/broker.log" 2>&1 < /dev/null) &
            BROKER_PID=$!
            BROKER_PIDS=("$BROKER_PID")
            if ! startup="$("$PY" "$LIB" probe "$PORT" "$run/launch.ts" "$START_TIMEOUT" "$BROKER_PID")"; then
                tail -20 "$run/broker.log" >&2
                die "[$SYS] users: the broker did not answer, or list itself, on $BOOTSTRAP (log: $run/broker.log)"
            fi
            # the environment variables are read by name; a misspelt one would be ignored without a word
            [[ -n "$(ls -A "$DATA_DIR")" ]] || die "[$SYS] users: nothing written under $DATA_DIR: RUNNEL_LOG_DIRS not applied"
            ;;
        kafka)
            KAFKA_DIR="$run/kafka"
            "$ROOT/scripts/kafka-ref.sh" start --port "$PORT" --controller-port $((PORT + 1)) --dir "$KAFKA_DIR" \
                --heap 1g --timeout "$START_TIMEOUT" --override group.initial.rebalance.delay.ms=0 \
                > "$run/kafka-start.out" 2> "$run/kafka-start.err" &
            local starter=$!
            if ! startup="$("$PY" "$LIB" probe "$PORT" "$KAFKA_DIR/launch.ts" "$START_TIMEOUT" "$starter")"; then
                wait "$starter" || true
                cat "$run/kafka-start.err" >&2
                die "[$SYS] users: the broker did not answer, or list itself, on $BOOTSTRAP (log: $KAFKA_DIR/kafka.log)"
            fi
            wait "$starter" || { cat "$run/kafka-start.err" >&2; die "[$SYS] Apache Kafka did not start (log: $KAFKA_DIR/kafka.log)"; }
            BROKER_PID="$(cat "$KAFKA_DIR/kafka.pid")"
            ;;
    esac
    record users_startup_s "$startup"
    progress "[rep $REP/$REPS] [$SYS] users: ready in ${startup}s after launch, started as the README says (pid $BROKER_PID)"
}

# The users' matrix on one broker started as a user starts it: for each partition count of USERS_PARTITIONS
# and each batching of USERS_BATCHING, produce acks=1, produce acks=all (each to a topic of its own), then
# consume the acks=1 topic; USERS_RECORDS records of RECORD_SIZE B each. Records users_* metrics.
run_users() {
    local run="$OUT/rep$REP-$SYS-users" parts b name props topic raw p c m ms
    mkdir -p "$run"
    port_open "$PORT" && die "port $PORT is already in use"
    port_open $((PORT + 1)) && die "port $((PORT + 1)) is already in use"
    progress "[rep $REP/$REPS] [$SYS] users: starting an empty broker as the README says"
    start_users_broker "$run"
    sleep 2
    local mem
    mem="$("$PY" "$LIB" rss "$BROKER_PID")"
    record users_rss_idle_mib "${mem%% *}"
    progress "[rep $REP/$REPS] [$SYS] users: idle resident memory ${mem%% *} MiB"
    # every topic first, each until all its partitions are led (MetadataBench create), so that no produce
    # below waits for leaders: the matrix measures serving, not topic creation
    for parts in $USERS_PARTITIONS; do
        for b in "${USERS_BATCHING[@]}"; do
            for topic in "users-p$parts-${b%%:*}-acks1" "users-p$parts-${b%%:*}-acksall"; do
                raw="$run/topic-$topic.txt"
                timeout 600 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/MetadataBench.java" create "$BOOTSTRAP" 300 \
                    "$topic" "$parts" 1 > "$raw" 2>&1 || { tail -5 "$raw" >&2; die "[$SYS] users: creating $topic failed: $raw"; }
            done
        done
        progress "[rep $REP/$REPS] [$SYS] users: $(( ${#USERS_BATCHING[@]} * 2 )) topics of $parts partitions created and led (the last in $(sed -n 's/.*create_to_led_ms=\([0-9.]*\).*/\1/p' "$raw") ms)"
    done
    start_sampler "$run/rss-peak-kib" "$BROKER_PID"
    for parts in $USERS_PARTITIONS; do
        for b in "${USERS_BATCHING[@]}"; do
            name="${b%%:*}"
            props="${b#*:}"
            local -a kv=()
            [[ -z "$props" ]] || IFS=, read -r -a kv <<< "$props"
            for acks in 1 all; do
                m="users_p${parts}_${name}_produce_acks${acks}"
                p="$(run_producer "$run" "p$parts-$name-produce-acks$acks" "users-p$parts-$name-acks$acks" "$USERS_RECORDS" -1 \
                    acks=$acks "${kv[@]+"${kv[@]}"}")"
                record "${m}_rps" "$(val rps "$p")"
                record "${m}_mbps" "$(val mbps "$p")"
                record "${m}_cpu_s_per_gb" "$(val cpu_s_per_gb "$p")"
                progress "[rep $REP/$REPS] [$SYS] users: $parts partitions, $name batching, produce acks=$acks: $(val rps "$p") records/s, $(val mbps "$p") MB/s, broker CPU $(val cpu_s_per_gb "$p") s/GB"
            done
            m="users_p${parts}_${name}_consume"
            c="$(run_consumer "$run" "p$parts-$name-consume" "users-p$parts-$name-acks1" "$USERS_RECORDS" \
                "users-$SYS-$REP-$parts-$name-$$")"
            record "${m}_rps" "$(val rps "$c")"
            record "${m}_mbps" "$(val mbps "$c")"
            record "${m}_cpu_s_per_gb" "$(val cpu_s_per_gb "$c")"
            progress "[rep $REP/$REPS] [$SYS] users: $parts partitions, $name batching, consume: $(val rps "$c") records/s, $(val mbps "$c") MB/s, broker CPU $(val cpu_s_per_gb "$c") s/GB"
        done
    done
    stop_sampler
    if [[ -s "$run/rss-peak-kib" ]]; then
        record users_rss_load_mib "$(awk '{ printf "%.1f", $1 / 1024 }' "$run/rss-peak-kib")"
        progress "[rep $REP/$REPS] [$SYS] users: peak resident memory under load $(awk '{ printf "%.0f", $1 / 1024 }' "$run/rss-peak-kib") MiB"
    fi
    stop_broker
}

# ---- SASL_SSL (workload saslssl) ----
SASL_USER=bench
SASL_PASSWORD=bench-secret
SASL_JAAS="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$SASL_USER\" password=\"$SASL_PASSWORD\";"

# The key, certificate and truststore under OUT/tls, and the client file OUT/tls/client.properties.
make_tls() {
    local dir="$OUT/tls"
    [[ -f "$dir/client.properties" ]] && return 0
    mkdir -p "$dir"
    keytool -genkeypair -keystore "$dir/broker.p12" -storetype PKCS12 -storepass "$SASL_PASSWORD" \
        -keypass "$SASL_PASSWORD" -alias broker -keyalg RSA -keysize 2048 -validity 30 \
        -dname CN=127.0.0.1 -ext SAN=ip:127.0.0.1 > "$dir/keytool.log" 2>&1 || { cat "$dir/keytool.log" >&2; die "keytool -genkeypair failed"; }
    keytool -exportcert -keystore "$dir/broker.p12" -storetype PKCS12 -storepass "$SASL_PASSWORD" -alias broker \
        -rfc -file "$dir/broker.pem" >> "$dir/keytool.log" 2>&1 || die "keytool -exportcert failed"
    keytool -importcert -noprompt -keystore "$dir/truststore.p12" -storetype PKCS12 -storepass "$SASL_PASSWORD" \
        -alias broker -file "$dir/broker.pem" >> "$dir/keytool.log" 2>&1 || die "keytool -importcert failed"
    cat > "$dir/client.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$SASL_JAAS
ssl.truststore.type=PKCS12
ssl.truststore.location=$dir/truststore.p12
ssl.truststore.password=$SASL_PASSWORD
EOF
}

# The broker settings both systems share: SASL_SSL, SCRAM-SHA-512, the keystore, and the truststore that the
# broker's own inter-broker client checks the certificate with (Kafka tries that client against its listener
# at start-up and stops when it fails); as --override arguments, NUL-separated.
sasl_overrides() {
    local dir="$OUT/tls" kv
    for kv in "advertised.listeners=SASL_SSL://$BOOTSTRAP" inter.broker.listener.name=SASL_SSL \
            sasl.enabled.mechanisms=SCRAM-SHA-512 sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512 \
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$SASL_JAAS" \
            ssl.keystore.type=PKCS12 "ssl.keystore.location=$dir/broker.p12" \
            "ssl.keystore.password=$SASL_PASSWORD" "ssl.key.password=$SASL_PASSWORD" \
            ssl.truststore.type=PKCS12 "ssl.truststore.location=$dir/truststore.p12" \
            "ssl.truststore.password=$SASL_PASSWORD"; do
        printf -- '--override\0%s\0' "$kv"
    done
}

# One SASL_SSL pass on the running broker: produce acks=1 to TOPIC, consume it, produce acks=all to TOPIC-all,
# RECORDS records each, fresh client JVMs. KIND ("first" or "") names the metrics (sasl_KIND_...) and the files.
sasl_pass() {
    local run="$1" conf="$2" kind="$3" topic="$4" label="$5" p c name
    name="sasl${kind:+-$kind}"
    local m="sasl_${kind:+${kind}_}"
    p="$(run_producer "$run" "$name-produce-acks1" "$topic" "$RECORDS" -1 --producer.config "$conf" -- acks=1)"
    record "${m}produce_acks1_mbps" "$(val mbps "$p")"
    record "${m}produce_acks1_cpu_s_per_gb" "$(val cpu_s_per_gb "$p")"
    progress "[rep $REP/$REPS] [$SYS] SASL_SSL ${label}produce acks=1: $(val rps "$p") records/s, $(val mbps "$p") MB/s, broker CPU $(val cpu_s_per_gb "$p") s/GB"
    c="$(run_consumer "$run" "$name-consume" "$topic" "$RECORDS" "bench-$name-$SYS-$REP-$$" --command-config "$conf")"
    record "${m}consume_mbps" "$(val mbps "$c")"
    record "${m}consume_cpu_s_per_gb" "$(val cpu_s_per_gb "$c")"
    progress "[rep $REP/$REPS] [$SYS] SASL_SSL ${label}consume: $(val rps "$c") records/s, $(val mbps "$c") MB/s, broker CPU $(val cpu_s_per_gb "$c") s/GB (group join $(val rebalance_ms "$c") ms, not counted)"
    p="$(run_producer "$run" "$name-produce-acksall" "$topic-all" "$RECORDS" -1 --producer.config "$conf" -- acks=all)"
    record "${m}produce_acksall_mbps" "$(val mbps "$p")"
    record "${m}produce_acksall_cpu_s_per_gb" "$(val cpu_s_per_gb "$p")"
    progress "[rep $REP/$REPS] [$SYS] SASL_SSL ${label}produce acks=all: $(val rps "$p") records/s, $(val mbps "$p") MB/s, broker CPU $(val cpu_s_per_gb "$p") s/GB"
}

run_saslssl() {
    local run="$OUT/rep$REP-$SYS-saslssl" conf="$OUT/tls/client.properties"
    mkdir -p "$run"
    make_tls
    port_open "$PORT" && die "port $PORT is already in use"
    port_open $((PORT + 1)) && die "port $((PORT + 1)) is already in use"
    local -a common
    mapfile -d '' common < <(sasl_overrides)
    progress "[rep $REP/$REPS] [$SYS] SASL_SSL: starting an empty broker (SCRAM-SHA-512 on $BOOTSTRAP)"
    case "$SYS" in
        runnel)
            DATA_DIR="$run/runnel-data"
            mkdir -p "$DATA_DIR"
            local saved=("${LISTENER_OVERRIDES[@]}")
            LISTENER_OVERRIDES=(--override "listeners=SASL_SSL://$BOOTSTRAP" "${common[@]}"
                --override "runnel.bootstrap.scram.users=SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]")
            launch_runnel "$run" "$run/launch.ts"
            LISTENER_OVERRIDES=("${saved[@]}")
            ;;
        kafka)
            KAFKA_DIR="$run/kafka"
            "$ROOT/scripts/kafka-ref.sh" start --port "$PORT" --controller-port $((PORT + 1)) --dir "$KAFKA_DIR" \
                --heap "$HEAP" --timeout "$START_TIMEOUT" --override group.initial.rebalance.delay.ms=0 \
                --override "listeners=SASL_SSL://$BOOTSTRAP,CONTROLLER://127.0.0.1:$((PORT + 1))" \
                --override listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL "${common[@]}" \
                --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" \
                > "$run/kafka-start.out" 2> "$run/kafka-start.err" \
                || { cat "$run/kafka-start.err" >&2; die "[$SYS] Apache Kafka did not start over SASL_SSL (log: $KAFKA_DIR/kafka.log)"; }
            BROKER_PID="$(cat "$KAFKA_DIR/kafka.pid")"
            ;;
    esac
    local deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$PORT"; do
        kill -0 "$BROKER_PID" 2>/dev/null || { tail -20 "$run/broker.log" >&2; die "[$SYS] the broker exited (log: $run/broker.log)"; }
        (( SECONDS < deadline )) || die "[$SYS] nothing listens on $BOOTSTRAP after ${START_TIMEOUT}s"
        sleep 0.2
    done
    local t
    for t in bench-sasl-first bench-sasl-first-all bench-sasl bench-sasl-all; do
        timeout 120 "${TOOL_JVM[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
            --command-config "$conf" --create --topic "$t" --partitions "$PARTITIONS" --replication-factor 1 \
            > "$run/topic-$t.txt" 2>&1 || { cat "$run/topic-$t.txt" >&2; die "[$SYS] creating topic $t over SASL_SSL failed"; }
    done
    progress "[rep $REP/$REPS] [$SYS] SASL_SSL: topics created over SASL_SSL (pid $BROKER_PID)"
    # the broker's first pass (just started: its JIT compiles as it goes), then the same on the now warm broker
    sasl_pass "$run" "$conf" first bench-sasl-first "first pass: "
    sasl_pass "$run" "$conf" "" bench-sasl ""
    stop_broker
}

# ---- event bus (workload eventbus) ----
EB_CLUSTER="runnel-bench-eb"

# One Runnel node started as the README's event-bus section starts it, then the Kafka Java clients and the
# event bus (scripts/bench/EventBusBench.java) against it. Records under the systems kafkaclients and
# eventbus.
run_eventbus() {
    local run="$OUT/rep$REP-eventbus" p raw e first
    mkdir -p "$run"
    local node_member="127.0.0.1:$EB_PORT" app_port=$((EB_PORT + 1))
    for p in "$PORT" "$EB_PORT" "$app_port"; do
        port_open "$p" && die "port $p is already in use"
    done
    SYS=eventbus
    progress "[rep $REP/$REPS] [eventbus] starting a clustered node (java -jar target/runnel.jar, Hazelcast on $node_member)"
    DATA_DIR="$run/runnel-data"
    mkdir -p "$DATA_DIR"
    date +%s.%N > "$run/launch.ts"
    # the README's start: cluster.enabled, cluster.name, cluster.port and cluster.members (the node and the
    # application, one by one); the rest are this benchmark's own ports and data directory
    (cd "$run" && exec java "-Xms$HEAP" "-Xmx$HEAP" -jar "$ROOT/target/runnel.jar" \
        --override cluster.enabled=true --override "cluster.name=$EB_CLUSTER" \
        --override "cluster.port=$EB_PORT" --override "cluster.members=$node_member,127.0.0.1:$app_port" \
        --override "listeners=PLAINTEXT://$BOOTSTRAP" --override "advertised.listeners=PLAINTEXT://$BOOTSTRAP" \
        --override "admin.listener=127.0.0.1:0" --override "log.dirs=$DATA_DIR" \
        > "$run/broker.log" 2>&1 < /dev/null) &
    BROKER_PID=$!
    BROKER_PIDS=("$BROKER_PID")
    local startup
    if ! startup="$("$PY" "$LIB" probe "$PORT" "$run/launch.ts" "$START_TIMEOUT" "$BROKER_PID")"; then
        tail -20 "$run/broker.log" >&2
        die "[eventbus] the clustered node did not answer on $BOOTSTRAP (log: $run/broker.log)"
    fi
    progress "[rep $REP/$REPS] [eventbus] node ready in ${startup}s (pid $BROKER_PID)"
    local t
    for t in kc-acks1 kc-acksall eb-binary-acks1 eb-binary-acksall eb-json-acks1 eb-json-acksall; do
        create_topic "$run" "$t" "$PARTITIONS"
    done
    create_topic "$run" kc-latency 1
    create_topic "$run" eb-latency 1

    local eb_jvm=(java -Xmx1g -XX:+UseG1GC -cp "$ROOT/target/runnel.jar" "$ROOT/scripts/bench/EventBusBench.java")
    eb_produce() { # FORMAT ACKS METRIC
        local raw="$run/eb-produce-$1-acks$2.txt" topic="eb-$1-acks${2/-1/all}" q
        timeout 900 "${eb_jvm[@]}" produce "$EB_CLUSTER" "$node_member" "$app_port" "$topic" "$RECORDS" "$RECORD_SIZE" \
            "$1" "$EB_BATCH" "$EB_IN_FLIGHT" "$2" > "$raw" 2>&1 || { tail -20 "$raw" >&2; die "[eventbus] EventBusBench produce failed: $raw"; }
        q="$("$PY" "$LIB" parse ebproduce "$raw")" || die "[eventbus] cannot read $raw"
        [[ "$(val records "$q")" == "$RECORDS" ]] || die "[eventbus] fewer than $RECORDS records written: $raw"
        record "$3" "$(val mbps "$q")"
        progress "[rep $REP/$REPS] [eventbus] event bus produce, $1 batches of $EB_BATCH, $EB_IN_FLIGHT in flight, acks=$2: $(val rps "$q") records/s, $(val mbps "$q") MB/s"
    }
    kc_produce() {
        local q
        SYS=kafkaclients
        q="$(run_producer "$run" kc-produce-acks1 kc-acks1 "$RECORDS" -1 acks=1)"
        record eb_produce_binary_acks1_mbps "$(val mbps "$q")"
        record eb_produce_json_acks1_mbps "$(val mbps "$q")"
        progress "[rep $REP/$REPS] [eventbus] Kafka producer acks=1: $(val rps "$q") records/s, $(val mbps "$q") MB/s"
        q="$(run_producer "$run" kc-produce-acksall kc-acksall "$RECORDS" -1 acks=all)"
        record eb_produce_binary_acksall_mbps "$(val mbps "$q")"
        record eb_produce_json_acksall_mbps "$(val mbps "$q")"
        progress "[rep $REP/$REPS] [eventbus] Kafka producer acks=all: $(val rps "$q") records/s, $(val mbps "$q") MB/s"
        SYS=eventbus
    }
    eb_all_produce() {
        eb_produce binary 1 eb_produce_binary_acks1_mbps
        eb_produce binary -1 eb_produce_binary_acksall_mbps
        eb_produce json 1 eb_produce_json_acks1_mbps
        eb_produce json -1 eb_produce_json_acksall_mbps
    }
    kc_e2e() {
        SYS=kafkaclients
        run_e2e_rate "$run" kc-latency eb_e2e "Kafka clients: "
        # the same Kafka run is the reference of the per-record delivery line too
        local q
        q="$("$PY" "$LIB" parse e2erate "$run/e2e-rate.txt")" || die "[kafkaclients] cannot read $run/e2e-rate.txt"
        record eb_e2e_single_p99_ms "$(val p99_ms "$q")"
        SYS=eventbus
    }
    # $1: records per delivery (1: the default subscription, one record then its reply; $EB_DELIVERY_BATCH:
    # the "batch" option, what has arrived for a partition in one delivery, as a Kafka consumer polls)
    eb_e2e() {
        local batch="$1" raw="$run/eb-e2e-rate-batch$1.txt" q metric label
        if (( batch > 1 )); then metric=eb_e2e; label="deliveries of up to $batch records"
        else metric=eb_e2e_single; label="one record per delivery"; fi
        progress "[rep $REP/$REPS] [eventbus] event bus end-to-end latency at $LAT_RATE records/s, $label: $LAT_RECORDS records"
        timeout 600 java -Xms2560m -Xmx2560m -Xmn2g -XX:+UseG1GC -cp "$ROOT/target/runnel.jar" \
            "$ROOT/scripts/bench/EventBusBench.java" e2e "$EB_CLUSTER" "$node_member" "$app_port" eb-latency \
            "$LAT_RATE" "$LAT_RECORDS" "$LAT_WARMUP" "$RECORD_SIZE" "$batch" > "$raw" 2>&1 \
            || { tail -20 "$raw" >&2; die "[eventbus] EventBusBench e2e failed: $raw"; }
        q="$("$PY" "$LIB" parse e2erate "$raw")" || die "[eventbus] cannot read $raw"
        if (( batch > 1 )); then record eb_e2e_p50_ms "$(val p50_ms "$q")"; fi
        record "${metric}_p99_ms" "$(val p99_ms "$q")"
        progress "[rep $REP/$REPS] [eventbus] event bus end-to-end at fixed rate, $label: p50 $(val p50_ms "$q") ms, p99 $(val p99_ms "$q") ms, p99.9 $(val p999_ms "$q") ms, max $(val max_ms "$q") ms (client GC in window: $(val client_gc "$q") x, $(val client_gc_ms "$q") ms)"
    }
    if (( REP % 2 == 1 )); then
        kc_produce; eb_all_produce; kc_e2e; eb_e2e "$EB_DELIVERY_BATCH"; eb_e2e 1
    else
        eb_all_produce; kc_produce; eb_e2e 1; eb_e2e "$EB_DELIVERY_BATCH"; kc_e2e
    fi
    SYS=runnel
    stop_broker
}

# ---- three-node part ----
CLUSTER_BOOTSTRAP="127.0.0.1:$CLUSTER_PORT,127.0.0.1:$((CLUSTER_PORT + 1)),127.0.0.1:$((CLUSTER_PORT + 2))"
CLUSTER_PORTS=()
for ((i = 0; i < 3; i++)); do
    # listeners, Kafka's controllers, Runnel's Hazelcast members, Runnel's admin listeners
    CLUSTER_PORTS+=($((CLUSTER_PORT + i)) $((CLUSTER_PORT + 10 + i)) $((CLUSTER_PORT + 20 + i)) $((CLUSTER_PORT + 30 + i)))
done

# Starts three empty nodes of the system and records cluster_startup_s (first JVM launch until all three
# answer ApiVersions and list the three brokers); sets BROKER_PIDS.
start_cluster() {
    local run="$1" startup i launch
    local CLUSTER_PORTS="$CLUSTER_PORT,$((CLUSTER_PORT + 1)),$((CLUSTER_PORT + 2))"
    case "$SYS" in
        runnel)
            DATA_DIR="$run/runnel-data"
            mkdir -p "$DATA_DIR"
            launch="$run/launch.ts"
            local members="127.0.0.1:$((CLUSTER_PORT + 20)),127.0.0.1:$((CLUSTER_PORT + 21)),127.0.0.1:$((CLUSTER_PORT + 22))"
            # the metadata quorum's Raft ports are the ones Kafka's controllers use in their turn
            local voters="1@127.0.0.1:$((CLUSTER_PORT + 10)),2@127.0.0.1:$((CLUSTER_PORT + 11)),3@127.0.0.1:$((CLUSTER_PORT + 12))"
            date +%s.%N > "$launch"
            for i in 1 2 3; do
                RUNNEL_HEAP_OPTS="-Xms$HEAP -Xmx$HEAP" "$ROOT/scripts/runnel.sh" \
                    --override "node.id=$i" \
                    --override "listeners=PLAINTEXT://127.0.0.1:$((CLUSTER_PORT + i - 1))" \
                    --override "advertised.listeners=PLAINTEXT://127.0.0.1:$((CLUSTER_PORT + i - 1))" \
                    --override "admin.listener=127.0.0.1:$((CLUSTER_PORT + 29 + i))" \
                    --override "log.dirs=$DATA_DIR/node-$i" \
                    --override cluster.enabled=true \
                    --override "cluster.port=$((CLUSTER_PORT + 19 + i))" \
                    --override cluster.port.count=1 \
                    --override "cluster.members=$members" \
                    --override "controller.quorum.voters=$voters" \
                    --override default.replication.factor=3 \
                    --override min.insync.replicas=2 \
                    --override group.initial.rebalance.delay.ms=0 \
                    > "$run/node-$i.log" 2>&1 < /dev/null &
                BROKER_PIDS+=($!)
            done
            if ! startup="$("$PY" "$LIB" probe "$CLUSTER_PORTS" "$launch" "$START_TIMEOUT" \
                    "$(IFS=,; echo "${BROKER_PIDS[*]}")" 3)"; then
                tail -n 20 "$run"/node-*.log >&2
                die "[$SYS] the three nodes did not all answer and list three brokers on 127.0.0.1:$CLUSTER_PORTS (logs: $run/node-*.log)"
            fi
            ;;
        kafka)
            KAFKA_DIR="$run/kafka"
            "$ROOT/scripts/kafka-ref.sh" start-cluster "$KAFKA_DIR" --port "$CLUSTER_PORT" \
                --controller-port $((CLUSTER_PORT + 10)) --heap "$HEAP" --timeout "$START_TIMEOUT" \
                --override group.initial.rebalance.delay.ms=0 \
                > "$run/kafka-start.out" 2> "$run/kafka-start.err" &
            local starter=$!
            if ! startup="$("$PY" "$LIB" probe "$CLUSTER_PORTS" "$KAFKA_DIR/launch.ts" "$START_TIMEOUT" "$starter" 3)"; then
                wait "$starter" || true
                cat "$run/kafka-start.err" >&2
                die "[$SYS] the three nodes did not all answer and list three brokers on 127.0.0.1:$CLUSTER_PORTS (logs: $KAFKA_DIR/node-*/kafka.log)"
            fi
            wait "$starter" || { cat "$run/kafka-start.err" >&2; die "[$SYS] Apache Kafka did not start (logs: $KAFKA_DIR/node-*/kafka.log)"; }
            mapfile -t BROKER_PIDS < "$run/kafka-start.out"
            ;;
    esac
    # one probe of the three at once: the time of the last node's answer
    record cluster_startup_s "$startup"
    CLUSTER_STARTUP="$startup"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: all three ready ${startup}s after the first launch (pids ${BROKER_PIDS[*]})"
}

# Checks the three nodes' ports are free, then starts them empty in RUN (start_cluster).
start_empty_cluster() {
    local run="$1" p
    mkdir -p "$run"
    for p in "${CLUSTER_PORTS[@]}"; do
        port_open "$p" && die "port $p is already in use"
    done
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: starting three empty nodes"
    start_cluster "$run"
}

run_cluster_system() {
    local run="$OUT/rep$REP-$SYS-cluster" p
    start_empty_cluster "$run"

    local raw="$run/ready.txt"
    timeout 300 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/ClusterReady.java" "$CLUSTER_BOOTSTRAP" "$START_TIMEOUT" \
        "bench-rf3:$PARTITIONS" bench-rf3-latency:1 $(wants txn && echo "bench-rf3-txn:$PARTITIONS") > "$raw" 2>&1 \
        || { tail -20 "$raw" >&2; die "[$SYS] 3 nodes: the RF=3 topics did not become produceable: $raw"; }
    local ready_ms
    ready_ms="$(sed -n 's/.*create_to_produceable_ms=\([0-9.]*\).*/\1/p' "$raw")"
    [[ -n "$ready_ms" ]] || die "[$SYS] cannot read $raw"
    record cluster_topic_ready_s "$(awk -v s="$CLUSTER_STARTUP" -v m="$ready_ms" 'BEGIN { printf "%.3f", s + m / 1000 }')"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: RF=3 topics produceable ${ready_ms} ms after CreateTopics ($(sed -n 's/.*create_to_full_isr_ms=\([0-9.]*\).*/\1/p' "$raw") ms to a full ISR)"

    sleep 2
    local mem
    mem="$("$PY" "$LIB" rss "${BROKER_PIDS[@]}")"
    record cluster_rss_idle_mib "${mem%% *}"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: idle resident memory ${mem%% *} MiB (sum of three)"

    local saved="$BOOTSTRAP"
    BOOTSTRAP="$CLUSTER_BOOTSTRAP"
    start_sampler "$run/rss-peak-kib" "${BROKER_PIDS[@]}"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: produce acks=all: $RECORDS records of $RECORD_SIZE B, RF=3"
    p="$(run_producer "$run" produce-acksall bench-rf3 "$RECORDS" -1 acks=all)"
    record cluster_produce_acksall_mbps "$(val mbps "$p")"
    record cluster_produce_acksall_cpu_s_per_gb "$(val cpu_s_per_gb "$p")"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: produce acks=all: $(val rps "$p") records/s, $(val mbps "$p") MB/s (p99 $(val p99_ms "$p") ms), broker CPU $(val cpu_s_per_gb "$p") s/GB (sum of three)"
    stop_sampler
    if [[ -s "$run/rss-peak-kib" ]]; then
        record cluster_rss_load_mib "$(awk '{ printf "%.1f", $1 / 1024 }' "$run/rss-peak-kib")"
        progress "[rep $REP/$REPS] [$SYS] 3 nodes: peak resident memory under load $(awk '{ printf "%.0f", $1 / 1024 }' "$run/rss-peak-kib") MiB (sum of three)"
    fi
    wants txn && run_txn "$run" bench-rf3-txn cluster_txn_produce_mbps "3 nodes: "

    run_e2e_rate "$run" bench-rf3-latency cluster_e2e "3 nodes: "
    BOOTSTRAP="$saved"
    run_meta_cluster "$run"
    stop_broker
}

# ---- metadata workloads ----
ms_to_s() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; }

# One node: create a META_PARTITIONS-partition topic until all are led; stop it cleanly and launch it again
# on the same data until all are led again.
run_meta_single() {
    local run="$OUT/rep$REP-$SYS-meta" raw ms led_at launch_s
    mkdir -p "$run"
    NO_STARTUP_RECORD=1 start_broker "$run"
    raw="$run/create.txt"
    progress "[rep $REP/$REPS] [$SYS] 1 node: creating a topic of $META_PARTITIONS partitions"
    timeout 900 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/MetadataBench.java" create "$BOOTSTRAP" 600 bench-meta \
        "$META_PARTITIONS" 1 > "$raw" 2>&1 || { tail -5 "$raw" >&2; die "[$SYS] creating $META_PARTITIONS partitions failed: $raw"; }
    ms="$(sed -n 's/.*create_to_led_ms=\([0-9.]*\).*/\1/p' "$raw")"
    record meta_create_s "$(ms_to_s "$ms")"
    progress "[rep $REP/$REPS] [$SYS] 1 node: $META_PARTITIONS partitions created and led in $(ms_to_s "$ms") s"
    case "$SYS" in
        runnel)
            kill -TERM "$BROKER_PID"
            wait "$BROKER_PID" 2>/dev/null || true
            launch_runnel "$run" "$run/relaunch.ts"
            launch_s="$(cat "$run/relaunch.ts")"
            ;;
        kafka)
            "$ROOT/scripts/kafka-ref.sh" stop "$KAFKA_DIR" > /dev/null
            BROKER_PID="$("$ROOT/scripts/kafka-ref.sh" restart "$KAFKA_DIR" "$HEAP")"
            launch_s="$(cat "$KAFKA_DIR/launch.ts")"
            ;;
    esac
    raw="$run/restart.txt"
    timeout 900 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/MetadataBench.java" led "$BOOTSTRAP" 600 bench-meta \
        "$META_PARTITIONS" > "$raw" 2>&1 || { tail -5 "$raw" >&2; die "[$SYS] the restarted node did not lead its partitions: $raw"; }
    led_at="$(sed -n 's/.*led_at_epoch_ms=\([0-9]*\).*/\1/p' "$raw")"
    record meta_restart_s "$(awk -v l="$led_at" -v s="$launch_s" 'BEGIN { printf "%.3f", l / 1000 - s }')"
    progress "[rep $REP/$REPS] [$SYS] 1 node: restarted and leading $META_PARTITIONS partitions $(awk -v l="$led_at" -v s="$launch_s" 'BEGIN { printf "%.2f", l / 1000 - s }') s after launch"
    stop_broker
}

# Three nodes (already running, BROKER_PIDS in node order): META_PARTITIONS partitions at RF=3 until all are
# led; then kill -9 of node 2 until every partition it led has another leader. Leaves node 2 dead.
run_meta_cluster() {
    local run="$1" raw ms
    raw="$run/meta-create.txt"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: creating $META_PARTITIONS partitions at RF=3"
    timeout 900 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/MetadataBench.java" create "$CLUSTER_BOOTSTRAP" 600 \
        bench-meta "$META_PARTITIONS" 3 > "$raw" 2>&1 || { tail -5 "$raw" >&2; die "[$SYS] 3 nodes: creating partitions failed: $raw"; }
    ms="$(sed -n 's/.*create_to_led_ms=\([0-9.]*\).*/\1/p' "$raw")"
    record cluster_meta_create_s "$(ms_to_s "$ms")"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: $META_PARTITIONS partitions (RF=3) led $(ms_to_s "$ms") s after CreateTopics"
    raw="$run/meta-failover.txt"
    timeout 900 "${TOOL_JVM[@]}" "$ROOT/scripts/bench/MetadataBench.java" failover \
        "127.0.0.1:$CLUSTER_PORT,127.0.0.1:$((CLUSTER_PORT + 2))" 600 bench-meta 2 "${BROKER_PIDS[1]}" > "$raw" 2>&1 \
        || { tail -5 "$raw" >&2; die "[$SYS] 3 nodes: failover of node 2 did not complete: $raw"; }
    ms="$(sed -n 's/.*failover_ms=\([0-9.]*\).*/\1/p' "$raw")"
    record cluster_failover_s "$(ms_to_s "$ms")"
    progress "[rep $REP/$REPS] [$SYS] 3 nodes: kill -9 of node 2: its $(sed -n 's/.*moved=\([0-9]*\).*/\1/p' "$raw") partitions led elsewhere after $(ms_to_s "$ms") s"
}

# --only meta: three empty nodes, the three-node metadata workloads, then the single-node ones.
run_meta_cluster_system() {
    local run="$OUT/rep$REP-$SYS-cluster"
    start_empty_cluster "$run"
    run_meta_cluster "$run"
    stop_broker
}

# Runs FN for every repetition and system, the order of the systems reversed on even repetitions.
alternate() {
    local fn="$1" order
    for ((REP = 1; REP <= REPS; REP++)); do
        order="$SYSTEMS"
        if (( REP % 2 == 0 )); then
            order="$(tr ' ' '\n' <<< "$SYSTEMS" | tac | tr '\n' ' ')"
        fi
        for SYS in $order; do
            "$fn"
        done
    done
}

progress "output in $OUT"
# scripts/runnel.sh maps a class-data archive that the first start after a build writes at exit (Java 17
# has no -XX:+AutoCreateSharedArchive): make that first start an unmeasured one that serves every request
# type the workloads use, so the measured starts are the ones a user sees from the second start on.
ARCHIVE="$ROOT/target/runnel.jsa"
# the single-node workloads other than eventbus (which starts its node with java -jar, no archive)
SINGLE_WORKLOADS=0
SASLSSL=0
wants saslssl && SASLSSL=1
for w in $WORKLOADS; do [[ "$w" == eventbus || "$w" == saslssl ]] || SINGLE_WORKLOADS=1; done
if [[ " $SYSTEMS " == *" runnel "* && ! ( -f "$ARCHIVE" && "$ARCHIVE" -nt "$ROOT/target/runnel.jar" ) ]] \
        && (( (SINGLE && (SINGLE_WORKLOADS || SASLSSL)) || CLUSTER )); then
    REP=0
    SYS=runnel
    progress "[prime] [runnel] first start after the build: writing its class-data archive (not measured)"
    prime="$OUT/prime-runnel"
    mkdir -p "$prime"
    start_broker "$prime"
    create_topic "$prime" prime 2
    run_producer "$prime" produce prime 20000 -1 acks=1 > /dev/null
    run_consumer "$prime" consume prime 20000 prime > /dev/null
    stop_broker
    # the next start adopts the archive the JVM wrote at exit
fi
if [[ "$ONLY" == meta ]]; then
    alternate run_meta_cluster_system
    alternate run_meta_single
elif (( SINGLE )); then
    (( SINGLE_WORKLOADS )) && alternate run_system
    wants users && alternate run_users
    (( SASLSSL )) && alternate run_saslssl
    if wants eventbus && [[ " $SYSTEMS " == *" runnel "* ]]; then
        for ((REP = 1; REP <= REPS; REP++)); do run_eventbus; done
    fi
fi
if [[ -z "$ONLY" ]] && (( CLUSTER )); then
    alternate run_cluster_system
    alternate run_meta_single
fi
progress "done"
echo
"$PY" "$LIB" report "$OUT"
echo "Raw results: $OUT (results.csv, summary.json, plot.svg)"
