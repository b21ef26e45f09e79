package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes clustered through Hazelcast on loopback, driven with the official Java clients: a topic
 * with replication factor 3 is created through any node, replicated, and survives losing the leader of a
 * partition with every acknowledged record read back exactly once, in order; after a full restart every
 * topic, record and committed offset is back.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ThreeNodeClusterIT {

    private static final String TOPIC = "orders";
    private static final String GROUP = "orders-billing";

    @TempDir
    Path dir;
    private final Map<Integer, Broker> brokers = new HashMap<>();
    private TestCluster cluster;

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers.values()) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private void start(int id) throws Exception {
        start(id, Map.of());
    }

    private void start(int id, Map<String, String> extra) throws Exception {
        Map<String, String> props = cluster.nodeProps(id);
        props.put("log.dirs", dir.resolve("node" + id).toString());
        props.put("listeners", "PLAINTEXT://127.0.0.1:0");
        props.put("admin.listener", "127.0.0.1:0");
        props.put("offsets.topic.num.partitions", "2");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("replica.lag.time.max.ms", "5000");
        props.put("runnel.log.shards", "2");
        props.putAll(extra);
        brokers.put(id, Broker.start(props).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS));
    }

    private String bootstrap() {
        List<String> all = new ArrayList<>();
        brokers.values().forEach(b -> all.add(b.bootstrapServers()));
        return String.join(",", all);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        return Admin.create(p);
    }

    private TopicDescription describe(Admin admin) {
        return describe(admin, TOPIC);
    }

    private TopicDescription describe(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
        } catch (Exception e) {
            return null;
        }
    }

    private KafkaProducer<String, String> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "200");
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    private void produce(KafkaProducer<String, String> producer, int from, int to, Map<String, RecordMetadata> acked)
            throws Exception {
        List<Future<RecordMetadata>> sends = new ArrayList<>();
        List<String> values = new ArrayList<>();
        for (int i = from; i < to; i++) {
            String v = "r-" + i;
            values.add(v);
            sends.add(producer.send(new ProducerRecord<>(TOPIC, "k" + (i % 7), v)));
        }
        for (int i = 0; i < sends.size(); i++) {
            acked.put(values.get(i), sends.get(i).get(90, TimeUnit.SECONDS));
        }
    }

    private void startThree() throws Exception {
        cluster = TestCluster.allocate("three", 3);
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        awaitBrokers(3, "three brokers");
    }

    /** Waits until {@code admin} lists {@code n} (unfenced) brokers. */
    private static void awaitBrokers(Admin admin, int n, String what) throws Exception {
        await(what, () -> {
            try {
                return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == n;
            } catch (Exception e) {
                return false;
            }
        });
    }

    private void awaitBrokers(int n, String what) throws Exception {
        try (Admin admin = admin()) {
            awaitBrokers(admin, n, what);
        }
    }

    private static Admin adminOf(Broker b) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers());
        return Admin.create(p);
    }

    @Test
    void aBrokerThatIsNotAVoterFollowsTheLogAndTakesReplicas() throws Exception {
        cluster = TestCluster.allocate("three", 4, 3);
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        start(4, Map.of("process.roles", "broker"));
        try (Admin admin = adminOf(brokers.get(4))) {
            awaitBrokers(admin, 4, "four brokers seen through the learner");
            admin.createTopics(List.of(new NewTopic("spread", 8, (short) 3))).all().get(30, TimeUnit.SECONDS);
            TopicDescription d = describe(admin, "spread");
            assertThat(d.partitions()).hasSize(8);
            assertThat(d.partitions()).anySatisfy(p -> assertThat(p.replicas()).extracting(n -> n.id()).contains(4));
            await("the learner in every ISR it belongs to", () -> {
                TopicDescription now = describe(admin, "spread");
                return now != null && now.partitions().stream().allMatch(p -> p.isr().size() == 3);
            });
            assertThat(brokers.get(4).partitionManager().all()).isNotEmpty();
        }
    }

    private static long initProducerId(Broker b) throws Exception {
        try (io.runnel.testutil.RawKafkaClient raw = new io.runnel.testutil.RawKafkaClient(b.bootstrapServers())) {
            return raw.initProducerId();
        }
    }

    @Test
    void producerIdsStayUniqueAfterABrokersDataDirectoryIsWiped() throws Exception {
        startThree();
        List<Long> ids = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            for (Broker b : brokers.values()) {
                ids.add(initProducerId(b));
            }
        }
        brokers.remove(3).closeAndWait(30, TimeUnit.SECONDS);
        io.runnel.partition.PartitionMetadata.deleteRecursively(dir.resolve("node3"));
        start(3);
        awaitBrokers(3, "node 3 back");
        for (int round = 0; round < 3; round++) {
            for (Broker b : brokers.values()) {
                ids.add(initProducerId(b));
            }
        }
        assertThat(ids).hasSize(18).doesNotHaveDuplicates();
    }

    @Test
    void aCreatedTopicIsWholeOnEveryBrokerAtOnce() throws Exception {
        startThree();
        for (int round = 0; round < 5; round++) {
            String topic = "whole-" + round;
            Broker via = brokers.get(1 + round % 3);
            try (Admin creator = adminOf(via)) {
                creator.createTopics(List.of(new NewTopic(topic, 6, (short) 3))).all().get(30, TimeUnit.SECONDS);
            }
            for (Broker b : brokers.values()) {
                try (Admin admin = adminOf(b)) {
                    TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
                            .get(10, TimeUnit.SECONDS).get(topic);
                    assertThat(d.partitions()).as("partitions of %s on %s", topic, b.bootstrapServers()).hasSize(6);
                    assertThat(d.partitions()).allSatisfy(p -> {
                        assertThat(p.leader()).as("leader of %s-%d", topic, p.partition()).isNotNull();
                        assertThat(p.replicas()).hasSize(3);
                        assertThat(p.isr()).hasSize(3);
                    });
                }
            }
        }
    }

    @Test
    void aTopicDeletedAndRecreatedFiftyTimesServesOnlyItsNewestRecords() throws Exception {
        startThree();
        String topic = "churn";
        // fifty generations with -Dfaults.full=true (scripts/faults.sh), twenty in every mvn verify
        int generations = Boolean.getBoolean("faults.full") ? 50 : 20;
        int brokerDownAt = generations / 2;
        Properties pp = new Properties();
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        List<Integer> lastAssignment = new ArrayList<>();
        for (int gen = 0; gen < generations; gen++) {
            if (gen == brokerDownAt) {
                brokers.remove(3).closeAndWait(30, TimeUnit.SECONDS);
            }
            try (Admin admin = admin()) {
                short rf = (short) (brokers.size() == 3 ? 3 : 2);
                admin.createTopics(List.of(new NewTopic(topic, 2, rf))).all().get(30, TimeUnit.SECONDS);
                pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
                try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(),
                        new StringSerializer())) {
                    for (int p = 0; p < 2; p++) {
                        producer.send(new ProducerRecord<>(topic, p, "k", "gen-" + gen + "-" + p)).get(30, TimeUnit.SECONDS);
                    }
                }
                if (gen == generations - 1) {
                    TopicDescription d = describe(admin, topic);
                    d.partitions().forEach(p -> lastAssignment.add(p.replicas().size()));
                    break;
                }
                admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            }
            if (gen == brokerDownAt) {
                start(3);
                awaitBrokers(3, "node 3 back");
            }
        }
        Map<String, Long> read = new HashMap<>();
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (read.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(300))) {
                    read.put(r.value(), r.offset());
                }
            }
            // nothing else arrives later: the old generations' data are gone everywhere
            for (int i = 0; i < 5; i++) {
                consumer.poll(Duration.ofMillis(300)).forEach(r -> read.put(r.value(), r.offset()));
            }
        }
        int last = generations - 1;
        assertThat(read).containsOnlyKeys("gen-" + last + "-0", "gen-" + last + "-1");
        assertThat(read.values()).containsOnly(0L);
        assertThat(lastAssignment).containsOnly(3);
        // the broker that was down across a delete kept no directory of an older generation
        org.apache.kafka.common.Uuid current;
        try (Admin admin = admin()) {
            current = describe(admin, topic).topicId();
        }
        try (java.util.stream.Stream<Path> dirs = java.nio.file.Files.list(dir.resolve("node3"))) {
            List<Path> churn = dirs.filter(d -> d.getFileName().toString().startsWith(topic + "-")).toList();
            assertThat(churn).hasSize(2);
            for (Path d : churn) {
                assertThat(io.runnel.partition.PartitionMetadata.read(d)).as("topic id in %s", d).isEqualTo(current);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void replicatedTopicSurvivesLosingALeaderAndAFullRestart() throws Exception {
        cluster = TestCluster.allocate("three", 3);
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        try (Admin admin = admin()) {
            awaitBrokers(admin, 3, "three brokers");
            admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 3)
                    .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
            await("every partition led with a full ISR", () -> {
                TopicDescription d = describe(admin);
                return d != null && d.partitions().size() == 3 && d.partitions().stream()
                        .allMatch(p -> p.leader() != null && p.isr().size() == 3);
            });
            // as in Kafka, __consumer_offsets (replication factor 3) cannot be created once a broker is gone
            await("__consumer_offsets created with a full ISR", () -> {
                TopicDescription d = describe(admin, Topic.GROUP_METADATA_TOPIC_NAME);
                return d != null && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
            });
        }

        Map<String, RecordMetadata> acked = new ConcurrentHashMap<>();
        try (KafkaProducer<String, String> producer = producer()) {
            produce(producer, 0, 300, acked);
            int leader;
            try (Admin admin = admin()) {
                TopicPartitionInfo p0 = describe(admin).partitions().get(0);
                leader = p0.leader().id();
            }
            // lose the leader of partition 0; the others elect an in-sync replica
            brokers.remove(leader).closeAndWait(30, TimeUnit.SECONDS);
            produce(producer, 300, 600, acked);
        }

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        Map<String, Long> seen = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = List.of(new TopicPartition(TOPIC, 0), new TopicPartition(TOPIC, 1),
                    new TopicPartition(TOPIC, 2));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<Integer, Long> lastOffset = new HashMap<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (seen.size() < acked.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    assertThat(seen.put(r.value(), r.offset())).as("%s read twice", r.value()).isNull();
                    Long prev = lastOffset.put(r.partition(), r.offset());
                    assertThat(prev == null || prev < r.offset()).as("offsets in order").isTrue();
                }
            }
        }
        assertThat(seen).hasSameSizeAs(acked);
        acked.forEach((value, md) -> assertThat(seen.get(value)).as("offset of %s", value).isEqualTo(md.offset()));

        // a group commits offsets while one node is down: they go to a replicated __consumer_offsets partition
        Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
        for (int p = 0; p < 3; p++) {
            committed.put(new TopicPartition(TOPIC, p), new OffsetAndMetadata(100 + p, "m" + p));
        }
        Properties gp = new Properties();
        gp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        gp.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        gp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(gp, new StringDeserializer(), new StringDeserializer())) {
            consumer.commitSync(committed, Duration.ofSeconds(60));
        }

        // stop every node, then start all three again: Hazelcast's memory is gone, the disks are not
        for (Broker b : brokers.values()) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
        brokers.clear();
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        try (Admin admin = admin()) {
            await("the topic back with leaders and full ISRs", () -> {
                TopicDescription d = describe(admin);
                return d != null && d.partitions().size() == 3 && d.partitions().stream()
                        .allMatch(p -> p.leader() != null && p.isr().size() == 3);
            });
        }
        Map<String, Long> reread = readAll(acked.size());
        assertThat(reread).isEqualTo(seen);
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata>[] after = new Map[1];
            await("the group's committed offsets back", () -> {
                try {
                    after[0] = admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata()
                            .get(10, TimeUnit.SECONDS);
                    return after[0].size() == committed.size();
                } catch (Exception e) {
                    return false;
                }
            });
            committed.forEach((tp, om) -> {
                assertThat(after[0].get(tp).offset()).as("offset of %s", tp).isEqualTo(om.offset());
                assertThat(after[0].get(tp).metadata()).isEqualTo(om.metadata());
            });
        }
    }

    private Map<String, Long> readAll(int expected) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        Map<String, Long> out = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = List.of(new TopicPartition(TOPIC, 0), new TopicPartition(TOPIC, 1),
                    new TopicPartition(TOPIC, 2));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    assertThat(out.put(r.value(), r.offset())).as("%s read twice", r.value()).isNull();
                }
            }
        }
        return out;
    }
}
