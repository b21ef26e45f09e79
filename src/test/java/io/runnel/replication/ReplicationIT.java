package io.runnel.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.runnel.Broker;
import io.runnel.ClusterHooks;
import io.runnel.cluster.PartitionState;
import io.runnel.partition.PartitionOwner;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three in-process brokers replicating one partition (RF=3, min.insync.replicas=2) under the test
 * controller, driven with the official Java clients.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReplicationIT {

    private static final String TOPIC = "replicated";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);
    private static final long LAG_MS = 2000;

    @TempDir
    Path root;
    private final InMemoryController controller = new InMemoryController();
    private final Map<Integer, Broker> brokers = new HashMap<>();
    private final List<AutoCloseable> clients = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
        for (Broker b : brokers.values()) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private void startCluster() throws Exception {
        controller.topic(TOPIC, Map.of("min.insync.replicas", "2"));
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        controller.set(TP, new PartitionState(1, 1, List.of(1, 2, 3), List.of(1, 2, 3), 1));
    }

    private Broker start(int id) throws Exception {
        return start(id, true);
    }

    private Broker start(int id, boolean register) throws Exception {
        Path dir = root.resolve("node" + id);
        if (!Files.exists(dir.resolve("__runnel_meta"))) {
            controller.writeTopics(dir, 1, 3);
        }
        Map<String, String> props = Map.of("node.id", Integer.toString(id), "log.dirs", dir.toString(),
                "listeners", "PLAINTEXT://127.0.0.1:0", "replica.lag.time.max.ms", Long.toString(LAG_MS),
                "runnel.log.shards", "2", "offsets.topic.num.partitions", "1", "group.initial.rebalance.delay.ms", "0",
                "admin.listener", "127.0.0.1:0", "replica.high.watermark.checkpoint.interval.ms", "200");
        Broker b = Broker.start(props, new ClusterHooks(controller, controller))
                .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        brokers.put(id, b);
        if (register) {
            controller.register(id, b);
        }
        return b;
    }

    private void stop(int id) throws Exception {
        controller.unregister(id);
        brokers.remove(id).closeAndWait(30, TimeUnit.SECONDS);
    }

    private PartitionOwner owner(int id) {
        return brokers.get(id).partitionManager().get(TP);
    }

    private String bootstrap() {
        return String.join(",", brokers.values().stream().map(Broker::bootstrapServers).toList());
    }

    private KafkaProducer<String, String> producer(String bootstrap, Map<String, Object> overrides) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 2);
        p.put(ProducerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        p.putAll(overrides);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
        clients.add(producer);
        return producer;
    }

    private List<ConsumerRecord<String, String>> readAll(int expected) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, 1000);
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            c.assign(List.of(TP));
            c.seekToBeginning(List.of(TP));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            // anything beyond what was acknowledged would show up here
            c.poll(Duration.ofMillis(500)).forEach(out::add);
        }
        return out;
    }

    private static void await(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (Boolean.TRUE.equals(condition.call())) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what);
    }

    private byte[] segment(int id) throws Exception {
        return Files.readAllBytes(owner(id).log().dir().resolve("00000000000000000000.log"));
    }

    private void awaitSameLogs(int... ids) throws Exception {
        await("replicas to reach the leader's log end", () -> {
            long leo = owner(ids[0]).log().logEndOffset();
            for (int id : ids) {
                if (owner(id).log().logEndOffset() != leo) {
                    return false;
                }
            }
            return true;
        });
        for (int id : ids) {
            assertThat(segment(id)).as("log of node " + id).isEqualTo(segment(ids[0]));
        }
    }

    @Test
    void recordsReplicateByteForByteAndAcksAllCompletesOnlyOnceEveryIsrMemberHasTheBatch() throws Exception {
        startCluster();
        KafkaProducer<String, String> producer = producer(bootstrap(), Map.of(ProducerConfig.BATCH_SIZE_CONFIG, 2048));
        List<String> violations = new CopyOnWriteArrayList<>();
        List<java.util.concurrent.Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            acks.add(producer.send(new ProducerRecord<>(TOPIC, "k" + (i % 7), "value-" + i), (md, err) -> {
                if (err == null) {
                    for (int id = 2; id <= 3; id++) {
                        if (owner(id).log().logEndOffset() <= md.offset()) {
                            violations.add("offset " + md.offset() + " acknowledged before node " + id + " had it");
                        }
                    }
                }
            }));
        }
        for (int i = 0; i < acks.size(); i++) {
            assertThat(acks.get(i).get(30, TimeUnit.SECONDS).offset()).isEqualTo(i);
        }
        assertThat(violations).isEmpty();
        assertThat(owner(1).highWatermark()).isEqualTo(300);
        awaitSameLogs(1, 2, 3);
        // the followers fetch in incremental fetch sessions (KIP-227), as Kafka's do: the leader holds one for each
        assertThat(brokers.get(1).metrics().registry().find(io.runnel.metrics.MeterNames.FETCH_SESSIONS).gauge().value())
                .isGreaterThanOrEqualTo(2);
        await("followers to learn the high watermark", () -> owner(2).highWatermark() == 300
                && owner(3).highWatermark() == 300);
        List<ConsumerRecord<String, String>> read = readAll(300);
        assertThat(read).hasSize(300);
        for (int i = 0; i < 300; i++) {
            assertThat(read.get(i).offset()).isEqualTo(i);
            assertThat(read.get(i).value()).isEqualTo("value-" + i);
        }
    }

    @Test
    void stoppedFollowerLeavesTheIsrAfterTheLagTimeAndAcksAllCarriesOn() throws Exception {
        startCluster();
        KafkaProducer<String, String> producer = producer(bootstrap(), Map.of());
        producer.send(new ProducerRecord<>(TOPIC, "before")).get(30, TimeUnit.SECONDS);
        long stoppedAt = System.nanoTime();
        stop(3);
        RecordMetadata md = producer.send(new ProducerRecord<>(TOPIC, "after")).get(30, TimeUnit.SECONDS);
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
        assertThat(controller.state(TP).isr()).containsExactly(1, 2);
        // the ack needed the ISR without node 3, which only a shrink after the lag time gives; node 3 was
        // last caught up when its last fetch arrived, which may have waited up to replica.fetch.wait.max.ms
        // (500) for data before the stop began
        assertThat(waitedMs).isGreaterThanOrEqualTo(LAG_MS - 500);
        assertThat(md.offset()).isEqualTo(1);
        for (int i = 0; i < 20; i++) {
            producer.send(new ProducerRecord<>(TOPIC, "more-" + i)).get(30, TimeUnit.SECONDS);
        }
        awaitSameLogs(1, 2);
        assertThat(readAll(22)).extracting(ConsumerRecord::value).startsWith("before", "after", "more-0").hasSize(22);
    }

    @Test
    void withTwoFollowersGoneAcksAllIsRefusedWithNotEnoughReplicas() throws Exception {
        startCluster();
        KafkaProducer<String, String> producer = producer(bootstrap(), Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false, ProducerConfig.RETRIES_CONFIG, 0,
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 1));
        producer.send(new ProducerRecord<>(TOPIC, "committed")).get(30, TimeUnit.SECONDS);
        // both at once: the next send must reach the leader within the lag time of the followers' last
        // fetches, while the leader still counts them as in sync
        controller.unregister(2);
        controller.unregister(3);
        java.util.concurrent.CompletableFuture.allOf(brokers.remove(2).close().toCompletionStage().toCompletableFuture(),
                brokers.remove(3).close().toCompletionStage().toCompletableFuture()).get(30, TimeUnit.SECONDS);
        // appended while the ISR still names both followers; the shrink below min ISR fails the wait
        ExecutionException waiting = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> producer.send(new ProducerRecord<>(TOPIC, "in-flight")).get(30, TimeUnit.SECONDS));
        assertThat(waiting.getCause()).isInstanceOf(NotEnoughReplicasAfterAppendException.class);
        assertThat(controller.state(TP).isr()).containsExactly(1);
        ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> producer.send(new ProducerRecord<>(TOPIC, "refused")).get(30, TimeUnit.SECONDS));
        assertThat(refused.getCause()).isInstanceOf(NotEnoughReplicasException.class);
        // the high watermark stands still below min ISR: only the committed record is readable
        assertThat(owner(1).highWatermark()).isEqualTo(1);
        assertThat(readAll(1)).extracting(ConsumerRecord::value).containsExactly("committed");
    }

    @Test
    void highWatermarksAreCheckpointedPeriodicallyAndARestartedReplicaStartsFromItsCheckpoint() throws Exception {
        startCluster();
        KafkaProducer<String, String> producer = producer(bootstrap(), Map.of());
        for (int i = 0; i < 50; i++) {
            producer.send(new ProducerRecord<>(TOPIC, "v" + i)).get(30, TimeUnit.SECONDS);
        }
        await("followers to learn the high watermark", () -> owner(2).highWatermark() == 50
                && owner(3).highWatermark() == 50);
        // written by the periodic task on the leader and on the followers, with no restart
        for (int id = 1; id <= 3; id++) {
            Path file = root.resolve("node" + id).resolve("replication-offset-checkpoint");
            await("node " + id + "'s checkpoint", () -> Files.exists(file)
                    && Files.readString(file).equals("0\n1\n" + TOPIC + " 0 50\n"));
        }
        producer.send(new ProducerRecord<>(TOPIC, "v50")).get(30, TimeUnit.SECONDS);
        await("node 3 to learn the high watermark", () -> owner(3).highWatermark() == 51);
        // a clean shutdown writes the last high watermark whatever the timer did
        stop(3);
        assertThat(Files.readString(root.resolve("node3").resolve("replication-offset-checkpoint")))
                .isEqualTo("0\n1\n" + TOPIC + " 0 51\n");
        // back, unknown to the controller so that no fetch can raise it: the checkpoint is where it starts
        start(3, false);
        assertThat(owner(3).state()).isNull();
        assertThat(owner(3).highWatermark()).isEqualTo(51);
    }

    @Test
    void divergentFollowerTruncatesByLeaderEpochNotToItsHighWatermark() throws Exception {
        startCluster();
        KafkaProducer<String, String> producer = producer(bootstrap(), Map.of());
        for (int i = 0; i < 10; i++) {
            producer.send(new ProducerRecord<>(TOPIC, "e1-" + i)).get(30, TimeUnit.SECONDS);
        }
        awaitSameLogs(1, 2, 3);
        producer.close();
        clients.remove(producer);

        // node 2 restarts with its high watermark back at 0 (as after a kill -9 before its first
        // high-watermark checkpoint), then believes it leads epoch 2 and takes writes
        stop(2);
        Files.delete(root.resolve("node2").resolve("replication-offset-checkpoint"));
        // unknown to the controller for now, so that only the stale state below reaches it
        Broker restarted = start(2, false);
        assertThat(owner(2).highWatermark()).isZero();
        controller.pushOnly(restarted, TP, new PartitionState(2, 2, List.of(1, 2, 3), List.of(2), 50));
        // its metadata must come from node 2 alone: with the helper's 1 s metadata age, a slow run refreshed
        // it from node 1 or 3, which do not list node 2 and name leader 1, and the zombie records then
        // went elsewhere or nowhere (node 2's log end stayed at 10)
        KafkaProducer<String, String> zombie = producer(brokers.get(2).bootstrapServers(), Map.of(
                ProducerConfig.ACKS_CONFIG, "1", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.METADATA_MAX_AGE_CONFIG, 300_000));
        for (int i = 0; i < 5; i++) {
            zombie.send(new ProducerRecord<>(TOPIC, "zombie-" + i)).get(30, TimeUnit.SECONDS);
        }
        assertThat(owner(2).log().logEndOffset()).isEqualTo(15);
        assertThat(owner(2).highWatermark()).isZero();
        Object fileBefore = Files.readAttributes(owner(2).log().dir().resolve("00000000000000000000.log"),
                BasicFileAttributes.class).fileKey();

        // meanwhile node 1 still leads epoch 1 and takes three more records
        KafkaProducer<String, String> acks1 = producer(brokers.get(1).bootstrapServers(), Map.of(
                ProducerConfig.ACKS_CONFIG, "1", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.METADATA_MAX_AGE_CONFIG, 300_000));
        for (int i = 0; i < 3; i++) {
            acks1.send(new ProducerRecord<>(TOPIC, "e1-late-" + i)).get(30, TimeUnit.SECONDS);
        }
        // the controller re-elects node 1 with epoch 3; node 2 follows it
        controller.register(2, restarted);
        controller.set(TP, new PartitionState(1, 3, List.of(1, 2, 3), List.of(1, 3), 60));
        KafkaProducer<String, String> after = producer(bootstrap(), Map.of());
        after.send(new ProducerRecord<>(TOPIC, "e3")).get(30, TimeUnit.SECONDS);
        awaitSameLogs(1, 2, 3);

        Object fileAfter = Files.readAttributes(owner(2).log().dir().resolve("00000000000000000000.log"),
                BasicFileAttributes.class).fileKey();
        // truncating to its high watermark (0) would have replaced the whole segment
        assertThat(fileAfter).isEqualTo(fileBefore);
        assertThat(owner(2).log().endOffsetForEpoch(2).leaderEpoch()).isEqualTo(1);
        await("node 2 back in the ISR", () -> controller.state(TP).isr().contains(2));
        List<String> values = readAll(14).stream().map(ConsumerRecord::value).toList();
        assertThat(values).hasSize(14).noneMatch(v -> v.startsWith("zombie")).endsWith("e1-late-2", "e3");
    }

    @Test
    void clientsCarryOnThroughLeaderChangesAndEveryAcknowledgedRecordReadsBackOnceInOrder() throws Exception {
        startCluster();
        KafkaProducer<String, String> producer = producer(bootstrap(), Map.of(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000, ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000));
        List<String> acked = new CopyOnWriteArrayList<>();
        AtomicReference<Exception> failure = new AtomicReference<>();
        int total = 600;
        Thread sender = new Thread(() -> {
            try {
                List<java.util.concurrent.Future<RecordMetadata>> pending = new ArrayList<>();
                for (int i = 0; i < total; i++) {
                    String v = "v" + i;
                    pending.add(producer.send(new ProducerRecord<>(TOPIC, v), (md, err) -> {
                        if (err == null) {
                            acked.add(v);
                        }
                    }));
                    if (i % 20 == 19) {
                        Thread.sleep(10);
                    }
                }
                for (java.util.concurrent.Future<RecordMetadata> f : pending) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                failure.set(e);
            }
        });
        sender.start();
        await("some records acknowledged", () -> acked.size() > 100);
        controller.elect(TP, 2);
        await("more records acknowledged", () -> acked.size() > 300);
        controller.elect(TP, 3);
        sender.join(90_000);
        assertThat(failure.get()).isNull();
        assertThat(acked).hasSize(total);
        List<String> values = readAll(total).stream().map(ConsumerRecord::value).toList();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            expected.add("v" + i);
        }
        assertThat(values).containsExactlyElementsOf(expected);
        awaitSameLogs(3, 1, 2);
    }
}
