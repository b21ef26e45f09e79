#!/usr/bin/env bash
# The cluster shapes the README gives, started exactly as written with scripts/start-cluster.sh (fresh
# data): five voters, and three voters plus one broker that is a non-voting learner. Each time kcat must
# list every broker, and a record written with acks=all to a topic with replication factor 3 is read back;
# with the learner, the learner must hold replicas too. Builds nothing: build target/runnel.jar first.
# Uses the ports start-cluster.sh fixes (Kafka 9092-9096, admin 8080-8084, Hazelcast 5701-5705, Raft
# 7701-7705).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
OUT="$ROOT/target/compat"
mkdir -p "$OUT"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# run_shape NAME N [start-cluster.sh options...]
run_shape() {
    local name="$1" n="$2"
    shift 2
    local data boot topic="shape-$name-$$" cluster deadline i listed
    data="$(mktemp -d "${TMPDIR:-/tmp}/runnel-shape.XXXXXX")"
    boot=""
    for ((i = 1; i <= n; i++)); do boot+="${boot:+,}127.0.0.1:$((9091 + i))"; done
    # the README's command, with a fresh data directory and a replication factor of 3 for auto-created topics
    "$ROOT/scripts/start-cluster.sh" "$n" "$@" --data "$data" --override default.replication.factor=3 \
        > "$OUT/shape-$name.log" 2>&1 &
    cluster=$!
    fail() {
        echo "cluster-shapes.sh: FAIL ($name): $*" >&2
        tail -n 20 "$data"/node-*.log >&2
        cp "$data"/node-*.log "$OUT"/ 2>/dev/null
        kill -TERM "$cluster" 2>/dev/null; wait "$cluster" 2>/dev/null; rm -rf "$data"
        exit 1
    }
    deadline=$((SECONDS + 180))
    listed=0
    until [[ "$listed" == "$n" ]]; do
        (( SECONDS < deadline )) || fail "kcat -L does not list $n brokers (lists $listed)"
        sleep 1
        listed="$(kcat -b "$boot" -L 2>/dev/null | grep -c '^  broker ')"
    done
    echo "cluster-shapes.sh: $name: kcat -L lists $n brokers"
    until echo "hello-$name" | kcat -b "$boot" -P -t "$topic" -X acks=all 2>/dev/null; do
        (( SECONDS < deadline )) || fail "kcat cannot produce to $topic"
        sleep 1
    done
    local got
    got="$(kcat -b "$boot" -C -t "$topic" -o beginning -c 1 -e -q 2>/dev/null)"
    [[ "$got" == "hello-$name" ]] || fail "read back '$got'"
    local meta
    meta="$(kcat -b "$boot" -L -t "$topic" 2>/dev/null)"
    grep -q "replicas: [0-9]*,[0-9]*,[0-9]*" <<< "$meta" || fail "$topic is not replicated three times: $meta"
    echo "cluster-shapes.sh: $name: acks=all record read back from a topic with three replicas"
    if [[ "$name" == learner ]]; then
        # the learner (node 4) takes replicas of a topic spread over all four brokers
        kcat -b "$boot" -P -t "$topic-spread" -X acks=all <<< "x" 2>/dev/null || true
        local spread="" k
        for k in 1 2 3 4 5 6 7 8; do
            spread="$(kcat -b "$boot" -L 2>/dev/null)"
            grep -Eq "replicas: ([0-9]+,)*4," <<< "$spread" && break
            echo "x" | kcat -b "$boot" -P -t "$topic-spread-$k" -X acks=all 2>/dev/null || true
        done
        grep -Eq "replicas: ([0-9]+,)*4," <<< "$spread" || fail "the learner (node 4) holds no replica"
        echo "cluster-shapes.sh: learner: node 4 holds replicas"
    fi
    kill -TERM "$cluster" 2>/dev/null
    wait "$cluster" 2>/dev/null
    for ((i = 1; i <= n; i++)); do
        deadline=$((SECONDS + 30))
        while port_open $((9091 + i)); do (( SECONDS < deadline )) || break; sleep 0.5; done
    done
    rm -rf "$data"
}

run_shape learner 4 --voters 3
run_shape five 5
echo "cluster-shapes.sh: all shapes passed"
