package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.TP;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader on its own: what it makes of a directory left by a clean close or a crash. The logs here are
 * opened on their own, so their directory is also their checkpoints' log directory, as
 * {@code PartitionLog.open} without a {@link LogDirCheckpoints} keeps them.
 */
@Timeout(30)
class LogLoaderTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final int batchSize = batch(T0, "value-000").sizeInBytes();
    private final LogSegments segments = new LogSegments();

    @AfterEach
    void close() throws Exception {
        LogTestSupport.closeAll(segments);
    }

    private Path file(long base, String suffix) {
        return dir.resolve(LogSegment.fileName(base, suffix));
    }

    /** Loads the directory as a restarted process would: checkpoints read afresh from disk. */
    private LogLoader.LoadedLog load(LogConfig cfg) throws Exception {
        return new LogLoader(TP, dir, cfg, time, segments, new LeaderEpochCache(dir),
                new ProducerStateManager(dir), new LogDirCheckpoints(dir)).load(true);
    }

    /**
     * Appends {@code n} one-record batches, flushing after the first {@code flushAfter} (and writing the
     * recovery-point checkpoint, as the broker's periodic write would), then "crashes".
     */
    private void crashAfter(LogConfig cfg, int n, int flushAfter) throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(dir);
        PartitionLog log = PartitionLog.open(TP, dir, cfg, time, checkpoints);
        for (int i = 0; i < n; i++) {
            log.appendAsLeader(batch(T0 + i, String.format("value-%03d", i)), 1);
            if (i + 1 == flushAfter) {
                log.flush();
                checkpoints.writeRecoveryPoints();
            }
        }
        log.closeWithoutShutdown();
    }

    /** Flips one bit inside the value of batch {@code index} of a segment: its CRC no longer matches. */
    private void corruptBatch(long base, int index) throws Exception {
        try (FileChannel ch = FileChannel.open(file(base, LogSegment.LOG_SUFFIX), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long pos = (long) batchSize * (index + 1) - 2;
            ch.read(one, pos);
            one.put(0, (byte) (one.get(0) ^ 0x01)).rewind();
            ch.write(one, pos);
        }
    }

    @Test
    void truncatesATornTailAndReturnsTheNewEndAsRecoveryPoint() throws Exception {
        crashAfter(config(), 3, 0);
        Path log = file(0, LogSegment.LOG_SUFFIX);
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(log) - 5);
        }

        LogLoader.LoadedLog loaded = load(config());

        assertThat(loaded).isEqualTo(new LogLoader.LoadedLog(0, 2, 2, List.of()));
        assertThat(Files.size(log)).isEqualTo(2L * batchSize);
        assertThat(segments.lastSegment().size()).isEqualTo(2 * batchSize);
        // the log directory's checkpoint takes the recovery point from the log once it opens, not the loader
        for (String name : List.of(PartitionLog.RECOVERY_POINT_FILE, PartitionLog.LOG_START_OFFSET_FILE,
                LogDirCheckpoints.RECOVERY_POINT_FILE, LogDirCheckpoints.LOG_START_OFFSET_FILE)) {
            assertThat(dir.resolve(name)).doesNotExist();
        }
    }

    @Test
    void scansFromTheSegmentHoldingTheRecoveryPointAndTrustsThoseBelow() throws Exception {
        LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        crashAfter(cfg, 9, 5);
        // below the recovery point (5, in segment 3) nothing is read back: a bad CRC there goes unseen
        corruptBatch(0, 1);
        // from segment 3 on every batch is checked: the log ends before the corrupt one
        corruptBatch(6, 2);

        LogLoader.LoadedLog loaded = load(cfg);

        assertThat(loaded).isEqualTo(new LogLoader.LoadedLog(0, 8, 8, List.of()));
        assertThat(segments.baseOffsets()).containsExactly(0L, 3L, 6L);
        assertThat(Files.size(file(0, LogSegment.LOG_SUFFIX))).isEqualTo(3L * batchSize);
        assertThat(Files.size(file(6, LogSegment.LOG_SUFFIX))).isEqualTo(2L * batchSize);
    }

    @Test
    void dropsEverySegmentAfterATruncatedOne() throws Exception {
        LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        crashAfter(cfg, 9, 0);
        corruptBatch(3, 0);

        assertThat(load(cfg)).isEqualTo(new LogLoader.LoadedLog(0, 3, 3, List.of()));
        assertThat(segments.baseOffsets()).containsExactly(0L, 3L);
        assertThat(file(6, LogSegment.LOG_SUFFIX)).doesNotExist();
    }

    @Test
    void doesNotRescanALogClosedCleanly() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(batch(T0, "value-000"), 1);
            log.appendAsLeader(batch(T0, "value-001"), 1);
        }
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).exists();
        corruptBatch(0, 1);

        assertThat(load(config())).isEqualTo(new LogLoader.LoadedLog(0, 2, 2, List.of()));
        assertThat(Files.size(file(0, LogSegment.LOG_SUFFIX))).isEqualTo(2L * batchSize);
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).as("a crash from now on is unclean").doesNotExist();
    }

    @Test
    void cleanShutdownMeansFlushedToTheEndWhateverTheCheckpointSays() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(dir);
        try (PartitionLog log = PartitionLog.open(TP, dir, config(), time, checkpoints)) {
            log.appendAsLeader(batch(T0, "value-000"), 1);
            log.flush();
            checkpoints.writeRecoveryPoints();
            log.appendAsLeader(batch(T0, "value-001"), 1);
            log.appendAsLeader(batch(T0, "value-002"), 1);
        }
        // closed cleanly (flushed to 3) by a broker that died before its shutdown checkpoint write
        assertThat(Files.readAllLines(dir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE))).contains("t 0 1");

        assertThat(load(config())).isEqualTo(new LogLoader.LoadedLog(0, 3, 3, List.of()));
    }

    @Test
    void emptyDirectoryStartsOneSegmentAtTheCheckpointedLogStartOffset() throws Exception {
        ReplicationOffsetCheckpoint.writeFile(dir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE), Map.of(TP, 42L));

        assertThat(load(config())).isEqualTo(new LogLoader.LoadedLog(42, 42, 42, List.of()));
        assertThat(segments.baseOffsets()).containsExactly(42L);
        assertThat(file(42, LogSegment.LOG_SUFFIX)).exists();
    }

    @Test
    void readsTheOldPerPartitionFilesOnlyWithoutACheckpointEntryAndReturnsThemForRemoval() throws Exception {
        Path legacyStart = dir.resolve(PartitionLog.LOG_START_OFFSET_FILE);
        Path legacyRecovery = dir.resolve(PartitionLog.RECOVERY_POINT_FILE);
        Files.writeString(legacyStart, "0\n42\n");
        Files.writeString(legacyRecovery, "0\n40\n");
        ReplicationOffsetCheckpoint.writeFile(dir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE), Map.of(TP, 45L));

        LogLoader.LoadedLog loaded = load(config());

        assertThat(loaded.logStartOffset()).as("the checkpoint wins").isEqualTo(45);
        assertThat(loaded.legacyFiles()).containsExactlyInAnyOrder(legacyStart, legacyRecovery);
        assertThat(legacyStart).as("removed only once the checkpoints hold the log").exists();
    }

    @Test
    void newDirectoryForgetsTheCheckpointEntriesOfADeletedPartitionOfTheSameName() throws Exception {
        ReplicationOffsetCheckpoint.writeFile(dir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE), Map.of(TP, 42L));
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(dir);

        LogLoader.LoadedLog loaded = new LogLoader(TP, dir, config(), time, segments, new LeaderEpochCache(dir),
                new ProducerStateManager(dir), checkpoints).load(false);

        assertThat(loaded).isEqualTo(new LogLoader.LoadedLog(0, 0, 0, List.of()));
        assertThat(checkpoints.logStartOffset(TP)).isEqualTo(-1);
    }

    @Test
    void removesDeletedTemporaryAndOrphanFiles() throws Exception {
        crashAfter(config(), 2, 0);
        Path deleted = dir.resolve(LogSegment.fileName(7, LogSegment.LOG_SUFFIX) + LogSegment.DELETED_SUFFIX);
        Path tmp = dir.resolve(PartitionLog.RECOVERY_POINT_FILE + ".tmp");
        Path orphanIndex = file(77, LogSegment.INDEX_SUFFIX);
        Path orphanTimeIndex = file(77, LogSegment.TIME_INDEX_SUFFIX);
        for (Path p : new Path[] {deleted, tmp, orphanIndex, orphanTimeIndex}) {
            Files.write(p, new byte[] {1, 2, 3});
        }

        assertThat(load(config()).logEndOffset()).isEqualTo(2);
        for (Path p : new Path[] {deleted, tmp, orphanIndex, orphanTimeIndex}) {
            assertThat(p).doesNotExist();
        }
        assertThat(file(0, LogSegment.INDEX_SUFFIX)).exists();
    }
}
