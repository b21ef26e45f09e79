#!/usr/bin/env bash
# Compatibility test with kcat (librdkafka), run against any broker: Runnel or Apache Kafka.
#
# Usage: src/test/compat/kcat.sh BOOTSTRAP        e.g. 127.0.0.1:19192
#
# Checks, for every compression codec (none, gzip, snappy, lz4, zstd):
#   - keyed records with headers produced through the default partitioner come back exactly (key,
#     value, headers), every key on one partition only, in produce order within each partition;
#   - records produced to explicit partitions come back exactly, in order, after the first batch;
#   - offsets in every partition are contiguous from 0;
# plus `kcat -L` metadata, and a consumer group that reads part of a topic, commits on close, and a
# second member of the group resumes after the committed offsets: exact counts, nothing re-read, nothing
# lost; and transactions (kcat's transactional producer, read_committed and read_uncommitted consumers; see
# transactions() below).
# Topics are auto-created by the producer (auto.create.topics.enable must be on). With num.partitions=1
# the per-partition checks still run, on one partition; run.sh starts brokers with num.partitions=3.
# Exits non-zero with a message on the first mismatch.
set -euo pipefail

BOOTSTRAP="${1:-}"
[[ -n "$BOOTSTRAP" ]] || { echo "usage: $0 BOOTSTRAP (host:port)" >&2; exit 2; }
command -v kcat >/dev/null || { echo "kcat.sh: kcat is not installed (apt-get install kcat)" >&2; exit 2; }

RUN="$(date +%s)-$$"
WORK="$(mktemp -d -t compat-kcat.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
# Every kcat call gets a deadline, so a broker that hangs fails the test instead of stalling CI.
TMO=60
KCAT=(timeout "$TMO" kcat -b "$BOOTSTRAP" -X socket.timeout.ms=30000)
# Producer runs give up on undelivered records well before the deadline, so the error is librdkafka's
# own; not quiet (-q), since -q hides the delivery failures that say why.
PRODUCE=("${KCAT[@]}" -P -X message.timeout.ms=30000)
CONSUME=("${KCAT[@]}" -C -q)
GROUP=("${KCAT[@]}" -q)
FMT='%p\t%o\t%k\t%s\t%h\n'

fail() { echo "kcat.sh: FAIL: $*" >&2; exit 1; }
step() { echo "kcat.sh: $*"; }

# produce WHAT KCAT-ARGS... < records: a failed run shows librdkafka's errors, counted, not one per record.
produce() {
    local what="$1"
    shift
    if ! "${PRODUCE[@]}" "$@" 2> "$WORK/produce.err"; then
        sort "$WORK/produce.err" | uniq -c | sort -rn | head -5 >&2
        fail "$what"
    fi
}

# Shows the first differing lines of two files and fails.
must_equal() {
    local expected="$1" actual="$2" what="$3"
    if ! diff -q "$expected" "$actual" >/dev/null; then
        echo "--- expected ($expected) vs +++ actual ($actual), first differences:" >&2
        diff -u "$expected" "$actual" | head -20 | cut -c1-200 >&2 || true
        fail "$what"
    fi
}

partition_count() {
    local topic="$1" n
    n="$("${KCAT[@]}" -L -t "$topic" | sed -n "s/^  topic \"$topic\" with \([0-9]*\) partitions:.*/\1/p")"
    [[ -n "$n" && "$n" -gt 0 ]] || fail "metadata for $topic shows no partitions"
    echo "$n"
}

check_offsets_contiguous() {
    local consumed="$1" parts="$2" p
    for ((p = 0; p < parts; p++)); do
        awk -F'\t' -v p="$p" '$1 == p { if ($2 != n) { print "partition " p ": offset " $2 " where " n " was expected"; exit 1 } n++ }' \
            "$consumed" >&2 || fail "offsets are not contiguous from 0 in partition $p"
    done
}

codec_round_trip() {
    local codec="$1"
    local topic="compat-kcat-$codec-$RUN"
    local dir="$WORK/$codec"
    mkdir -p "$dir"

    # Batch 1: keyed, through the default partitioner; keys repeat so several records share a partition.
    # A few values are large enough to span several batches' worth of compression input.
    local i big
    big="$(head -c 30000 /dev/zero | tr '\0' 'x')"
    for ((i = 0; i < 300; i++)); do
        if (( i % 100 == 50 )); then
            printf 'k%d\tbig-%d-%s\n' $((i % 17)) "$i" "$big"
        else
            printf 'k%d\tv%d-%s-lorem ipsum dolor sit amet %d\n' $((i % 17)) "$i" "$codec" $((i * 7919))
        fi
    done > "$dir/batch1.in"
    produce "[$codec] producing batch 1 to $topic failed" -t "$topic" -K $'\t' -H "run=$RUN" -H "codec=$codec" \
        -X "compression.codec=$codec" < "$dir/batch1.in"

    local parts
    parts="$(partition_count "$topic")"

    # Batch 2: explicit partitions, one producer run per partition, different headers.
    local p
    : > "$dir/batch2.expected"
    for ((p = 0; p < parts; p++)); do
        for ((i = 0; i < 40; i++)); do
            printf 'pk%d-%d\tp%d-seq%d\n' "$p" "$i" "$p" "$i"
        done > "$dir/batch2-$p.in"
        produce "[$codec] producing batch 2 to $topic partition $p failed" -t "$topic" -p "$p" -K $'\t' \
            -H "part=$p" -X "compression.codec=$codec" < "$dir/batch2-$p.in"
    done

    "${CONSUME[@]}" -t "$topic" -o beginning -e -f "$FMT" > "$dir/consumed" \
        || fail "[$codec] consuming $topic failed"

    local expected_total=$((300 + 40 * parts)) got
    got="$(wc -l < "$dir/consumed")"
    [[ "$got" -eq "$expected_total" ]] || fail "[$codec] consumed $got records from $topic, expected $expected_total"
    check_offsets_contiguous "$dir/consumed" "$parts"

    # Split what was consumed back into the two batches (batch 2 keys start with "pk").
    awk -F'\t' '$3 !~ /^pk/' "$dir/consumed" > "$dir/consumed1"
    awk -F'\t' '$3 ~ /^pk/' "$dir/consumed" > "$dir/consumed2"

    # Batch 1: each key on exactly one partition.
    local split_keys
    split_keys="$(cut -f1,3 "$dir/consumed1" | sort -u | cut -f2 | uniq -d | head -3)"
    [[ -z "$split_keys" ]] || fail "[$codec] keys found on more than one partition: $split_keys"
    # Batch 1: per partition, exactly the produced records of the keys that went there, in produce order.
    local headers1="run=$RUN,codec=$codec"
    for ((p = 0; p < parts; p++)); do
        cut -f1,3 "$dir/consumed1" | awk -F'\t' -v p="$p" '$1 == p { print $2 }' | sort -u > "$dir/keys-$p"
        awk -F'\t' -v h="$headers1" 'NR == FNR { keys[$1] = 1; next } ($1 in keys) { print $1 "\t" $2 "\t" h }' \
            "$dir/keys-$p" "$dir/batch1.in" > "$dir/batch1-$p.expected"
        awk -F'\t' -v p="$p" '$1 == p { print $3 "\t" $4 "\t" $5 }' "$dir/consumed1" > "$dir/batch1-$p.actual"
        must_equal "$dir/batch1-$p.expected" "$dir/batch1-$p.actual" \
            "[$codec] partition $p of $topic: keyed records differ from what was produced (content, headers or order)"
    done

    # Batch 2: per partition, exactly what was sent to it, in order, after all of batch 1.
    for ((p = 0; p < parts; p++)); do
        awk -F'\t' -v h="part=$p" '{ print $1 "\t" $2 "\t" h }' "$dir/batch2-$p.in" > "$dir/batch2-$p.expected"
        awk -F'\t' -v p="$p" '$1 == p { print $3 "\t" $4 "\t" $5 }' "$dir/consumed2" > "$dir/batch2-$p.actual"
        must_equal "$dir/batch2-$p.expected" "$dir/batch2-$p.actual" \
            "[$codec] partition $p of $topic: records produced to the explicit partition differ"
        local last1 first2
        last1="$(awk -F'\t' -v p="$p" '$1 == p { o = $2 } END { print (o == "" ? -1 : o) }' "$dir/consumed1")"
        first2="$(awk -F'\t' -v p="$p" '$1 == p { print $2; exit }' "$dir/consumed2")"
        (( first2 > last1 )) || fail "[$codec] partition $p: batch 2 starts at offset $first2, not after batch 1 (last $last1)"
    done
    step "[$codec] ok: $expected_total records over $parts partition(s) round-tripped with keys, headers and order"
}

metadata() {
    local topic="compat-kcat-none-$RUN"
    "${KCAT[@]}" -L > "$WORK/meta-all" || fail "kcat -L failed"
    grep -qE "^ [0-9]+ brokers:" "$WORK/meta-all" || fail "kcat -L lists no brokers: $(head -5 "$WORK/meta-all")"
    grep -qE "^  broker [0-9]+ at " "$WORK/meta-all" || fail "kcat -L shows no broker address"
    grep -q "topic \"$topic\"" "$WORK/meta-all" || fail "kcat -L does not list topic $topic"

    "${KCAT[@]}" -L -t "$topic" > "$WORK/meta-one" || fail "kcat -L -t $topic failed"
    local parts leader p
    parts="$(partition_count "$topic")"
    for ((p = 0; p < parts; p++)); do
        grep -qE "^    partition $p, leader [0-9]+, replicas: [0-9,]+, isrs: [0-9,]+$" "$WORK/meta-one" \
            || fail "kcat -L -t $topic: partition $p has no leader/replicas/isrs line (or reports an error): $(cat "$WORK/meta-one")"
    done
    # The leader must be one of the brokers listed.
    leader="$(sed -n 's/^    partition 0, leader \([0-9]*\),.*/\1/p' "$WORK/meta-one")"
    grep -qE "^  broker $leader at " "$WORK/meta-one" || fail "leader $leader of $topic is not among the listed brokers"
    if grep -q "Broker: " "$WORK/meta-one"; then fail "kcat -L -t $topic reports an error: $(cat "$WORK/meta-one")"; fi
    step "metadata ok: $parts partition(s), leader $leader"
}

consumer_group() {
    local topic="compat-kcat-group-$RUN" group="compat-kcat-group-$RUN"
    seq 1 200 | sed 's/^/g/' > "$WORK/group.in"
    produce "producing to $topic failed" -t "$topic" < "$WORK/group.in"

    # First member: read 70 records and leave; closing the consumer commits what it delivered.
    "${GROUP[@]}" -G "$group" "$topic" -X auto.offset.reset=earliest -c 70 -f "$FMT" > "$WORK/group.1" \
        || fail "first group consumer on $topic failed"
    local n1 n2
    n1="$(wc -l < "$WORK/group.1")"
    [[ "$n1" -eq 70 ]] || fail "first group consumer read $n1 records, expected 70"

    # Second member, same group: must resume after the commits, so it reads exactly the other 130.
    "${GROUP[@]}" -G "$group" "$topic" -X auto.offset.reset=earliest -e -f "$FMT" > "$WORK/group.2" \
        || fail "second group consumer on $topic failed"
    n2="$(wc -l < "$WORK/group.2")"
    local dup
    dup="$(cat "$WORK/group.1" "$WORK/group.2" | cut -f1,2 | sort | uniq -d | head -3)"
    [[ -z "$dup" ]] || fail "records read twice across the two group runs (partition/offset): $dup"
    [[ "$n2" -eq 130 ]] || fail "second group consumer read $n2 records, expected 130 (the first read 70 of 200)"
    cut -f4 "$WORK/group.1" "$WORK/group.2" | sort > "$WORK/group.values"
    sort "$WORK/group.in" > "$WORK/group.sorted"
    must_equal "$WORK/group.sorted" "$WORK/group.values" "the two group runs together did not read exactly the 200 records produced"

    # Third member: everything is committed now, so nothing at all comes back.
    "${GROUP[@]}" -G "$group" "$topic" -X auto.offset.reset=earliest -e -f "$FMT" > "$WORK/group.3" \
        || fail "third group consumer on $topic failed"
    [[ ! -s "$WORK/group.3" ]] || fail "third group consumer re-read $(wc -l < "$WORK/group.3") committed records"
    step "consumer group ok: 70 + 130 of 200, resumed after the committed offsets, nothing re-read"
}

# Transactions through librdkafka on both sides: kcat's transactional producer (-X transactional.id: one
# transaction per run, committed when its input ends) and its consumer with isolation.level read_committed
# (librdkafka's default) and read_uncommitted.
#   1. c1..c3 committed; 2. a1, a2, ... written by a transaction left open (its input held open through a FIFO;
#   kcat reads a pipe in blocks, so it is given thousands of lines and sends all but the last block); 3. c4
#   committed after them: read_committed stops at the open transaction (c1..c3 only) while read_uncommitted reads
#   everything; 4. the open producer is killed (kill -9), so the broker aborts its transaction once its
#   transaction.timeout.ms (6 s) has passed: read_committed then reads
#   c1..c4, read_uncommitted still every record, the markers hidden by librdkafka.
transactions() {
    local topic="compat-kcat-txn-$RUN"
    local txp=("${KCAT[@]}" -P -X message.timeout.ms=30000 -t "$topic" -p 0)
    local committed=("${CONSUME[@]}" -t "$topic" -p 0 -o beginning -e -f '%s\n' -X isolation.level=read_committed)
    local uncommitted=("${CONSUME[@]}" -t "$topic" -p 0 -o beginning -e -f '%s\n' -X isolation.level=read_uncommitted)

    printf 'c1\nc2\nc3\n' | "${txp[@]}" -X "transactional.id=compat-kcat-first-$RUN" 2> "$WORK/txn-first.err" \
        || { cat "$WORK/txn-first.err" >&2; fail "a committed transaction of three records to $topic failed"; }
    grep -q "Transaction successfully committed" "$WORK/txn-first.err" \
        || { cat "$WORK/txn-first.err" >&2; fail "kcat did not report its transaction committed"; }

    mkfifo "$WORK/txn-open.fifo"
    # no timeout(1) around it: $! must be kcat itself, which step 4 kills (if the script fails first, its exit closes
    # the FIFO and kcat commits and exits)
    kcat -b "$BOOTSTRAP" -P -t "$topic" -p 0 -X "transactional.id=compat-kcat-open-$RUN" \
        -X transaction.timeout.ms=6000 -X message.timeout.ms=5000 < "$WORK/txn-open.fifo" 2> "$WORK/txn-open.err" &
    local open_pid=$!
    exec 7> "$WORK/txn-open.fifo"
    seq -f 'a%g' 1 30000 >&7
    local deadline=$((SECONDS + 45))
    until "${uncommitted[@]}" > "$WORK/txn.probe" 2> /dev/null && grep -qx a1 "$WORK/txn.probe"; do
        (( SECONDS < deadline )) || { exec 7>&-; cat "$WORK/txn-open.err" >&2; fail "the open transaction's records never showed up to read_uncommitted"; }
        sleep 0.5
    done

    printf 'c4\n' | "${txp[@]}" -X "transactional.id=compat-kcat-later-$RUN" 2> "$WORK/txn-later.err" \
        || { exec 7>&-; cat "$WORK/txn-later.err" >&2; fail "a committed transaction after the open one failed"; }
    "${committed[@]}" > "$WORK/txn.committed-open" || { exec 7>&-; fail "read_committed consumer of $topic failed"; }
    printf 'c1\nc2\nc3\n' > "$WORK/txn.expected-open"
    must_equal "$WORK/txn.expected-open" "$WORK/txn.committed-open" \
        "read_committed while a transaction is open: only what lies before it (the last stable offset)"
    "${uncommitted[@]}" > "$WORK/txn.uncommitted-open" || { exec 7>&-; fail "read_uncommitted consumer of $topic failed"; }
    check_all_read "$WORK/txn.uncommitted-open" "read_uncommitted while a transaction is open"

    # a crash: neither commit nor abort reaches the coordinator
    kill -KILL "$open_pid"
    { wait "$open_pid"; } 2> /dev/null || true
    exec 7>&-
    deadline=$((SECONDS + 60))
    printf 'c1\nc2\nc3\nc4\n' > "$WORK/txn.expected-committed"
    until "${committed[@]}" > "$WORK/txn.committed" 2> /dev/null && diff -q "$WORK/txn.expected-committed" "$WORK/txn.committed" > /dev/null; do
        (( SECONDS < deadline )) || must_equal "$WORK/txn.expected-committed" "$WORK/txn.committed" \
            "read_committed once the open transaction timed out: the committed records only, in order"
        sleep 0.5
    done
    "${uncommitted[@]}" > "$WORK/txn.uncommitted" || fail "read_uncommitted consumer of $topic failed"
    check_all_read "$WORK/txn.uncommitted" "read_uncommitted after the abort"
    step "transactions ok: read_committed read c1..c4 (only c1..c3 while $(grep -c '^a' "$WORK/txn.uncommitted") records of an open transaction followed them); read_uncommitted read all"
}

# check_all_read FILE WHAT: FILE holds c1..c4 in order and, among them, a1..aK (K > 0) in order.
check_all_read() {
    local file="$1" what="$2" k
    grep -v '^a' "$file" > "$file.c"
    printf 'c1\nc2\nc3\nc4\n' > "$file.c-expected"
    must_equal "$file.c-expected" "$file.c" "$what: the committed records, in order"
    k="$(grep -c '^a' "$file")" || fail "$what: none of the open transaction's records"
    seq -f 'a%g' 1 "$k" > "$file.a-expected"
    grep '^a' "$file" > "$file.a"
    must_equal "$file.a-expected" "$file.a" "$what: the open transaction's records, a1..a$k in order"
}

step "broker $BOOTSTRAP, run $RUN"
for codec in none gzip snappy lz4 zstd; do
    codec_round_trip "$codec"
done
metadata
consumer_group
transactions
step "all kcat checks passed"
