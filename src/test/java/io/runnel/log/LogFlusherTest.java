package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.config;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flush.messages / flush.ms decision and the recovery point, on a manual clock. The recovery point is
 * persisted by the log directory's checkpoint (LogDirCheckpointsTest), never by the flusher.
 */
@Timeout(30)
class LogFlusherTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final LogSegments segments = new LogSegments();
    private LogConfig cfg = flushing(Long.MAX_VALUE, Long.MAX_VALUE);

    private static LogConfig flushing(long flushMessages, long flushMs) {
        LogConfig c = config();
        return new LogConfig(c.segmentBytes(), c.segmentMs(), c.retentionMs(), c.retentionBytes(),
                c.maxMessageBytes(), c.indexIntervalBytes(), c.segmentIndexBytes(), flushMessages, flushMs,
                c.fileDeleteDelayMs(), false, true, false, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    @BeforeEach
    void oneSegment() throws Exception {
        segments.add(LogSegment.open(dir, 0, cfg, time));
    }

    @AfterEach
    void close() throws Exception {
        LogTestSupport.closeAll(segments);
    }

    private LogFlusher flusher(long recoveryPoint) {
        return new LogFlusher(dir, time, () -> cfg, segments, recoveryPoint, time.milliseconds());
    }

    private void assertNoPerPartitionCheckpoint() {
        assertThat(dir.resolve(PartitionLog.RECOVERY_POINT_FILE)).as("kept in the log directory's checkpoint")
                .doesNotExist();
    }

    @Test
    void flushIsDueOnceFlushMessagesOffsetsWereAppended() throws Exception {
        cfg = flushing(3, Long.MAX_VALUE);
        LogFlusher flusher = flusher(0);
        flusher.appended(2);
        assertThat(flusher.flushDue()).isFalse();
        flusher.appended(1);
        assertThat(flusher.flushDue()).isTrue();

        flusher.flush(3);
        assertThat(flusher.flushDue()).isFalse();
        assertThat(flusher.flushCount()).isEqualTo(1);
        assertThat(flusher.recoveryPoint()).isEqualTo(3);
        assertNoPerPartitionCheckpoint();
    }

    @Test
    void flushIsDueAfterFlushMsOnlyWithSomethingUnflushed() {
        cfg = flushing(Long.MAX_VALUE, 1000);
        LogFlusher flusher = flusher(0);
        time.sleep(5000);
        assertThat(flusher.flushDue()).as("nothing appended").isFalse();
        flusher.appended(1);
        assertThat(flusher.flushDue()).as("the last flush is long ago").isTrue();
    }

    @Test
    void flushMsCountsFromTheLastFlush() throws Exception {
        cfg = flushing(Long.MAX_VALUE, 1000);
        LogFlusher flusher = flusher(0);
        time.sleep(500);
        flusher.flush(0);
        flusher.appended(1);
        time.sleep(999);
        assertThat(flusher.flushDue()).isFalse();
        time.sleep(1);
        assertThat(flusher.flushDue()).isTrue();
    }

    @Test
    void recoveryPointOnlyMovesForwardOnFlushAndBackOnTruncation() throws Exception {
        LogFlusher flusher = flusher(5);
        flusher.flush(4);
        assertThat(flusher.recoveryPoint()).isEqualTo(5);

        assertThat(flusher.truncatedTo(7)).as("above the recovery point: no checkpoint due").isFalse();
        assertThat(flusher.recoveryPoint()).isEqualTo(5);
        assertThat(flusher.truncatedTo(2)).as("below: the caller checkpoints at once").isTrue();
        assertThat(flusher.recoveryPoint()).isEqualTo(2);
        flusher.flush(9);
        assertThat(flusher.recoveryPoint()).isEqualTo(9);
        assertNoPerPartitionCheckpoint();
    }

    @Test
    void flushWithNothingChangedSinceTheLastForcesNothing() throws Exception {
        LogFlusher flusher = flusher(0);
        flusher.flush(0);
        assertThat(flusher.flushCount()).as("an idle log").isZero();

        flusher.appended(2);
        flusher.flush(2);
        assertThat(flusher.flushCount()).isEqualTo(1);
        flusher.flush(2);
        assertThat(flusher.flushCount()).as("nothing appended since").isEqualTo(1);

        flusher.segmentCreated();
        flusher.flush(2);
        assertThat(flusher.flushCount()).as("a roll's new files need the directory fsynced").isEqualTo(2);

        flusher.truncatedTo(2);
        flusher.flush(2);
        assertThat(flusher.flushCount()).as("a truncation at the end still changed the segment files").isEqualTo(3);
    }
    @Test
    void flushUpToARolledSegmentKeepsCountingWhatWasAppendedAboveIt() throws Exception {
        cfg = flushing(3, Long.MAX_VALUE);
        segments.add(LogSegment.open(dir, 2, cfg, time));
        LogFlusher flusher = flusher(0);
        flusher.appended(2);
        flusher.rolled(2);
        flusher.appended(1);
        assertThat(flusher.rollFlushDue()).isTrue();
        assertThat(flusher.flushDue()).isTrue();

        flusher.flushUpTo(flusher.rolledTo(), 3);
        assertThat(flusher.recoveryPoint()).isEqualTo(2);
        assertThat(flusher.rollFlushDue()).isFalse();
        assertThat(flusher.flushCount()).isEqualTo(1);
        assertThat(flusher.flushDue()).as("one offset above the recovery point").isFalse();
        flusher.appended(2);
        assertThat(flusher.flushDue()).as("three now").isTrue();
        flusher.flush(5);
        assertThat(flusher.recoveryPoint()).isEqualTo(5);
    }

    @Test
    void aTruncationBelowTheRolledSegmentDropsItsFlush() throws Exception {
        LogFlusher flusher = flusher(0);
        flusher.appended(4);
        flusher.rolled(3);
        assertThat(flusher.truncatedTo(2)).isFalse();
        assertThat(flusher.rollFlushDue()).isFalse();
        flusher.flushUpTo(flusher.rolledTo(), 2);
        assertThat(flusher.recoveryPoint()).isZero();
        assertThat(flusher.flushCount()).isZero();
    }
}
