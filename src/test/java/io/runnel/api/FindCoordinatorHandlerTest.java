package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.BrokerEndpoint;
import io.runnel.cluster.ClusterView;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.TopicInfo;
import io.runnel.group.GroupConfig;
import io.runnel.group.GroupCoordinator;
import io.runnel.group.OffsetsLog;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** FindCoordinator on a cluster member: the leader of the group's __consumer_offsets partition. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class FindCoordinatorHandlerTest {

    private static final int PARTITIONS = 5;

    @TempDir
    Path dir;
    private AdminFixture fx;
    private GroupCoordinator coordinator;
    private OffsetsTopic offsetsTopic;
    private final FakeCluster cluster = new FakeCluster();
    private FindCoordinatorHandler handler;

    /** The controller's partition states and live brokers, as a member sees them. */
    private static final class FakeCluster implements ClusterView {
        final Map<TopicPartition, PartitionState> states = new HashMap<>();
        final Map<Integer, BrokerEndpoint> live = new HashMap<>();

        @Override
        public int controllerId() {
            return 1;
        }

        @Override
        public PartitionState state(TopicPartition tp) {
            return states.get(tp);
        }

        @Override
        public BrokerEndpoint endpoint(int nodeId) {
            return live.get(nodeId);
        }

        @Override
        public Collection<BrokerEndpoint> liveBrokers() {
            return live.values();
        }
    }

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir, Map.of("offsets.topic.num.partitions", Integer.toString(PARTITIONS)));
        coordinator = new GroupCoordinator(fx.vertx, new GroupConfig(0, 100, 30_000, 10, 600_000L, 600_000L,
                PARTITIONS, 4096), new OffsetsLog() {
                    @Override
                    public Future<Long> append(int partition, RecordSet records) {
                        return Future.succeededFuture(0L);
                    }

                    @Override
                    public void replay(int partition, ReplaySink sink) {
                    }

                    @Override
                    public void close() {
                    }
                }, tp -> true, Time.SYSTEM);
        offsetsTopic = new OffsetsTopic(fx.config, fx.topics, () -> 1);
        handler = new FindCoordinatorHandler(coordinator, offsetsTopic, cluster);
        cluster.live.put(1, new BrokerEndpoint(1, "127.0.0.1", 9092));
        cluster.live.put(2, new BrokerEndpoint(2, "127.0.0.1", 9093));
        cluster.live.put(3, new BrokerEndpoint(3, "127.0.0.1", 9094));
    }

    @AfterEach
    void tearDown() throws Exception {
        await(coordinator.close());
        fx.close();
    }

    private FindCoordinatorResponseData find(int version, String... groups) {
        FindCoordinatorRequestData request = new FindCoordinatorRequestData();
        if (version >= 4) {
            request.setCoordinatorKeys(List.of(groups));
        } else {
            request.setKey(groups[0]);
        }
        return await(handler.handle(fx.ctx(ApiKeys.FIND_COORDINATOR, version), request));
    }

    private static int partitionOf(String group) {
        return Utils.abs(group.hashCode()) % PARTITIONS;
    }

    private void lead(int partition, int leader) {
        cluster.states.put(new TopicPartition(OffsetsTopic.NAME, partition),
                new PartitionState(leader, 3, List.of(1, 2, 3), List.of(1, 2, 3), 4));
    }

    @Test
    void withoutTheOffsetsTopicTheAnswerIsNotAvailableAndTheTopicIsCreated() throws InterruptedException {
        FindCoordinatorResponseData r = find(3, "g");
        assertThat(r.errorCode()).isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE.code());
        assertThat(r.nodeId()).isEqualTo(-1);
        // the creation goes through the metadata log after the answer
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (fx.topics.topic(OffsetsTopic.NAME) == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        TopicInfo t = fx.topics.topic(OffsetsTopic.NAME);
        assertThat(t.name() + "/" + t.partitions() + "/" + t.replicationFactor() + "/" + new java.util.TreeMap<>(t.configs()))
                .isEqualTo("__consumer_offsets/5/1/{cleanup.policy=compact, min.insync.replicas=1, segment.bytes=104857600}");
    }

    @Test
    void aSingleNodeCreatesTheOffsetsTopicOnTheFirstSearchThenAnswersItself(@TempDir Path single) throws Exception {
        try (AdminFixture node = new AdminFixture(single, Map.of("offsets.topic.num.partitions", "3"))) {
            OffsetsTopic offsets = new OffsetsTopic(node.config, node.topics, () -> 1);
            FindCoordinatorHandler find = new FindCoordinatorHandler(coordinator, offsets, null);
            FindCoordinatorRequestData request = new FindCoordinatorRequestData().setKey("g");
            FindCoordinatorResponseData first = await(find.handle(node.ctx(ApiKeys.FIND_COORDINATOR, 3), request));
            assertThat(first.errorCode()).isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE.code());
            assertThat(first.nodeId()).isEqualTo(-1);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!offsets.exists() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            TopicInfo created = node.topics.topic(OffsetsTopic.NAME);
            assertThat(created).isNotNull();
            assertThat(created.partitions()).isEqualTo(3);
            assertThat(created.replicationFactor()).isEqualTo((short) 1);
            assertThat(created.configs()).containsEntry("cleanup.policy", "compact").containsEntry("min.insync.replicas", "1");
            for (short v = find.minVersion(); v <= find.maxVersion(); v++) {
                FindCoordinatorRequestData again = new FindCoordinatorRequestData();
                if (v >= 4) {
                    FindCoordinatorResponseData r = await(find.handle(node.ctx(ApiKeys.FIND_COORDINATOR, v),
                            again.setCoordinatorKeys(List.of("g1", "g2"))));
                    assertThat(r.coordinators()).extracting(FindCoordinatorResponseData.Coordinator::key)
                            .containsExactly("g1", "g2");
                    assertThat(r.coordinators()).allSatisfy(c -> {
                        assertThat(c.errorCode()).isZero();
                        assertThat(c.nodeId()).isEqualTo(AdminFixture.NODE_ID);
                        assertThat(c.port()).isEqualTo(9092);
                    });
                    FindCoordinatorResponseData bad = await(find.handle(node.ctx(ApiKeys.FIND_COORDINATOR, v),
                            again.setKeyType((byte) 5)));
                    assertThat(bad.coordinators().get(0).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
                } else {
                    FindCoordinatorResponseData r = await(find.handle(node.ctx(ApiKeys.FIND_COORDINATOR, v),
                            again.setKey("g1")));
                    assertThat(r.errorCode()).isZero();
                    assertThat(r.nodeId()).isEqualTo(AdminFixture.NODE_ID);
                    assertThat(r.host()).isEqualTo("127.0.0.1");
                }
            }
        }
    }

    @Test
    void aGroupIsCoordinatedByTheLeaderOfItsOffsetsPartition() {
        fx.topic(OffsetsTopic.NAME, PARTITIONS, offsetsTopic.configs());
        String a = "group-a";
        String b = null;
        for (int i = 0; b == null; i++) {
            if (partitionOf("group-" + i) != partitionOf(a)) {
                b = "group-" + i;
            }
        }
        lead(partitionOf(a), 2);
        lead(partitionOf(b), 3);
        FindCoordinatorResponseData v3 = find(3, a);
        assertThat(v3.errorCode()).isZero();
        assertThat(v3.nodeId()).isEqualTo(2);
        assertThat(v3.port()).isEqualTo(9093);
        FindCoordinatorResponseData v4 = find(4, a, b);
        assertThat(v4.coordinators()).extracting(FindCoordinatorResponseData.Coordinator::nodeId).containsExactly(2, 3);
        assertThat(v4.coordinators()).extracting(FindCoordinatorResponseData.Coordinator::port)
                .containsExactly(9093, 9094);
    }

    @Test
    void aPartitionWithoutALiveLeaderHasNoCoordinator() {
        fx.topic(OffsetsTopic.NAME, PARTITIONS, offsetsTopic.configs());
        lead(partitionOf("g"), -1);
        assertThat(find(4, "g").coordinators().get(0).errorCode()).isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE.code());
        lead(partitionOf("g"), 3);
        cluster.live.remove(3);
        FindCoordinatorResponseData r = find(2, "g");
        assertThat(r.errorCode()).isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE.code());
        assertThat(r.nodeId()).isEqualTo(-1);
        cluster.states.clear();
        assertThat(find(4, "g").coordinators().get(0).errorCode()).isEqualTo(Errors.COORDINATOR_NOT_AVAILABLE.code());
    }
}
