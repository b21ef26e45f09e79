package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class RetentionTest {

    private static final long HOUR = 3600_000L;

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final int batchSize = batch(T0, "value-000").sizeInBytes();

    private long files(String suffix) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
        }
    }

    @Test
    void deletesSegmentsWhoseNewestRecordIsOlderThanRetentionMs() throws Exception {
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, 10 * HOUR, -1, 1 << 20, 4096, 60_000, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 6; i++) {
                time.ms = T0 + i * HOUR;
                log.appendAsLeader(batch(T0 + i * HOUR, String.format("value-%03d", i)), 0);
            }
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L, 4L);
            time.ms = T0 + 13 * HOUR + 1; // segment 0 newest is T0+1h, segment 2 newest T0+3h
            assertThat(log.deleteExpiredSegments()).isEqualTo(2);
            assertThat(log.segmentBaseOffsets()).containsExactly(4L);
            assertThat(log.logStartOffset()).isEqualTo(4);
            assertThat(readValues(log, 4)).containsExactly("value-004", "value-005");
            assertThat(files(".deleted")).isEqualTo(6);

            time.sleep(59_999);
            assertThat(log.deleteScheduledFiles()).isZero();
            time.sleep(1);
            assertThat(log.deleteScheduledFiles()).isEqualTo(2);
            assertThat(files(".deleted")).isZero();
        }
    }

    @Test
    void sliceReadBeforeDeletionStaysReadableUntilTheDeleteDelay() throws Exception {
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, HOUR, -1, 1 << 20, 4096, 60_000, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 4; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%03d", i)), 0);
            }
            LogSlice slice = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE, true).records();
            time.sleep(2 * HOUR);
            assertThat(log.deleteExpiredSegments()).isEqualTo(2);
            assertThat(LogTestSupport.values(slice.toRecordSet())).containsExactly("value-000", "value-001");
        }
    }

    @Test
    void deletesOldestSegmentsBeyondRetentionBytes() throws Exception {
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, -1, batchSize * 3L, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 7; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%03d", i)), 0);
            }
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L, 4L, 6L);
            // 7 batches, limit 3: dropping segments 0 and 2 leaves 3 batches
            assertThat(log.deleteExpiredSegments()).isEqualTo(2);
            assertThat(log.segmentBaseOffsets()).containsExactly(4L, 6L);
            assertThat(log.sizeInBytes()).isEqualTo(batchSize * 3L);
            assertThat(log.deleteExpiredSegments()).isZero();
        }
    }

    @Test
    void expiredActiveSegmentIsRolledAndDeleted() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, Long.MAX_VALUE, HOUR, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            log.appendAsLeader(batch(T0, "a"), 0);
            log.appendAsLeader(batch(T0, "b"), 0);
            time.sleep(HOUR + 1);
            assertThat(log.deleteExpiredSegments()).isEqualTo(1);
            assertThat(log.segmentBaseOffsets()).containsExactly(2L);
            assertThat(log.logStartOffset()).isEqualTo(2);
            assertThat(log.logEndOffset()).isEqualTo(2);
            assertThat(log.sizeInBytes()).isZero();
            // nothing left to delete: the empty active segment stays
            assertThat(log.deleteExpiredSegments()).isZero();
            log.appendAsLeader(batch(T0 + HOUR, "c"), 0);
            assertThat(readValues(log, 2)).containsExactly("c");
        }
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.logStartOffset()).isEqualTo(2);
            assertThat(log.logEndOffset()).isEqualTo(3);
        }
    }

    @Test
    void neverDeletesDataAboveTheHighWatermark() throws Exception {
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, HOUR, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 6; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%03d", i)), 0);
            }
            time.sleep(2 * HOUR);
            assertThat(log.deleteExpiredSegments(3)).isEqualTo(1);
            assertThat(log.segmentBaseOffsets()).containsExactly(2L, 4L);
        }
    }

    @Test
    void deleteWithoutRetentionPolicyKeepsEverything() throws Exception {
        LogConfig base = with(config(), batchSize * 2, Long.MAX_VALUE, HOUR, -1, 1 << 20, 4096, 0, false);
        LogConfig cfg = new LogConfig(base.segmentBytes(), base.segmentMs(), base.retentionMs(), base.retentionBytes(),
                base.maxMessageBytes(), base.indexIntervalBytes(), base.segmentIndexBytes(), base.flushMessages(),
                base.flushMs(), base.fileDeleteDelayMs(), true, false, false, Long.MAX_VALUE, Long.MAX_VALUE);
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 4; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%03d", i)), 0);
            }
            time.sleep(2 * HOUR);
            assertThat(log.deleteExpiredSegments()).isZero();
            assertThat(log.logStartOffset()).isZero();
        }
    }
}
