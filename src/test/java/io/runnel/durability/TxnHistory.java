package io.runnel.durability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transactional writers and the record of what each transaction wrote and what its producer was told, with the
 * check of the criterion: read with {@code read_committed}, every transaction is there whole or not at all
 * (whole if its commit returned, absent if its abort returned, either if the client could not tell), each committed
 * record once, at the offset its send was acknowledged with, in the order it was written; read with
 * {@code read_uncommitted}, every acknowledged record of every transaction is at its offset.
 *
 * <p>Values are {@code writer:txn:i}, keys {@code i}; a transaction writes its records round-robin over the
 * partitions, so every transaction spans several of them.
 *
 * <p>Threading: each {@link Writer} is driven by one thread; the history is shared (concurrent maps).
 */
final class TxnHistory {

    /** What the client was told about a transaction. */
    enum Outcome {
        COMMITTED, ABORTED, UNKNOWN
    }

    /** Where a record's send was acknowledged. */
    record Ack(int partition, long offset) {
    }

    private final String topic;
    private final int partitions;
    /** transaction name ({@code writer:txn}) -> its values, in send order. */
    private final Map<String, List<String>> txns = new ConcurrentHashMap<>();
    private final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
    private final Map<String, Ack> acks = new ConcurrentHashMap<>();
    private final Map<String, String> notes = new ConcurrentHashMap<>();

    TxnHistory(String topic, int partitions) {
        this.topic = topic;
        this.partitions = partitions;
    }

    String topic() {
        return topic;
    }

    /** Producer settings of a transactional writer: a short request timeout, so a dead node is given up on quickly. */
    static Properties producerProps(String bootstrap, String transactionalId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000");
        return p;
    }

    /** One transactional producer writing named transactions into the history. */
    final class Writer implements AutoCloseable {
        private final String name;
        private final String bootstrap;
        private final String transactionalId;
        private KafkaProducer<String, String> producer;
        private String open;
        private int next;

        Writer(String name, String bootstrap, String transactionalId) {
            this.name = name;
            this.bootstrap = bootstrap;
            this.transactionalId = transactionalId;
            this.producer = newProducer();
        }

        private KafkaProducer<String, String> newProducer() {
            KafkaProducer<String, String> p = new KafkaProducer<>(producerProps(bootstrap, transactionalId),
                    new StringSerializer(), new StringSerializer());
            p.initTransactions();
            return p;
        }

        String transactionalId() {
            return transactionalId;
        }

        /** Begins the next transaction; returns its name. */
        String begin() {
            open = name + ":" + next++;
            txns.put(open, new ArrayList<>());
            producer.beginTransaction();
            return open;
        }

        /** Sends {@code count} records of the open transaction, round-robin over the partitions. */
        void send(int count) {
            List<String> values = txns.get(open);
            for (int n = 0; n < count; n++) {
                int i = values.size();
                String value = open + ":" + i;
                int partition = Math.floorMod(i + open.hashCode(), partitions);
                values.add(value);
                try {
                    producer.send(new ProducerRecord<>(topic, partition, Integer.toString(i), value), (md, e) -> {
                        if (e == null) {
                            acks.put(value, new Ack(md.partition(), md.offset()));
                        }
                    });
                } catch (KafkaException e) {
                    // the transaction is in an error state: the commit that follows fails and aborts it
                    notes.merge(open, "send: " + e, (a, b) -> a);
                    return;
                }
            }
        }

        /** Waits until every record sent so far in the open transaction is acknowledged (or failed). */
        void flush() {
            producer.flush();
        }

        /** Commits the open transaction, retrying a commit that timed out; records and returns what the client said. */
        Outcome commit() {
            return end(true);
        }

        /** Aborts the open transaction. */
        Outcome abort() {
            return end(false);
        }

        private Outcome end(boolean commit) {
            String txn = open;
            open = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            Outcome outcome;
            while (true) {
                try {
                    if (commit) {
                        producer.commitTransaction();
                        outcome = Outcome.COMMITTED;
                    } else {
                        producer.abortTransaction();
                        outcome = Outcome.ABORTED;
                    }
                    break;
                } catch (TimeoutException e) {
                    // the client allows the same call again after a timeout; the outcome is unknown until one returns
                    notes.merge(txn, (commit ? "commit" : "abort") + " timed out once", (a, b) -> a);
                    if (System.nanoTime() > deadline) {
                        outcome = Outcome.UNKNOWN;
                        replaceProducer();
                        break;
                    }
                } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException e) {
                    notes.put(txn, "fatal: " + e);
                    outcome = Outcome.UNKNOWN;
                    replaceProducer();
                    break;
                } catch (KafkaException e) {
                    // an abortable error (a failed send): the transaction is aborted, which the client then confirms
                    notes.merge(txn, (commit ? "commit" : "abort") + ": " + e, (a, b) -> a);
                    if (!commit) {
                        outcome = Outcome.UNKNOWN;
                        replaceProducer();
                        break;
                    }
                    commit = false;
                }
            }
            outcomes.put(txn, outcome);
            return outcome;
        }

        private void replaceProducer() {
            producer.close(Duration.ZERO);
            producer = newProducer();
        }

        /**
         * Runs one whole transaction of {@code count} records, flushed before it ends: an abort would otherwise drop
         * the records still in the client's buffer, and the log would hold nothing to abort.
         */
        Outcome run(int count, boolean commit) {
            begin();
            send(count);
            flush();
            return commit ? commit() : abort();
        }

        /** Closes without ending an open transaction (what a crashed producer leaves behind). */
        void abandon() {
            producer.close(Duration.ZERO);
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(10));
        }
    }

    Writer writer(String name, String bootstrap, String transactionalId) {
        return new Writer(name, bootstrap, transactionalId);
    }

    Map<String, Outcome> outcomes() {
        return outcomes;
    }

    /** Counts per outcome, for the summary line. */
    Map<Outcome, Integer> outcomeCounts() {
        Map<Outcome, Integer> counts = new LinkedHashMap<>();
        outcomes.values().forEach(o -> counts.merge(o, 1, Integer::sum));
        return counts;
    }

    /** Waits until no partition of the topic has an open transaction: read_committed's end equals the high watermark. */
    static void awaitNoOpenTransaction(Admin admin, String topic, int partitions, Duration timeout) throws InterruptedException {
        ProcessCluster.await("no open transaction on " + topic, timeout, () -> openTransactions(admin, topic, partitions) == 0,
                () -> "partitions with LSO < HW: " + openTransactions(admin, topic, partitions));
    }

    /** The number of partitions whose last stable offset is below the high watermark (-1 if the admin cannot tell). */
    static int openTransactions(Admin admin, String topic, int partitions) {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        try {
            var hw = admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
            var lso = admin.listOffsets(latest, new org.apache.kafka.clients.admin.ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                    .all().get(10, TimeUnit.SECONDS);
            int open = 0;
            for (TopicPartition tp : latest.keySet()) {
                if (lso.get(tp).offset() < hw.get(tp).offset()) {
                    open++;
                }
            }
            return open;
        } catch (Exception e) {
            return -1;
        }
    }

    /** Every record of the topic, per partition in offset order, as a consumer with {@code isolation} reads them. */
    static Map<Integer, List<ConsumerRecord<String, String>>> readAll(String bootstrap, String topic, int partitions,
            IsolationLevel isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation.toString());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        Map<Integer, List<ConsumerRecord<String, String>>> out = new HashMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                tps.add(new TopicPartition(topic, i));
                out.put(i, new ArrayList<>());
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            // the consumer's own end: the last stable offset for read_committed, the high watermark otherwise
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tps.stream().anyMatch(tp -> c.position(tp, Duration.ofSeconds(30)) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(isolation + " read of " + topic + " did not reach " + end + " within 60 s");
                }
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    out.get(r.partition()).add(r);
                }
            }
        }
        return out;
    }

    /** The result of {@link #check}: counts, and the problems found (empty when the history holds). */
    record Result(int transactions, Map<Outcome, Integer> outcomes, int committedRead, int uncommittedRead,
            List<String> problems) {
        boolean ok() {
            return problems.isEmpty();
        }

        @Override
        public String toString() {
            return transactions + " transactions " + outcomes + ", read_committed " + committedRead + " records, read_uncommitted "
                    + uncommittedRead + (problems.isEmpty() ? ", no problem" : ", problems (" + problems.size() + "): "
                    + problems.subList(0, Math.min(20, problems.size())));
        }
    }

    /** Reads the topic both ways (call once no transaction is open) and checks the history against what is read. */
    Result check(String bootstrap) {
        List<String> problems = new ArrayList<>();
        Map<Integer, List<ConsumerRecord<String, String>>> committed = readAll(bootstrap, topic, partitions,
                IsolationLevel.READ_COMMITTED);
        Map<Integer, List<ConsumerRecord<String, String>>> uncommitted = readAll(bootstrap, topic, partitions,
                IsolationLevel.READ_UNCOMMITTED);

        Map<String, Integer> seen = new HashMap<>();
        Map<String, Integer> perTxn = new HashMap<>();
        int committedRead = 0;
        for (var e : committed.entrySet()) {
            // per partition and writer, transactions in the order they ran, records in the order they were sent
            Map<String, long[]> lastPerWriter = new HashMap<>();
            for (ConsumerRecord<String, String> r : e.getValue()) {
                committedRead++;
                String v = r.value();
                if (seen.merge(v, 1, Integer::sum) > 1) {
                    problems.add("read twice (read_committed): " + v + " at " + e.getKey() + "/" + r.offset());
                }
                String[] f = v.split(":");
                String txn = f[0] + ":" + f[1];
                perTxn.merge(txn, 1, Integer::sum);
                Ack ack = acks.get(v);
                if (ack != null && (ack.partition() != r.partition() || ack.offset() != r.offset())) {
                    problems.add(v + " acknowledged at " + ack + " but read at " + r.partition() + "/" + r.offset());
                }
                long[] pos = {Long.parseLong(f[1]), Long.parseLong(f[2])};
                long[] last = lastPerWriter.put(f[0], pos);
                if (last != null && (pos[0] < last[0] || (pos[0] == last[0] && pos[1] <= last[1]))) {
                    problems.add("out of order in partition " + e.getKey() + ": " + v + " after " + f[0] + ":" + last[0] + ":"
                            + last[1]);
                }
            }
        }
        for (var t : txns.entrySet()) {
            String txn = t.getKey();
            int size = t.getValue().size();
            int read = perTxn.getOrDefault(txn, 0);
            Outcome o = outcomes.get(txn);
            String note = notes.containsKey(txn) ? " (" + notes.get(txn) + ")" : "";
            if (o == null) {
                continue; // still open when the check ran: the test says whether that may be
            }
            if (read != 0 && read != size) {
                problems.add("transaction " + txn + " (" + o + ") read in part: " + read + " of " + size + note);
            } else if (o == Outcome.COMMITTED && read != size) {
                problems.add("committed transaction " + txn + " missing from read_committed" + note);
            } else if (o == Outcome.ABORTED && read != 0) {
                problems.add("aborted transaction " + txn + " visible to read_committed" + note);
            }
        }
        for (String txn : perTxn.keySet()) {
            if (!txns.containsKey(txn)) {
                problems.add("read a transaction nobody wrote: " + txn);
            }
        }

        int uncommittedRead = 0;
        Map<String, Ack> at = new HashMap<>();
        for (var e : uncommitted.entrySet()) {
            for (ConsumerRecord<String, String> r : e.getValue()) {
                uncommittedRead++;
                if (at.put(r.value(), new Ack(r.partition(), r.offset())) != null) {
                    problems.add("read twice (read_uncommitted): " + r.value());
                }
            }
        }
        for (var a : acks.entrySet()) {
            Ack read = at.get(a.getKey());
            if (!a.getValue().equals(read)) {
                problems.add("acknowledged " + a.getKey() + " at " + a.getValue() + ", read_uncommitted found it at " + read);
            }
        }
        if (uncommittedRead < committedRead) {
            problems.add("read_uncommitted read fewer records (" + uncommittedRead + ") than read_committed (" + committedRead + ")");
        }
        return new Result(txns.size(), outcomeCounts(), committedRead, uncommittedRead, problems);
    }
}
