package io.runnel.partition;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.runnel.log.LogAppendResult;
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
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GroupCommitTest {

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void appendsQueuedTogetherShareOneFsyncAndAreAckedOnlyAfterIt() throws Exception {
        ShardVerticle shard = new ShardVerticle();
        vertx.deployVerticle(shard, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        Context context = shard.ownContext();
        LogConfig d = LogConfig.defaults();
        // flush.messages=1: every append must be on disk before it is acknowledged
        LogConfig config = new LogConfig(d.segmentBytes(), d.segmentMs(), d.retentionMs(), d.retentionBytes(),
                d.maxMessageBytes(), d.indexIntervalBytes(), d.segmentIndexBytes(), 1, d.flushMs(),
                d.fileDeleteDelayMs(), false, true, false, d.messageTimestampBeforeMaxMs(), d.messageTimestampAfterMaxMs());
        TopicPartition tp = new TopicPartition("gc", 0);
        PartitionLog log = PartitionLog.open(tp, dir.resolve("gc-0"), config, Time.SYSTEM);
        PartitionOwner owner = new PartitionOwner(tp, Uuid.randomUuid(), context, log, 0, 1);

        // hold the owner's context so that 50 appends queue up behind each other
        CountDownLatch gate = new CountDownLatch(1);
        context.runOnContext(v -> {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        List<Future<LogAppendResult>> acks = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            acks.add(owner.append(RecordSet.of(
                    new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, ("v" + i).getBytes())), (short) 1));
        }
        long flushesBefore = log.flushCount();
        gate.countDown();
        Future.all(acks).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(log.flushCount() - flushesBefore).isEqualTo(1);
        for (int i = 0; i < 50; i++) {
            assertThat(acks.get(i).result().firstOffset()).isEqualTo(i);
        }
        assertThat(log.recoveryPoint()).isEqualTo(50);
        context.runOnContext(v -> {
            try {
                log.close();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }
}
