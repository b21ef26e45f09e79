#!/usr/bin/python3
"""Compatibility test with kafka-python 2.0.2 (Debian's python3-kafka), run against any broker.

Usage: /usr/bin/python3 src/test/compat/kafka_python_test.py BOOTSTRAP      e.g. 127.0.0.1:19192

Follows the flows of kafka-python's own tutorial: a JSON producer writing to a topic that does not exist
yet (auto-created), a consumer group reading it back with auto commit, a second member of the group
seeing nothing new, the admin client creating, listing, describing and deleting topics, compressed
produce/consume with every codec whose Python library is installed, keys and headers. Every wait has a
deadline. Prints one line per test and a closing `N passed, N failed`; exits non-zero on any failure.
"""
import json
import sys
import time
import uuid

from compat_lib import Skip, bootstrap, check, run
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import codec as kafka_codec
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

BOOTSTRAP = bootstrap("kafka_python_test.py")
RUN = uuid.uuid4().hex[:10]
TIMEOUT_S = 30


def topic_name(what):
    return "compat-py-%s-%s" % (what, RUN)


def wait_until(predicate, what, timeout_s=TIMEOUT_S):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout_s, what))


def admin():
    return KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id="compat-py-admin",
                            request_timeout_ms=TIMEOUT_S * 1000)


def read_all(topic, expected_count, **consumer_args):
    """Reads a topic from the beginning without a group (assign + seek), until expected_count records
    have arrived and then a quiet second more, so extra records would be seen too."""
    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False,
                             request_timeout_ms=TIMEOUT_S * 1000 + 5000, **consumer_args)
    try:
        partitions = consumer.partitions_for_topic(topic)
        check(partitions, "no partitions known for %s" % topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records = []
        deadline = time.time() + TIMEOUT_S
        quiet_until = None
        while time.time() < deadline:
            batch = consumer.poll(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            if len(records) >= expected_count:
                if quiet_until is None:
                    quiet_until = time.time() + 1.0
                elif time.time() >= quiet_until:
                    break
        return records
    finally:
        consumer.close(autocommit=False)


def by_partition(records):
    result = {}
    for r in records:
        result.setdefault(r.partition, []).append(r)
    return result


# Shared between the producer test and the consumer group tests, which follow the tutorial's order.
STATE = {}


def test_json_producer_auto_creates_topic():
    topic = topic_name("json")
    a = admin()
    try:
        check(topic not in a.list_topics(), "topic %s exists before the test" % topic)
    finally:
        a.close()
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP,
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    try:
        sent = [{"n": i, "run": RUN, "text": "hello %d" % i} for i in range(30)]
        futures = [producer.send(topic, value) for value in sent]
        producer.flush(timeout=TIMEOUT_S)
        metadata = [f.get(timeout=TIMEOUT_S) for f in futures]
    finally:
        producer.close(timeout=TIMEOUT_S)
    for md in metadata:
        check(md.topic == topic and md.offset >= 0, "bad record metadata %r" % (md,))
    # Offsets per partition are assigned 0, 1, 2, ... in send order.
    per_partition = {}
    for md in metadata:
        per_partition.setdefault(md.partition, []).append(md.offset)
    for p, offsets in per_partition.items():
        check(offsets == list(range(len(offsets))), "partition %d offsets %r not 0..n-1" % (p, offsets))
    a = admin()
    try:
        check(topic in a.list_topics(), "auto-created topic %s is not listed" % topic)
    finally:
        a.close()
    STATE["json_topic"] = topic
    STATE["json_sent"] = sent
    STATE["json_metadata"] = metadata


def group_consumer(topic, group, **extra):
    return KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, group_id=group,
                         auto_offset_reset="earliest", enable_auto_commit=True,
                         auto_commit_interval_ms=500,
                         value_deserializer=lambda b: json.loads(b.decode("utf-8")), **extra)


def test_consumer_group_reads_back_and_commits():
    check("json_topic" in STATE, "depends on the JSON producer test, which failed")
    topic, sent = STATE["json_topic"], STATE["json_sent"]
    group = "compat-py-group-" + RUN
    consumer = group_consumer(topic, group, consumer_timeout_ms=5000)
    received = []
    try:
        for message in consumer:  # ends 5 s after the last record
            received.append(message)
    finally:
        consumer.close()  # commits the consumed offsets (auto commit)
    check(len(received) == len(sent), "group consumer read %d records, expected %d" % (len(received), len(sent)))
    check(sorted(m.value["n"] for m in received) == list(range(len(sent))), "values differ from those sent")
    for p, recs in by_partition(received).items():
        ns = [m.value["n"] for m in recs]
        check(ns == sorted(ns), "partition %d out of send order: %r" % (p, ns))
        check([m.offset for m in recs] == list(range(len(recs))), "partition %d offsets not contiguous" % p)
    for m in received:
        check(m.value == sent[m.value["n"]], "record %r differs from what was sent" % (m.value,))
    STATE["json_group"] = group


def test_second_group_member_sees_nothing_new():
    check("json_group" in STATE, "depends on the consumer group test, which failed")
    topic, group = STATE["json_topic"], STATE["json_group"]
    consumer = group_consumer(topic, group)
    try:
        # Join first, so "nothing new" is measured on an assigned consumer, not one still rebalancing.
        records = []
        deadline = time.time() + TIMEOUT_S
        while not consumer.assignment() and time.time() < deadline:
            for recs in consumer.poll(timeout_ms=200).values():
                records.extend(recs)
        assigned = consumer.assignment()
        check(assigned, "second consumer got no partitions within %ss" % TIMEOUT_S)
        end = consumer.end_offsets(list(assigned))
        for tp in assigned:
            committed = consumer.committed(tp)
            check(committed == end[tp], "committed offset of %s is %r, end offset %d" % (tp, committed, end[tp]))
            check(consumer.position(tp) == end[tp], "second consumer starts %s at %d, not the end %d"
                  % (tp, consumer.position(tp), end[tp]))
        quiet_until = time.time() + 2.0
        while time.time() < quiet_until:
            for recs in consumer.poll(timeout_ms=200).values():
                records.extend(recs)
        check(not records, "second consumer in the group re-read %d records" % len(records))
        check(sum(end.values()) == len(STATE["json_sent"]), "end offsets %r do not add up to %d records"
              % (end, len(STATE["json_sent"])))
    finally:
        consumer.close()


def test_admin_create_list_describe_delete():
    topic = topic_name("admin")
    a = admin()
    try:
        a.create_topics([NewTopic(name=topic, num_partitions=3, replication_factor=1)], timeout_ms=TIMEOUT_S * 1000)
        wait_until(lambda: topic in a.list_topics(), "created topic %s to be listed" % topic)
        described = [t for t in a.describe_topics([topic]) if t["topic"] == topic]
        check(len(described) == 1 and described[0]["error_code"] == 0, "describe_topics: %r" % (described,))
        partitions = sorted(p["partition"] for p in described[0]["partitions"])
        check(partitions == [0, 1, 2], "described partitions %r, expected [0, 1, 2]" % (partitions,))
        for p in described[0]["partitions"]:
            check(p["leader"] >= 0 and p["replicas"] and p["isr"], "partition without leader/replicas/isr: %r" % (p,))
        try:
            a.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1)], timeout_ms=TIMEOUT_S * 1000)
            raise AssertionError("creating %s twice did not raise TopicAlreadyExistsError" % topic)
        except TopicAlreadyExistsError:
            pass
        a.delete_topics([topic], timeout_ms=TIMEOUT_S * 1000)
        wait_until(lambda: topic not in a.list_topics(), "deleted topic %s to disappear" % topic)
    finally:
        a.close()


CODEC_AVAILABLE = {
    "gzip": lambda: kafka_codec.has_gzip(),
    "snappy": lambda: kafka_codec.has_snappy(),
    "lz4": lambda: kafka_codec.has_lz4(),
    "zstd": lambda: kafka_codec.has_zstd(),
}
CODEC_PACKAGE = {"gzip": "(built in)", "snappy": "python3-snappy", "lz4": "python3-lz4", "zstd": "python3-zstandard"}


def compression_round_trip(codec):
    if not CODEC_AVAILABLE[codec]():
        raise Skip("kafka-python has no %s support here: install %s" % (codec, CODEC_PACKAGE[codec]))
    topic = topic_name("codec-" + codec)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, compression_type=codec, linger_ms=20)
    try:
        # Repetitive values compress well, so batches really are compressed; the big one spans a batch.
        sent = [("key-%d" % (i % 7), ("%s value %d " % (codec, i)) * (1 + i % 13)) for i in range(200)]
        sent.append(("big", "z" * 200000))
        futures = [producer.send(topic, key=k.encode(), value=v.encode(), headers=[("codec", codec.encode())])
                   for k, v in sent]
        producer.flush(timeout=TIMEOUT_S)
        for f in futures:
            f.get(timeout=TIMEOUT_S)
    finally:
        producer.close(timeout=TIMEOUT_S)
    records = read_all(topic, len(sent))
    check(len(records) == len(sent), "[%s] read %d records, expected %d" % (codec, len(records), len(sent)))
    got = sorted((r.key.decode(), r.value.decode()) for r in records)
    check(got == sorted(sent), "[%s] consumed keys/values differ from those sent" % codec)
    for r in records:
        check(r.headers == [("codec", codec.encode())], "[%s] headers %r" % (codec, r.headers))
    # Within a partition, records of a key keep send order.
    order = {kv: i for i, kv in enumerate(sent)}
    for p, recs in by_partition(records).items():
        idx = [order[(r.key.decode(), r.value.decode())] for r in recs]
        check(idx == sorted(idx), "[%s] partition %d out of send order" % (codec, p))


def test_compression_gzip():
    compression_round_trip("gzip")


def test_compression_snappy():
    compression_round_trip("snappy")


def test_compression_lz4():
    compression_round_trip("lz4")


def test_compression_zstd():
    compression_round_trip("zstd")


def test_keys_headers_and_partitions():
    topic = topic_name("headers")
    a = admin()
    try:
        a.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1)], timeout_ms=TIMEOUT_S * 1000)
        wait_until(lambda: topic in a.list_topics(), "topic %s to be listed" % topic)
    finally:
        a.close()
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    # Keys, no key, empty values, null values (tombstones), repeated and empty headers, explicit partitions.
    sent = [
        dict(key=b"alpha", value=b"first", headers=[("trace", b"t-1"), ("source", b"py")], partition=0),
        dict(key=None, value=b"no key", headers=[], partition=1),
        dict(key=b"beta", value=b"", headers=[("empty", b"")], partition=0),
        dict(key=b"gamma", value=None, headers=[("dup", b"1"), ("dup", b"2")], partition=1),
        dict(key=b"\x00\xffbinary", value=bytes(range(256)), headers=[("bin", bytes(range(16)))], partition=0),
        dict(key=b"alpha", value=b"second", headers=[("trace", b"t-2")], partition=0),
    ]
    try:
        futures = [producer.send(topic, **s) for s in sent]
        producer.flush(timeout=TIMEOUT_S)
        metadata = [f.get(timeout=TIMEOUT_S) for f in futures]
    finally:
        producer.close(timeout=TIMEOUT_S)
    for s, md in zip(sent, metadata):
        check(md.partition == s["partition"], "sent to partition %d, metadata says %d" % (s["partition"], md.partition))
    records = read_all(topic, len(sent))
    check(len(records) == len(sent), "read %d records, expected %d" % (len(records), len(sent)))
    located = {(r.partition, r.offset): r for r in records}
    for s, md in zip(sent, metadata):
        r = located.get((md.partition, md.offset))
        check(r is not None, "no record at partition %d offset %d" % (md.partition, md.offset))
        check(r.key == s["key"], "key %r, expected %r" % (r.key, s["key"]))
        check(r.value == s["value"], "value %r, expected %r" % (r.value, s["value"]))
        check(list(r.headers) == s["headers"], "headers %r, expected %r" % (r.headers, s["headers"]))
    p0 = [r.value for r in by_partition(records)[0]]
    check(p0 == [b"first", b"", bytes(range(256)), b"second"], "partition 0 order %r" % (p0,))


def test_read_committed_stops_at_an_open_transaction():
    """kafka-python 2.0.2 has no isolation_level setting (KafkaConsumer rejects it as an unrecognized config; it
    came in 2.1) and hands control records and aborted records to the application: it cannot read committed data
    only. What the broker owes it is checked: with the fetcher's own isolation level set to READ_COMMITTED (the
    only way in 2.0.2; its Fetch requests then carry isolation_level=1, its ListOffsets v1 has none), a fetch
    stops before an open transaction (the last stable offset) and goes on to the high watermark once the
    transaction is aborted. The transactions come from kcat (librdkafka's transactional producer)."""
    import subprocess
    from kafka.consumer.fetcher import READ_COMMITTED
    from kafka.errors import KafkaConfigurationError
    try:
        KafkaConsumer(bootstrap_servers=BOOTSTRAP, isolation_level="read_committed")
        raise AssertionError("kafka-python accepted isolation_level: this test assumes 2.0.2, where it does not exist")
    except KafkaConfigurationError:
        pass
    topic = topic_name("txn")
    tp = TopicPartition(topic, 0)
    kcat = ["kcat", "-b", BOOTSTRAP, "-P", "-t", topic, "-p", "0", "-X", "message.timeout.ms=30000"]
    done = subprocess.run(["timeout", "60"] + kcat + ["-X", "transactional.id=compat-py-first-" + RUN],
                          input=b"c1\nc2\nc3\n", capture_output=True, timeout=90)
    check(done.returncode == 0, "kcat's committed transaction failed: %s" % done.stderr.decode(errors="replace"))

    def read_committed():
        """The data records (2.0.2 hands over control records too: 6-byte values) a read_committed fetch returns."""
        c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, consumer_timeout_ms=3000, request_timeout_ms=TIMEOUT_S * 1000)
        try:
            c._fetcher._isolation_level = READ_COMMITTED
            c.assign([tp])
            c.seek_to_beginning(tp)
            return [r.value for r in c if len(r.value or b"") != 6]
        finally:
            c.close()

    # a transaction left open: kcat commits only when its input ends; it is killed instead, so the broker aborts the
    # transaction after its transaction.timeout.ms. kcat reads a pipe in blocks: thousands of lines, so that all but
    # the last block are sent while the input stays open.
    opened = subprocess.Popen(kcat + ["-X", "transactional.id=compat-py-open-" + RUN, "-X", "transaction.timeout.ms=6000",
                                      "-X", "message.timeout.ms=5000"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    uncommitted = KafkaConsumer(bootstrap_servers=BOOTSTRAP, request_timeout_ms=TIMEOUT_S * 1000)
    try:
        opened.stdin.write("".join("a%d\n" % i for i in range(1, 30001)).encode())
        opened.stdin.flush()
        uncommitted.assign([tp])
        # c1 c2 c3 at 0-2, the commit marker at 3, the open transaction's records from 4 on
        wait_until(lambda: uncommitted.end_offsets([tp])[tp] > 4, "the open transaction's records written")
        later = subprocess.run(["timeout", "60"] + kcat + ["-X", "transactional.id=compat-py-later-" + RUN],
                               input=b"c4\n", capture_output=True, timeout=90)
        check(later.returncode == 0, "kcat's transaction after the open one failed: %s" % later.stderr.decode(errors="replace"))
        data = read_committed()
        check(data == [b"c1", b"c2", b"c3"], "a read_committed fetch returned %s while a transaction was open"
              % (data if len(data) < 10 else "%d records" % len(data)))
    finally:
        opened.kill()  # a crash: neither commit nor abort reaches the coordinator
        opened.wait(30)
        uncommitted.close()
    # the client does not drop the aborted records (2.0.2 ignores the aborted transactions a fetch lists), but the
    # fetch now goes to the high watermark: c4, committed after the aborted records, comes back last
    wait_until(lambda: read_committed()[-1:] == [b"c4"], "read_committed fetches reaching c4 once the open transaction"
               " timed out", 60)

TESTS = [
    test_json_producer_auto_creates_topic,
    test_consumer_group_reads_back_and_commits,
    test_second_group_member_sees_nothing_new,
    test_admin_create_list_describe_delete,
    test_compression_gzip,
    test_compression_snappy,
    test_compression_lz4,
    test_compression_zstd,
    test_keys_headers_and_partitions,
    test_read_committed_stops_at_an_open_transaction,
]


if __name__ == "__main__":
    sys.exit(run("kafka_python_test", TESTS, BOOTSTRAP, RUN))
