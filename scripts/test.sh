#!/usr/bin/env bash
# The project's one test command: unit and integration tests (`mvn -B verify`, which also builds
# target/runnel.jar), then the client compatibility tests against a Runnel node started from that JAR
# (src/test/compat/run.sh: kcat with every codec, kafka-python 2.0.2, confluent-kafka's transactions;
# src/test/compat/secure.sh: kcat and kafka-python over
# SSL, SASL_SSL and SASL_PLAINTEXT with PLAIN and SCRAM-SHA-256) and against a three-node cluster
# killed under them (src/test/compat/cluster.sh), and the README's other cluster shapes
# (src/test/compat/cluster-shapes.sh).
# Installs kcat, python3-kafka, python3-confluent-kafka and openssl with apt-get when they are missing and we are root; fails with a
# clear message otherwise. Extra arguments go to mvn (e.g. scripts/test.sh -o for an offline build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/install-test-deps.sh" || {
    echo "test.sh: kcat, python3-kafka, python3-confluent-kafka and openssl are needed for the compatibility tests (see above)" >&2
    exit 1
}

echo "test.sh: mvn -B verify $*"
mvn -B verify "$@"

echo "test.sh: compatibility tests against Runnel"
"$ROOT/src/test/compat/run.sh"
echo "test.sh: kcat and kafka-python over TLS and SASL (certificates made with openssl)"
"$ROOT/src/test/compat/secure.sh"
echo "test.sh: kcat and kafka-python against a three-node cluster, through a failover"
"$ROOT/src/test/compat/cluster.sh"
echo "test.sh: the README's cluster shapes: three voters and a learner, five voters"
"$ROOT/src/test/compat/cluster-shapes.sh"
echo "test.sh: all tests passed"
