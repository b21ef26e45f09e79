package io.runnel.partition;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.runnel.cluster.PartitionState;
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
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader whose followers have stopped fetching (so fewer in-sync replicas are caught up than
 * min.insync.replicas) answers an acks=all produce with NOT_ENOUGH_REPLICAS while it is in touch with the
 * metadata quorum, and with NOT_LEADER_OR_FOLLOWER once it has been cut off from it for longer than the session
 * timeout: a client retries NOT_ENOUGH_REPLICAS against the same broker, but refreshes its metadata, and finds
 * the leader the controller elected meanwhile, on NOT_LEADER_OR_FOLLOWER. Nothing is appended either way.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CutOffLeaderTest {

    private static final TopicPartition TP = new TopicPartition("cut", 0);
    private static final int LOCAL = 1;
    private static final long LAG_MS = 100;

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();
    private Context context;

    @BeforeEach
    void shard() throws Exception {
        ShardVerticle shard = new ShardVerticle();
        await(vertx.deployVerticle(shard, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)));
        context = shard.ownContext();
    }

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static final Replication.FollowerRegistry NO_FETCHERS = new Replication.FollowerRegistry() {
        @Override
        public void follow(PartitionOwner owner, int leader) {
        }

        @Override
        public void unfollow(PartitionOwner owner) {
        }
    };

    private Throwable produceError(PartitionOwner owner) throws Exception {
        RecordSet records = RecordSet.builder().add(LogBatch.NO_TIMESTAMP, null, "v".getBytes()).build();
        try {
            await(owner.append(records, (short) -1, 1000));
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    @Test
    void aLeaderCutOffFromTheQuorumSendsTheProducerToRefreshItsMetadata() throws Exception {
        AtomicBoolean cutOff = new AtomicBoolean();
        // the controller refuses every ISR change, as one out of reach does: the ISR stays as it was
        Replication replication = new Replication(LOCAL,
                (tp, expected, proposed) -> Future.failedFuture(new IllegalStateException("no controller in reach")),
                NO_FETCHERS, LAG_MS, vertx, Time.SYSTEM, cutOff::get);
        PartitionLog log = PartitionLog.open(TP, dir.resolve("cut-0"), LogConfig.defaults(), Time.SYSTEM);
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), context, log, 2, replication);
        // leader at epoch 1 with an ISR of three whose followers have never fetched at this epoch
        await(owner.applyState(new PartitionState(LOCAL, 1, List.of(1, 2, 3), List.of(1, 2, 3), 1)));
        assertThat(owner.isLeader()).isTrue();
        // ISR members get one lag period to show up; none does
        Thread.sleep(3 * LAG_MS);

        assertThat(produceError(owner)).isInstanceOf(NotEnoughReplicasException.class);
        cutOff.set(true);
        assertThat(produceError(owner)).isInstanceOf(NotLeaderOrFollowerException.class)
                .hasMessageContaining("out of touch with the metadata quorum");
        cutOff.set(false);
        assertThat(produceError(owner)).isInstanceOf(NotEnoughReplicasException.class);
        assertThat(log.logEndOffset()).as("nothing appended").isZero();
        await(context.executeBlocking(() -> {
            log.close();
            return null;
        }));
    }
}
