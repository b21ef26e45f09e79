package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.appendValues;
import static io.runnel.log.LogTestSupport.TP;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log directory's recovery-point-offset-checkpoint and log-start-offset-checkpoint: what a broker's
 * logs write instead of two fsynced files per partition, how logs of the old layout are read once, and that
 * a checkpoint lost in a crash costs scanning, never records.
 */
@Timeout(30)
class LogDirCheckpointsTest {

    private static final TopicPartition OTHER = new TopicPartition("other", 3);

    @TempDir
    Path logDir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    private Path partitionDir() {
        return logDir.resolve(TP.topic() + "-" + TP.partition());
    }

    private PartitionLog open(LogDirCheckpoints checkpoints, LogConfig cfg) throws Exception {
        return PartitionLog.open(TP, partitionDir(), cfg, time, checkpoints);
    }

    /** A second log of the same directory, "other-3". */
    private PartitionLog openOther(LogDirCheckpoints checkpoints) throws Exception {
        return PartitionLog.open(OTHER, logDir.resolve("other-3"), config(), time, checkpoints);
    }

    /** Segments of three one-record batches. */
    private static LogConfig threePerSegment() {
        int batchSize = batch(T0, "value-000").sizeInBytes();
        return with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
    }

    @Test
    void creatingALogWritesNoOffsetFile() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, config())) {
            assertThat(log.logEndOffset()).isZero();
            try (var files = Files.list(partitionDir())) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder("00000000000000000000.log", "00000000000000000000.index",
                                "00000000000000000000.timeindex");
            }
            assertThat(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE)).doesNotExist();
            assertThat(logDir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE)).doesNotExist();
        }
    }

    @Test
    void closingAnIdleLogWritesOnlyTheMarker() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        open(checkpoints, config()).close();
        try (var files = Files.list(partitionDir())) {
            // no producer-state snapshot of an empty log, nothing flushed
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("00000000000000000000.log", "00000000000000000000.index",
                            "00000000000000000000.timeindex", PartitionLog.CLEAN_SHUTDOWN_FILE);
        }
        try (PartitionLog log = open(checkpoints, config())) {
            appendValues(log, 2);
        }
        Path snapshot = partitionDir().resolve("00000000000000000002.snapshot");
        assertThat(snapshot).exists();
        Files.setLastModifiedTime(snapshot, java.nio.file.attribute.FileTime.fromMillis(T0));
        open(checkpoints, config()).close();
        // closed again with no new data: the snapshot at the same map end is not rewritten
        assertThat(Files.getLastModifiedTime(snapshot).toMillis()).isEqualTo(T0);
    }

    @Test
    void writesEveryLogOfTheDirectoryInKafkasFormat() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, threePerSegment()); PartitionLog second = openOther(checkpoints)) {
            appendValues(log, 7);
            log.flush();
            log.deleteRecordsBefore(4);
            checkpoints.writeAll();
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE)))
                    .containsExactly("0", "2", "other 3 0", "t 0 7");
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE)))
                    .containsExactly("0", "2", "other 3 0", "t 0 4");
            assertThat(ReplicationOffsetCheckpoint.readFile(logDir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE)))
                    .isEqualTo(Map.of(TP, 4L, OTHER, 0L));
        }
    }

    @Test
    void restartedLogTakesItsOffsetsFromTheCheckpointAndKeepsOthersUntilTheyOpen() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, threePerSegment()); PartitionLog second = openOther(checkpoints)) {
            appendValues(log, 8);
            log.deleteRecordsBefore(5);
            second.appendAsLeader(batch(T0, "x"), 1);
        }
        checkpoints.writeAll();

        LogDirCheckpoints restarted = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(restarted, threePerSegment())) {
            assertThat(log.logStartOffset()).isEqualTo(5);
            assertThat(log.recoveryPoint()).isEqualTo(8);
            // "other" has not opened since the restart: its entries are written again as they were
            restarted.writeAll();
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE)))
                    .containsExactly("0", "2", "other 3 1", "t 0 8");
        }
    }

    @Test
    void missingCheckpointAfterKillNineRecoversFromTheStartAndLosesNothing() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        PartitionLog crashed = open(checkpoints, threePerSegment());
        List<String> values = appendValues(crashed, 8);
        crashed.flush();
        assertThat(crashed.recoveryPoint()).isEqualTo(8);
        // killed before any checkpoint write: no recovery point on disk, the page cache has the records
        crashed.closeWithoutShutdown();
        assertThat(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE)).doesNotExist();
        // and a torn batch at the end, which only a scan finds
        Path active = partitionDir().resolve("00000000000000000006.log");
        long size = Files.size(active);
        try (FileChannel ch = FileChannel.open(active, StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);
        }

        try (PartitionLog log = open(new LogDirCheckpoints(logDir), threePerSegment())) {
            assertThat(log.logEndOffset()).isEqualTo(7);
            assertThat(log.logStartOffset()).isZero();
            assertThat(readValues(log, 0)).containsExactlyElementsOf(values.subList(0, 7));
            assertThat(log.recoveryPoint()).isEqualTo(7);
        }
    }

    @Test
    void truncationBelowTheRecoveryPointIsCheckpointedAtOnce() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, threePerSegment())) {
            appendValues(log, 8);
            log.flush();
            checkpoints.writeRecoveryPoints();
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE))).contains("t 0 8");
            log.truncateTo(4);
            // a crash now must not trust offsets 4.. that the next appends rewrite
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE))).contains("t 0 4");
        }
    }

    @Test
    void truncationBelowTheLogStartIsCheckpointedAtOnce() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, threePerSegment())) {
            appendValues(log, 8);
            log.deleteRecordsBefore(6);
            checkpoints.writeLogStartOffsets();
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE))).contains("t 0 6");
            // a follower whose leader's log is shorter starts over below its own start
            log.truncateTo(2);
            assertThat(log.logStartOffset()).isEqualTo(2);
            // a crash now must not restart the log at 6, above records appended from 2
            assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE))).contains("t 0 2");
        }
    }

    @Test
    void oldPerPartitionFilesAreReadOnceAndRemovedWhenTheCheckpointHasThem() throws Exception {
        // a log of the old layout: three segments, DeleteRecords up to 5, flushed to 8
        try (PartitionLog log = PartitionLog.open(TP, partitionDir(), threePerSegment(), time)) {
            appendValues(log, 8);
        }
        for (String name : List.of(LogDirCheckpoints.RECOVERY_POINT_FILE, LogDirCheckpoints.LOG_START_OFFSET_FILE)) {
            Files.delete(partitionDir().resolve(name));
        }
        Path legacyStart = partitionDir().resolve(PartitionLog.LOG_START_OFFSET_FILE);
        Path legacyRecovery = partitionDir().resolve(PartitionLog.RECOVERY_POINT_FILE);
        Files.writeString(legacyStart, "0\n5\n");
        Files.writeString(legacyRecovery, "0\n8\n");

        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, threePerSegment())) {
            assertThat(log.logStartOffset()).isEqualTo(5);
            assertThat(readValues(log, 5)).containsExactly("value-005", "value-006", "value-007");
            checkpoints.writeLogStartOffsets();
            assertThat(legacyStart).doesNotExist();
            // not covered yet: its replacement has not been written
            assertThat(legacyRecovery).exists();
            checkpoints.writeRecoveryPoints();
            assertThat(legacyRecovery).doesNotExist();
        }
        checkpoints.writeAll();
        try (PartitionLog log = open(new LogDirCheckpoints(logDir), threePerSegment())) {
            assertThat(log.logStartOffset()).isEqualTo(5);
            assertThat(log.logEndOffset()).isEqualTo(8);
        }
    }

    @Test
    void newDirectoryIgnoresTheEntriesOfADeletedPartitionOfTheSameName() throws Exception {
        Files.writeString(logDir.resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE), "0\n1\nt 0 50\n");
        Files.writeString(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE), "0\n1\nt 0 60\n");
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        try (PartitionLog log = open(checkpoints, config())) {
            assertThat(log.logStartOffset()).isZero();
            assertThat(log.logEndOffset()).isZero();
            assertThat(log.recoveryPoint()).isZero();
        }
    }

    @Test
    void deletedLogLeavesTheCheckpoint() throws Exception {
        LogDirCheckpoints checkpoints = new LogDirCheckpoints(logDir);
        PartitionLog log = open(checkpoints, config());
        appendValues(log, 2);
        log.delete();
        checkpoints.writeAll();
        assertThat(Files.readAllLines(logDir.resolve(LogDirCheckpoints.RECOVERY_POINT_FILE))).containsExactly("0", "0");
    }
}
