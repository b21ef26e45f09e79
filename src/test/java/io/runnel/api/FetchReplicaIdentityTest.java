package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.HostResolver;
import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.runnel.metadata.MetadataView;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A Fetch that names a replica id is taken as that follower's only from the broker registered with that id:
 * from another address, or naming an id no broker has, it gets TOPIC_AUTHORIZATION_FAILED (Kafka's answer to
 * a follower fetch without ClusterAction) and moves neither the follower's progress nor the high watermark;
 * the leader's own id is no follower (NOT_LEADER_OR_FOLLOWER, Kafka's "fetch request from non-replica").
 * This node (1) leads partition 0 of a topic on [1, 2]; broker 2 is registered at 127.0.0.2.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FetchReplicaIdentityTest {

    private static final String FOLLOWER_HOST = "127.0.0.2";

    @TempDir
    Path dir;
    AdminFixture fx;
    FetchHandler handler;
    ReplicaFetchGuard guard;
    TopicInfo topic;
    PartitionOwner owner;

    @BeforeEach
    void setUp() throws Exception {
        fx = new AdminFixture(dir);
        guard = new ReplicaFetchGuard(new MetadataView(fx.quorum), new HostResolver(fx.vertx, Time.SYSTEM,
                HostResolver.DEFAULT_TTL_MS), Time.SYSTEM);
        handler = new FetchHandler(fx.vertx, fx.topics, fx.partitions, guard);
        topic = fx.topicWithFollower("replicated", FOLLOWER_HOST);
        owner = fx.partitions.get(new TopicPartition("replicated", 0));
        assertThat(owner).isNotNull();
        assertThat(owner.isLeader()).as("node 1 leads " + owner.state()).isTrue();
        assertThat(owner.state().isr()).containsExactlyInAnyOrder(1, 2);
        for (int i = 0; i < 3; i++) {
            await(owner.append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, ("v" + i).getBytes())),
                    (short) 1));
        }
        assertThat(owner.highWatermark()).as("broker 2 of the ISR has nothing yet").isZero();
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    /** A follower's fetch of all three records, as replica {@code replicaId}, from {@code from}. */
    private FetchResponseData.PartitionData fetch(int version, int replicaId, String from) {
        FetchRequestData req = new FetchRequestData().setMaxWaitMs(0).setMinBytes(1).setMaxBytes(1 << 20)
                .setSessionId(0).setSessionEpoch(-1);
        if (version >= 15) {
            req.setReplicaState(new FetchRequestData.ReplicaState().setReplicaId(replicaId).setReplicaEpoch(-1));
        } else {
            req.setReplicaId(replicaId);
        }
        FetchRequestData.FetchTopic ft = new FetchRequestData.FetchTopic().setTopic("replicated").setTopicId(topic.id());
        ft.partitions().add(new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(3)
                .setCurrentLeaderEpoch(owner.leaderEpoch()).setPartitionMaxBytes(1 << 20));
        req.topics().add(ft);
        FetchResponseData resp = await(handler.handle(fx.ctx(ApiKeys.FETCH, version,
                SocketAddress.inetSocketAddress(40_000, from)), req));
        return resp.responses().get(0).partitions().get(0);
    }

    /** Waits for whatever a served fetch queued on the owner's context (recording the follower's offset). */
    private void settle() {
        await(owner.submit(() -> null));
    }

    @ParameterizedTest
    @ValueSource(ints = {12, 17})
    void aReplicaFetchFromAnotherAddressIsRefusedAndMovesNothing(int version) {
        FetchResponseData.PartitionData pd = fetch(version, 2, "127.0.0.3");
        settle();

        assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED);
        assertThat(pd.records().sizeInBytes()).isZero();
        assertThat(owner.highWatermark()).isZero();
        assertThat(owner.state().isr()).containsExactlyInAnyOrder(1, 2);
        assertThat(guard.refusedCount()).isEqualTo(1);
    }

    @Test
    void theSameFetchFromTheFollowersRegisteredAddressMovesTheHighWatermark() {
        FetchResponseData.PartitionData pd = fetch(17, 2, FOLLOWER_HOST);

        assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.NONE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (owner.highWatermark() != 3) {
            assertThat(System.nanoTime()).as("high watermark reaches 3").isLessThan(deadline);
            settle();
        }
        assertThat(guard.refusedCount()).isZero();
    }

    @Test
    void anIdNoBrokerIsRegisteredWithIsRefused() {
        FetchResponseData.PartitionData pd = fetch(17, 9, FOLLOWER_HOST);
        settle();

        assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED);
        assertThat(owner.highWatermark()).isZero();
    }

    @Test
    void theLeadersOwnIdIsNoFollower() {
        // broker 1 is registered at 127.0.0.1, so this passes the address check and meets the replica check
        FetchResponseData.PartitionData pd = fetch(17, 1, "127.0.0.1");
        settle();

        assertThat(Errors.forCode(pd.errorCode())).isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);
        assertThat(pd.records().sizeInBytes()).as("nothing above the high watermark leaks").isZero();
        assertThat(owner.highWatermark()).isZero();
    }

    @Test
    void aConsumerFetchIsNotChecked() {
        FetchResponseData.PartitionData pd = fetch(17, -1, "127.0.0.3");

        assertThat(Errors.forCode(pd.errorCode())).isNotEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED);
        assertThat(guard.refusedCount()).isZero();
    }
}
