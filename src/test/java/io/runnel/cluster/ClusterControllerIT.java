package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.runnel.server.ShardVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three Hazelcast members on loopback, each with its own controller instance and persisted state:
 * controller election by age and majority, failover elections by epoch, compare-and-set ISR changes,
 * and a full-cluster restart rebuilt from what the brokers persisted.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterControllerIT {

    private static final TopicPartition TP = new TopicPartition("orders", 0);

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();
    private final String clusterName = "ctrl-" + UUID.randomUUID();
    private final List<Node> nodes = new ArrayList<>();
    private int[] ports;

    private final class Node {
        final int id;
        final HazelcastInstance hz;
        final ClusterController controller;
        final Map<TopicPartition, PartitionState> applied = new ConcurrentHashMap<>();
        final Map<String, TopicRecord> topics = new ConcurrentHashMap<>();

        Node(int id) throws Exception {
            this.id = id;
            Config config = new Config().setClusterName(clusterName);
            config.setProperty("hazelcast.wait.seconds.before.join", "0");
            config.setProperty("hazelcast.phone.home.enabled", "false");
            config.setProperty("hazelcast.logging.type", "slf4j");
            config.setProperty("hazelcast.max.no.heartbeat.seconds", "5");
            config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
            config.getNetworkConfig().setPort(ports[id - 1]).setPortAutoIncrement(false);
            config.getNetworkConfig().getInterfaces().setEnabled(true).addInterface("127.0.0.1");
            JoinConfig join = config.getNetworkConfig().getJoin();
            join.getMulticastConfig().setEnabled(false);
            join.getAutoDetectionConfig().setEnabled(false);
            join.getTcpIpConfig().setEnabled(true);
            for (int p : ports) {
                join.getTcpIpConfig().addMember("127.0.0.1:" + p);
            }
            config.getMemberAttributeConfig().setAttribute(ClusterController.NODE_ID_ATTRIBUTE, Integer.toString(id))
                    .setAttribute(ClusterController.KAFKA_HOST_ATTRIBUTE, "127.0.0.1")
                    .setAttribute(ClusterController.KAFKA_PORT_ATTRIBUTE, Integer.toString(9090 + id));
            ClusterController.configure(config, 3);
            hz = Hazelcast.newHazelcastInstance(config);
            ShardVerticle worker = new ShardVerticle();
            vertx.deployVerticle(worker, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            Context context = worker.ownContext();
            controller = new ClusterController(context, hz, 3, dir.resolve("node-" + id), t -> false,
                    new ClusterController.Listener() {
                        @Override
                        public void onTopic(TopicRecord topic) {
                            topics.put(topic.name(), topic);
                        }

                        @Override
                        public void onPartitionState(TopicPartition tp, PartitionState state) {
                            applied.put(tp, state);
                        }
                    });
            controller.start().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @AfterEach
    void stop() throws Exception {
        // Vert.x first, while every member still answers: terminating members first left the controllers'
        // worker tasks in Hazelcast calls towards members being terminated, and closing Vert.x then
        // waited for them (a 10 s timeout in one run of isrChangesAreCompareAndSet)
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        for (Node n : nodes) {
            n.hz.getLifecycleService().terminate();
        }
    }

    private void startAll() throws Exception {
        if (ports == null) {
            ports = new int[3];
            for (int i = 0; i < 3; i++) {
                try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                    ports[i] = s.getLocalPort();
                }
            }
        }
        for (int id = 1; id <= 3; id++) {
            nodes.add(new Node(id));
        }
        await("three members", () -> nodes.stream().allMatch(n -> n.hz.getCluster().getMembers().size() == 3));
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static <T> T get(io.vertx.core.Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Creates topic orders (1 partition, RF 3) through the controller; returns its state once all saw it. */
    private PartitionState createOrders() throws Exception {
        TopicRecord t = get(nodes.get(0).controller.createTopic("orders", 1, (short) 3, Map.of("retention.ms", "1000")));
        await("every broker persisted the topic and its partition", () -> nodes.stream()
                .allMatch(n -> t.equals(n.topics.get("orders")) && n.applied.get(TP) != null));
        return nodes.get(0).applied.get(TP);
    }

    @Test
    void oldestMemberWithAMajorityIsTheController() throws Exception {
        startAll();
        assertThat(nodes.get(0).controller.isController()).isTrue();
        assertThat(nodes.get(1).controller.isController()).isFalse();
        assertThat(nodes.stream().map(n -> n.controller.controllerId())).containsOnly(1);
        assertThat(nodes.get(2).controller.liveBrokers()).extracting(BrokerEndpoint::nodeId).containsExactlyInAnyOrder(1, 2, 3);
        assertThat(nodes.get(2).controller.endpoint(2).port()).isEqualTo(9092);

        // the controller is lost: the next oldest takes over
        nodes.remove(0).hz.getLifecycleService().terminate();
        await("node 2 is controller", () -> nodes.get(0).controller.isController());
        // then a second member is lost: the survivor sees no majority and stops acting
        nodes.remove(1).hz.getLifecycleService().terminate();
        await("no majority", () -> !nodes.get(0).controller.isController());
        assertThat(nodes.get(0).controller.controllerId()).isEqualTo(-1);
    }

    @Test
    void failedLeaderIsReplacedByAnInSyncReplicaEverywhere() throws Exception {
        startAll();
        PartitionState initial = createOrders();
        assertThat(initial.isr()).containsExactlyInAnyOrderElementsOf(List.of(1, 2, 3));
        await("every broker persisted the new partition", () -> nodes.stream().allMatch(n -> initial.equals(n.applied.get(TP))));

        int leader = initial.leader();
        Node dying = nodes.stream().filter(n -> n.id == leader).findFirst().orElseThrow();
        nodes.remove(dying);
        dying.hz.getLifecycleService().terminate();
        await("a new leader", () -> nodes.stream().allMatch(n -> {
            PartitionState s = n.applied.get(TP);
            return s != null && s.leader() != leader && s.leader() >= 0;
        }));
        PartitionState after = nodes.get(0).applied.get(TP);
        assertThat(after.leaderEpoch()).isEqualTo(initial.leaderEpoch() + 1);
        assertThat(after.isr()).doesNotContain(leader).contains(after.leader());
        assertThat(nodes.get(1).controller.state(TP)).isEqualTo(after);
    }

    @Test
    void isrChangesAreCompareAndSet() throws Exception {
        startAll();
        PartitionState initial = createOrders();
        Node leader = nodes.stream().filter(n -> n.id == initial.leader()).findFirst().orElseThrow();
        List<Integer> shrunk = List.of(initial.leader());
        PartitionState next = get(leader.controller.alterPartition(TP, initial, initial.withIsr(shrunk)));
        assertThat(next.isr()).containsExactly(initial.leader());
        assertThat(next.partitionEpoch()).isEqualTo(initial.partitionEpoch() + 1);
        assertThatThrownBy(() -> get(leader.controller.alterPartition(TP, initial, initial.withIsr(shrunk))))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidUpdateVersionException.class);
        await("followers saw the shrink", () -> nodes.stream().allMatch(n -> next.equals(n.applied.get(TP))));
    }

    @Test
    void onlyTheControllerChangesTopicsAndDuplicatesAreRefused() throws Exception {
        startAll();
        createOrders();
        assertThatThrownBy(() -> get(nodes.get(0).controller.createTopic("orders", 1, (short) 1, Map.of())))
                .hasCauseInstanceOf(org.apache.kafka.common.errors.TopicExistsException.class);
        assertThatThrownBy(() -> get(nodes.get(1).controller.createTopic("other", 1, (short) 1, Map.of())))
                .hasCauseInstanceOf(org.apache.kafka.common.errors.NotControllerException.class);
        assertThatThrownBy(() -> get(nodes.get(0).controller.createTopic("wide", 1, (short) 4, Map.of())))
                .hasCauseInstanceOf(org.apache.kafka.common.errors.InvalidReplicationFactorException.class);
        TopicRecord grown = get(nodes.get(0).controller.createPartitions("orders", 4));
        await("four partitions everywhere", () -> nodes.stream().allMatch(n -> grown.equals(n.topics.get("orders"))
                && n.applied.keySet().stream().filter(tp -> tp.topic().equals("orders")).count() == 4));
    }

    @Test
    void aTopicDeletedWhileABrokerWasDownStaysDeletedAfterAFullRestart() throws Exception {
        startAll();
        createOrders();
        Node down = nodes.remove(2);
        down.hz.getLifecycleService().terminate();
        TopicRecord tombstone = get(nodes.get(0).controller.deleteTopic("orders"));
        await("survivors saw the deletion", () -> nodes.stream().allMatch(n -> n.topics.get("orders").deleted()));
        for (Node n : nodes) {
            n.hz.getLifecycleService().terminate();
        }
        nodes.clear();
        startAll();
        // the broker that was down learns the deletion instead of bringing the topic back
        Node returned = nodes.stream().filter(n -> n.id == down.id).findFirst().orElseThrow();
        await("the returning broker learns the deletion", () -> tombstone.equals(returned.topics.get("orders")));
        await("nobody sees the topic", () -> nodes.stream().allMatch(n -> n.controller.topic("orders") == null));
        assertThat(nodes.get(0).hz.getMap(ClusterController.TOPICS).values())
                .allSatisfy(json -> assertThat((String) json).contains("\"deleted\":true"));
    }

    @Test
    void aBrokerMovesAStaleStateInTheMapForwardWhenItSeesIt() throws Exception {
        startAll();
        PartitionState initial = createOrders();
        com.hazelcast.map.IMap<String, String> map = nodes.get(0).hz.getMap(ClusterController.PARTITIONS);
        String stale = map.get("orders/0");
        Node leader = nodes.stream().filter(n -> n.id == initial.leader()).findFirst().orElseThrow();
        PartitionState shrunk = get(leader.controller.alterPartition(TP, initial,
                initial.withIsr(List.of(initial.leader()))));
        await("all persisted", () -> nodes.stream().allMatch(n -> shrunk.equals(n.controller.state(TP))));
        // what a map rebuilt after a full restart holds when the brokers with the newer state published late
        map.put("orders/0", stale);
        await("the newer state written back by compare-and-set", () -> {
            io.vertx.core.json.JsonObject j = new io.vertx.core.json.JsonObject(map.get("orders/0"));
            return j.getInteger("partitionEpoch") == shrunk.partitionEpoch()
                    && j.getInteger("leaderEpoch") == shrunk.leaderEpoch();
        });
        for (Node n : nodes) {
            assertThat(n.controller.state(TP)).isEqualTo(shrunk);
        }
    }

    @Test
    void fullRestartRebuildsTheStatesFromDisk() throws Exception {
        startAll();
        PartitionState initial = createOrders();
        Node leader = nodes.stream().filter(n -> n.id == initial.leader()).findFirst().orElseThrow();
        PartitionState shrunk = get(leader.controller.alterPartition(TP, initial,
                initial.withIsr(List.of(initial.leader()))));
        await("all persisted", () -> nodes.stream().allMatch(n -> shrunk.equals(n.controller.state(TP))));
        for (Node n : nodes) {
            n.hz.getLifecycleService().terminate();
        }
        nodes.clear();

        startAll();
        // the only in-sync replica leads again once it is back; epochs continue from where they were,
        // (the controller may have marked the partition leaderless while that broker was still starting)
        await("the state is back with its epochs", () -> nodes.stream().allMatch(n -> {
            PartitionState s = n.controller.state(TP);
            return s != null && s.leader() == shrunk.leader() && s.isr().equals(shrunk.isr())
                    && n.hz.getMap(ClusterController.PARTITIONS).containsKey("orders/0");
        }));
        for (Node n : nodes) {
            PartitionState s = n.controller.state(TP);
            assertThat(s.leaderEpoch()).isGreaterThanOrEqualTo(shrunk.leaderEpoch());
            assertThat(s.partitionEpoch()).isGreaterThanOrEqualTo(shrunk.partitionEpoch());
        }
    }
}
