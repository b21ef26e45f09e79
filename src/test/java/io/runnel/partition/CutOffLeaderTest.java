package io.runnel.partition;

import static io.runnel.partition.OwnerFixture.await;
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
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
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
    @RegisterExtension
    final OwnerFixture fx = new OwnerFixture();

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
                OwnerFixture.NO_FETCHERS, LAG_MS, fx.vertx, Time.SYSTEM, cutOff::get);
        PartitionLog log = PartitionLog.open(TP, dir.resolve("cut-0"), LogConfig.defaults(), Time.SYSTEM);
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), fx.context, log, 2, replication);
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
        fx.closeOnContext(log);
    }
}
