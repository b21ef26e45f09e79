package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import io.runnel.testutil.KafkaTools;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Transactions on three brokers as separate processes ({@link NetnsCluster}, each node in a network namespace of
 * its own), driven by the official Java clients (issue 17): interleaved commits and aborts of two producers over
 * several partitions, read back exactly by {@code read_committed} and wholly by {@code read_uncommitted}; kill -9
 * of the transaction coordinator (and, in the full form, of a partition leader) in the middle of a transaction,
 * after which every transaction is there whole or not at all ({@link TxnHistory}); a zombie producer fenced by
 * its successor; a transaction left open aborted by its timeout; {@code kafka-transactions.sh} listing, describing
 * and aborting a hanging transaction.
 *
 * <p>And exactly-once processing on top: a Kafka Streams word count with {@code exactly_once_v2}, restarted halfway,
 * whose every count is read once and in sequence; a consume-transform-produce loop with
 * {@code sendOffsetsToTransaction} that neither loses nor repeats a record.
 *
 * <p>{@code mvn verify} runs the short form (the coordinator's kill, the Streams restart); {@code -Dfaults.full=true}
 * adds the partition leader's kill, a broker killed under the Streams application and the consume-transform-produce
 * loop through the failover of its transaction and group coordinators.
 * {@code -Dfaults.target=kafka} runs the same scenarios against three Apache Kafka 4.4.0 nodes, which is how the
 * tests themselves were checked. Each scenario writes a line to {@code target/faults/transactions-<target>.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class TransactionsClusterIT {

    static final boolean FULL = Boolean.getBoolean("faults.full");
    static final String TARGET = System.getProperty("faults.target", "runnel");
    private static final int PARTITIONS = 4;
    private static final int SESSION_MS = 9000;

    private Path dir;
    private NetnsCluster cluster;
    private Admin admin;

    /**
     * The broker settings both systems get: few transaction-log partitions (quicker to create and elect), timed-out
     * transactions looked for every second rather than every ten.
     */
    static Map<String, String> settings() {
        return Map.of(
                "broker.session.timeout.ms", Integer.toString(SESSION_MS),
                "replica.lag.time.max.ms", "5000",
                "offsets.topic.num.partitions", "3",
                "transaction.state.log.num.partitions", "5",
                "transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000",
                "group.initial.rebalance.delay.ms", "0");
    }

    @BeforeAll
    void start() throws Exception {
        NetnsCluster.assumeSupported();
        dir = Files.createTempDirectory("txn-cluster");
        cluster = NetnsCluster.create(dir, 3, 3, settings());
        cluster.startAll();
        admin = admin(cluster);
        awaitThreeBrokers(admin);
    }

    static Admin admin(NetnsCluster cluster) {
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(ap);
    }

    static void awaitThreeBrokers(Admin admin) throws InterruptedException {
        ProcessCluster.await("3 brokers", Duration.ofSeconds(90), () -> {
            try {
                return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() == 3;
            } catch (Exception e) {
                return false;
            }
        });
    }

    @AfterAll
    void stop() throws Exception {
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    // ------------------------------------------------------------------ the scenarios

    @Test
    @Order(1)
    void interleavedCommitsAndAbortsReadExactlyByReadCommitted() throws Exception {
        String topic = newTopic("interleaved");
        TxnHistory history = new TxnHistory(topic, PARTITIONS);
        Random random = new Random(17);
        try (TxnHistory.Writer a = history.writer("a", cluster.bootstrap(), topic + "-a");
             TxnHistory.Writer b = history.writer("b", cluster.bootstrap(), topic + "-b")) {
            // both open at once, their batches interleaved in every partition, then ended in either order: an
            // aborted transaction's records lie between committed ones of the other producer
            for (int round = 0; round < 20; round++) {
                a.begin();
                b.begin();
                for (int k = 0; k < 4; k++) {
                    a.send(3);
                    b.send(3);
                    a.flush();
                    b.flush();
                }
                boolean commitA = random.nextInt(3) != 0;
                boolean commitB = random.nextInt(3) != 0;
                if (random.nextBoolean()) {
                    end(a, commitA);
                    end(b, commitB);
                } else {
                    end(b, commitB);
                    end(a, commitA);
                }
            }
        }
        TxnHistory.awaitNoOpenTransaction(admin, topic, PARTITIONS, Duration.ofSeconds(60));
        TxnHistory.Result r = history.check(cluster.bootstrap());
        report("interleaved", r, "");
        assertThat(r.outcomes()).as("every transaction ended as its producer asked").doesNotContainKey(TxnHistory.Outcome.UNKNOWN);
        assertThat(r.outcomes().get(TxnHistory.Outcome.ABORTED)).as("some were aborted").isPositive();
        assertThat(r.problems()).as("%s", r).isEmpty();
    }

    private static void end(TxnHistory.Writer w, boolean commit) {
        TxnHistory.Outcome o = commit ? w.commit() : w.abort();
        assertThat(o).as("%s of a transaction of %s", commit ? "commit" : "abort", w.transactionalId())
                .isEqualTo(commit ? TxnHistory.Outcome.COMMITTED : TxnHistory.Outcome.ABORTED);
    }

    @Test
    @Order(2)
    void aZombieProducerIsFencedByItsSuccessor() throws Exception {
        String topic = newTopic("zombie");
        String id = topic + "-app";
        TxnHistory history = new TxnHistory(topic, PARTITIONS);
        TxnHistory.Writer zombie = history.writer("zombie", cluster.bootstrap(), id);
        try {
            zombie.begin();
            zombie.send(8);
            zombie.flush();
            // the successor's initTransactions aborts the zombie's open transaction and bumps the epoch
            try (TxnHistory.Writer successor = history.writer("successor", cluster.bootstrap(), id)) {
                successor.begin();
                successor.send(8);
                zombie.send(4);
                assertThat(successor.commit()).isEqualTo(TxnHistory.Outcome.COMMITTED);
            }
            TxnHistory.Outcome o = zombie.commit();
            assertThat(o).as("the zombie's commit").isNotEqualTo(TxnHistory.Outcome.COMMITTED);
        } finally {
            zombie.abandon();
        }
        // the fencing error itself, as the client surfaces it
        try (KafkaProducer<String, String> z = new KafkaProducer<>(TxnHistory.producerProps(cluster.bootstrap(), id + "-2"),
                new StringSerializer(), new StringSerializer());
             KafkaProducer<String, String> s = new KafkaProducer<>(TxnHistory.producerProps(cluster.bootstrap(), id + "-2"),
                     new StringSerializer(), new StringSerializer())) {
            z.initTransactions();
            z.beginTransaction();
            z.send(new ProducerRecord<>(topic, 0, "k", "fenced:0:0")).get(30, TimeUnit.SECONDS);
            s.initTransactions();
            assertThatThrownBy(() -> {
                z.send(new ProducerRecord<>(topic, 1, "k", "fenced:0:1"));
                z.commitTransaction();
            }).as("a zombie's commit after its successor's initTransactions").satisfies(e -> assertThat(fencing(e))
                    .as("ProducerFencedException or InvalidProducerEpochException in %s", e).isTrue());
        }
        TxnHistory.awaitNoOpenTransaction(admin, topic, PARTITIONS, Duration.ofSeconds(60));
        TxnHistory.Result r = history.check(cluster.bootstrap());
        report("zombie", r, "");
        assertThat(r.outcomes().get(TxnHistory.Outcome.COMMITTED)).isEqualTo(1);
        assertThat(r.problems()).as("%s", r).isEmpty();
        assertThat(TxnHistory.readAll(cluster.bootstrap(), topic, PARTITIONS, IsolationLevel.READ_COMMITTED).values().stream()
                .flatMap(List::stream).map(ConsumerRecord::value).filter(v -> !v.startsWith("successor:")).toList())
                .as("read_committed sees the successor's records only").isEmpty();
    }

    private static boolean fencing(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    @Test
    @Order(3)
    void aTransactionLeftOpenIsAbortedByItsTimeout() throws Exception {
        String topic = newTopic("hung");
        String id = topic + "-hung";
        Properties hp = TxnHistory.producerProps(cluster.bootstrap(), id);
        hp.put("transaction.timeout.ms", "5000");
        KafkaProducer<String, String> hung = new KafkaProducer<>(hp, new StringSerializer(), new StringSerializer());
        hung.initTransactions();
        hung.beginTransaction();
        for (int p = 0; p < PARTITIONS; p++) {
            hung.send(new ProducerRecord<>(topic, p, "k", "hung:0:" + p));
        }
        hung.flush();
        long openedAt = System.nanoTime();
        // a crash: no abort is sent (close with a zero timeout skips it)
        hung.close(Duration.ZERO);

        // committed after the hung records: invisible to read_committed until the hung transaction ends
        TxnHistory history = new TxnHistory(topic, PARTITIONS);
        try (TxnHistory.Writer later = history.writer("later", cluster.bootstrap(), id + "-later")) {
            assertThat(later.run(8, true)).isEqualTo(TxnHistory.Outcome.COMMITTED);
        }
        int open = TxnHistory.openTransactions(admin, topic, PARTITIONS);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openedAt);
        if (elapsedMs < 4000) {
            assertThat(open).as("partitions held below their high watermark by the open transaction").isEqualTo(PARTITIONS);
            assertThat(TxnHistory.readAll(cluster.bootstrap(), topic, PARTITIONS, IsolationLevel.READ_COMMITTED).values()
                    .stream().mapToInt(List::size).sum()).as("read_committed before the timeout: nothing past the open transaction")
                    .isZero();
        }
        assertThat(describe(id).state()).as("the hung transaction, %d ms after it began", elapsedMs)
                .isIn(TransactionState.ONGOING, TransactionState.PREPARE_ABORT, TransactionState.COMPLETE_ABORT);

        // transaction.timeout.ms 5 s, checked every second: aborted well within 30 s
        TxnHistory.awaitNoOpenTransaction(admin, topic, PARTITIONS, Duration.ofSeconds(30));
        long abortedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openedAt);
        ProcessCluster.await("the hung transaction complete-aborted", Duration.ofSeconds(30),
                () -> describeQuietly(id) != null && describeQuietly(id).state() == TransactionState.COMPLETE_ABORT);
        TxnHistory.Result r = history.check(cluster.bootstrap());
        report("hung-timeout", r, "open transaction aborted " + abortedAfterMs + " ms after it began (timeout 5000 ms)");
        assertThat(r.problems()).as("%s", r).isEmpty();
        List<String> committed = TxnHistory.readAll(cluster.bootstrap(), topic, PARTITIONS, IsolationLevel.READ_COMMITTED)
                .values().stream().flatMap(List::stream).map(ConsumerRecord::value).toList();
        assertThat(committed).as("read_committed after the timeout").hasSize(8).noneMatch(v -> v.startsWith("hung:"));
        assertThat(TxnHistory.readAll(cluster.bootstrap(), topic, PARTITIONS, IsolationLevel.READ_UNCOMMITTED).values().stream()
                .flatMap(List::stream).map(ConsumerRecord::value).filter(v -> v.startsWith("hung:")).count())
                .as("read_uncommitted still reads the aborted records").isEqualTo(PARTITIONS);
    }

    @Test
    @Order(4)
    void kafkaTransactionsToolListsDescribesAndAbortsAHangingTransaction() throws Exception {
        String topic = newTopic("tool");
        String id = topic + "-hanging";
        Properties hp = TxnHistory.producerProps(cluster.bootstrap(), id);
        hp.put("transaction.timeout.ms", "600000");
        KafkaProducer<String, String> hanging = new KafkaProducer<>(hp, new StringSerializer(), new StringSerializer());
        hanging.initTransactions();
        hanging.beginTransaction();
        long start = -1;
        for (int i = 0; i < 3; i++) {
            long offset = hanging.send(new ProducerRecord<>(topic, 0, "k", "hanging:0:" + i)).get(30, TimeUnit.SECONDS).offset();
            start = start < 0 ? offset : start;
        }
        hanging.close(Duration.ZERO);

        String bootstrap = cluster.bootstrap();
        KafkaTools.Result list = KafkaTools.run("org.apache.kafka.tools.TransactionsCommand",
                List.of("--bootstrap-server", bootstrap, "list"));
        assertThat(list.exitCode()).as(list.output()).isZero();
        assertThat(list.output()).as("kafka-transactions.sh list").containsPattern(id + "\\s+\\d+\\s+\\d+\\s+Ongoing");

        KafkaTools.Result describe = KafkaTools.run("org.apache.kafka.tools.TransactionsCommand",
                List.of("--bootstrap-server", bootstrap, "describe", "--transactional-id", id));
        assertThat(describe.exitCode()).as(describe.output()).isZero();
        assertThat(describe.output()).as("kafka-transactions.sh describe").contains("Ongoing").contains(topic + "-0");

        KafkaTools.Result producers = KafkaTools.run("org.apache.kafka.tools.TransactionsCommand",
                List.of("--bootstrap-server", bootstrap, "describe-producers", "--topic", topic, "--partition", "0"));
        assertThat(producers.exitCode()).as(producers.output()).isZero();
        // ProducerId ProducerEpoch LatestCoordinatorEpoch LastSequence LastTimestamp CurrentTransactionStartOffset
        assertThat(producers.output()).as("kafka-transactions.sh describe-producers")
                .containsPattern("\\n\\d+\\s+\\d+\\s+-?\\d+\\s+2\\s+\\d+\\s+" + start + "\\s*(\\n|$)");

        assertThat(TxnHistory.openTransactions(admin, topic, PARTITIONS)).as("partition 0 held by the hanging transaction")
                .isEqualTo(1);
        KafkaTools.Result abort = KafkaTools.run("org.apache.kafka.tools.TransactionsCommand",
                List.of("--bootstrap-server", bootstrap, "abort", "--topic", topic, "--partition", "0",
                        "--start-offset", Long.toString(start)));
        assertThat(abort.exitCode()).as(abort.output()).isZero();
        TxnHistory.awaitNoOpenTransaction(admin, topic, PARTITIONS, Duration.ofSeconds(30));
        assertThat(TxnHistory.readAll(bootstrap, topic, PARTITIONS, IsolationLevel.READ_COMMITTED).values().stream()
                .mapToInt(List::size).sum()).as("read_committed after the abort").isZero();
        report("tool", null, "list, describe, describe-producers and abort (start offset " + start + ") as Kafka's tool expects");
    }

    @Test
    @Order(5)
    void killTheTransactionCoordinatorMidTransaction() throws Exception {
        String topic = newTopic("kill-coordinator");
        TxnHistory history = new TxnHistory(topic, PARTITIONS);
        String fault;
        try (TxnHistory.Writer w = history.writer("w", cluster.bootstrap(), topic + "-w")) {
            runSome(w, 8, 1);
            w.begin();
            w.send(20);
            w.flush();
            int coordinator = coordinatorOf(w.transactionalId());
            long at = System.nanoTime();
            cluster.kill(coordinator);
            w.send(20);
            TxnHistory.Outcome o = w.commit();
            fault = "kill -9 of coordinator " + coordinator + " mid-transaction: its commit " + o + " after "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - at) + " ms, new coordinator "
                    + coordinatorOf(w.transactionalId());
            runSome(w, 8, 2);
            cluster.start(coordinator);
        }
        finish("kill-coordinator", topic, history, fault);
    }

    @Test
    @Order(6)
    void killAPartitionLeaderMidTransaction() throws Exception {
        Assumptions.assumeTrue(FULL, "full form only (-Dfaults.full=true)");
        String topic = newTopic("kill-leader");
        TxnHistory history = new TxnHistory(topic, PARTITIONS);
        String fault;
        try (TxnHistory.Writer w = history.writer("w", cluster.bootstrap(), topic + "-w")) {
            runSome(w, 8, 3);
            w.begin();
            w.send(20);
            w.flush();
            // a leader that is not the coordinator, so that this is the leader's fault alone
            int coordinator = coordinatorOf(w.transactionalId());
            int leader = leaders(topic).stream().filter(l -> l != coordinator).findFirst().orElse(leaders(topic).get(0));
            long at = System.nanoTime();
            cluster.kill(leader);
            w.send(20);
            TxnHistory.Outcome o = w.commit();
            fault = "kill -9 of leader " + leader + " (coordinator " + coordinator + ") mid-transaction: its commit " + o
                    + " after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - at) + " ms";
            runSome(w, 8, 4);
            cluster.start(leader);
        }
        finish("kill-leader", topic, history, fault);
    }

    /** Runs {@code n} transactions of 12 records, one in three aborted. */
    private static void runSome(TxnHistory.Writer w, int n, long seed) {
        Random random = new Random(seed);
        for (int i = 0; i < n; i++) {
            w.run(12, random.nextInt(3) != 0);
        }
    }

    /** Restores a full cluster, waits for every transaction to end, checks the history, writes the line. */
    private void finish(String scenario, String topic, TxnHistory history, String fault) throws Exception {
        awaitThreeBrokers(admin);
        ProcessCluster.await("every partition of " + topic + " led with a full ISR", Duration.ofSeconds(120),
                () -> fullIsr(topic), () -> "leaders " + leaders(topic) + ", node logs in " + cluster.logDir());
        TxnHistory.awaitNoOpenTransaction(admin, topic, PARTITIONS, Duration.ofSeconds(90));
        TxnHistory.Result r = history.check(cluster.bootstrap());
        report(scenario, r, fault);
        assertThat(r.problems()).as("%s; %s; node logs in %s", r, fault, cluster.logDir()).isEmpty();
    }

    @Test
    @Order(7)
    void streamsWordCountExactlyOnceRestartedHalfway() throws Exception {
        String in = newTopic("wc-lines");
        String out = newTopic("wc-counts");
        String appId = "txn-wordcount-" + UUID.randomUUID().toString().substring(0, 8);
        Path state = Files.createTempDirectory(dir, "streams");
        Map<String, Long> expected = new HashMap<>();
        int lines = FULL ? 3000 : 800;
        String fault = "stopped and restarted halfway";

        sendLines(in, 0, lines / 2, expected);
        KafkaStreams first = startWordCount(appId, in, out, state);
        try {
            Map<String, Long> half = new HashMap<>(expected);
            ProcessCluster.await("the first half counted", Duration.ofSeconds(120), () -> lastCounts(out).equals(half),
                    () -> "counts " + lastCounts(out) + ", expected " + half + ", streams " + first.state());
        } finally {
            first.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(30)));
        }

        // a new state directory: the counts come back from the changelog (read_committed), and a first instance that
        // did not close in time cannot hold the directory's lock
        KafkaStreams second = startWordCount(appId, in, out, Files.createTempDirectory(dir, "streams"));
        try {
            sendLines(in, lines / 2, lines, expected);
            if (FULL) {
                // under load: a broker holding the application's transactions dies while it commits every 100 ms
                ProcessCluster.await("the second half under way", Duration.ofSeconds(120),
                        () -> lastCounts(out).values().stream().mapToLong(Long::longValue).sum() > lines / 2 * 2 + 50);
                int victim = streamsCoordinator(appId);
                cluster.kill(victim);
                fault += "; kill -9 of node " + victim + " (a coordinator of its transactions) in the second half";
                ProcessCluster.await("the second half counted", Duration.ofSeconds(180), () -> lastCounts(out).equals(expected),
                        () -> "counts " + lastCounts(out) + ", expected " + expected + ", streams " + second.state());
                cluster.start(victim);
                awaitThreeBrokers(admin);
            } else {
                ProcessCluster.await("the second half counted", Duration.ofSeconds(120), () -> lastCounts(out).equals(expected),
                        () -> "counts " + lastCounts(out) + ", expected " + expected + ", streams " + second.state());
            }
        } finally {
            second.close(Duration.ofSeconds(30));
        }
        // with the cache off every word read is one update of its count: read_committed must see 1, 2, ..., n for
        // each word, no count twice (a repeat) and none skipped (a loss)
        Map<String, List<Long>> updates = countUpdates(out);
        List<String> problems = new ArrayList<>();
        expected.forEach((word, n) -> {
            List<Long> seq = updates.getOrDefault(word, List.of());
            List<Long> want = new ArrayList<>();
            for (long i = 1; i <= n; i++) {
                want.add(i);
            }
            if (!seq.equals(want)) {
                problems.add(word + ": " + seq.size() + " updates, expected 1.." + n + (seq.size() < 40 ? " " + seq : ""));
            }
        });
        report("streams-eos", null, lines + " lines, " + expected + "; " + fault + (problems.isEmpty() ? "; every count once, in sequence"
                : "; problems " + problems));
        assertThat(problems).as("count updates read by read_committed").isEmpty();
    }

    private static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};

    private void sendLines(String topic, int from, int to, Map<String, Long> expected) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
            for (int i = from; i < to; i++) {
                String line = WORDS[i % WORDS.length] + " " + WORDS[(i * 3 + 1) % WORDS.length];
                for (String w : line.split(" ")) {
                    expected.merge(w, 1L, Long::sum);
                }
                sends.add(producer.send(new ProducerRecord<>(topic, Integer.toString(i), line)));
            }
            for (var f : sends) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
    }

    private KafkaStreams startWordCount(String appId, String in, String out, Path state) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
                .flatMapValues(line -> List.of(line.split(" ")))
                .groupBy((k, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                .toStream().to(out, Produced.with(Serdes.String(), Serdes.Long()));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        // every word read is one update of its count downstream (no cache folding updates together)
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
        p.put(StreamsConfig.topicPrefix("min.insync.replicas"), "2");
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        KafkaStreams streams = new KafkaStreams(builder.build(), p);
        // a thread that dies of a broker's death is replaced, as an application that wants to keep running does:
        // exactly-once must hold across that too
        streams.setUncaughtExceptionHandler(e -> StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD);
        streams.start();
        return streams;
    }

    /** A node coordinating one of the application's transactional ids (EOS v2: one per stream thread). */
    private int streamsCoordinator(String appId) throws Exception {
        int[] c = {-1};
        ProcessCluster.await("a transaction of " + appId, Duration.ofSeconds(60), () -> {
            try {
                for (TransactionListing l : admin.listTransactions().all().get(10, TimeUnit.SECONDS)) {
                    if (l.transactionalId().startsWith(appId)) {
                        c[0] = describe(l.transactionalId()).coordinatorId();
                        return c[0] > 0;
                    }
                }
            } catch (Exception e) {
                return false;
            }
            return false;
        });
        return c[0];
    }

    /** Every count update in the output, per word, in the order read_committed reads them. */
    private Map<String, List<Long>> countUpdates(String out) {
        Map<String, List<Long>> updates = new HashMap<>();
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(p, new StringDeserializer(), new LongDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                tps.add(new TopicPartition(out, i));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tps.stream().anyMatch(tp -> c.position(tp, Duration.ofSeconds(30)) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(200))) {
                    updates.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                }
            }
        }
        return updates;
    }

    private Map<String, Long> lastCounts(String out) {
        Map<String, Long> last = new HashMap<>();
        try {
            countUpdates(out).forEach((k, v) -> last.put(k, v.get(v.size() - 1)));
        } catch (RuntimeException e) {
            // a broker down: the next poll of the wait asks again
        }
        return last;
    }

    @Test
    @Order(8)
    void consumeTransformProduceNeitherLosesNorRepeatsThroughCoordinatorFailovers() throws Exception {
        Assumptions.assumeTrue(FULL, "full form only (-Dfaults.full=true)");
        String in = newTopic("ctp-in");
        String out = newTopic("ctp-out");
        String group = in + "-group";
        String txnId = in + "-loop";
        int records = 3000;
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < records; i++) {
                p.send(new ProducerRecord<>(in, Integer.toString(i), "v" + i));
            }
            p.flush();
        }
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "50");
        List<String> faults = new ArrayList<>();
        int committedTxns = 0;
        int abortedTxns = 0;
        KafkaProducer<String, String> producer = new KafkaProducer<>(TxnHistory.producerProps(cluster.bootstrap(), txnId),
                new StringSerializer(), new StringSerializer());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            producer.initTransactions();
            consumer.subscribe(List.of(in));
            long processed = 0;
            int killed = 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
            while (System.nanoTime() < deadline && !done(consumer, in)) {
                var batch = consumer.poll(Duration.ofMillis(500));
                if (batch.isEmpty()) {
                    continue;
                }
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
                for (ConsumerRecord<String, String> r : batch) {
                    producer.send(new ProducerRecord<>(out, r.key(), r.value().toUpperCase(java.util.Locale.ROOT)));
                    next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                processed += batch.count();
                // the first failover: the transaction coordinator dies with this transaction open; the second: the
                // group coordinator (if another node), with the offsets of the transaction pending
                if ((killed == 0 && processed > records / 3) || (killed == 1 && processed > 2 * records / 3)) {
                    producer.flush();
                    int victim = killed == 0 ? coordinatorOf(txnId) : groupCoordinator(group);
                    cluster.kill(victim);
                    faults.add("kill -9 of the " + (killed == 0 ? "transaction" : "group") + " coordinator " + victim);
                    killed++;
                    producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
                    boolean ok = commitOrAbort(producer, faults);
                    cluster.start(victim);
                    awaitThreeBrokers(admin);
                    if (!ok) {
                        abortedTxns++;
                        rewind(consumer);
                    } else {
                        committedTxns++;
                    }
                    continue;
                }
                try {
                    producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
                } catch (KafkaException e) {
                    faults.add("sendOffsetsToTransaction: " + e);
                }
                if (commitOrAbort(producer, faults)) {
                    committedTxns++;
                } else {
                    abortedTxns++;
                    rewind(consumer);
                }
            }
        } finally {
            producer.close(Duration.ofSeconds(10));
        }
        TxnHistory.awaitNoOpenTransaction(admin, out, PARTITIONS, Duration.ofSeconds(90));
        Map<String, Integer> seen = new HashMap<>();
        TxnHistory.readAll(cluster.bootstrap(), out, PARTITIONS, IsolationLevel.READ_COMMITTED).values().stream()
                .flatMap(List::stream).forEach(r -> seen.merge(r.value(), 1, Integer::sum));
        List<String> lost = new ArrayList<>();
        for (int i = 0; i < records; i++) {
            if (!seen.containsKey("V" + i)) {
                lost.add("V" + i);
            }
        }
        List<String> repeated = seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        report("consume-transform-produce", null, records + " records, " + committedTxns + " transactions committed, "
                + abortedTxns + " aborted and redone; lost " + lost.size() + ", repeated " + repeated.size() + "; " + faults);
        assertThat(lost).as("input records missing from the output (%s)", faults).isEmpty();
        assertThat(repeated).as("input records in the output twice (%s)", faults).isEmpty();
    }

    /** Commits, retrying a commit that timed out; on another error aborts. Returns whether the transaction committed. */
    private static boolean commitOrAbort(KafkaProducer<String, String> producer, List<String> faults) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try {
                producer.commitTransaction();
                return true;
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            } catch (ProducerFencedException e) {
                throw e; // no other producer has this id: a fence here is a defect
            } catch (KafkaException e) {
                faults.add("commit failed, aborted: " + e);
                producer.abortTransaction();
                return false;
            }
        }
    }

    /** After an abort: back to the group's committed offsets, so the aborted batch is processed again. */
    private static void rewind(KafkaConsumer<String, String> consumer) {
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(consumer.assignment(), Duration.ofSeconds(60));
        for (TopicPartition tp : consumer.assignment()) {
            OffsetAndMetadata o = committed.get(tp);
            if (o == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, o.offset());
            }
        }
    }

    /** Whether the group's committed offsets reach the end of every input partition. */
    private boolean done(KafkaConsumer<String, String> consumer, String in) {
        if (consumer.assignment().size() < PARTITIONS) {
            return false;
        }
        Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), Duration.ofSeconds(30));
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(consumer.assignment(), Duration.ofSeconds(30));
        return end.entrySet().stream().allMatch(e -> committed.get(e.getKey()) != null
                && committed.get(e.getKey()).offset() >= e.getValue());
    }

    private int groupCoordinator(String group) throws Exception {
        return admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get(10, TimeUnit.SECONDS)
                .coordinator().id();
    }

    // ------------------------------------------------------------------ helpers

    private String newTopic(String scenario) throws Exception {
        String topic = "txn-" + scenario + "-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 3)
                .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
        ProcessCluster.await("every partition of " + topic + " led with a full ISR", Duration.ofSeconds(60),
                () -> fullIsr(topic));
        return topic;
    }

    private boolean fullIsr(String topic) {
        TopicDescription d = ProcessCluster.describe(admin, topic);
        return d != null && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
    }

    private List<Integer> leaders(String topic) {
        List<Integer> out = new ArrayList<>();
        TopicDescription d = ProcessCluster.describe(admin, topic);
        if (d != null) {
            d.partitions().forEach(p -> out.add(p.leader() == null ? -1 : p.leader().id()));
        }
        return out;
    }

    private TransactionDescription describe(String transactionalId) throws Exception {
        return admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get(10, TimeUnit.SECONDS);
    }

    private TransactionDescription describeQuietly(String transactionalId) {
        try {
            return describe(transactionalId);
        } catch (Exception e) {
            return null;
        }
    }

    /** The node coordinating {@code transactionalId}, as DescribeTransactions names it. */
    private int coordinatorOf(String transactionalId) throws InterruptedException {
        int[] c = {-1};
        ProcessCluster.await("the coordinator of " + transactionalId, Duration.ofSeconds(60), () -> {
            TransactionDescription d = describeQuietly(transactionalId);
            c[0] = d == null ? -1 : d.coordinatorId();
            return c[0] > 0;
        });
        return c[0];
    }

    static void report(String scenario, TxnHistory.Result r, String extra) throws Exception {
        String line = TARGET + " " + scenario + ": " + (r == null ? "" : r + "; ") + extra;
        System.out.println("Transactions " + line);
        Path out = Path.of("target", "faults", "transactions-" + TARGET + ".txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, line + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }
}
