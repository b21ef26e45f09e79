package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NetnsCluster}'s Apache Kafka flavour does what the fault suite asks of it, through the same calls as
 * the Runnel flavour: three KRaft nodes start in namespaces and serve an RF=3 topic to the Java clients; a
 * partition's isolated leader loses the partition to the majority side, which acknowledges again; an
 * isolated active controller is replaced on the majority side; after healing, a frozen node is fenced and comes back when thawed, a node killed with -9 comes back when started;
 * every acknowledged record is read back at its offset; {@link NetnsCluster#activeController} names the quorum
 * leader throughout. A second test checks {@code activeController} on Runnel nodes.
 *
 * <p>Not part of {@code mvn verify} (starting Kafka would add its start-up to every run): it runs only with
 * {@code -Dfaults.kafka=true}. Prints the times it measures on lines starting {@code NetnsKafkaClusterIT}.
 */
class NetnsKafkaClusterIT {

    private static final String TOPIC = "kn";
    private static final int PARTITIONS = 3;
    private static final int SESSION_MS = 9000;

    @TempDir
    Path dir;
    private NetnsCluster cluster;
    /** Every acknowledged record: partition to offset to value. */
    private final Map<Integer, Map<Long, String>> acked = new TreeMap<>();

    @BeforeEach
    void onlyWhenAsked() {
        Assumptions.assumeTrue(Boolean.getBoolean("faults.kafka"),
                "starts Apache Kafka and Runnel clusters: runs only with -Dfaults.kafka=true");
        NetnsCluster.assumeSupported();
    }

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** NetnsCluster.create with faults.target set to {@code target} (or cleared for null), restored afterwards. */
    private NetnsCluster create(String target, Map<String, String> overrides) throws Exception {
        String prior = System.getProperty(NetnsCluster.TARGET_PROPERTY);
        try {
            if (target == null) {
                System.clearProperty(NetnsCluster.TARGET_PROPERTY);
            } else {
                System.setProperty(NetnsCluster.TARGET_PROPERTY, target);
            }
            return NetnsCluster.create(dir, 3, 3, overrides);
        } finally {
            if (prior == null) {
                System.clearProperty(NetnsCluster.TARGET_PROPERTY);
            } else {
                System.setProperty(NetnsCluster.TARGET_PROPERTY, prior);
            }
        }
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(p);
    }

    private KafkaProducer<String, String> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "90000");
        p.put("metadata.max.age.ms", "2000");
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    private static long ms(long sinceNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos);
    }

    /** Sends {@code count} records to {@code partition} and waits for every acknowledgement, remembering each. */
    private void produce(KafkaProducer<String, String> producer, int partition, int count, String tag) throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> sent = new java.util.ArrayList<>();
        List<String> values = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            String v = tag + "-" + partition + "-" + i;
            values.add(v);
            sent.add(producer.send(new ProducerRecord<>(TOPIC, partition, null, v)));
        }
        for (int i = 0; i < count; i++) {
            RecordMetadata m = sent.get(i).get(120, TimeUnit.SECONDS);
            acked.computeIfAbsent(partition, p -> new TreeMap<>()).put(m.offset(), values.get(i));
        }
    }

    private static TopicDescription describe(Admin admin) {
        try {
            return admin.describeTopics(List.of(TOPIC)).allTopicNames().get(10, TimeUnit.SECONDS).get(TOPIC);
        } catch (Exception e) {
            return null;
        }
    }

    /**
     * Whether every node names a leader and a full ISR for every partition: each asked on its own connection,
     * as a node just thawed or healed answers from its old metadata until it has caught up.
     */
    private boolean fullIsr() {
        for (int k = 1; k <= 3; k++) {
            try {
                Map<Integer, NodeProbe.PartitionState> state = new NodeProbe(cluster.address(k)).partitions(TOPIC);
                if (state.size() != PARTITIONS
                        || !state.values().stream().allMatch(s -> s.leader() >= 0 && s.isr().size() == 3)) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    /** Each node's view of the partitions, for failure messages. */
    private String isrs() {
        Map<Integer, Object> out = new TreeMap<>();
        for (int k = 1; k <= 3; k++) {
            try {
                out.put(k, new NodeProbe(cluster.address(k)).partitions(TOPIC));
            } catch (IOException e) {
                out.put(k, e.toString());
            }
        }
        return "views of the nodes: " + out;
    }

    /** Partition leaders as node {@code k} names them; empty when it does not answer. */
    private Map<Integer, Integer> leadersSeenBy(int k) {
        try {
            return new NodeProbe(cluster.address(k)).leaders(TOPIC);
        } catch (IOException e) {
            return Map.of();
        }
    }

    private static int other(int... not) {
        for (int k = 1; k <= 3; k++) {
            boolean taken = false;
            for (int n : not) {
                taken |= n == k;
            }
            if (!taken) {
                return k;
            }
        }
        throw new AssertionError("no node left");
    }

    @Test
    @Timeout(value = 480, unit = TimeUnit.SECONDS)
    void kafkaNodesGoThroughTheFaultsWithTheSameCalls() throws Exception {
        long t0 = System.nanoTime();
        cluster = create("kafka", Map.of("broker.session.timeout.ms", Integer.toString(SESSION_MS)));
        assertThat(cluster.target()).isEqualTo(NetnsCluster.Target.KAFKA);
        long networkMs = ms(t0);
        long t1 = System.nanoTime();
        cluster.startAll();
        long startAllMs = ms(t1);
        for (int k = 1; k <= 3; k++) {
            assertThat(cluster.running(k)).as("node %d running", k).isTrue();
        }
        int controller = cluster.activeController();
        assertThat(controller).as("active controller").isBetween(1, 3);

        Map<String, Long> t = new java.util.LinkedHashMap<>();
        try (Admin admin = admin(); KafkaProducer<String, String> producer = producer()) {
            long t2 = System.nanoTime();
            // the replication factor is left to default.replication.factor, min ISR to the broker's min.insync.replicas
            admin.createTopics(List.of(new NewTopic(TOPIC, Optional.of(PARTITIONS), Optional.empty())))
                    .all().get(30, TimeUnit.SECONDS);
            ProcessCluster.await("every partition led with a full ISR", Duration.ofSeconds(60), () -> fullIsr(),
                    () -> isrs());
            t.put("topic with full ISR", ms(t2));
            Config topicConfig = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, TOPIC)))
                    .all().get(10, TimeUnit.SECONDS).values().iterator().next();
            assertThat(topicConfig.get("min.insync.replicas").value()).isEqualTo("2");
            assertThat(describe(admin).partitions()).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));

            long t3 = System.nanoTime();
            for (int p = 0; p < PARTITIONS; p++) {
                produce(producer, p, 100, "before");
            }
            t.put("first 300 records acknowledged", ms(t3));
            long t4 = System.nanoTime();
            consumeAsGroup(300);
            t.put("300 records read by a group", ms(t4));

            // a partition's leader cut off from both other nodes: the majority fences it and takes the partition
            int victim = describe(admin).partitions().get(0).leader().id();
            int majority = other(victim);
            long cutAt = System.nanoTime();
            cluster.isolate(victim);
            ProcessCluster.await("partition 0 led on the majority side", Duration.ofSeconds(60), () -> {
                Integer l = leadersSeenBy(majority).get(0);
                return l != null && l != victim && l != -1;
            }, () -> "leaders seen by " + majority + ": " + leadersSeenBy(majority));
            t.put("isolated leader " + victim + ": partition 0 led on the majority side", ms(cutAt));
            produce(producer, 0, 1, "cut");
            t.put("isolated leader " + victim + ": partition 0 acknowledging again", ms(cutAt));
            // the isolated node as a broker: it forwards DescribeQuorum to the controller it knows, and knows none
            int isolatedSeesController;
            try {
                isolatedSeesController = new NodeProbe(cluster.address(victim)).quorumLeader(5000);
            } catch (IOException e) {
                isolatedSeesController = -2;
            }
            long healAt = System.nanoTime();
            cluster.heal();
            ProcessCluster.await("full ISR after healing", Duration.ofSeconds(90), () -> fullIsr(), () -> isrs());
            t.put("healed leader: full ISR", ms(healAt));

            // the active controller cut off: the two other voters elect one of their own
            int oldController = cluster.activeController();
            assertThat(oldController).isBetween(1, 3);
            long controllerCutAt = System.nanoTime();
            cluster.isolate(oldController);
            int[] newController = {-1};
            ProcessCluster.await("a controller on the majority side", Duration.ofSeconds(30), () -> {
                newController[0] = cluster.activeController();
                return newController[0] != -1 && newController[0] != oldController;
            });
            t.put("isolated controller " + oldController + ": " + newController[0] + " named", ms(controllerCutAt));
            long controllerHealAt = System.nanoTime();
            cluster.heal();
            ProcessCluster.await("full ISR after healing", Duration.ofSeconds(90), () -> fullIsr(), () -> isrs());
            t.put("healed: full ISR", ms(controllerHealAt));

            // a frozen node (SIGSTOP) past the session timeout: fenced, its partitions led elsewhere, back when thawed
            int frozen = describe(admin).partitions().get(1).leader().id();
            int watcher = other(frozen);
            long freezeAt = System.nanoTime();
            cluster.freeze(frozen);
            assertThat(cluster.running(frozen)).as("a frozen node is still running").isTrue();
            ProcessCluster.await("no partition led by the frozen node " + frozen, Duration.ofSeconds(60), () -> {
                Map<Integer, Integer> l = leadersSeenBy(watcher);
                return l.size() == PARTITIONS && !l.containsValue(frozen) && !l.containsValue(-1);
            }, () -> "leaders seen by " + watcher + ": " + leadersSeenBy(watcher));
            t.put("frozen node " + frozen + ": its partitions led elsewhere", ms(freezeAt));
            int controllerWhileFrozen = cluster.activeController();
            assertThat(controllerWhileFrozen).as("active controller while %d is frozen", frozen).isBetween(1, 3)
                    .isNotEqualTo(frozen);
            produce(producer, 1, 50, "frozen");
            long thawAt = System.nanoTime();
            cluster.thaw(frozen);
            ProcessCluster.await("full ISR after thawing", Duration.ofSeconds(90), () -> fullIsr(), () -> isrs());
            t.put("thawed node " + frozen + ": full ISR", ms(thawAt));

            // kill -9 of the active controller, writes on the two left, restart
            int killed = cluster.activeController();
            assertThat(killed).isBetween(1, 3);
            long killAt = System.nanoTime();
            cluster.kill(killed);
            assertThat(cluster.running(killed)).isFalse();
            for (int p = 0; p < PARTITIONS; p++) {
                produce(producer, p, 50, "killed");
            }
            t.put("killed controller " + killed + ": 150 records acknowledged by the other two", ms(killAt));
            int controllerAfterKill = cluster.activeController();
            assertThat(controllerAfterKill).as("active controller after killing %d", killed).isBetween(1, 3)
                    .isNotEqualTo(killed);
            long restartAt = System.nanoTime();
            cluster.start(killed);
            t.put("restarted " + killed + ": listening", ms(restartAt));
            assertThat(cluster.running(killed)).isTrue();
            ProcessCluster.await("full ISR after the restart", Duration.ofSeconds(120), () -> fullIsr(), () -> isrs());
            t.put("restarted " + killed + ": full ISR", ms(restartAt));

            Map<Integer, Map<Long, String>> read = readAll();
            for (Map.Entry<Integer, Map<Long, String>> e : acked.entrySet()) {
                Map<Long, String> got = read.getOrDefault(e.getKey(), Map.of());
                e.getValue().forEach((offset, value) -> assertThat(got.get(offset))
                        .as("partition %d offset %d", e.getKey(), offset).isEqualTo(value));
            }
            System.out.printf("NetnsKafkaClusterIT[kafka]: network %d ms, startAll %d ms, controller %d,"
                            + " the isolated node %d, as a broker, named controller %d (-2: no answer in 5 s); %s; acknowledged %d records, all read back%n",
                    networkMs, startAllMs, controller, victim, isolatedSeesController, t,
                    acked.values().stream().mapToInt(Map::size).sum());
        }
    }

    private void consumeAsGroup(int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "kn-group");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        Set<String> seen = new java.util.HashSet<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            c.subscribe(List.of(TOPIC));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (seen.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    seen.add(r.value());
                }
            }
            c.commitSync(Duration.ofSeconds(30));
        }
        assertThat(seen).as("records the group read").hasSize(expected);
    }

    /** Every record of the topic, read from the beginning by an unsubscribed consumer up to the end offsets. */
    private Map<Integer, Map<Long, String>> readAll() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<Integer, Map<Long, String>> out = new HashMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new java.util.ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                tps.add(new TopicPartition(TOPIC, i));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    out.computeIfAbsent(r.partition(), x -> new TreeMap<>()).put(r.offset(), r.value());
                }
            }
        }
        return out;
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aFourthKafkaNodeRunsAsABrokerAlone() throws Exception {
        cluster = NetnsCluster.kafka(dir, 4, 3, Map.of());
        long t0 = System.nanoTime();
        cluster.startAll();
        long startAllMs = ms(t0);
        assertThat(cluster.activeController()).isBetween(1, 3);
        try (Admin admin = admin()) {
            ProcessCluster.await("four brokers registered", Duration.ofSeconds(60), () -> {
                try {
                    return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 4;
                } catch (Exception e) {
                    return false;
                }
            });
            // the broker alone has no controller listener; the quorum is the three voters'
            assertThat(new NodeProbe(cluster.address(4)).quorumLeader(5000)).isBetween(1, 3);
            long killAt = System.nanoTime();
            cluster.kill(4);
            cluster.start(4);
            ProcessCluster.await("the broker alone back", Duration.ofSeconds(60), () -> {
                try {
                    return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 4;
                } catch (Exception e) {
                    return false;
                }
            });
            System.out.printf("NetnsKafkaClusterIT[kafka, 3 voters + 1 broker]: startAll %d ms, broker 4 killed and"
                    + " serving again after %d ms%n", startAllMs, ms(killAt));
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void runnelNodesNameTheirActiveController() throws Exception {
        cluster = create(null, Map.of());
        assertThat(cluster.target()).as("faults.target's default").isEqualTo(NetnsCluster.Target.RUNNEL);
        long t0 = System.nanoTime();
        cluster.startAll();
        int[] c = {-1};
        ProcessCluster.await("a controller named", Duration.ofSeconds(60), () -> (c[0] = cluster.activeController()) != -1);
        long namedMs = ms(t0);
        assertThat(c[0]).isBetween(1, 3);
        int first = c[0];
        long killAt = System.nanoTime();
        cluster.kill(first);
        ProcessCluster.await("another controller named", Duration.ofSeconds(60),
                () -> (c[0] = cluster.activeController()) != -1 && c[0] != first);
        assertThat(c[0]).isBetween(1, 3).isNotEqualTo(first);
        System.out.printf("NetnsKafkaClusterIT[runnel]: controller %d named %d ms after startAll began;"
                + " after kill -9 of it, %d named after %d ms%n", first, namedMs, c[0], ms(killAt));
    }
}
