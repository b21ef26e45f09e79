package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.records;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Retention's decisions on a segment set built by hand, without a PartitionLog around it. */
@Timeout(30)
class LogRetentionTest {

    private static final long HOUR = 3600_000L;

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final LogSegments segments = new LogSegments();
    private LogConfig cfg = config();

    @AfterEach
    void close() throws Exception {
        LogTestSupport.closeAll(segments);
    }

    /** A segment at {@code base} holding one batch of {@code count} records stamped {@code timestamp}. */
    private LogSegment segment(long base, long timestamp, int count) throws Exception {
        LogSegment seg = LogSegment.open(dir, base, cfg, time);
        if (count > 0) {
            String[] values = new String[count];
            for (int i = 0; i < count; i++) {
                values[i] = "value-" + (base + i);
            }
            seg.append(RecordSet.builder().baseOffset(base).addAll(records(timestamp, values)).build());
        }
        segments.add(seg);
        return seg;
    }

    private LogRetention retention(long logStartOffset) throws Exception {
        return new LogRetention(LogTestSupport.TP, time, () -> cfg, segments, new LeaderEpochCache(dir),
                new ProducerStateManager(dir), logStartOffset);
    }

    private static List<Long> bases(List<LogSegment> segs) {
        return segs.stream().map(s -> s.baseOffset).toList();
    }

    /** Segments 0, 2 and 4 (active), two records each, newest timestamps T0, T0+1h and T0+5h. */
    private void threeSegments() throws Exception {
        segment(0, T0, 2);
        segment(2, T0 + HOUR, 2);
        segment(4, T0 + 5 * HOUR, 2);
    }

    @Test
    void deletesLeadingSegmentsWhoseNewestRecordIsOlderThanRetentionMs() throws Exception {
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, 2 * HOUR, -1, 1 << 20, 4096, 0, false);
        threeSegments();
        LogRetention retention = retention(0);
        assertThat(retention.expiredSegments(6, 6, T0 + 2 * HOUR)).isEmpty();
        assertThat(bases(retention.expiredSegments(6, 6, T0 + 2 * HOUR + 1))).containsExactly(0L);
        assertThat(bases(retention.expiredSegments(6, 6, T0 + 3 * HOUR + 1))).containsExactly(0L, 2L);
        // the active segment too, once all of it has expired: the log rolls before deleting it
        assertThat(bases(retention.expiredSegments(6, 6, T0 + 7 * HOUR + 1))).containsExactly(0L, 2L, 4L);
    }

    @Test
    void stopsAtTheFirstSegmentItKeeps() throws Exception {
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, 2 * HOUR, -1, 1 << 20, 4096, 0, false);
        segment(0, T0 + 5 * HOUR, 2);
        segment(2, T0, 2);
        segment(4, T0 + 5 * HOUR, 2);
        assertThat(retention(0).expiredSegments(6, 6, T0 + 3 * HOUR)).isEmpty();
    }

    @Test
    void neverDeletesASegmentReachingAboveTheHighWatermark() throws Exception {
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, 0, -1, 1 << 20, 4096, 0, false);
        threeSegments();
        LogRetention retention = retention(0);
        long later = T0 + 10 * HOUR;
        assertThat(retention.expiredSegments(6, 0, later)).isEmpty();
        assertThat(retention.expiredSegments(6, 1, later)).isEmpty();
        assertThat(bases(retention.expiredSegments(6, 2, later))).containsExactly(0L);
        assertThat(bases(retention.expiredSegments(6, 5, later))).containsExactly(0L, 2L);
    }

    @Test
    void deletesOldestSegmentsUntilTheLogFitsRetentionBytes() throws Exception {
        threeSegments();
        long each = segments.get(0).size();
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, -1, 2 * each, 1 << 20, 4096, 0, false);
        LogRetention retention = retention(0);
        assertThat(bases(retention.expiredSegments(6, 6, T0))).containsExactly(0L);
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, -1, each, 1 << 20, 4096, 0, false);
        assertThat(bases(retention.expiredSegments(6, 6, T0))).containsExactly(0L, 2L);
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, -1, 3 * each, 1 << 20, 4096, 0, false);
        assertThat(retention.expiredSegments(6, 6, T0)).isEmpty();
    }

    @Test
    void compactedLogLosesOnlySegmentsBelowTheLogStartOffset() throws Exception {
        threeSegments();
        // retention.ms 0 and retention.bytes 0 would delete everything, but cleanup.policy has no delete
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, 0, 0, 1 << 20, 4096, 0, false)
                .withCompaction(true, false, CompactionConfig.defaults());
        assertThat(retention(0).expiredSegments(6, 6, T0 + 10 * HOUR)).isEmpty();
        assertThat(retention(1).expiredSegments(6, 6, T0 + 10 * HOUR)).isEmpty();
        assertThat(bases(retention(2).expiredSegments(6, 6, T0 + 10 * HOUR))).containsExactly(0L);
        assertThat(bases(retention(5).expiredSegments(6, 6, T0 + 10 * HOUR))).containsExactly(0L, 2L);
    }

    @Test
    void neverReturnsAnEmptyActiveSegment() throws Exception {
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, 0, -1, 1 << 20, 4096, 0, false);
        segment(0, T0, 2);
        segment(2, T0, 0);
        assertThat(bases(retention(0).expiredSegments(2, 2, T0 + HOUR))).containsExactly(0L);
    }

    @Test
    void deleteRecordsMovesTheStartAndSchedulesWholeSegmentsBelowIt() throws Exception {
        cfg = with(config(), 1 << 20, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 60_000, false);
        threeSegments();
        LogRetention retention = retention(0);

        assertThat(retention.deleteRecordsBefore(3, 6)).isEqualTo(3);
        assertThat(retention.logStartOffset()).isEqualTo(3);
        // persisted by the log directory's checkpoint, soon after (DeleteRecordsHandlerTest), not here
        assertThat(dir.resolve(PartitionLog.LOG_START_OFFSET_FILE)).doesNotExist();
        assertThat(segments.baseOffsets()).containsExactly(2L, 4L);
        assertThat(dir.resolve(LogSegment.fileName(0, LogSegment.LOG_SUFFIX) + LogSegment.DELETED_SUFFIX)).exists();

        assertThat(retention.deleteRecordsBefore(1, 6)).as("never moves back").isEqualTo(3);
        assertThatThrownBy(() -> retention.deleteRecordsBefore(7, 6)).isInstanceOf(OffsetOutOfRangeException.class);

        time.sleep(59_999);
        assertThat(retention.deleteScheduledFiles()).isZero();
        time.sleep(1);
        assertThat(retention.deleteScheduledFiles()).isEqualTo(1);
        assertThat(dir.resolve(LogSegment.fileName(0, LogSegment.LOG_SUFFIX) + LogSegment.DELETED_SUFFIX))
                .doesNotExist();
    }

    @Test
    void deletingSegmentsRaisesTheLogStartToTheFirstSegmentLeft() throws Exception {
        threeSegments();
        LogRetention retention = retention(1);
        retention.deleteSegments(List.of(segments.get(0), segments.get(2)));
        assertThat(retention.logStartOffset()).isEqualTo(4);
        assertThat(segments.baseOffsets()).containsExactly(4L);
        // no checkpoint needed: the first segment file left on disk is where a reload starts the log
        assertThat(dir.resolve(PartitionLog.LOG_START_OFFSET_FILE)).doesNotExist();
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(LogSegment.LOG_SUFFIX))
                    .sorted().findFirst()).hasValue(LogSegment.fileName(4, LogSegment.LOG_SUFFIX));
        }
        retention.deleteAllScheduledFiles();
    }
}
