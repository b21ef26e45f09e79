#!/usr/bin/env bash
# Starts an N-node Runnel cluster on this machine, in the foreground, until Ctrl-C stops them all.
#
#   scripts/start-cluster.sh 3 [--voters V] [--data DIR] [extra --override arguments for every node]
#
# Node N (1-based) gets node.id=N, the Kafka listener 127.0.0.1:909(1+N) (9092, 9093, 9094 for three),
# the admin HTTP API on 127.0.0.1:808(N-1) (8080, 8081, 8082), the Hazelcast member port 5700+N, and
# the data directory DIR/node-N (default DIR: ./data/cluster). Nodes 1 to V (default: all of them, at
# most 5) are the voters of the metadata quorum (process.roles=broker,controller, Raft on
# 127.0.0.1:7700+N, listed in controller.quorum.voters); the others are brokers that follow the metadata
# log as non-voting learners (process.roles=broker). A quorum of V voters survives the loss of
# (V-1)/2 of them: use 3 or 5. Clients bootstrap from any node, e.g.
# 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094. Logs go to DIR/node-N.log. Running the same command
# again restarts the same cluster on the same data. A node that dies is reported and the others keep
# running, so failover can be tried by killing one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-}"
if ! [[ "$N" =~ ^[1-9]$ ]]; then
    echo "usage: scripts/start-cluster.sh N [--data DIR] [--override key=value ...]  (N from 1 to 9)" >&2
    exit 2
fi
shift
DATA="$ROOT/data/cluster"
V=$((N < 5 ? N : 5))
while [[ $# -gt 0 ]]; do
    case "$1" in
        --data) DATA="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
        --voters) V="$2"; shift 2 ;;
        *) break ;;
    esac
done
if ! [[ "$V" =~ ^[1-9]$ ]] || (( V > N )); then
    echo "start-cluster: --voters must be from 1 to N ($N)" >&2
    exit 2
fi
mkdir -p "$DATA"

MEMBERS=""
for ((i = 1; i <= N; i++)); do
    MEMBERS+="${MEMBERS:+,}127.0.0.1:$((5700 + i))"
done

VOTERS=""
for ((i = 1; i <= V; i++)); do
    VOTERS+="${VOTERS:+,}$i@127.0.0.1:$((7700 + i))"
done

PIDS=()
stop_all() {
    trap - INT TERM EXIT
    echo "start-cluster: stopping ${#PIDS[@]} node(s)"
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait || true
}
trap stop_all INT TERM EXIT

for ((i = 1; i <= N; i++)); do
    RUNNEL_HEAP_OPTS="${RUNNEL_HEAP_OPTS:--Xms512m -Xmx512m}" "$ROOT/scripts/runnel.sh" \
        --override "node.id=$i" \
        --override "listeners=PLAINTEXT://127.0.0.1:$((9091 + i))" \
        --override "admin.listener=127.0.0.1:$((8079 + i))" \
        --override "log.dirs=$DATA/node-$i" \
        --override "cluster.enabled=true" \
        --override "cluster.port=$((5700 + i))" \
        --override "cluster.port.count=1" \
        --override "cluster.members=$MEMBERS" \
        --override "controller.quorum.voters=$VOTERS" \
        --override "process.roles=$( ((i <= V)) && echo broker,controller || echo broker)" \
        --override "default.replication.factor=$((N < 3 ? N : 3))" \
        "$@" > "$DATA/node-$i.log" 2>&1 &
    PIDS+=($!)
    echo "start-cluster: node $i (pid $!) Kafka 127.0.0.1:$((9091 + i)), admin 127.0.0.1:$((8079 + i)),$( ((i <= V)) && echo " metadata voter (Raft 127.0.0.1:$((7700 + i)))," || echo " learner,") log $DATA/node-$i.log"
done

echo "start-cluster: $N node(s) running; Ctrl-C stops them"
# a node that dies (or is killed to test failover) is reported; the others keep running
remaining=${#PIDS[@]}
while (( remaining > 0 )); do
    rc=0
    wait -n -p exited "${PIDS[@]}" || rc=$?
    echo "start-cluster: node process ${exited:-?} exited with status $rc; see its log" >&2
    remaining=$((remaining - 1))
done
