package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import io.runnel.metadata.OffsetsTopic;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Network partitions between broker processes, each in its own network namespace ({@link NetnsCluster}),
 * under an idempotent acks=all producer whose every acknowledgement is recorded ({@link AckHistory}): only
 * the side holding a majority of the metadata quorum's voters commits metadata or data, partitions led on
 * that side acknowledge again once the controller has fenced the brokers it lost (after
 * broker.session.timeout.ms), a broker restarted while cut off leads and coordinates nothing, and after
 * healing every acknowledged record is read back once, at the offset it was acknowledged with.
 *
 * <p>Clients reach every node throughout, as in Jepsen: they see both sides of the partition.
 */
class NetworkPartitionIT {

    private static final String TOPIC = "split";
    private static final int SESSION_MS = 9000;
    /** Time on top of the session timeout for the fence to commit, the election to be applied and the client to move. */
    private static final int SLACK_MS = 8000;
    private static final String GROUP = "split-group";

    @TempDir
    Path dir;
    private NetnsCluster cluster;
    private AckHistory history;

    @AfterEach
    void stop() throws Exception {
        if (history != null) {
            history.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Map<String, String> settings() {
        return Map.of("broker.session.timeout.ms", Integer.toString(SESSION_MS));
    }

    private Admin admin() {
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        return Admin.create(ap);
    }

    private static TopicDescription describe(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
        } catch (Exception e) {
            return null;
        }
    }

    private static boolean fullIsr(Admin admin, String topic, int replicas) {
        TopicDescription d = describe(admin, topic);
        return d != null && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == replicas);
    }

    private static Map<Integer, Integer> leaders(Admin admin, String topic) {
        Map<Integer, Integer> out = new TreeMap<>();
        for (TopicPartitionInfo p : describe(admin, topic).partitions()) {
            out.put(p.partition(), p.leader() == null ? -1 : p.leader().id());
        }
        return out;
    }

    private static void createTopic(Admin admin, String topic, int partitions, int brokers) throws Exception {
        ProcessCluster.await(brokers + " brokers", Duration.ofSeconds(90), () -> {
            try {
                return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() == brokers;
            } catch (Exception e) {
                return false;
            }
        });
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 3)
                .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
        ProcessCluster.await("every partition led with a full ISR", Duration.ofSeconds(60), () -> fullIsr(admin, topic, 3));
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** Per partition, ms from {@code since} until it acknowledged a record sent a second after it, or -1. */
    private Map<Integer, Long> recoveries(int partitions, long since) {
        Map<Integer, Long> out = new TreeMap<>();
        for (int p = 0; p < partitions; p++) {
            long first = history.firstAckOfRecordSentAfter(p, since + TimeUnit.SECONDS.toNanos(1));
            out.put(p, first < 0 ? -1 : ms(first - since));
        }
        return out;
    }

    /** The high watermark node {@code k} serves for each given partition it still answers for as leader. */
    private Map<Integer, Long> servedHighWatermarks(int k, Iterable<Integer> partitions) {
        Map<Integer, Long> out = new TreeMap<>();
        for (int p : partitions) {
            try {
                NodeProbe.Offset o = new NodeProbe(cluster.address(k)).latestOffset(TOPIC, p);
                if (o.error() == Errors.NONE) {
                    out.put(p, o.offset());
                }
            } catch (IOException e) {
                // no answer: it serves nothing
            }
        }
        return out;
    }

    /** Whether every node names the leaders the admin client sees, for every partition of the topic. */
    private boolean sameLeadersEverywhere(Admin admin, int nodes) {
        Map<Integer, Integer> expected;
        try {
            expected = leaders(admin, TOPIC);
        } catch (RuntimeException e) {
            return false;
        }
        for (int k = 1; k <= nodes; k++) {
            try {
                if (!new NodeProbe(cluster.address(k)).leaders(TOPIC).equals(expected)) {
                    return false;
                }
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    /** Polls {@code condition} every 200 ms until it holds or {@code timeout} passes; what follows reports which. */
    private static void awaitOrGiveUp(Duration timeout, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
    }

    private static int controllerSeenBy(NetnsCluster c, int k) {
        try {
            return new NodeProbe(c.address(k)).controller();
        } catch (IOException e) {
            return -2;
        }
    }

    @ParameterizedTest(name = "cut off the {0}")
    @ValueSource(strings = {"leader", "controller"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void onlyTheMajorityCommitsWhileOneNodeIsCutOff(String whom) throws Exception {
        NetnsCluster.assumeSupported();
        // FaultSuiteIT's short form isolates the partitions' leaders too; the controller case is this test's own
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("faults.full") || whom.equals("controller"),
                "full form only (-Dfaults.full=true)");
        int partitions = 6;
        cluster = new NetnsCluster(dir, 3, 3, settings());
        cluster.startAll();
        try (Admin admin = admin()) {
            createTopic(admin, TOPIC, partitions, 3);
            history = new AckHistory(cluster.bootstrap(), TOPIC, partitions).start();
            history.awaitProgress("a running producer", 300, Duration.ofSeconds(60));
            int controller = admin.describeCluster().controller().get(10, TimeUnit.SECONDS).id();
            Map<Integer, Integer> leaders = leaders(admin, TOPIC);
            int victim = whom.equals("controller") ? controller
                    : leaders.values().stream().filter(l -> l != controller).findFirst()
                            .orElseThrow(() -> new AssertionError("every partition is led by the controller: " + leaders));
            Set<Integer> victimLed = leaders.entrySet().stream().filter(e -> e.getValue() == victim)
                    .map(Map.Entry::getKey).collect(Collectors.toSet());
            int majorityNode = victim == 1 ? 2 : 1;

            long cutAt = System.nanoTime();
            cluster.isolate(victim);
            Thread.sleep(3000);
            // from here on nothing reaches the isolated node's followers: what it serves as committed must stay put
            Map<Integer, Long> isolatedHw = servedHighWatermarks(victim, victimLed);
            long[] newController = {-1};
            awaitOrGiveUp(Duration.ofSeconds(60), () -> {
                if (newController[0] < 0) {
                    int c = controllerSeenBy(cluster, majorityNode);
                    if (c > 0 && c != victim) {
                        newController[0] = ms(System.nanoTime() - cutAt);
                    }
                }
                return !recoveries(partitions, cutAt).containsValue(-1L);
            });
            Map<Integer, Long> recovered = recoveries(partitions, cutAt);
            // keep the cut for a while past the fence, so the isolated node has had its chance to commit
            long minCut = TimeUnit.MILLISECONDS.toNanos(SESSION_MS + 6000);
            long left = minCut - (System.nanoTime() - cutAt);
            if (left > 0) {
                Thread.sleep(ms(left));
            }
            Map<Integer, Long> isolatedHwAfter = servedHighWatermarks(victim, victimLed);
            int isolatedSaysController = controllerSeenBy(cluster, victim);
            int majoritySaysController = controllerSeenBy(cluster, majorityNode);
            long healAt = System.nanoTime();
            long cutMs = ms(healAt - cutAt);
            cluster.heal();
            ProcessCluster.await("the healed node back in every ISR", Duration.ofSeconds(90), () -> fullIsr(admin, TOPIC, 3));
            long rejoinMs = ms(System.nanoTime() - healAt);
            // the healed node answers from its own image until it has applied what it missed
            ProcessCluster.await("every node naming the same leaders", Duration.ofSeconds(60), () -> sameLeadersEverywhere(admin, 3));
            long convergedMs = ms(System.nanoTime() - healAt);
            history.awaitProgress("writes after healing", 300, Duration.ofSeconds(60));
            history.finish();
            AckHistory.Result result = history.check(cluster.bootstrap());

            Map<Integer, Long> majorityLed = new TreeMap<>(recovered);
            Map<Integer, Long> isolatedLed = new TreeMap<>();
            victimLed.forEach(p -> isolatedLed.put(p, majorityLed.remove(p)));
            System.out.printf("NetworkPartitionIT[2|1, %s %d cut off for %d ms]: %s; errors %s; acknowledging again"
                            + " (ms after the cut) partitions led on the majority side %s, led by the isolated node %s;"
                            + " controller %d -> %d on the majority side after %d ms, the isolated node reports %d;"
                            + " isolated node's high watermarks %s -> %s; full ISR %d ms and every node naming the same leaders"
                            + " %d ms after healing%n",
                    whom, victim, cutMs, result, history.errors(), majorityLed, isolatedLed, controller,
                    majoritySaysController, newController[0], isolatedSaysController, isolatedHw, isolatedHwAfter,
                    rejoinMs, convergedMs);
            assertThat(result.lost()).as("acknowledged records lost: %s", result).isZero();
            assertThat(result.duplicated()).as("records written twice: %s", result).isZero();
            isolatedHw.forEach((p, hw) -> assertThat(isolatedHwAfter.getOrDefault(p, hw))
                    .as("high watermark the isolated node serves for partition %d", p).isEqualTo(hw));
            assertThat(majoritySaysController).as("controller on the majority side").isNotIn(victim, -1);
            majorityLed.forEach((p, t) -> assertThat(t).as("partition %d (led on the majority side) acknowledging"
                    + " again after the cut, ms", p).isBetween(0L, (long) SESSION_MS + SLACK_MS));
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void onlyTheSideWithTheVoterMajorityCommitsInATwoTwoSplit() throws Exception {
        NetnsCluster.assumeSupported();
        int partitions = 4;
        // nodes 1-3 vote; node 4 is a broker that follows the metadata log as a learner
        cluster = new NetnsCluster(dir, 4, 3, settings());
        cluster.startAll();
        try (Admin admin = admin()) {
            createTopic(admin, TOPIC, partitions, 4);
            TopicDescription before = describe(admin, TOPIC);
            Map<Integer, List<Integer>> replicas = new TreeMap<>();
            for (TopicPartitionInfo p : before.partitions()) {
                replicas.put(p.partition(), p.replicas().stream().map(Node::id).toList());
            }
            Map<Integer, Integer> leaders = leaders(admin, TOPIC);
            history = new AckHistory(cluster.bootstrap(), TOPIC, partitions).start();
            history.awaitProgress("a running producer", 300, Duration.ofSeconds(60));
            int controller = admin.describeCluster().controller().get(10, TimeUnit.SECONDS).id();
            // the controller goes to the side without the voter majority, with the learner: side A (the two
            // other voters) must elect a controller of its own, and only it may commit
            Set<Integer> sideB = Set.of(controller, 4);
            Set<Integer> sideA = new HashSet<>(Set.of(1, 2, 3));
            sideA.remove(controller);
            // a follower that fell behind while the producer ran (a loaded machine) leaves the ISR; a partition
            // whose ISR is then two replicas on side B may commit there during the cut, as in Kafka, without
            // the controller. So the cut starts from full ISRs, and a partition whose ISR shrank to side B
            // before the cut all the same is not held to "no acknowledgement during the cut".
            ProcessCluster.await("every ISR full before the cut", Duration.ofSeconds(60), () -> fullIsr(admin, TOPIC, 3));
            Set<Integer> sideBIsrAtCut = new HashSet<>();
            for (TopicPartitionInfo p : describe(admin, TOPIC).partitions()) {
                List<Integer> isr = p.isr().stream().map(Node::id).toList();
                if (isr.size() >= 2 && sideB.containsAll(isr)) {
                    sideBIsrAtCut.add(p.partition());
                }
            }

            long cutAt = System.nanoTime();
            cluster.cut(sideA, sideB);
            // partitions with two replicas on side A can go on there (min.insync.replicas=2); no other can
            Set<Integer> canCommit = new HashSet<>();
            replicas.forEach((p, r) -> {
                if (r.stream().filter(sideA::contains).count() >= 2) {
                    canCommit.add(p);
                }
            });
            Thread.sleep(3000);
            Map<Integer, Map<Integer, Long>> sideBHw = new TreeMap<>();
            for (int k : sideB) {
                sideBHw.put(k, servedHighWatermarks(k, replicas.keySet()));
            }
            long[] newController = {-1};
            // when side A's metadata first has the partition led and replicated on side A alone: the brokers'
            // own failover, apart from the client's (which learns of it only once its requests to the cut-off
            // leader have timed out)
            Map<Integer, Long> failedOver = new TreeMap<>();
            awaitOrGiveUp(Duration.ofSeconds(60), () -> {
                int a = sideA.iterator().next();
                if (newController[0] < 0) {
                    int c = controllerSeenBy(cluster, a);
                    if (sideA.contains(c)) {
                        newController[0] = ms(System.nanoTime() - cutAt);
                    }
                }
                try {
                    new NodeProbe(cluster.address(a)).partitions(TOPIC).forEach((p, state) -> {
                        if (canCommit.contains(p) && sideA.contains(state.leader())
                                && sideA.containsAll(state.isr())) {
                            failedOver.putIfAbsent(p, ms(System.nanoTime() - cutAt));
                        }
                    });
                } catch (IOException e) {
                    // asked again on the next round
                }
                Map<Integer, Long> r = recoveries(partitions, cutAt);
                return newController[0] >= 0 && canCommit.stream().allMatch(p -> r.get(p) >= 0 && failedOver.containsKey(p));
            });
            // metadata: a topic created through side A is committed; through side B it cannot be (replication
            // factor 2: side A has two unfenced brokers now)
            Errors createdOnA = new NodeProbe(cluster.address(sideA.iterator().next())).createTopic("made-on-side-a", (short) 2, 5000);
            Errors createdOnB;
            try {
                createdOnB = new NodeProbe(cluster.address(controller)).createTopic("made-on-side-b", (short) 2, 5000);
            } catch (IOException e) {
                createdOnB = Errors.REQUEST_TIMED_OUT; // no answer within the socket timeout
            }
            long minCut = TimeUnit.MILLISECONDS.toNanos(SESSION_MS + 6000);
            long left = minCut - (System.nanoTime() - cutAt);
            if (left > 0) {
                Thread.sleep(ms(left));
            }
            Map<Integer, Long> recovered = recoveries(partitions, cutAt);
            Map<Integer, Map<Integer, Long>> sideBHwAfter = new TreeMap<>();
            for (int k : sideB) {
                sideBHwAfter.put(k, servedHighWatermarks(k, replicas.keySet()));
            }
            Map<Integer, Integer> controllers = new TreeMap<>();
            for (int k = 1; k <= 4; k++) {
                controllers.put(k, controllerSeenBy(cluster, k));
            }
            long healAt = System.nanoTime();
            long cutMs = ms(healAt - cutAt);
            cluster.heal();
            ProcessCluster.await("every ISR full again", Duration.ofSeconds(90), () -> fullIsr(admin, TOPIC, 3));
            long rejoinMs = ms(System.nanoTime() - healAt);
            ProcessCluster.await("every node naming the same leaders", Duration.ofSeconds(60), () -> sameLeadersEverywhere(admin, 4));
            history.awaitProgress("writes after healing", 300, Duration.ofSeconds(60));
            history.finish();
            AckHistory.Result result = history.check(cluster.bootstrap());
            boolean sideBTopicExists = describe(admin, "made-on-side-b") != null;
            boolean sideATopicExists = describe(admin, "made-on-side-a") != null;

            System.out.printf("NetworkPartitionIT[2|2, %s|%s, voters 1-3, learner 4, cut for %d ms]: %s; errors %s;"
                            + " replicas %s, leaders before %s; failed over on side A (ms after the cut) %s; acknowledging"
                            + " again (ms after the cut, -1 never) %s,"
                            + " of which may commit %s; controller %d -> seen by node %s, side A's after %d ms;"
                            + " CreateTopics through side A %s, through side B %s (exists after healing: A %s, B %s);"
                            + " side B high watermarks %s -> %s; full ISR %d ms after healing; ISR on side B alone at"
                            + " the cut %s%n",
                    sideA, sideB, cutMs, result, history.errors(), replicas, leaders, failedOver, recovered, canCommit, controller, controllers,
                    newController[0], createdOnA, createdOnB, sideATopicExists, sideBTopicExists, sideBHw, sideBHwAfter,
                    rejoinMs, sideBIsrAtCut);
            assertThat(result.lost()).as("acknowledged records lost: %s", result).isZero();
            assertThat(result.duplicated()).as("records written twice: %s", result).isZero();
            assertThat(createdOnA).as("CreateTopics through the side with the voter majority").isEqualTo(Errors.NONE);
            assertThat(createdOnB).as("CreateTopics through the side without it").isNotEqualTo(Errors.NONE);
            assertThat(sideATopicExists).isTrue();
            assertThat(controllers.get(controller)).as("controller the old controller reports, cut off from the"
                    + " voter majority").isNotEqualTo(controller);
            assertThat(sideA).as("side A's controller").contains(controllers.get(sideA.iterator().next()));
            sideBHw.forEach((k, hws) -> hws.forEach((p, hw) -> assertThat(sideBHwAfter.get(k).getOrDefault(p, hw))
                    .as("high watermark node %d (side B) serves for partition %d", k, p).isEqualTo(hw)));
            recovered.forEach((p, t) -> {
                if (canCommit.contains(p)) {
                    assertThat(failedOver.getOrDefault(p, -1L))
                            .as("partition %d (two replicas on side A) led and in sync on side A alone, ms", p)
                            .isBetween(0L, (long) SESSION_MS + SLACK_MS);
                    // the producer finds the new leader only after its requests to the cut-off one, and then its
                    // metadata request if that went to a cut-off node too, have timed out
                    assertThat(t).as("partition %d (two replicas on side A) acknowledging again, ms", p)
                            .isBetween(0L, failedOver.get(p) + 2L * AckHistory.REQUEST_TIMEOUT_MS + 2000);
                } else if (!sideBIsrAtCut.contains(p)) {
                    assertThat(t).as("partition %d (replicas %s) acknowledged a record sent during the cut", p,
                            replicas.get(p)).isEqualTo(-1L);
                }
            });
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void brokerRestartedWhileCutOffLeadsAndCoordinatesNothingUntilCaughtUp() throws Exception {
        NetnsCluster.assumeSupported();
        int partitions = 3;
        cluster = new NetnsCluster(dir, 3, 3, settings());
        cluster.startAll();
        try (Admin admin = admin()) {
            createTopic(admin, TOPIC, partitions, 3);
            // a committed offset makes the group exist, with a coordinator that leads its offsets partition
            admin.alterConsumerGroupOffsets(GROUP, Map.of(new TopicPartition(TOPIC, 0), new OffsetAndMetadata(0)))
                    .all().get(60, TimeUnit.SECONDS);
            ProcessCluster.await("__consumer_offsets with a full ISR", Duration.ofSeconds(60),
                    () -> fullIsr(admin, OffsetsTopic.NAME, 3));
            int victim = admin.describeConsumerGroups(List.of(GROUP)).all().get(10, TimeUnit.SECONDS).get(GROUP)
                    .coordinator().id();
            Map<Integer, Integer> leaders = leaders(admin, TOPIC);
            history = new AckHistory(cluster.bootstrap(), TOPIC, partitions).start();
            history.awaitProgress("a running producer", 300, Duration.ofSeconds(60));

            cluster.kill(victim);
            cluster.isolate(victim);
            long killedAt = System.nanoTime();
            cluster.start(victim);
            long restartMs = ms(System.nanoTime() - killedAt);
            NodeProbe probe = new NodeProbe(cluster.address(victim));
            Map<String, Integer> namedItself = new LinkedHashMap<>();
            List<String> served = new ArrayList<>();
            Map<String, Integer> refusals = new TreeMap<>();
            int answers = 0;
            long probeUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SESSION_MS + 6000);
            while (System.nanoTime() < probeUntil) {
                try {
                    for (String topic : List.of(TOPIC, OffsetsTopic.NAME)) {
                        for (Map.Entry<Integer, Integer> e : probe.leaders(topic).entrySet()) {
                            if (e.getValue() == victim) {
                                namedItself.merge(topic + "-" + e.getKey() + " leader", 1, Integer::sum);
                                NodeProbe.Offset o = probe.latestOffset(topic, e.getKey());
                                if (o.error() == Errors.NONE) {
                                    served.add(topic + "-" + e.getKey() + " served as leader (high watermark "
                                            + o.offset() + ")");
                                } else {
                                    refusals.merge("ListOffsets " + o.error(), 1, Integer::sum);
                                }
                            }
                        }
                    }
                    NodeProbe.Coordinator c = probe.coordinator(GROUP);
                    if (c.error() == Errors.NONE && c.nodeId() == victim) {
                        namedItself.merge("coordinator of " + GROUP, 1, Integer::sum);
                    }
                    Errors fetch = probe.offsetFetch(GROUP);
                    if (fetch == Errors.NONE) {
                        served.add("OffsetFetch of " + GROUP + " answered as coordinator");
                    } else {
                        refusals.merge("OffsetFetch " + fetch, 1, Integer::sum);
                    }
                    answers++;
                } catch (IOException e) {
                    // no answer is not an answer naming itself
                }
                Thread.sleep(500);
            }
            // meanwhile the majority fenced the killed broker and goes on without it
            Map<Integer, Long> recovered = recoveries(partitions, killedAt);
            long healAt = System.nanoTime();
            cluster.heal();
            ProcessCluster.await("the restarted broker unfenced", Duration.ofSeconds(90), () -> {
                try {
                    return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).stream().anyMatch(n -> n.id() == victim);
                } catch (Exception e) {
                    return false;
                }
            });
            long unfencedMs = ms(System.nanoTime() - healAt);
            ProcessCluster.await("the restarted broker back in every ISR", Duration.ofSeconds(90),
                    () -> fullIsr(admin, TOPIC, 3) && fullIsr(admin, OffsetsTopic.NAME, 3));
            long rejoinMs = ms(System.nanoTime() - healAt);
            ProcessCluster.await("every node naming the same leaders", Duration.ofSeconds(60), () -> sameLeadersEverywhere(admin, 3));
            NodeProbe.Coordinator after = probe.coordinator(GROUP);
            history.awaitProgress("writes after healing", 300, Duration.ofSeconds(60));
            history.finish();
            AckHistory.Result result = history.check(cluster.bootstrap());

            System.out.printf("NetworkPartitionIT[restart while cut off, broker %d (coordinator of %s), leaders before %s]:"
                            + " %s; errors %s; restarted and listening %d ms after kill -9; %d probe rounds answered while"
                            + " cut off: named itself %s, served as leader or coordinator %s, refused %s; partitions acknowledging"
                            + " again (ms after the kill) %s; unfenced %d ms and in every ISR %d ms after healing;"
                            + " coordinator after healing %s%n",
                    victim, GROUP, leaders, result, history.errors(), restartMs, answers, namedItself, served, refusals, recovered,
                    unfencedMs, rejoinMs, after);
            assertThat(answers).as("the restarted broker answered while cut off").isPositive();
            assertThat(served).as("requests the cut-off broker served as leader or coordinator").isEmpty();
            assertThat(result.lost()).as("acknowledged records lost: %s", result).isZero();
            assertThat(result.duplicated()).as("records written twice: %s", result).isZero();
        }
    }
}
