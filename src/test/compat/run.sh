#!/usr/bin/env bash
# Runs the client compatibility tests (kcat.sh, kafka_python_test.py, confluent_kafka_test.py) against a broker it
# starts.
# Builds nothing: for Runnel, build target/runnel.jar first (`mvn -B -q package -DskipTests`).
#
# Usage:
#   src/test/compat/run.sh                 start Runnel (scripts/runnel.sh) on 127.0.0.1:19192, fresh data dir
#   src/test/compat/run.sh --kafka         start Apache Kafka 4.4.0 (scripts/kafka-ref.sh) instead
#   src/test/compat/run.sh --broker-cmd 'CMD'
#                                          start the broker with CMD, run by bash as `exec CMD` (so prefix
#                                          environment settings with `env`); $PORT and $DATA_DIR (a fresh
#                                          directory) are exported for it; it must stay in the foreground
#   src/test/compat/run.sh --bootstrap HOST:PORT
#                                          start nothing: test a broker that is already running
#   --port N                               listener port for a broker started here (default 19192;
#                                          with --kafka the controller takes N+1)
#   --timeout S                            how long to wait for the broker to come up (default 120)
#
# Brokers started here get num.partitions=3 (so per-partition ordering is tested over several
# partitions) and group.initial.rebalance.delay.ms=0 (so group joins do not wait 3 s each).
# The broker's log is kept in target/compat/ (printed in part when something fails).
# Exits non-zero if the broker does not come up or any test fails.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$ROOT/src/test/compat"
OUT="$ROOT/target/compat"
PORT=19192
MODE=runnel
BROKER_CMD=""
BOOTSTRAP=""
TIMEOUT=120

while [[ $# -gt 0 ]]; do
    case "$1" in
        --kafka) MODE=kafka; shift ;;
        --broker-cmd) MODE=cmd; BROKER_CMD="$2"; shift 2 ;;
        --bootstrap) MODE=external; BOOTSTRAP="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "run.sh: $*" >&2; exit 1; }

command -v kcat >/dev/null || die "kcat is not installed (apt-get install kcat)"
/usr/bin/python3 -c 'import kafka' 2>/dev/null || die "kafka-python is not installed for /usr/bin/python3 (apt-get install python3-kafka)"
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null \
    || die "confluent-kafka is not installed for /usr/bin/python3 (apt-get install python3-confluent-kafka)"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$OUT"
BROKER_PID=""
KAFKA_DIR=""
DATA_DIR=""
BROKER_LOG=""

stop_broker() {
    if [[ -n "$KAFKA_DIR" ]]; then
        "$ROOT/scripts/kafka-ref.sh" stop "$KAFKA_DIR" || true
        rm -rf "$KAFKA_DIR/data"
        KAFKA_DIR=""
    fi
    if [[ -n "$BROKER_PID" ]]; then
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            kill "$BROKER_PID" 2>/dev/null
            local deadline=$((SECONDS + 30))
            while kill -0 "$BROKER_PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
            if kill -0 "$BROKER_PID" 2>/dev/null; then
                echo "run.sh: broker pid $BROKER_PID did not stop within 30s after SIGTERM; killing it" >&2
                kill -9 "$BROKER_PID" 2>/dev/null
            fi
        fi
        wait "$BROKER_PID" 2>/dev/null
        BROKER_PID=""
    fi
    [[ -n "$DATA_DIR" ]] && rm -rf "$DATA_DIR"
    DATA_DIR=""
}
trap stop_broker EXIT
trap 'exit 130' INT TERM

show_log() {
    [[ -n "$BROKER_LOG" && -f "$BROKER_LOG" ]] || return 0
    echo "---- last lines of $BROKER_LOG ----" >&2
    tail -40 "$BROKER_LOG" >&2
    echo "----" >&2
}

# Ready means the broker answers a Metadata request, not merely that its port accepts connections.
wait_ready() {
    local deadline=$((SECONDS + TIMEOUT))
    until port_open "$PORT" && timeout 10 kcat -b "127.0.0.1:$PORT" -L -m 5 >/dev/null 2>&1; do
        if [[ -n "$BROKER_PID" ]] && ! kill -0 "$BROKER_PID" 2>/dev/null; then
            local rc=0
            wait "$BROKER_PID" || rc=$?
            BROKER_PID=""
            show_log
            die "the broker exited during startup (exit code $rc)"
        fi
        if (( SECONDS >= deadline )); then
            show_log
            die "the broker did not answer on 127.0.0.1:$PORT within ${TIMEOUT}s"
        fi
        sleep 0.5
    done
}

case "$MODE" in
    external)
        [[ -n "$BOOTSTRAP" ]] || die "--bootstrap needs HOST:PORT"
        ;;
    kafka)
        KAFKA_DIR="$OUT/kafka-$PORT"
        rm -rf "$KAFKA_DIR"
        BROKER_LOG="$KAFKA_DIR/kafka.log"
        "$ROOT/scripts/kafka-ref.sh" start --port "$PORT" --controller-port $((PORT + 1)) --dir "$KAFKA_DIR" \
            --heap 512m --timeout "$TIMEOUT" \
            --override num.partitions=3 --override group.initial.rebalance.delay.ms=0 >/dev/null \
            || die "Apache Kafka did not start"
        BOOTSTRAP="127.0.0.1:$PORT"
        ;;
    runnel|cmd)
        port_open "$PORT" && die "port $PORT is already in use"
        DATA_DIR="$(mktemp -d -t compat-runnel.XXXXXX)"
        export PORT DATA_DIR
        if [[ "$MODE" == runnel ]]; then
            [[ -f "$ROOT/target/runnel.jar" ]] || die "target/runnel.jar not found: build it first (mvn -B -q package -DskipTests)"
            export RUNNEL_HEAP_OPTS="${RUNNEL_HEAP_OPTS:--Xms512m -Xmx512m}"
            BROKER_CMD="'$ROOT/scripts/runnel.sh'"
            BROKER_CMD+=" --override listeners=PLAINTEXT://127.0.0.1:$PORT"
            BROKER_CMD+=" --override advertised.listeners=PLAINTEXT://127.0.0.1:$PORT"
            BROKER_CMD+=" --override admin.listener=127.0.0.1:0"
            BROKER_CMD+=" --override log.dirs=$DATA_DIR"
            BROKER_CMD+=" --override num.partitions=3"
            BROKER_CMD+=" --override group.initial.rebalance.delay.ms=0"
        fi
        BROKER_LOG="$OUT/broker-$PORT.log"
        echo "run.sh: starting: $BROKER_CMD"
        bash -c "exec $BROKER_CMD" > "$BROKER_LOG" 2>&1 < /dev/null &
        BROKER_PID=$!
        BOOTSTRAP="127.0.0.1:$PORT"
        ;;
esac

if [[ "$MODE" != external ]]; then
    wait_ready
fi
echo "run.sh: broker ready on $BOOTSTRAP ($MODE)"

failures=()
if ! "$HERE/kcat.sh" "$BOOTSTRAP"; then
    failures+=("kcat.sh")
fi
if ! timeout 600 /usr/bin/python3 "$HERE/kafka_python_test.py" "$BOOTSTRAP"; then
    failures+=("kafka_python_test.py")
fi
if ! timeout 300 /usr/bin/python3 "$HERE/confluent_kafka_test.py" "$BOOTSTRAP"; then
    failures+=("confluent_kafka_test.py")
fi

if [[ -n "$BROKER_PID" ]] && ! kill -0 "$BROKER_PID" 2>/dev/null; then
    failures+=("broker process died during the tests")
fi
if [[ ${#failures[@]} -gt 0 ]]; then
    show_log
    echo "run.sh: FAILED against $MODE broker: ${failures[*]}" >&2
    exit 1
fi
echo "run.sh: all compatibility tests passed against the $MODE broker on $BOOTSTRAP"
