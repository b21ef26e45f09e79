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

import org.apache.kafka.common.errors.CorruptRecordException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files damaged on disk while the node was down, where recovery does not rescan them: a batch of a
 * flushed segment (below the recovery point) is checked the first time it is read and never served if
 * it fails; indexes emptied or cut short are rebuilt; a damaged leader-epoch-checkpoint is rebuilt from
 * the batches.
 */
@Timeout(30)
class CorruptFilesTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    private Path file(long base, String suffix) {
        return dir.resolve(String.format("%020d%s", base, suffix));
    }

    private void flipBit(Path file, long position) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, position);
            one.put(0, (byte) (one.get(0) ^ 0x10)).rewind();
            ch.write(one, position);
        }
    }

    /** Three segments of three one-record batches, closed cleanly, so nothing is rescanned on open. */
    private LogConfig threeSegments() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 9);
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 3L, 6L);
        }
        return cfg;
    }

    @Test
    void neverServesABatchDamagedInAFlushedSegment() throws Exception {
        LogConfig cfg = threeSegments();
        int batchSize = batch(T0, "value-000").sizeInBytes();
        // offset 4: inside the value of the second batch of the middle segment
        flipBit(file(3, ".log"), 2L * batchSize - 2);

        try (PartitionLog log = open(dir, cfg, time)) {
            // a clean shutdown: nothing was rescanned, so nothing was truncated
            assertThat(log.logEndOffset()).isEqualTo(9);
            assertThat(LogTestSupport.values(log.read(0, 1 << 20, 3, true).records().toRecordSet()))
                    .containsExactly("value-000", "value-001", "value-002");
            assertThat(log.read(3, 1, Long.MAX_VALUE, true).records().toRecordSet().batches().iterator().next()
                    .baseOffset()).isEqualTo(3);
            assertThatThrownBy(() -> log.read(4, 1 << 20, Long.MAX_VALUE, true))
                    .isInstanceOf(CorruptRecordException.class)
                    .hasMessageContaining("offset 4").hasMessageContaining("00000000000000000003.log");
            // a read of the whole segment from its start gets the batches before the damaged one only
            assertThat(LogTestSupport.values(log.read(3, 1 << 20, Long.MAX_VALUE, true).records().toRecordSet()))
                    .containsExactly("value-003");
            // and so does every later attempt: a failed check is never recorded as verified
            assertThatThrownBy(() -> log.read(4, 1 << 20, Long.MAX_VALUE, true))
                    .isInstanceOf(CorruptRecordException.class);
            assertThat(readValues(log, 5)).containsExactly("value-005", "value-006", "value-007", "value-008");
        }
    }

    @Test
    void aReadLargerThanOneVerifyChunkServesTheBatchesBeforeTheDamagedOne() throws Exception {
        String value = "v".repeat(1000);
        try (PartitionLog log = open(dir, config(), time)) {
            for (int i = 0; i < 1500; i++) {
                log.appendAsLeader(batch(T0, value + i), 1);
            }
        }
        int batchSize = batch(T0, value + 1000).sizeInBytes();
        // offset 1200, past the first MiB: its batch starts at the sum of the sizes before it
        long position = 0;
        try (RecordFormat.SegmentFile records = RecordFormat.SegmentFile.open(file(0, ".log").toFile());
             var pin = records.pin()) {
            for (LogBatch b : records.batchesFrom(0, records.sizeInBytes())) {
                if (b.baseOffset() == 1200) {
                    break;
                }
                position += b.sizeInBytes();
            }
        }
        assertThat(position).isGreaterThan(1 << 20);
        flipBit(file(0, ".log"), position + batchSize - 3);
        try (PartitionLog log = open(dir, config(), time)) {
            RecordSet served = log.read(0, 2 << 20, Long.MAX_VALUE, true).records().toRecordSet();
            List<String> values = LogTestSupport.values(served);
            assertThat(values).hasSize(1200);
            assertThat(values.get(1199)).isEqualTo(value + 1199);
            assertThatThrownBy(() -> log.read(1200, 2 << 20, Long.MAX_VALUE, true))
                    .isInstanceOf(CorruptRecordException.class).hasMessageContaining("offset 1200");
            assertThat(LogTestSupport.values(log.read(1201, 2 << 20, Long.MAX_VALUE, true).records().toRecordSet()))
                    .hasSize(299);
        }
    }

    @Test
    void checksAFlushedRangeOnceThenServesItWithoutChecking() throws Exception {
        LogConfig cfg = threeSegments();
        try (PartitionLog log = open(dir, cfg, time)) {
            LogSegment middle = log.segmentList().get(1);
            assertThat(middle.verifiedRanges().covers(0, middle.size())).isFalse();
            assertThat(readValues(log, 4)).containsExactly("value-004", "value-005", "value-006", "value-007",
                    "value-008");
            assertThat(middle.verifiedRanges().covers(middle.size() / 3, middle.size())).isTrue();
            // damage after the check is not seen again (the documented limit: checked once per process)
            int batchSize = batch(T0, "value-000").sizeInBytes();
            flipBit(file(3, ".log"), 3L * batchSize - 2);
            assertThat(log.read(5, 1 << 20, Long.MAX_VALUE, true).records().size()).isPositive();
        }
    }

    @Test
    void appendsAfterACleanStartAreVerifiedWithoutReadingBack() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            appendValues(log, 3);
        }
        try (PartitionLog log = open(dir, config(), time)) {
            LogSegment active = log.segmentList().get(0);
            int before = active.size();
            log.appendAsLeader(batch(T0, "after"), 1);
            // the appended batch was validated on append: an island above the unchecked start
            assertThat(active.verifiedRanges().covers(before, active.size())).isTrue();
            assertThat(active.verifiedRanges().covers(0, active.size())).isFalse();
            assertThat(readValues(log, 0)).containsExactly("value-000", "value-001", "value-002", "after");
            assertThat(active.verifiedRanges().prefix()).isEqualTo(active.size());
        }
    }

    @Test
    void recoveredSegmentsAreVerifiedAndTruncationForgetsWhatWasCut() throws Exception {
        PartitionLog crashed = open(dir, config(), time);
        appendValues(crashed, 5);
        crashed.closeWithoutShutdown();
        try (PartitionLog log = open(dir, config(), time)) {
            LogSegment seg = log.segmentList().get(0);
            assertThat(seg.verifiedRanges().prefix()).isEqualTo(seg.size());
            log.truncateTo(2);
            assertThat(seg.verifiedRanges().prefix()).isEqualTo(seg.size());
            log.appendAsLeader(batch(T0, "again"), 2);
            assertThat(seg.verifiedRanges().prefix()).isEqualTo(seg.size());
        }
    }

    @Test
    void rebuildsAnEmptiedOrShortenedTimeIndexOfACleanLog() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 1, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 10);
            log.forceRoll();
            appendValues(log, 3);
        }
        Path timeIndex = file(0, ".timeindex");
        long full = Files.size(timeIndex);
        assertThat(full).isGreaterThanOrEqualTo(24);
        // cut to its first entry: sane-looking, but the segment's largest timestamp is gone
        try (FileChannel ch = FileChannel.open(timeIndex, StandardOpenOption.WRITE)) {
            ch.truncate(12);
        }
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.offsetForTimestamp(T0 + 8).orElseThrow().offset()).isEqualTo(8);
        }
        Files.write(timeIndex, new byte[0]);
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.segmentsRecoveredOnOpen()).isEqualTo(1);
            assertThat(log.offsetForTimestamp(T0 + 9).orElseThrow().offset()).isEqualTo(9);
            assertThat(log.offsetForTimestamp(T0 + 5).orElseThrow().offset()).isEqualTo(5);
        }
        assertThat(Files.size(timeIndex)).isEqualTo(full);
    }

    @Test
    void rebuildsIndexesFilledWithGarbageOrCutMidEntry() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 1, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            appendValues(log, 20);
        }
        byte[] garbage = new byte[(int) Files.size(file(0, ".index"))];
        new Random(11).nextBytes(garbage);
        Files.write(file(0, ".index"), garbage);
        try (FileChannel ch = FileChannel.open(file(0, ".timeindex"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 5);
        }
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.segmentsRecoveredOnOpen()).isEqualTo(1);
            for (long offset : new long[] {0, 9, 19}) {
                assertThat(log.read(offset, 1, Long.MAX_VALUE, true).records().toRecordSet().batches().iterator()
                        .next().baseOffset()).isEqualTo(offset);
                assertThat(log.offsetForTimestamp(T0 + offset).orElseThrow().offset()).isEqualTo(offset);
            }
        }
    }

    @Test
    void rebuildsAMalformedLeaderEpochCheckpointFromEveryBatch() throws Exception {
        LogConfig cfg = threeSegments();
        try (PartitionLog log = open(dir, cfg, time)) {
            log.appendAsLeader(batch(T0, "epoch-3"), 3);
            log.appendAsLeader(batch(T0, "epoch-5"), 5);
        }
        Path checkpoint = dir.resolve(LeaderEpochCache.FILE_NAME);
        assertThat(Files.readAllLines(checkpoint)).containsExactly("0", "3", "1 0", "3 9", "5 10");
        Files.writeString(checkpoint, "0\n3\n1 0\n3 x\n");

        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.latestEpoch()).isEqualTo(5);
            assertThat(log.endOffsetForEpoch(1).offset()).isEqualTo(9);
            assertThat(log.endOffsetForEpoch(3).offset()).isEqualTo(10);
        }
        assertThat(Files.readAllLines(checkpoint)).containsExactly("0", "3", "1 0", "3 9", "5 10");

        Files.delete(checkpoint);
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.endOffsetForEpoch(3).offset()).isEqualTo(10);
        }
    }

    @Test
    void followerRefusesACorruptBatchFromTheLeaderNamingItsOffsets() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            appendValues(log, 2);
            RecordSet copy = RecordSet.builder().baseOffset(2).addAll(LogTestSupport.records(T0, "a", "b", "c")).build();
            ByteBuffer buf = copy.buffer().duplicate();
            int last = buf.limit() - 3;
            buf.put(last, (byte) (buf.get(last) ^ 0x04));
            assertThatThrownBy(() -> log.appendAsFollower(RecordSet.wrap(buf)))
                    .isInstanceOf(CorruptRecordException.class)
                    .hasMessageContaining("offsets 2..4").hasMessageContaining("not appended");
            assertThat(log.logEndOffset()).isEqualTo(2);
        }
    }

    @Test
    void verifiedRangesNeverClaimBytesNobodyChecked() {
        VerifiedRanges r = new VerifiedRanges();
        r.add(100, 200);
        assertThat(r.covers(100, 200)).isTrue();
        assertThat(r.covers(0, 150)).isFalse();
        assertThat(r.covers(150, 250)).isFalse();
        r.add(200, 300);
        assertThat(r.covers(120, 300)).isTrue();
        r.add(0, 50);
        assertThat(r.prefix()).isEqualTo(50);
        r.add(50, 100);
        assertThat(r.prefix()).isEqualTo(300);
        r.truncateTo(250);
        assertThat(r.covers(0, 251)).isFalse();
        r.add(400, 500);
        r.truncateTo(450);
        assertThat(r.covers(400, 450)).isTrue();
        assertThat(r.covers(400, 451)).isFalse();
    }
}
