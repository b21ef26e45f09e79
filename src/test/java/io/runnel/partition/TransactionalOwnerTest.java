package io.runnel.partition;

import static io.runnel.partition.OwnerFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

import io.runnel.log.AppendOrigin;
import io.runnel.log.LogBatch;
import io.runnel.log.LogConfig;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The owner's last stable offset: transactions replayed on open and closed below its high watermark. */
@Timeout(30)
class TransactionalOwnerTest {

    private static final TopicPartition TP = new TopicPartition("txn", 0);
    private static final long PID = 77L;

    @TempDir
    Path dir;
    @RegisterExtension
    final OwnerFixture fx = new OwnerFixture();

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
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), fx.context, log, 0, 1);
        assertThat(owner.highWatermark()).isEqualTo(2);
        assertThat(owner.lastStableOffset()).isEqualTo(2);
        fx.closeOnContext(log);
    }

    @Test
    void replicatedOwnerStartingAtItsCheckpointedHighWatermarkDoesTheSame() throws Exception {
        PartitionLog log = replayedLog();
        PartitionOwner owner = new PartitionOwner(TP, Uuid.randomUuid(), fx.context, log, 1, null, 2);
        assertThat(owner.lastStableOffset()).isEqualTo(2);
        // below the marker the transaction still counts as open
        fx.closeOnContext(log);
        PartitionLog reopened = replayedLog();
        PartitionOwner behind = new PartitionOwner(TP, Uuid.randomUuid(), fx.context, reopened, 1, null, 1);
        assertThat(behind.lastStableOffset()).isZero();
        fx.closeOnContext(reopened);
    }
}
