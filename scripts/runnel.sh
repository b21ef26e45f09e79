#!/usr/bin/env bash
# Starts one Runnel node from the fat JAR in the foreground, with a fixed young generation and class-data
# sharing. Every argument is passed through to Runnel, e.g.
#
#   scripts/runnel.sh --override listeners=PLAINTEXT://127.0.0.1:19192 --override log.dirs=/tmp/r1
#
# It runs from the project root, so conf/runnel.properties and the default ./data directory resolve
# there whatever the caller's directory (give absolute paths in overrides).
# Environment:
#   RUNNEL_JAR        the JAR to run (default: target/runnel.jar; build it with `mvn -B -q package -DskipTests`)
#   RUNNEL_HEAP_OPTS  heap flags (default: -Xms1g -Xmx1g, as Apache Kafka's start script)
#   RUNNEL_JVM_OPTS   further JVM flags (GC, debugging, system properties), after those of conf/jvm.options
#   RUNNEL_CDS        "auto" (default) or "off": class-data sharing. Loading and linking some 4,500 classes is
#                     most of an empty node's start-up (about 1.3 s of 1.5 s here); a dynamic AppCDS archive
#                     of them (target/runnel.jsa, next to the JAR) brings start-up to ready to about 0.55 s.
#                     The build writes that archive (`mvn package` runs ClassDataTraining after the JAR: a
#                     clustered node serving clients, so the archive also holds Hazelcast's classes). Java 17
#                     has no -XX:+AutoCreateSharedArchive, so without an up-to-date archive (a build with
#                     -Drunnel.cds.skip) this script does the same: that start writes one when the JVM exits
#                     (to a per-process temporary file, adopted by the next start once that process is
#                     gone), and later starts map it.
#                     An archive older than the JAR is discarded; the JVM also checks the JAR itself and
#                     runs without the archive on any mismatch. Without write access to the JAR's
#                     directory (e.g. the Docker image's non-root user) it starts without CDS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JAR="${RUNNEL_JAR:-$ROOT/target/runnel.jar}"
[[ "$JAR" == /* ]] || JAR="$OLDPWD/$JAR"
if [[ ! -f "$JAR" ]]; then
    echo "runnel.sh: $JAR not found: build it with 'mvn -B -q package -DskipTests'" >&2
    exit 1
fi

read -r -a HEAP <<< "${RUNNEL_HEAP_OPTS:--Xms1g -Xmx1g}"
read -r -a EXTRA <<< "${RUNNEL_JVM_OPTS:-}"

CDS=()
if [[ "${RUNNEL_CDS:-auto}" != off ]]; then
    ARCHIVE="${JAR%.jar}.jsa"
    # adopt the archive a finished earlier start wrote; drop stale or abandoned ones
    for tmp in "$ARCHIVE".*.tmp; do
        [[ -e "$tmp" ]] || continue
        writer="${tmp%.tmp}"
        writer="${writer##*.}"
        kill -0 "$writer" 2>/dev/null && continue
        if [[ -s "$tmp" && "$tmp" -nt "$JAR" && ! ( -f "$ARCHIVE" && "$ARCHIVE" -nt "$JAR" ) ]]; then
            # several nodes starting at once (start-cluster.sh) may race for the same file: one wins
            mv -f "$tmp" "$ARCHIVE" 2>/dev/null || true
        else
            rm -f "$tmp"
        fi
    done
    if [[ -f "$ARCHIVE" && "$ARCHIVE" -nt "$JAR" ]]; then
        CDS=(-XX:SharedArchiveFile="$ARCHIVE")
    elif [[ -w "$(dirname "$ARCHIVE")" ]]; then
        rm -f "$ARCHIVE"
        # $$ is the JVM's pid too, as the script execs it; classes CDS cannot store are only warned about
        CDS=(-XX:ArchiveClassesAtExit="$ARCHIVE.$$.tmp" -Xlog:cds=error,cds+dynamic=error)
    fi
fi

# The --add-opens/--add-exports that Hazelcast needs on Java 17 are in the JAR's manifest (Add-Opens,
# Add-Exports), not on this command line: any module option given to the JVM turns off its archived
# module graph, and building that graph again costs about 0.1 s of every start.

# Runnel reads RUNNEL_<KEY> variables as configuration; keep this script's own out of its sight.
unset RUNNEL_JAR RUNNEL_HEAP_OPTS RUNNEL_JVM_OPTS RUNNEL_CDS

# A fixed young generation of 64 MB. Runnel keeps no data on the heap (records live in the page cache and
# leave by sendfile), so almost everything it allocates dies within one request; left to itself, G1 grows
# eden towards 60% of the heap under a produce load and the process touches ~690 MB where ~200 MB do
# (300k x 1 KiB produce + consume + produce, 1 GB heap: peak RSS 687 -> 203 MiB, 4 -> 12 young pauses of
# at most 15 ms, throughput unchanged within noise). RUNNEL_JVM_OPTS comes later and may override it.
GC=(-XX:+UseG1GC -Xmn64m)

# The flags of conf/jvm.options, which the README's start command reads too (the JIT's inlining), all but its
# class-data archive: this script keeps its own (above).
OPTS=()
if [[ -f "$ROOT/conf/jvm.options" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
        read -r -a words <<< "${line%%#*}"
        for w in "${words[@]+"${words[@]}"}"; do
            [[ "$w" == -XX:SharedArchiveFile=* ]] || OPTS+=("$w")
        done
    done < "$ROOT/conf/jvm.options"
fi

exec java "${OPTS[@]+"${OPTS[@]}"}" "${HEAP[@]}" "${GC[@]}" "${CDS[@]+"${CDS[@]}"}" "${EXTRA[@]+"${EXTRA[@]}"}" \
    -jar "$JAR" "$@"
