package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.appendValues;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class RecoveryTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    private static Path file(Path dir, long base, String suffix) {
        return dir.resolve(String.format("%020d%s", base, suffix));
    }

    @Test
    void truncatesTornTailOnRecovery() throws Exception {
        PartitionLog crashed = open(dir, config(), time);
        List<String> values = appendValues(crashed, 3);
        long lastBatchSize = batch(T0, "value-000").sizeInBytes();
        crashed.closeWithoutShutdown();
        Path segment = file(dir, 0, ".log");
        long size = Files.size(segment);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);
        }

        try (PartitionLog log = open(dir, config(), time)) {
            assertThat(log.logEndOffset()).isEqualTo(2);
            assertThat(Files.size(segment)).isEqualTo(size - lastBatchSize);
            assertThat(readValues(log, 0)).containsExactlyElementsOf(values.subList(0, 2));
            log.appendAsLeader(batch(T0, "after"), 1);
            assertThat(readValues(log, 0)).containsExactly("value-000", "value-001", "after");
        }
    }

    @Test
    void truncatesGarbageAppendedAfterTheLastBatch() throws Exception {
        PartitionLog crashed = open(dir, config(), time);
        List<String> values = appendValues(crashed, 4);
        crashed.closeWithoutShutdown();
        Path segment = file(dir, 0, ".log");
        long size = Files.size(segment);
        byte[] garbage = new byte[300];
        new Random(7).nextBytes(garbage);
        // a plausible header: offset 4, a small length, so the scan must reject it by CRC
        ByteBuffer.wrap(garbage).putLong(4L).putInt(100);
        Files.write(segment, garbage, StandardOpenOption.APPEND);

        try (PartitionLog log = open(dir, config(), time)) {
            assertThat(Files.size(segment)).isEqualTo(size);
            assertThat(log.logEndOffset()).isEqualTo(4);
            assertThat(readValues(log, 0)).containsExactlyElementsOf(values);
        }
    }

    @Test
    void dropsSegmentsAfterACorruptBatch() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        PartitionLog crashed = open(dir, cfg, time);
        appendValues(crashed, 9);
        assertThat(crashed.segmentBaseOffsets()).containsExactly(0L, 3L, 6L);
        crashed.closeWithoutShutdown();
        Path middle = file(dir, 3, ".log");
        try (FileChannel ch = FileChannel.open(middle, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long pos = batchSize + batchSize - 2; // inside the second batch's value
            ch.read(one, pos);
            one.put(0, (byte) (one.get(0) ^ 0x01)).rewind();
            ch.write(one, pos);
        }

        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.logEndOffset()).isEqualTo(4);
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 3L);
            assertThat(file(dir, 6, ".log")).doesNotExist();
            assertThat(readValues(log, 0)).containsExactly("value-000", "value-001", "value-002", "value-003");
        }
    }

    @Test
    void rebuildsACorruptOffsetIndex() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 1, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 20);
        }
        Path index = file(dir, 0, ".index");
        assertThat(Files.size(index)).isPositive().isEqualTo(Files.size(index) / 8 * 8);
        // entries out of order: relative offset 19 first
        ByteBuffer bad = ByteBuffer.allocate((int) Files.size(index));
        bad.putInt(19).putInt(0);
        Files.write(index, bad.array());

        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.logEndOffset()).isEqualTo(20);
            for (long offset : new long[] {0, 7, 19}) {
                LogBatch first = log.read(offset, 1, Long.MAX_VALUE, true).records().toRecordSet()
                        .batches().iterator().next();
                assertThat(first.baseOffset()).isEqualTo(offset);
            }
        }
    }

    @Test
    void rebuildsAnIndexThatNeedsMoreEntriesThanTheTrimmedFileHeld() throws Exception {
        LogConfig sparse = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 1 << 20, 0, false);
        try (PartitionLog log = open(dir, sparse, time)) {
            appendValues(log, 30);
            log.forceRoll();
        }
        assertThat(Files.size(file(dir, 0, ".index"))).isZero();
        // one entry pointing into the middle of a batch: sane-looking, but wrong
        Files.write(file(dir, 0, ".index"), ByteBuffer.allocate(8).putInt(5).putInt(3).array());
        LogConfig dense = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 1, 0, false);
        try (PartitionLog log = open(dir, dense, time)) {
            assertThat(readValues(log, 17)).hasSize(13);
            log.appendAsLeader(batch(T0, "more"), 1);
        }
        assertThat(Files.size(file(dir, 0, ".index")) / 8).isGreaterThanOrEqualTo(29);
    }

    @Test
    void rebuildsMissingIndexesWithKafkasEntryLayout() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 1, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 10);
        }
        Files.delete(file(dir, 0, ".index"));
        Files.delete(file(dir, 0, ".timeindex"));

        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.offsetForTimestamp(T0 + 6).orElseThrow().offset()).isEqualTo(6);
            assertThat(log.read(8, 1, Long.MAX_VALUE, true).records().toRecordSet().batches().iterator().next()
                    .baseOffset()).isEqualTo(8);
        }
        // each .index entry is (relative offset, position of the batch holding it), as Kafka writes it
        ByteBuffer index = ByteBuffer.wrap(Files.readAllBytes(file(dir, 0, ".index")));
        assertThat(index.remaining() % 8).isZero();
        assertThat(index.remaining()).isPositive();
        try (RecordFormat.SegmentFile records = RecordFormat.SegmentFile.open(file(dir, 0, ".log").toFile());
             var pin = records.pin()) {
            while (index.hasRemaining()) {
                int relative = index.getInt();
                int position = index.getInt();
                LogBatch b = records.batchesFrom(position, records.sizeInBytes()).iterator().next();
                assertThat(b.lastOffset()).isEqualTo(relative);
            }
        }
        ByteBuffer timeIndex = ByteBuffer.wrap(Files.readAllBytes(file(dir, 0, ".timeindex")));
        assertThat(timeIndex.remaining() % 12).isZero();
        long lastTs = -1;
        while (timeIndex.hasRemaining()) {
            long ts = timeIndex.getLong();
            int rel = timeIndex.getInt();
            assertThat(ts).isGreaterThan(lastTs).isEqualTo(T0 + rel);
            lastTs = ts;
        }
        assertThat(lastTs).isEqualTo(T0 + 9);
    }

    @Test
    void cleanShutdownMarkerIsWrittenOnCloseAndRemovedOnOpen() throws Exception {
        Path marker = dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE);
        try (PartitionLog log = open(dir, config(), time)) {
            appendValues(log, 2);
            assertThat(marker).doesNotExist();
        }
        assertThat(marker).exists();
        try (PartitionLog log = open(dir, config(), time)) {
            assertThat(marker).doesNotExist();
            assertThat(log.logEndOffset()).isEqualTo(2);
            assertThat(log.recoveryPoint()).isEqualTo(2);
        }
    }

    @Test
    void flushAdvancesTheRecoveryPointThatCloseCheckpoints() throws Exception {
        Path checkpoint = dir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE);
        try (PartitionLog log = open(dir, config(), time)) {
            appendValues(log, 3);
            assertThat(log.recoveryPoint()).isZero();
            log.flush();
            assertThat(log.recoveryPoint()).isEqualTo(3);
            // a flush writes no checkpoint (Kafka's log.flush.offset.checkpoint.interval.ms does, or a close)
            assertThat(checkpoint).doesNotExist();
        }
        assertThat(Files.readAllLines(checkpoint)).containsExactly("0", "1", "t 0 3");
        assertThat(dir.resolve(PartitionLog.RECOVERY_POINT_FILE)).doesNotExist();
    }

    @Test
    void flushIfNeededFollowsFlushMessagesAndFlushMs() throws Exception {
        LogConfig c = config();
        LogConfig cfg = new LogConfig(c.segmentBytes(), c.segmentMs(), c.retentionMs(), c.retentionBytes(),
                c.maxMessageBytes(), c.indexIntervalBytes(), c.segmentIndexBytes(), 3, 1000, c.fileDeleteDelayMs(),
                false, true, false, Long.MAX_VALUE, Long.MAX_VALUE);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 2);
            assertThat(log.flushDue()).isFalse();
            assertThat(log.flushIfNeeded()).isFalse();
            log.appendAsLeader(batch(T0, "third"), 1);
            // the owner flushes (group commit): the append only says a flush is due
            assertThat(log.flushDue()).isTrue();
            assertThat(log.flushIfNeeded()).isTrue();
            assertThat(log.recoveryPoint()).isEqualTo(3);
            log.appendAsLeader(batch(T0, "fourth"), 1);
            assertThat(log.flushDue()).isFalse();
            assertThat(log.flushIfNeeded()).isFalse();
            time.sleep(1000);
            assertThat(log.flushIfNeeded()).isTrue();
            assertThat(log.recoveryPoint()).isEqualTo(4);
        }
    }

    @Test
    void deleteRecordsBeforeSurvivesReopen() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 9);
            assertThat(log.deleteRecordsBefore(5)).isEqualTo(5);
            assertThat(log.logStartOffset()).isEqualTo(5);
            assertThat(log.segmentBaseOffsets()).containsExactly(3L, 6L);
            assertThatThrownBy(() -> log.read(4, 100, Long.MAX_VALUE, true))
                    .isInstanceOf(OffsetOutOfRangeException.class);
            assertThatThrownBy(() -> log.deleteRecordsBefore(10)).isInstanceOf(OffsetOutOfRangeException.class);
            assertThat(log.deleteRecordsBefore(2)).isEqualTo(5);
        }
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.logStartOffset()).isEqualTo(5);
            assertThat(readValues(log, 5)).containsExactly("value-005", "value-006", "value-007", "value-008");
            log.closeWithoutShutdown();
        }
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.logStartOffset()).isEqualTo(5);
            assertThat(log.offsetForTimestamp(T0).orElseThrow().offset()).isEqualTo(5);
        }
    }
}
