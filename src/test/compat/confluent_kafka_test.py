#!/usr/bin/python3
"""Transactions from Python: confluent-kafka 1.7.0 (Debian's python3-confluent-kafka, on librdkafka 2.0.2), run
against any broker.

Usage: /usr/bin/python3 src/test/compat/confluent_kafka_test.py BOOTSTRAP      e.g. 127.0.0.1:19192

kafka-python 2.0.2 (kafka_python_test.py) has no isolation level and hands aborted records to the application
whatever the broker does, so the Python side of "reads committed data only" is shown here with the other Python
client Debian ships: a transactional producer commits and aborts interleaved transactions over three partitions
and leaves one open; a read_committed consumer gets exactly the committed records, in order per partition, and
nothing of the open transaction until it commits; a read_uncommitted consumer gets every record. A second producer
with the same transactional.id fences the first. Every wait has a deadline. Prints one line per test and a closing
`N passed, N failed`; exits non-zero on any failure.
"""
import sys
import time
import traceback
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

if len(sys.argv) != 2:
    print("usage: confluent_kafka_test.py BOOTSTRAP (host:port)", file=sys.stderr)
    sys.exit(2)

BOOTSTRAP = sys.argv[1]
RUN = uuid.uuid4().hex[:10]
TIMEOUT_S = 30
PARTITIONS = 3


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def create_topic(what):
    topic = "compat-ck-%s-%s" % (what, RUN)
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)], operation_timeout=TIMEOUT_S).values():
        future.result(TIMEOUT_S)
    return topic


def transactional_producer(txn_id, **extra):
    config = {"bootstrap.servers": BOOTSTRAP, "transactional.id": txn_id, "linger.ms": 5,
              "message.timeout.ms": TIMEOUT_S * 1000}
    config.update(extra)
    producer = Producer(config)
    producer.init_transactions(TIMEOUT_S)
    return producer


def send_transaction(producer, topic, name, records):
    """Sends records values NAME-0 .. NAME-(records-1), round-robin over the partitions, in one open transaction."""
    producer.begin_transaction()
    for i in range(records):
        producer.produce(topic, value=("%s-%d" % (name, i)).encode(), partition=i % PARTITIONS)
    producer.flush(TIMEOUT_S)


def read(topic, isolation, expected_count):
    """Reads every partition from the beginning without a group until expected_count records have arrived and then a
    quiet two seconds more (so extra records would be seen too), or until the deadline. Returns {partition: [values]}."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "compat-ck-" + RUN, "enable.auto.commit": False,
                         "isolation.level": isolation, "enable.partition.eof": False})
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        values = {p: [] for p in range(PARTITIONS)}
        count = 0
        deadline = time.time() + TIMEOUT_S
        quiet_until = None
        while time.time() < deadline:
            message = consumer.poll(0.2)
            if message is not None:
                if message.error():
                    raise KafkaException(message.error())
                values[message.partition()].append(message.value().decode())
                count += 1
                continue
            if count >= expected_count:
                if quiet_until is None:
                    quiet_until = time.time() + 2.0
                elif time.time() >= quiet_until:
                    break
        return values
    finally:
        consumer.close()


def expected(names, records):
    values = {p: [] for p in range(PARTITIONS)}
    for name in names:
        for i in range(records):
            values[i % PARTITIONS].append("%s-%d" % (name, i))
    return values


def test_read_committed_sees_committed_transactions_only():
    topic = create_topic("txn")
    records = 12
    producer = transactional_producer("compat-ck-txn-" + RUN)
    committed, everything = [], []
    for n in range(6):
        name = "t%d" % n
        send_transaction(producer, topic, name, records)
        everything.append(name)
        if n % 2 == 0:
            producer.commit_transaction(TIMEOUT_S)
            committed.append(name)
        else:
            producer.abort_transaction(TIMEOUT_S)
    # one more left open: read_committed stops before it, read_uncommitted returns it
    send_transaction(producer, topic, "open", records)
    everything.append("open")

    got = read(topic, "read_committed", len(committed) * records)
    check(got == expected(committed, records), "read_committed with a transaction open returned %r" % got)
    got = read(topic, "read_uncommitted", len(everything) * records)
    check(got == expected(everything, records), "read_uncommitted returned %r" % got)

    producer.commit_transaction(TIMEOUT_S)
    committed.append("open")
    got = read(topic, "read_committed", len(committed) * records)
    check(got == expected(committed, records), "read_committed after the last commit returned %r" % got)


def test_zombie_is_fenced():
    topic = create_topic("zombie")
    txn_id = "compat-ck-zombie-" + RUN
    zombie = transactional_producer(txn_id)
    send_transaction(zombie, topic, "zombie", 3)
    successor = transactional_producer(txn_id)  # bumps the epoch: the zombie's open transaction is aborted
    try:
        zombie.commit_transaction(TIMEOUT_S)
        raise AssertionError("the fenced producer's commit succeeded")
    except KafkaException as e:
        error = e.args[0]
        check(error.fatal() or error.txn_requires_abort(), "the fenced producer's commit failed, but not as fenced: %s"
              % error)
    send_transaction(successor, topic, "successor", 3)
    successor.commit_transaction(TIMEOUT_S)
    got = read(topic, "read_committed", 3)
    check(got == expected(["successor"], 3), "read_committed after the fencing returned %r" % got)


TESTS = [
    test_read_committed_sees_committed_transactions_only,
    test_zombie_is_fenced,
]


def main():
    passed = failed = 0
    print("confluent_kafka_test: broker %s, run %s" % (BOOTSTRAP, RUN), flush=True)
    for test in TESTS:
        started = time.time()
        try:
            test()
        except Exception as e:  # any exception is a failure of that test; go on with the others
            failed += 1
            print("FAIL %s (%.1fs): %s: %s" % (test.__name__, time.time() - started, type(e).__name__, e), flush=True)
            traceback.print_exc(file=sys.stdout)
            continue
        passed += 1
        print("PASS %s (%.1fs)" % (test.__name__, time.time() - started), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
