package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.values;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The process's bounded set of open segment files: eviction, reopening, holders, deletion. */
@Timeout(60)
class SegmentChannelsTest {

    private static final int LIMIT = SegmentChannels.MIN_LIMIT;
    private static final long HOUR = 3600_000L;

    @TempDir
    Path dir;

    // the logs' own set, so that files other tests left held do not count
    private final SegmentChannels channels = new SegmentChannels(LIMIT);

    private PartitionLog openLog(LogConfig cfg, LogTestSupport.ManualTime time) throws Exception {
        return PartitionLog.open(LogTestSupport.TP, dir, cfg, time, channels);
    }

    private List<RecordFormat.SegmentFile> files(SegmentChannels channels, int n) throws Exception {
        List<RecordFormat.SegmentFile> files = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            RecordFormat.SegmentFile f = RecordFormat.SegmentFile.open(dir.resolve(i + ".log").toFile(), channels);
            f.append(batch(T0, "file-" + i));
            files.add(f);
        }
        return files;
    }

    private static String firstValue(RecordFormat.SegmentFile f) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(f.sizeInBytes());
        f.acquire();
        try {
            while (buf.hasRemaining()) {
                if (f.channel().read(buf, buf.position()) < 0) {
                    break;
                }
            }
        } finally {
            f.release();
        }
        buf.flip();
        return values(RecordSet.wrap(buf)).get(0);
    }

    @Test
    void keepsAtMostTheLimitOpenAndReopensAClosedFileOnItsNextUse() throws Exception {
        List<RecordFormat.SegmentFile> files = files(channels, 3 * LIMIT);
        assertThat(channels.openFiles()).isEqualTo(LIMIT);
        assertThat(files.get(0).isOpen()).isFalse();
        assertThat(channels.evictions()).isEqualTo(2 * LIMIT);
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < files.size(); i++) {
                assertThat(firstValue(files.get(i))).isEqualTo("file-" + i);
                assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT);
            }
        }
        // appends to a closed file reopen it at its end
        files.get(0).append(batch(T0, "again"));
        assertThat(files.get(0).sizeInBytes())
                .isEqualTo(batch(T0, "file-0").sizeInBytes() + batch(T0, "again").sizeInBytes());
        assertThat(files.get(0).file().length()).isEqualTo(files.get(0).sizeInBytes());
        for (RecordFormat.SegmentFile f : files) {
            f.close();
        }
        assertThat(channels.openFiles()).isZero();
    }

    @Test
    void recentlyUsedFilesGetASecondChance() throws Exception {
        List<RecordFormat.SegmentFile> files = files(channels, LIMIT + 1);
        // that sweep cleared every mark and closed the oldest
        assertThat(files.get(0).isOpen()).isFalse();
        RecordFormat.SegmentFile hot = files.get(1);
        firstValue(hot);
        files(channels, 1);
        assertThat(hot.isOpen()).isTrue();
        assertThat(files.get(2).isOpen()).isFalse();
    }

    @Test
    void neverClosesAFileWhileItIsHeld() throws Exception {
        RecordFormat.SegmentFile held = files(channels, 1).get(0);
        held.acquire();
        files(channels, 4 * LIMIT);
        assertThat(held.isOpen()).isTrue();
        assertThat(channels.openFiles()).isEqualTo(LIMIT);
        ByteBuffer buf = ByteBuffer.allocate(held.sizeInBytes());
        assertThat(held.channel().read(buf, 0)).isEqualTo(held.sizeInBytes());
        held.release();
        files(channels, 2 * LIMIT);
        assertThat(held.isOpen()).isFalse();
        assertThat(firstValue(held)).isEqualTo("file-0");
    }

    @Test
    void aSetHeldEntirelyByReadersGrowsPastTheLimitAndShrinksBackOnRelease() throws Exception {
        List<RecordFormat.SegmentFile> files = files(channels, 2 * LIMIT);
        for (RecordFormat.SegmentFile f : files) {
            f.acquire();
        }
        assertThat(channels.openFiles()).isEqualTo(2 * LIMIT);
        for (RecordFormat.SegmentFile f : files) {
            f.release();
        }
        files(channels, 1);
        assertThat(channels.openFiles()).isEqualTo(LIMIT);
    }

    @Test
    void readsRacingEvictionsNeverSeeAClosedChannel() throws Exception {
        List<RecordFormat.SegmentFile> files = files(channels, 4 * LIMIT);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<Integer>> readers = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                readers.add(pool.submit(() -> {
                    int reads = 0;
                    for (int i = 0; i < 3000; i++) {
                        int k = ThreadLocalRandom.current().nextInt(files.size());
                        assertThat(firstValue(files.get(k))).isEqualTo("file-" + k);
                        reads++;
                    }
                    return reads;
                }));
            }
            for (Future<Integer> r : readers) {
                assertThat(r.get(50, TimeUnit.SECONDS)).isEqualTo(3000);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(channels.evictions()).isGreaterThan(100);
        assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT);
        for (RecordFormat.SegmentFile f : files) {
            f.close();
        }
        assertThat(channels.openFiles()).isZero();
    }

    @Test
    void aFileRenamedWhileClosedReopensUnderItsNewName() throws Exception {
        List<RecordFormat.SegmentFile> files = files(channels, LIMIT + 1);
        RecordFormat.SegmentFile first = files.get(0);
        assertThat(first.isOpen()).isFalse();
        first.renameTo(dir.resolve("0.log.deleted").toFile());
        assertThat(firstValue(first)).isEqualTo("file-0");
        assertThat(first.file().getName()).isEqualTo("0.log.deleted");
    }

    @Test
    void aLogOfManySegmentsIsReadWholeUnderTheLimitBeforeAndAfterARestart() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = LogTestSupport.withSegmentBytes(config(), batchSize);
        List<String> expected = new ArrayList<>();
        try (PartitionLog log = openLog(cfg, new LogTestSupport.ManualTime(T0))) {
            for (int i = 0; i < 5 * LIMIT; i++) {
                String v = String.format("value-%03d", i);
                log.appendAsLeader(batch(T0, v), 0);
                expected.add(v);
            }
            assertThat(log.segmentBaseOffsets()).hasSize(5 * LIMIT);
            assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT);
            assertThat(readValues(log, 0)).containsExactlyElementsOf(expected);
            assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT);
        }
        try (PartitionLog log = openLog(cfg, new LogTestSupport.ManualTime(T0))) {
            assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT);
            assertThat(readValues(log, 0)).containsExactlyElementsOf(expected);
            log.truncateTo(7);
            assertThat(readValues(log, 0)).containsExactlyElementsOf(expected.subList(0, 7));
            log.appendAsLeader(batch(T0, "value-new"), 0);
            assertThat(readValues(log, 6)).containsExactly("value-006", "value-new");
        }
    }

    @Test
    void readsWhileEveryOpenFileIsHeldAreCopiedInsteadOfHoldingMoreFiles() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = LogTestSupport.withSegmentBytes(config(), batchSize);
        try (PartitionLog log = openLog(cfg, new LogTestSupport.ManualTime(T0))) {
            for (int i = 0; i < 4 * LIMIT; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%03d", i)), 0);
            }
            // a fetch of many partitions: every slice is held until the answer is sent
            List<LogSlice> held = new ArrayList<>();
            int copies = 0;
            for (int i = 0; i < 4 * LIMIT; i++) {
                LogSlice slice = log.read(i, batchSize, Long.MAX_VALUE, true).records();
                assertThat(values(slice.toRecordSet())).containsExactly(String.format("value-%03d", i));
                copies += slice.inMemory() ? 1 : 0;
                held.add(slice);
                assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT + 1);
            }
            assertThat(copies).isGreaterThanOrEqualTo(3 * LIMIT - 1);
            for (LogSlice slice : held) {
                slice.release();
            }
            LogSlice again = log.read(0, batchSize, Long.MAX_VALUE, true).records();
            assertThat(again.inMemory()).isFalse();
            again.release();
            assertThat(channels.openFiles()).isLessThanOrEqualTo(LIMIT);
        }
    }

    @Test
    void aSliceOfADeletedSegmentStaysReadableUntilReleasedThenTheFileIsClosed() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, 10 * HOUR, -1, 1 << 20, 4096, 0, false);
        LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
        try (PartitionLog log = openLog(cfg, time)) {
            for (int i = 0; i < 6; i++) {
                time.ms = T0 + i * HOUR;
                log.appendAsLeader(batch(T0 + i * HOUR, String.format("value-%03d", i)), 0);
            }
            LogSegment first = log.segmentList().get(0);
            LogSlice slice = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE, true).records();
            time.ms = T0 + 13 * HOUR + 1;
            assertThat(log.deleteExpiredSegments()).isEqualTo(2);
            // file.delete.delay.ms=0: the files are gone, the held descriptor is not
            log.deleteScheduledFiles();
            assertThat(first.logFile().toFile().exists()).isFalse();
            assertThat(first.isLogOpen()).isTrue();
            assertThat(values(slice.toRecordSet())).containsExactly("value-000", "value-001");
            slice.release();
            slice.release();
            assertThat(first.isLogOpen()).isFalse();
            assertThatThrownBy(() -> first.readAt(ByteBuffer.allocate(1), 0)).isInstanceOf(ClosedChannelException.class);
            assertThatThrownBy(() -> log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE, true))
                    .isInstanceOf(OffsetOutOfRangeException.class);
            assertThat(readValues(log, 4)).containsExactly("value-004", "value-005");
        }
    }

    @Test
    void aReadThatMayNotOpenFilesLeavesAClosedSegmentClosedAndOpenOnesAreReadAsUsual() throws Exception {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        LogConfig cfg = LogTestSupport.withSegmentBytes(config(), batchSize);
        try (PartitionLog log = openLog(cfg, new LogTestSupport.ManualTime(T0))) {
            for (int i = 0; i < 3 * LIMIT; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%03d", i)), 0);
            }
            LogSegment first = log.segmentList().get(0);
            assertThat(first.isLogOpen()).as("the oldest segment was closed to stay under the bound").isFalse();
            long opens = channels.opens();

            // an event loop's read: no open(2), the caller is told to read elsewhere
            assertThatThrownBy(() -> log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE, true, false, false))
                    .isInstanceOf(SegmentClosedException.class);
            assertThat(channels.opens()).isEqualTo(opens);
            assertThat(first.isLogOpen()).isFalse();
            // the newest segment is open: read without opening anything, held until released
            long last = 3 * LIMIT - 1;
            LogSlice open = log.read(last, Integer.MAX_VALUE, Long.MAX_VALUE, true, false, false).records();
            assertThat(values(open.toRecordSet())).containsExactly(String.format("value-%03d", last));
            open.release();
            assertThat(channels.opens()).isEqualTo(opens);

            // a worker's read of the same offset reopens the file
            LogSlice reopened = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE, true, false, true).records();
            assertThat(values(reopened.toRecordSet())).containsExactly("value-000");
            reopened.release();
            assertThat(channels.opens()).isEqualTo(opens + 1);
        }
    }

    @Test
    void rejectsALimitBelowTheMinimum() {
        assertThatThrownBy(() -> new SegmentChannels(LIMIT - 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least " + LIMIT);
    }
}
