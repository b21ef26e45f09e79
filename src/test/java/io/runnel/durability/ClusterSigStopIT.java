package io.runnel.durability;

import static io.runnel.durability.ProcessCluster.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three brokers as separate processes, one topic partition with replication factor 3 and
 * min.insync.replicas=2, and an idempotent acks=all producer writing throughout.
 *
 * <ol>
 * <li>A follower is frozen with SIGSTOP: it leaves the ISR, acknowledged production carries on with the
 *     other two replicas, and after SIGCONT it catches up and is back in the ISR by itself.</li>
 * <li>Both followers are frozen: an acks=all send to the leader is refused with NOT_ENOUGH_REPLICAS (not
 *     a timeout). After SIGCONT of both, every replica is back in the ISR.</li>
 * <li>Every acknowledged record is read back exactly once, at the offset it was acknowledged with.</li>
 * </ol>
 *
 * <p>Which nodes are frozen, and why the bounds are what they are:
 * <ul>
 * <li>In step 1 the frozen follower is one that is not the controller, so the step is about the ISR and
 *     not about a controller failover. The leader proposes the shrink after replica.lag.time.max.ms; the
 *     compare-and-set goes through a Hazelcast map whose entry may be owned (or backed up) by the frozen
 *     member, in which case it completes only once Hazelcast has removed that member
 *     (broker.session.timeout.ms, Kafka's broker session: a frozen broker is fenced then too). So the
 *     bound is lag time plus session timeout plus a margin for the shrink timer and a loaded machine.</li>
 * <li>In step 2 the two followers are frozen whatever the controller is, because the answer must not
 *     depend on it: whether the leader's shrink to itself commits is up to Hazelcast (until the session
 *     timeout the frozen brokers still count as members, so the compare-and-set succeeds if the leader
 *     owns the map entry and hangs if a frozen broker does; after it the leader is alone, without a
 *     majority, and nothing commits). Kafka's leader checks its ISR at append time; ours checks the
 *     committed ISR members it sees caught up within the lag time, so it refuses acks=all once the lag
 *     time has passed with or without the controller. The freeze lasts past the session timeout, so the
 *     two wake up removed from the leader's cluster and as a majority of their own: if the shrink did
 *     not commit they elect a new leader from the full ISR and the old one merges back as a follower, if
 *     it did the partition waits for its only in-sync replica to merge back. Neither may lose or
 *     duplicate an acknowledged record.</li>
 * </ul>
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ClusterSigStopIT {

    private static final String TOPIC = "sigstop";
    private static final long LAG_MS = 4000;
    private static final long SESSION_MS = 9000;

    @TempDir
    Path dir;
    private ProcessCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static TopicPartitionInfo describe(Admin admin) {
        TopicDescription d = ProcessCluster.describe(admin, TOPIC);
        return d == null ? null : d.partitions().get(0);
    }

    private static List<Integer> ids(List<Node> nodes) {
        return nodes.stream().map(Node::id).toList();
    }

    private Admin admin(String bootstrap) {
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        // a frozen broker accepts connections and never answers: give up on it quickly and ask another
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        return Admin.create(ap);
    }

    @Test
    void frozenFollowersLeaveAndRejoinTheIsrAndTwoFrozenGetNotEnoughReplicas() throws Exception {
        cluster = new ProcessCluster(dir, Map.of("replica.lag.time.max.ms", Long.toString(LAG_MS),
                "broker.session.timeout.ms", Long.toString(SESSION_MS)));
        cluster.startAll();
        try (Admin admin = admin(cluster.bootstrap())) {
            ProcessCluster.createReplicatedTopic(admin, TOPIC, 1);
            await("a full ISR", Duration.ofSeconds(60), () -> {
                TopicPartitionInfo p = describe(admin);
                return p != null && p.leader() != null && p.isr().size() == 3;
            });

            Map<String, Long> acked = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "180000");
            pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                Thread writer = new Thread(() -> {
                    int i = 0;
                    while (!stop.get()) {
                        String v = "v-" + i++;
                        try {
                            producer.send(new ProducerRecord<>(TOPIC, "k" + (i % 11), v), (md, e) -> {
                                if (e == null) {
                                    acked.put(v, md.offset());
                                }
                            });
                        } catch (IllegalStateException closed) {
                            return;
                        }
                        if (i % 100 == 0) {
                            try {
                                Thread.sleep(20);
                            } catch (InterruptedException ex) {
                                return;
                            }
                        }
                    }
                }, "writer");
                writer.start();
                awaitProgress(acked, "producing with three replicas");

                // ---- one follower, not the controller, frozen
                TopicPartitionInfo p = describe(admin);
                int leader = p.leader().id();
                int controller = admin.describeCluster().controller().get(5, TimeUnit.SECONDS).id();
                List<Integer> followers = new ArrayList<>(ids(p.replicas()));
                followers.remove(Integer.valueOf(leader));
                int frozen = followers.stream().filter(f -> f != controller).findFirst().orElseThrow();
                long frozenAt = System.nanoTime();
                cluster.freeze(frozen);
                // brokers learn partition states asynchronously: judge the first answer without the frozen node
                TopicPartitionInfo shrunk = awaitPartition(admin, "node " + frozen + " out of the ISR",
                        Duration.ofMillis(LAG_MS + SESSION_MS + 10_000), d -> !ids(d.isr()).contains(frozen));
                long shrinkMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt);
                System.out.println("ClusterSigStopIT: froze follower " + frozen + " (leader " + leader + ", controller "
                        + controller + "); ISR now " + ids(shrunk.isr()));
                assertThat(shrunk.leader().id()).as("the leader stays").isEqualTo(leader);
                assertThat(ids(shrunk.isr())).containsExactlyInAnyOrder(leader, followers.get(1 - followers.indexOf(frozen)));
                awaitProgress(acked, "producing while node " + frozen + " is frozen");
                long thawedAt = System.nanoTime();
                cluster.thaw(frozen);
                await("node " + frozen + " back in the ISR", Duration.ofSeconds(90), () -> {
                    TopicPartitionInfo d = describe(admin);
                    return d != null && d.isr().size() == 3;
                });
                long rejoinMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - thawedAt);
                awaitProgress(acked, "producing after node " + frozen + " came back");

                // ---- both followers frozen: the leader alone refuses acks=all
                p = describe(admin);
                int leader2 = p.leader().id();
                List<Integer> followers2 = new ArrayList<>(ids(p.replicas()));
                followers2.remove(Integer.valueOf(leader2));
                long bothFrozenAt = System.nanoTime();
                for (int f : followers2) {
                    cluster.freeze(f);
                }
                Thread.sleep(LAG_MS + 1000);
                Throwable refused = probe(leader2, p.leader());
                long refusedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bothFrozenAt);
                assertThat(refused).as("an acks=all send with two of three replicas frozen")
                        .isInstanceOf(ExecutionException.class).cause().isInstanceOf(NotEnoughReplicasException.class);
                // frozen past the session timeout: the two wake up as the majority, without the leader
                Thread.sleep(Math.max(0, SESSION_MS + 4000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bothFrozenAt)));
                long bothThawedAt = System.nanoTime();
                for (int f : followers2) {
                    cluster.thaw(f);
                }
                await("every replica back in the ISR", Duration.ofSeconds(120), () -> {
                    TopicPartitionInfo d = describe(admin);
                    return d != null && d.leader() != null && d.isr().size() == 3;
                });
                long recoveredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - bothThawedAt);
                awaitProgress(acked, "producing after both came back");
                stop.set(true);
                writer.join(10_000);
                producer.flush();
                System.out.printf("ClusterSigStopIT: follower out of the ISR after %d ms, back %d ms after SIGCONT;"
                                + " NOT_ENOUGH_REPLICAS %d ms after freezing two; full ISR %d ms after thawing them;"
                                + " %d records acknowledged%n",
                        shrinkMs, rejoinMs, refusedMs, recoveredMs, acked.size());
            }
            assertReadBackExactlyOnce(acked);
        }
    }

    private static TopicPartitionInfo awaitPartition(Admin admin, String what, Duration timeout,
                                                     java.util.function.Predicate<TopicPartitionInfo> condition)
            throws InterruptedException {
        java.util.concurrent.atomic.AtomicReference<TopicPartitionInfo> seen = new java.util.concurrent.atomic.AtomicReference<>();
        await(what, timeout, () -> {
            TopicPartitionInfo d = describe(admin);
            seen.set(d);
            return d != null && d.leader() != null && condition.test(d);
        });
        return seen.get();
    }

    private static void awaitProgress(Map<String, Long> acked, String what) throws InterruptedException {
        int before = acked.size();
        await(what, Duration.ofSeconds(120), () -> acked.size() > before + 300);
    }

    /** One acks=all send to the leader only, with no retry: its error is the broker's answer as it is. */
    private Throwable probe(int leaderId, Node leader) {
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, leader.host() + ":" + leader.port());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        pp.put(ProducerConfig.RETRIES_CONFIG, "0");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "20000");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        try (KafkaProducer<String, String> probe = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            return catchThrowable(() -> probe.send(new ProducerRecord<>(TOPIC, 0, "probe", "to " + leaderId))
                    .get(30, TimeUnit.SECONDS));
        }
    }

    private void assertReadBackExactlyOnce(Map<String, Long> acked) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        Map<String, Long> seen = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(TOPIC, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long last = -1;
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (System.nanoTime() < deadline && consumer.position(tp) < end) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    assertThat(seen.put(r.value(), r.offset())).as("%s read twice", r.value()).isNull();
                    assertThat(r.offset()).isGreaterThan(last);
                    last = r.offset();
                }
            }
        }
        assertThat(acked.size()).isGreaterThan(1200);
        acked.forEach((v, offset) -> assertThat(seen.get(v)).as("acknowledged %s at its offset", v).isEqualTo(offset));
    }
}
