package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.TP;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A roll flushes the segments below the new one and moves the recovery point to its base offset, as
 * Kafka's roll schedules flushUptoOffsetExclusive: whatever flush.messages says, a crash then rescans only
 * what was written since the last roll.
 */
@Timeout(30)
class RollFlushTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final int batchSize = batch(T0, "value-000").sizeInBytes();
    // three one-record batches a segment; flush.messages and flush.ms at their defaults (never)
    private final LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);

    private static void append(PartitionLog log, int i) {
        log.appendAsLeader(batch(T0 + i, String.format("value-%03d", i)), 1);
    }

    @Test
    void rollFlushesTheSegmentsBelowTheNewOneAndMovesTheRecoveryPointToItsBase() throws Exception {
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 3; i++) {
                append(log, i);
            }
            assertThat(log.rollFlushDue()).isFalse();
            append(log, 3);
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 3L);
            assertThat(log.rollFlushDue()).as("the roll to 3 left segment 0 unflushed").isTrue();
            assertThat(log.recoveryPoint()).isZero();
            long flushes = log.flushCount();

            log.flushRolledSegments();
            assertThat(log.recoveryPoint()).isEqualTo(3);
            assertThat(log.flushCount()).isEqualTo(flushes + 1);
            assertThat(log.rollFlushDue()).isFalse();
            assertThat(log.flushDue()).as("flush.messages is not lowered by a roll").isFalse();

            log.flushRolledSegments();
            assertThat(log.flushCount()).as("nothing rolled since").isEqualTo(flushes + 1);
            log.flush();
            assertThat(log.recoveryPoint()).as("the active segment's record, by a full flush").isEqualTo(4);
        }
    }

    @Test
    void crashRescansOnlyTheSegmentWrittenSinceTheLastRoll() throws Exception {
        Path partitionDir = dir.resolve("t-0");
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(dir);
        PartitionLog crashed = PartitionLog.open(TP, partitionDir, cfg, time, checkpoints);
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            append(crashed, i);
            values.add(String.format("value-%03d", i));
            // what the partition owner does after an append that rolled
            if (crashed.rollFlushDue()) {
                crashed.flushRolledSegments();
            }
        }
        assertThat(crashed.segmentBaseOffsets()).containsExactly(0L, 3L, 6L, 9L);
        assertThat(crashed.recoveryPoint()).isEqualTo(9);
        // the periodic recovery-point checkpoint (log.flush.offset.checkpoint.interval.ms), then a kill -9
        checkpoints.writeRecoveryPoints();
        crashed.closeWithoutShutdown();

        try (PartitionLog log = PartitionLog.open(TP, partitionDir, cfg, time, new LogDirCheckpoints(dir))) {
            assertThat(log.segmentsRecoveredOnOpen()).as("only the active segment").isEqualTo(1);
            assertThat(log.bytesRecoveredOnOpen()).isEqualTo(2L * batchSize);
            assertThat(log.logEndOffset()).isEqualTo(11);
            assertThat(readValues(log, 0)).containsExactlyElementsOf(values);
        }
    }

    @Test
    void withoutARollFlushACrashRescansFromTheLastFlush() throws Exception {
        Path partitionDir = dir.resolve("t-0");
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(dir);
        PartitionLog crashed = PartitionLog.open(TP, partitionDir, cfg, time, checkpoints);
        for (int i = 0; i < 11; i++) {
            append(crashed, i);
        }
        checkpoints.writeRecoveryPoints();
        crashed.closeWithoutShutdown();

        try (PartitionLog log = PartitionLog.open(TP, partitionDir, cfg, time, new LogDirCheckpoints(dir))) {
            assertThat(log.segmentsRecoveredOnOpen()).as("every segment since offset 0").isEqualTo(4);
            assertThat(log.bytesRecoveredOnOpen()).isEqualTo(11L * batchSize);
            assertThat(log.logEndOffset()).isEqualTo(11);
        }
    }

    @Test
    void aTruncationBelowTheRolledSegmentCancelsItsFlush() throws Exception {
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 4; i++) {
                append(log, i);
            }
            assertThat(log.rollFlushDue()).isTrue();
            log.truncateTo(2);
            assertThat(log.rollFlushDue()).isFalse();
            log.flushRolledSegments();
            assertThat(log.recoveryPoint()).as("never above the log end").isZero();
            log.flush();
            assertThat(log.recoveryPoint()).isEqualTo(2);
        }
    }
}
