#!/usr/bin/env bash
# Starts one Runnel node from the fat JAR in the foreground, with the JVM flags Hazelcast needs on
# Java 17 (see TECH.md). Every argument is passed through to Runnel, e.g.
#
#   scripts/runnel.sh --override listeners=PLAINTEXT://127.0.0.1:19192 --override log.dirs=/tmp/r1
#
# It runs from the project root, so conf/runnel.properties and the default ./data directory resolve
# there whatever the caller's directory (give absolute paths in overrides).
# Environment:
#   RUNNEL_JAR        the JAR to run (default: target/runnel.jar; build it with `mvn -B -q package -DskipTests`)
#   RUNNEL_HEAP_OPTS  heap flags (default: -Xms1g -Xmx1g, as Apache Kafka's start script)
#   RUNNEL_JVM_OPTS   further JVM flags (GC, debugging, system properties)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JAR="${RUNNEL_JAR:-$ROOT/target/runnel.jar}"
[[ "$JAR" == /* ]] || JAR="$OLDPWD/$JAR"
if [[ ! -f "$JAR" ]]; then
    echo "runnel.sh: $JAR not found: build it with 'mvn -B -q package -DskipTests'" >&2
    exit 1
fi

# Hazelcast reaches into these JDK internals; without them Java 17 prints warnings and Hazelcast falls
# back to slower paths. The same list is in the surefire/failsafe argLine in pom.xml.
MODULE_FLAGS=(
    --add-modules java.se
    --add-exports java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.management/sun.management=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
)
read -r -a HEAP <<< "${RUNNEL_HEAP_OPTS:--Xms1g -Xmx1g}"
read -r -a EXTRA <<< "${RUNNEL_JVM_OPTS:-}"

# Runnel reads RUNNEL_<KEY> variables as configuration; keep this script's own out of its sight.
unset RUNNEL_JAR RUNNEL_HEAP_OPTS RUNNEL_JVM_OPTS

exec java "${HEAP[@]}" -XX:+UseG1GC "${MODULE_FLAGS[@]}" "${EXTRA[@]+"${EXTRA[@]}"}" -jar "$JAR" "$@"
