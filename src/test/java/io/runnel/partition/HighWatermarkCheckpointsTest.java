package io.runnel.partition;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.log.LogBatch;
import io.runnel.log.LogConfig;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;
import io.runnel.log.ReplicationOffsetCheckpoint;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HighWatermarkCheckpointsTest {

    private static final TopicPartition A0 = new TopicPartition("a", 0);
    private static final TopicPartition A1 = new TopicPartition("a", 1);
    private static final TopicPartition GONE = new TopicPartition("gone", 0);

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void write(HighWatermarkCheckpoints c, Map<TopicPartition, Long> hosted) throws Exception {
        c.write(List.of(dir), Map.of(dir, hosted)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void entriesOfPartitionsNotOpenedYetSurviveTheNextWriteUnlessTheirDirectoryIsGone() throws Exception {
        Files.createDirectories(dir.resolve("a-0"));
        Files.createDirectories(dir.resolve("a-1"));
        ReplicationOffsetCheckpoint.write(dir, Map.of(A0, 10L, A1, 20L, GONE, 30L));
        HighWatermarkCheckpoints checkpoints = new HighWatermarkCheckpoints(vertx);

        assertThat(checkpoints.take(dir, A0)).isEqualTo(10);
        // taken once: a partition recreated in this process does not get the old value again
        assertThat(checkpoints.take(dir, A0)).isEqualTo(-1);
        write(checkpoints, Map.of(A0, 12L));

        // a-1 has not opened yet and keeps its entry; gone-0 has no directory any more
        assertThat(ReplicationOffsetCheckpoint.read(dir)).isEqualTo(Map.of(A0, 12L, A1, 20L));
        checkpoints.forget(dir, A1);
        write(checkpoints, Map.of(A0, 13L));
        assertThat(ReplicationOffsetCheckpoint.read(dir)).isEqualTo(Map.of(A0, 13L));
    }

    @Test
    void aMalformedCheckpointIsTreatedAsNoneAndReplacedByTheNextWrite() throws Exception {
        Files.writeString(ReplicationOffsetCheckpoint.file(dir), "garbage\n");
        HighWatermarkCheckpoints checkpoints = new HighWatermarkCheckpoints(vertx);
        assertThat(checkpoints.take(dir, A0)).isEqualTo(-1);
        write(checkpoints, Map.of(A0, 5L));
        assertThat(ReplicationOffsetCheckpoint.read(dir)).isEqualTo(Map.of(A0, 5L));
    }

    @Test
    void aReplicaStartsAtItsCheckpointedHighWatermarkKeptWithinItsLog() throws Exception {
        PartitionLog log = PartitionLog.open(A0, dir.resolve("a-0"), LogConfig.defaults(), Time.SYSTEM);
        for (int i = 0; i < 10; i++) {
            log.appendAsLeader(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, ("v" + i).getBytes())), 0);
        }
        var context = vertx.getOrCreateContext();
        assertThat(new PartitionOwner(A0, Uuid.randomUuid(), context, log, 2, null, 7).highWatermark()).isEqualTo(7);
        // a log that lost its tail (no fsync before a crash) cannot claim more than it holds
        assertThat(new PartitionOwner(A0, Uuid.randomUuid(), context, log, 2, null, 25).highWatermark()).isEqualTo(10);
        assertThat(new PartitionOwner(A0, Uuid.randomUuid(), context, log, 2, null, -1).highWatermark()).isZero();
        log.deleteRecordsBefore(4);
        assertThat(new PartitionOwner(A0, Uuid.randomUuid(), context, log, 2, null, 2).highWatermark()).isEqualTo(4);
        log.close();
    }
    @Test
    void aDirectoryWhoseCheckpointCannotBeWrittenIsReportedAndTheOthersAreStillWritten() throws Exception {
        Path broken = dir.resolve("broken");
        Path fine = dir.resolve("fine");
        Files.createDirectories(broken);
        Files.createDirectories(fine);
        // the checkpoint cannot replace a non-empty directory that stands where its file goes
        Files.createDirectories(ReplicationOffsetCheckpoint.file(broken).resolve("x"));
        List<Path> failed = new java.util.concurrent.CopyOnWriteArrayList<>();
        HighWatermarkCheckpoints checkpoints = new HighWatermarkCheckpoints(vertx, (d, e) -> failed.add(d));
        checkpoints.write(List.of(broken, fine), Map.of(broken, Map.of(A0, 1L), fine, Map.of(A1, 2L)))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(failed).containsExactly(broken);
        assertThat(ReplicationOffsetCheckpoint.read(fine)).isEqualTo(Map.of(A1, 2L));
    }
}
