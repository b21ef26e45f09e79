package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The fault suite (issue 14): three brokers as separate processes, each in a network namespace of its own
 * ({@link NetnsCluster}), an idempotent acks=all producer ({@link AckHistory}) and a consumer group
 * ({@link GroupReader}) recording every send, acknowledgement and read while faults are applied, and a check in
 * the style of Jepsen: no acknowledged record lost or written twice, no offset holding two values, no record
 * moved, reads never going backwards within an assignment, every acknowledged record delivered to the group.
 * A send that failed or timed out is indeterminate, never a failure.
 *
 * <p>Every scenario writes one line to {@code target/faults/cluster-<target>.txt}: what was sent, acknowledged,
 * read, lost and duplicated, and how long after each fault every partition acknowledged again.
 *
 * <p>{@code mvn verify} runs the short form (each fault once; the kill and pause scenarios). The full form,
 * {@code -Dfaults.full=true} ({@code scripts/faults.sh}), runs every scenario, each network partition three
 * times. {@code -Dfaults.target=kafka} runs the same scenarios against three Apache Kafka 4.4.0 nodes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class FaultSuiteIT {

    private static final boolean FULL = Boolean.getBoolean("faults.full");
    private static final String TARGET = System.getProperty("faults.target", "runnel");
    /** Against Apache Kafka the suite only reports (for the comparison); against Runnel it asserts. */
    private static final boolean ASSERT = TARGET.equals("runnel");
    private static final int PARTITIONS = 6;
    private static final int SESSION_MS = 9000;
    /** On top of the session timeout: the fence committed, the election applied, the client told. */
    private static final int SLACK_MS = 8000;

    private Path dir;
    private NetnsCluster cluster;
    private Admin admin;
    private AckHistory history;
    private GroupReader reader;
    private final List<String> faults = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        NetnsCluster.assumeSupported();
        dir = Files.createTempDirectory("fault-suite");
        cluster = NetnsCluster.create(dir, 3, 3, Map.of(
                "broker.session.timeout.ms", Integer.toString(SESSION_MS),
                "replica.lag.time.max.ms", "5000",
                "offsets.topic.num.partitions", "3"));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        admin = Admin.create(ap);
        awaitThreeBrokers();
    }

    /** Until the cluster lists three brokers: a node restarted or healed by the scenario before is unfenced. */
    private void awaitThreeBrokers() throws InterruptedException {
        ProcessCluster.await("3 brokers", Duration.ofSeconds(90), () -> {
            try {
                return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() == 3;
            } catch (Exception e) {
                return false;
            }
        });
    }

    @AfterEach
    void closeClients() {
        if (reader != null) {
            reader.close();
            reader = null;
        }
        if (history != null) {
            history.close();
            history = null;
        }
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
    void killTheLeaderFiveTimesInARow() throws Exception {
        begin("kill-leader-x5");
        for (int round = 1; round <= 5; round++) {
            int leader = leaderOfPartitionZero();
            long at = System.nanoTime();
            cluster.kill(leader);
            // restarted at once: the next kill does not wait for it to be back in the ISR
            cluster.start(leader);
            awaitPartitionZeroAcks(at, "kill -9 of leader " + leader + " (round " + round + ")");
        }
        end();
    }

    @Test
    @Order(2)
    void pauseTheLeaderPastTheSessionTimeout() throws Exception {
        begin("sigstop-leader");
        // the controller when it leads a partition (it nearly always does): the harder case, where the thawed node
        // must also notice that the metadata quorum moved on without it and follow the new Raft leader
        int controller = controller();
        int leader = leaders().contains(controller) ? controller : leaderOfPartitionZero();
        long at = System.nanoTime();
        cluster.freeze(leader);
        long recovered = awaitAllPartitionsAck(at, Duration.ofMillis(SESSION_MS + SLACK_MS + 20_000));
        fault("SIGSTOP of leader " + leader, at, recovered);
        // the zombie stays frozen past its fence, then comes back believing it leads at its old epoch
        sleepUntil(at + TimeUnit.MILLISECONDS.toNanos(SESSION_MS + 5000));
        cluster.thaw(leader);
        end();
    }

    @Test
    @Order(3)
    void isolateTheLeader() throws Exception {
        begin("partition-leader-alone");
        for (int round = 1; round <= (FULL ? 3 : 1); round++) {
            int controller = controller();
            int victim = leaders().stream().filter(l -> l != controller).findFirst().orElse(leaderOfPartitionZero());
            cutOff(List.of(victim), others(victim), "leader " + victim + " alone (round " + round + ")", true);
        }
        end();
    }

    @Test
    @Order(4)
    void isolateTheController() throws Exception {
        Assumptions.assumeTrue(FULL, "full form only (-Dfaults.full=true); NetworkPartitionIT covers it in every run");
        begin("partition-controller-alone");
        for (int round = 1; round <= 3; round++) {
            int controller = controller();
            cutOff(List.of(controller), others(controller), "controller " + controller + " alone (round " + round + ")", true);
        }
        end();
    }

    @Test
    @Order(5)
    void bridgePartition() throws Exception {
        begin("partition-bridge");
        for (int round = 1; round <= (FULL ? 3 : 1); round++) {
            // the bridge sees both sides; the two others do not see each other. Which node bridges changes each round.
            int bridge = 1 + ThreadLocalRandom.current().nextInt(3);
            List<Integer> o = others(bridge);
            cutOff(List.of(o.get(0)), List.of(o.get(1)), "bridge through " + bridge + " (" + o.get(0) + " and " + o.get(1)
                    + " cut apart, round " + round + ")", false);
        }
        end();
    }

    @Test
    @Order(6)
    void killTheController() throws Exception {
        Assumptions.assumeTrue(FULL, "full form only (-Dfaults.full=true); ControllerCrashIT covers it in every run");
        begin("kill-controller");
        for (int round = 1; round <= 3; round++) {
            int controller = controller();
            long at = System.nanoTime();
            cluster.kill(controller);
            cluster.start(controller);
            fault("kill -9 of controller " + controller + " (round " + round + ")", at,
                    awaitAllPartitionsAck(at, Duration.ofSeconds(60)));
        }
        end();
    }

    @Test
    @Order(7)
    void killTwoNodesAtOnce() throws Exception {
        Assumptions.assumeTrue(FULL, "full form only (-Dfaults.full=true)");
        begin("kill-two-at-once");
        int leader = leaderOfPartitionZero();
        int other = others(leader).get(ThreadLocalRandom.current().nextInt(2));
        long at = System.nanoTime();
        cluster.kill(leader);
        cluster.kill(other);
        Thread.sleep(8000);
        long restartAt = System.nanoTime();
        // with one replica of three left, min.insync.replicas=2 lets nothing sent after the kill be acknowledged
        boolean ackedWithOneNode = history.anyAckedBetween(at + TimeUnit.SECONDS.toNanos(1), restartAt);
        faults.add("a record sent with two of three nodes down acknowledged: " + ackedWithOneNode);
        if (ASSERT) {
            assertThat(ackedWithOneNode).as("a record sent with two of three nodes down was acknowledged").isFalse();
        }
        List<Integer> order = new ArrayList<>(List.of(leader, other));
        Collections.shuffle(order);
        cluster.startTogether(order);
        fault("kill -9 of " + leader + " and " + other + ", restarted together in order " + order, at,
                awaitAllPartitionsAck(restartAt, Duration.ofSeconds(90)));
        end();
    }

    @Test
    @Order(8)
    void killEveryNodeThenRestartInRandomOrder() throws Exception {
        begin("kill-all");
        long at = System.nanoTime();
        for (int k = 1; k <= 3; k++) {
            cluster.kill(k);
        }
        List<Integer> order = new ArrayList<>(List.of(1, 2, 3));
        Collections.shuffle(order);
        long restartAt = System.nanoTime();
        cluster.startTogether(order);
        fault("kill -9 of every node, restarted together in order " + order, restartAt,
                awaitAllPartitionsAck(restartAt, Duration.ofSeconds(120)));
        end();
    }

    // ------------------------------------------------------------------ the workload and the check

    private String topic;
    private long startedAt;

    private void begin(String scenario) throws Exception {
        faults.clear();
        restoreCluster();
        awaitThreeBrokers();
        topic = scenario + "-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 3)
                .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
        ProcessCluster.await("every partition of " + topic + " led with a full ISR", Duration.ofSeconds(60), this::fullIsr);
        history = new AckHistory(cluster.bootstrap(), topic, PARTITIONS).start();
        reader = new GroupReader(cluster.bootstrap(), topic, topic + "-group", 2).start();
        history.awaitProgress("a running producer", 300, Duration.ofSeconds(60));
        startedAt = System.nanoTime();
    }

    /** Heals, thaws and restarts whatever a scenario (or a failed one before it) left broken. */
    private void restoreCluster() throws Exception {
        cluster.heal();
        for (int k = 1; k <= 3; k++) {
            if (cluster.running(k)) {
                cluster.thaw(k);
            } else {
                cluster.start(k);
            }
        }
    }

    private void end() throws Exception {
        restoreCluster();
        long healedAt = System.nanoTime();
        ProcessCluster.await("every partition back to a full ISR", Duration.ofSeconds(120), this::fullIsr);
        long fullIsrMs = ms(System.nanoTime() - healedAt);
        history.awaitProgress("writes after the faults", 300, Duration.ofSeconds(90));
        history.finish();
        Map<String, AckHistory.Ack> acked = history.acked();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!reader.hasRead(acked.keySet()) && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        reader.stop();
        AckHistory.Result result = history.check(cluster.bootstrap());
        GroupReader.Result group = reader.check(acked);
        String line = String.format("%s %s: %s; %s; errors %s; %s; full ISR %d ms after the last fault ended; %d s in all",
                TARGET, topic.substring(0, topic.length() - 9), result, group, history.errors(), faults, fullIsrMs,
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startedAt));
        System.out.println("FaultSuite " + line);
        Path out = Path.of("target", "faults", "cluster-" + TARGET + ".txt");
        Files.createDirectories(out.getParent());
        history.writeTo(out.resolveSibling(topic + "-sends.tsv"));
        Files.writeString(out, line + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        if (ASSERT) {
            assertThat(result.lost()).as("acknowledged records lost: %s", result).isZero();
            assertThat(result.duplicated()).as("records written twice: %s", result).isZero();
            assertThat(group.ok()).as("the group's reads: %s", group).isTrue();
        }
    }

    private void fault(String what, long at, long recoveredAt) {
        faults.add(what + ": every partition acknowledging again after "
                + (recoveredAt < 0 ? "(not within the wait)" : ms(recoveredAt - at) + " ms"));
    }

    /**
     * Cuts {@code a} from {@code b} for a session timeout and more, measures when every partition acknowledges
     * again, then heals and waits for full ISRs. With {@code bounded}, the partitions must acknowledge again
     * within the session timeout and the slack (the criterion for a node cut off).
     */
    private void cutOff(List<Integer> a, List<Integer> b, String what, boolean bounded) throws Exception {
        long at = System.nanoTime();
        cluster.cut(a, b);
        long recovered = awaitAllPartitionsAck(at, Duration.ofMillis(SESSION_MS + SLACK_MS + 20_000));
        fault("cut: " + what, at, recovered);
        sleepUntil(at + TimeUnit.MILLISECONDS.toNanos(SESSION_MS + 4000));
        cluster.heal();
        ProcessCluster.await("full ISRs after healing " + what, Duration.ofSeconds(90), this::fullIsr);
        if (bounded && ASSERT) {
            assertThat(recovered).as("every partition acknowledging again after the cut: " + what).isPositive();
            assertThat(ms(recovered - at)).as("ms until every partition acknowledged again after the cut: " + what)
                    .isLessThanOrEqualTo(SESSION_MS + SLACK_MS);
        }
    }

    /** When every partition acknowledged a record sent after {@code at}; -1 if that took longer than {@code max}. */
    private long awaitAllPartitionsAck(long at, Duration max) throws InterruptedException {
        long deadline = at + max.toNanos();
        long sentAfter = at + TimeUnit.MILLISECONDS.toNanos(500);
        while (System.nanoTime() < deadline) {
            long t = history.allPartitionsAckedRecordSentAfter(sentAfter);
            if (t > 0) {
                return t;
            }
            Thread.sleep(100);
        }
        return -1;
    }

    private void awaitPartitionZeroAcks(long at, String what) throws InterruptedException {
        long sentAfter = at + TimeUnit.MILLISECONDS.toNanos(500);
        long deadline = at + TimeUnit.SECONDS.toNanos(90);
        long first;
        while ((first = history.firstAckOfRecordSentAfter(0, sentAfter)) < 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        faults.add(what + ": partition 0 acknowledging again after " + (first < 0 ? "(not within 90 s)" : ms(first - at) + " ms"));
        if (ASSERT) {
            assertThat(first).as("partition 0 acknowledging again after " + what).isPositive();
        }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left = nanos - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static List<Integer> others(int k) {
        List<Integer> out = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            if (n != k) {
                out.add(n);
            }
        }
        return out;
    }

    private TopicDescription describe() {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
        } catch (Exception e) {
            return null;
        }
    }

    private boolean fullIsr() {
        TopicDescription d = describe();
        return d != null && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
    }

    /** The leaders of the topic's partitions, in partition order. */
    private List<Integer> leaders() {
        List<Integer> out = new ArrayList<>();
        TopicDescription d = describe();
        if (d != null) {
            for (TopicPartitionInfo p : d.partitions()) {
                out.add(p.leader() == null ? -1 : p.leader().id());
            }
        }
        return out;
    }

    private int leaderOfPartitionZero() throws InterruptedException {
        int[] leader = {-1};
        ProcessCluster.await("a running leader of partition 0", Duration.ofSeconds(60), () -> {
            List<Integer> l = leaders();
            leader[0] = l.isEmpty() ? -1 : l.get(0);
            return leader[0] > 0 && cluster.running(leader[0]);
        });
        return leader[0];
    }

    private int controller() throws InterruptedException {
        int[] c = {-1};
        ProcessCluster.await("an active controller", Duration.ofSeconds(60), () -> {
            c[0] = cluster.activeController();
            return c[0] > 0;
        });
        return c[0];
    }
}
