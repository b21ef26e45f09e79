package io.runnel.partition;

import static io.runnel.partition.OwnerFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.PartitionState;
import io.runnel.log.LogBatch;
import io.runnel.log.LogConfig;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The owner applies flush.messages / flush.ms to a follower's appends as to a leader's, and after an append
 * that rolled it flushes the segments below the new one, moving the recovery point to its base offset.
 * Every wait is for a future; a no-op task queued behind a scheduled one shows that it has run (a worker
 * context runs its tasks in order).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OwnerFlushTest {

    private static final TopicPartition TP = new TopicPartition("flush", 0);
    private static final int LOCAL = 2;
    private static final int LEADER = 1;

    @TempDir
    Path dir;
    @RegisterExtension
    final OwnerFixture fx = new OwnerFixture();

    private static LogConfig config(int segmentBytes, long flushMessages) {
        LogConfig d = LogConfig.defaults();
        return new LogConfig(segmentBytes, d.segmentMs(), d.retentionMs(), d.retentionBytes(), d.maxMessageBytes(),
                d.indexIntervalBytes(), d.segmentIndexBytes(), flushMessages, d.flushMs(), d.fileDeleteDelayMs(),
                false, true, false, d.messageTimestampBeforeMaxMs(), d.messageTimestampAfterMaxMs());
    }

    /** The batch a leader would send for {@code offset}: one record, offsets already assigned. */
    private static RecordSet fetched(long offset) {
        return RecordSet.builder().baseOffset(offset)
                .add(LogBatch.NO_TIMESTAMP, null, ("v" + offset).getBytes()).build();
    }

    private static final int BATCH = fetched(0).sizeInBytes();

    /** An owner following broker 1 at leader epoch 1 (no fetcher runs: the test feeds it). */
    private PartitionOwner follower(PartitionLog log) throws Exception {
        Replication replication = new Replication(LOCAL, (tp, expected, proposed) -> Future.succeededFuture(proposed),
                OwnerFixture.NO_FETCHERS, 30_000, fx.vertx, Time.SYSTEM);
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), fx.context, log, 1, replication);
        await(owner.applyState(new PartitionState(LEADER, 1, List.of(LEADER, LOCAL), List.of(LEADER, LOCAL), 1)));
        assertThat(owner.isLeader()).isFalse();
        return owner;
    }

    private boolean appendFetched(PartitionOwner owner, long offset) throws Exception {
        return await(owner.submit(() -> owner.appendAsFollower(1, offset, fetched(offset), 0, 0)));
    }

    /** The partition's log, with segment.bytes and flush.messages as given. */
    private PartitionLog openLog(int segmentBytes, long flushMessages) throws Exception {
        return PartitionLog.open(TP, dir.resolve("flush-0"), config(segmentBytes, flushMessages), Time.SYSTEM);
    }

    @Test
    void followerAppendsAreFlushedUnderFlushMessagesAsTheLeadersAre() throws Exception {
        PartitionLog log = openLog(1 << 20, 1);
        PartitionOwner owner = follower(log);
        for (long offset = 0; offset < 3; offset++) {
            assertThat(appendFetched(owner, offset)).isTrue();
            // forced before the append returns, so before the next fetch reports the new log end to the leader
            assertThat(log.flushCount()).isEqualTo(offset + 1);
            assertThat(log.recoveryPoint()).isEqualTo(offset + 1);
        }
        fx.closeOnContext(log);
    }

    @Test
    void followerAppendsAreNotFlushedWhenThePolicyDoesNotAskForIt() throws Exception {
        PartitionLog log = openLog(1 << 20, 2);
        PartitionOwner owner = follower(log);
        appendFetched(owner, 0);
        assertThat(log.flushCount()).isZero();
        appendFetched(owner, 1);
        assertThat(log.flushCount()).as("flush.messages=2 reached").isEqualTo(1);
        assertThat(log.recoveryPoint()).isEqualTo(2);
        fx.closeOnContext(log);
    }

    @Test
    void aFollowerAppendThatRollsFlushesTheSegmentBelowAndMovesTheRecoveryPoint() throws Exception {
        // two batches a segment, no flush.messages: only the roll flushes
        PartitionLog log = openLog(BATCH * 2, Long.MAX_VALUE);
        PartitionOwner owner = follower(log);
        for (long offset = 0; offset < 3; offset++) {
            appendFetched(owner, offset);
        }
        await(owner.submit(() -> null));
        assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L);
        assertThat(log.recoveryPoint()).as("the new segment's base offset").isEqualTo(2);
        assertThat(log.flushCount()).isEqualTo(1);
        fx.closeOnContext(log);
    }

    @Test
    void aLeaderAppendThatRollsFlushesTheSegmentBelowAfterItIsAnswered() throws Exception {
        PartitionLog log = openLog(BATCH * 2, Long.MAX_VALUE);
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), fx.context, log, 0, 1);
        for (int i = 0; i < 3; i++) {
            await(owner.append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, ("v" + i).getBytes())),
                    (short) 1));
        }
        await(owner.submit(() -> null));
        assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L);
        assertThat(log.recoveryPoint()).isEqualTo(2);
        fx.closeOnContext(log);
    }
}
