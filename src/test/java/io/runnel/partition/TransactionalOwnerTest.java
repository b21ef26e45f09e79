package io.runnel.partition;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.runnel.log.AppendOrigin;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The owner's last stable offset: transactions replayed on open and closed below its high watermark. */
@Timeout(30)
class TransactionalOwnerTest {

    private static final TopicPartition TP = new TopicPartition("txn", 0);
    private static final long PID = 77L;

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

    /** A log holding an aborted transaction and whose producer state must be rebuilt by a replay. */
    private PartitionLog replayedLog() throws Exception {
        Path logDir = dir.resolve("txn-0");
        try (PartitionLog log = PartitionLog.open(TP, logDir, LogConfig.defaults(), Time.SYSTEM)) {
            log.appendAsLeader(RecordSet.builder().transactional(PID, (short) 0, 0)
                    .add(LogBatch.NO_TIMESTAMP, "k".getBytes(), "v".getBytes()).build(), 0);
            log.appendAsLeader(RecordSet.endTransactionMarker(0L, System.currentTimeMillis(), -1, PID, (short) 0,
                    false, 0), 0, AppendOrigin.COORDINATOR);
        }
        try (DirectoryStream<Path> snapshots = Files.newDirectoryStream(logDir, "*.snapshot")) {
            for (Path p : snapshots) {
                Files.delete(p);
            }
        }
        return PartitionLog.open(TP, logDir, LogConfig.defaults(), Time.SYSTEM);
    }

    @Test
    void standaloneOwnerServesTheHighWatermarkOnceReplayedTransactionsAreClosed() throws Exception {
        PartitionLog log = replayedLog();
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), context, log, 0, 1);
        assertThat(owner.highWatermark()).isEqualTo(2);
        assertThat(owner.lastStableOffset()).isEqualTo(2);
        await(owner.submit(() -> {
            log.close();
            return null;
        }));
    }

    @Test
    void replicatedOwnerStartingAtItsCheckpointedHighWatermarkDoesTheSame() throws Exception {
        PartitionLog log = replayedLog();
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), context, log, 1, null, 2);
        assertThat(owner.lastStableOffset()).isEqualTo(2);
        // below the marker the transaction still counts as open
        PartitionLog again = log;
        await(owner.submit(() -> {
            again.close();
            return null;
        }));
        PartitionLog reopened = replayedLog();
        PartitionOwner behind = new PartitionOwner(TP, Uuid.randomUuid(), context, reopened, 1, null, 1);
        assertThat(behind.lastStableOffset()).isZero();
        await(behind.submit(() -> {
            reopened.close();
            return null;
        }));
    }
}
