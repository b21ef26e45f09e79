#!/usr/bin/env bash
# The fault and hostile-client suite in full: brokers as separate processes (in network namespaces where
# the network is cut) killed with kill -9, paused with SIGSTOP, cut apart with iptables, given a full disk
# and corrupt files, and flooded by hostile clients, with every send and read recorded and checked (see
# src/test/java/io/runnel/durability/FaultSuiteIT.java). `mvn verify` (scripts/test.sh) runs the short form
# of the same tests on every change; this runs every scenario, repeated, with the full hostile load.
#
# Usage: scripts/faults.sh [--short] [--kafka] [MVN ARGS]
#   --short   the short form only (what scripts/test.sh runs)
#   --kafka   the same scenarios against Apache Kafka 4.4.0 (three KRaft nodes, scripts/kafka-ref.sh),
#             where the fault applies to it, for comparison
# Needs root (network namespaces, iptables, tmpfs mounts); scripts/install-test-deps.sh installs iptables.
# Prints, at the end, one line per scenario: records sent, acknowledged, read, lost, duplicated, recovery
# times, memory high-water marks; the lines stay in target/faults/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

full=true
target=runnel
mvn_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --short) full=false ;;
        --kafka) target=kafka ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) mvn_args+=("$1") ;;
    esac
    shift
done

# the suite's tests; against Kafka only those whose faults apply to any broker
tests='io.runnel.durability.*IT,io.runnel.protocol.Hostile*IT,io.runnel.cluster.ThreeNodeClusterIT,io.runnel.security.ClientQuotasIT'
if [[ "$target" == kafka ]]; then
    tests='FaultSuiteIT,HostileClientsFaultIT,CorruptFilesIT'
    scripts/kafka-ref.sh fetch
fi

rm -rf target/faults
echo "faults.sh: ${target}, $([[ $full == true ]] && echo full || echo short) form: $tests"
mvn -B verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
    -Dit.test="$tests" -Dfaults.full="$full" -Dfaults.target="$target" -Dfaults.kafka="$([[ $target == kafka ]] && echo true || echo false)" \
    ${mvn_args[@]+"${mvn_args[@]}"}
echo
echo "faults.sh: results (target/faults/)"
cat target/faults/*.txt 2>/dev/null || echo "(no scenario wrote a result line)"
