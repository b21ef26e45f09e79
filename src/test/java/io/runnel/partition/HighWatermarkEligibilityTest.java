package io.runnel.partition;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.PartitionState;
import io.runnel.cluster.PartitionStateChanger;
import io.runnel.log.LogBatch;
import io.runnel.log.LogConfig;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;
import io.runnel.server.ShardVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka's maybeIncrementLeaderHW: the high watermark waits for the ISR (and any member a pending proposal
 * adds), and for a follower outside it that caught up within replica.lag.time.max.ms only while that
 * follower may join (isReplicaIsrEligible: here, registered and not fenced; a broker in controlled shutdown
 * is fenced first). A fenced follower is never proposed for the ISR, and a fetch under an id that is not a
 * replica moves nothing. The leader is broker 1 of replicas [1, 2, 3] with ISR [1, 2]; its ISR proposals are
 * recorded and refused, so only the eligibility rule decides whether broker 3 holds the high watermark.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HighWatermarkEligibilityTest {

    private static final TopicPartition TP = new TopicPartition("hw", 0);
    private static final int LEADER = 1;

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();
    private Context context;
    private PartitionLog log;
    private final Set<Integer> fenced = ConcurrentHashMap.newKeySet();
    private final List<List<Integer>> proposals = new CopyOnWriteArrayList<>();

    @BeforeEach
    void shard() throws Exception {
        ShardVerticle shard = new ShardVerticle();
        await(vertx.deployVerticle(shard, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)));
        context = shard.ownContext();
        log = PartitionLog.open(TP, dir.resolve("hw-0"), LogConfig.defaults(), Time.SYSTEM);
    }

    @AfterEach
    void close() throws Exception {
        await(context.executeBlocking(() -> {
            log.close();
            return null;
        }));
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private PartitionOwner leader() throws Exception {
        PartitionStateChanger changer = new PartitionStateChanger() {
            @Override
            public Future<PartitionState> alterPartition(TopicPartition tp, PartitionState expected, PartitionState proposed) {
                proposals.add(proposed.isr());
                return Future.failedFuture(new InvalidUpdateVersionException("refused by the test"));
            }

            @Override
            public boolean eligibleForIsr(int brokerId) {
                return !fenced.contains(brokerId);
            }
        };
        Replication.FollowerRegistry none = new Replication.FollowerRegistry() {
            @Override
            public void follow(PartitionOwner owner, int leader) {
            }

            @Override
            public void unfollow(PartitionOwner owner) {
            }
        };
        Replication replication = new Replication(LEADER, changer, none, 30_000, vertx, Time.SYSTEM);
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), context, log, 1, replication);
        await(owner.applyState(new PartitionState(LEADER, 1, List.of(1, 2, 3), List.of(1, 2), 1)));
        assertThat(owner.isLeader()).isTrue();
        return owner;
    }

    private void append(PartitionOwner owner, int records) throws Exception {
        for (int i = 0; i < records; i++) {
            await(owner.append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, ("v" + i).getBytes())),
                    (short) 1));
        }
    }

    /** A fetch by {@code replica} at {@code offset}, with the leader's log end now; waits until it is applied. */
    private void fetch(PartitionOwner owner, int replica, long offset) throws Exception {
        owner.recordFollowerFetch(replica, offset, log.logEndOffset(), System.currentTimeMillis());
        await(owner.submit(() -> null));
    }

    /** Broker 3 caught up at offset 1, then the leader reached 3 and broker 2 (ISR) fetched all of it. */
    private PartitionOwner followerThreeCaughtUpThenBehind() throws Exception {
        PartitionOwner owner = leader();
        append(owner, 1);
        fetch(owner, 3, 1);
        append(owner, 2);
        fetch(owner, 2, 3);
        return owner;
    }

    @Test
    void aCaughtUpFollowerOutsideTheIsrHoldsTheHighWatermarkWhileItMayJoin() throws Exception {
        PartitionOwner owner = followerThreeCaughtUpThenBehind();

        assertThat(proposals).as("broker 3 proposed for the ISR").contains(List.of(1, 2, 3));
        assertThat(owner.highWatermark()).as("waits for broker 3, which may join").isEqualTo(1);
    }

    @Test
    void aFencedFollowerOutsideTheIsrNeitherHoldsTheHighWatermarkNorIsProposed() throws Exception {
        fenced.add(3);
        PartitionOwner owner = followerThreeCaughtUpThenBehind();

        assertThat(proposals).as("no ISR proposal for a fenced broker").isEmpty();
        assertThat(owner.highWatermark()).as("the ISR [1, 2] has all three records").isEqualTo(3);
    }

    @Test
    void aFollowerFencedAfterCatchingUpStopsHoldingTheHighWatermark() throws Exception {
        PartitionOwner owner = followerThreeCaughtUpThenBehind();
        assertThat(owner.highWatermark()).isEqualTo(1);

        fenced.add(3);
        // the next event that looks at the high watermark (a fetch of broker 2) leaves broker 3 out
        fetch(owner, 2, 3);

        assertThat(owner.highWatermark()).isEqualTo(3);
    }

    @Test
    void aFetchUnderAnIdThatIsNoReplicaMovesNothing() throws Exception {
        PartitionOwner owner = leader();
        append(owner, 3);

        fetch(owner, 7, 3);
        fetch(owner, LEADER, 3);

        assertThat(owner.highWatermark()).as("broker 2 of the ISR has fetched nothing").isZero();
        assertThat(proposals).isEmpty();
        assertThat(owner.isrSize()).isEqualTo(2);
    }
}
