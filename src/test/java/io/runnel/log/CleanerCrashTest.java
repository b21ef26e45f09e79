package io.runnel.log;

import static io.runnel.log.CleanerTestSupport.compacted;
import static io.runnel.log.CleanerTestSupport.compaction;
import static io.runnel.log.CleanerTestSupport.entries;
import static io.runnel.log.CleanerTestSupport.keyedBatch;
import static io.runnel.log.CleanerTestSupport.latest;
import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.open;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash at each step of a cleaning, then recovery: the partition directory is left exactly as the
 * process would have left it when killed at that step (files copied from a real cleaning of the same
 * log), and the log is opened as after a kill -9 (no clean-shutdown marker). Before the swap begins the
 * log must come back as it was; from the moment the {@code .swap} log file exists, as cleaned. Either
 * way no record that should survive is lost, and the log end is unchanged.
 */
@Timeout(30)
class CleanerCrashTest {

    private static final long HOUR = 3600_000L;
    private static final LogConfig CONFIG = compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0));

    @TempDir
    Path tmp;

    private Path original;
    private Path cleaned;
    private Path crashed;
    private Map<Long, CleanerTestSupport.Entry> entriesBefore;
    private Map<Long, CleanerTestSupport.Entry> entriesAfter;
    private Map<String, String> latest;
    private long logEnd;
    /** Base offsets of the old segments the first cleaned segment replaced. */
    private List<Long> group;
    private long cleanedBase;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    /** Three small segments of rewritten keys with a tombstone, then the active segment. */
    private static void build(PartitionLog log) {
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < 4; i++) {
                log.appendAsLeader(keyedBatch(T0, "a=a" + s + i, "b=b" + s + i, "c=c" + s + i), 0);
            }
            if (s == 1) {
                log.appendAsLeader(keyedBatch(T0, "c="), 0);
            }
            log.forceRoll();
        }
        log.appendAsLeader(keyedBatch(T0, "d=d-active"), 0);
    }

    @BeforeEach
    void cleanOnceForReference() throws Exception {
        original = tmp.resolve("original/t-0");
        cleaned = tmp.resolve("cleaned/t-0");
        crashed = tmp.resolve("crashed/t-0");
        try (PartitionLog log = open(original, CONFIG, time)) {
            build(log);
            entriesBefore = entries(log);
            logEnd = log.logEndOffset();
        }
        copyDir(original, cleaned);
        LogCleaner cleaner = new LogCleaner(CleanerConfig.defaults(), time);
        try (PartitionLog log = open(cleaned, CONFIG, time)) {
            cleaner.register(log, Runnable::run, log::logEndOffset);
            assertThat(cleaner.cleanFilthiestLog(new Cleaner(1 << 20, 64 * 1024,
                    new Throttler(Double.MAX_VALUE, time), time))).isTrue();
            entriesAfter = entries(log);
            latest = latest(log);
            time.ms += log.config().fileDeleteDelayMs();
            log.deleteScheduledFiles();
        }
        List<Long> oldBases = bases(original);
        List<Long> newBases = bases(cleaned);
        cleanedBase = newBases.get(0);
        long next = newBases.get(1);
        group = oldBases.stream().filter(b -> b >= cleanedBase && b < next).toList();
        assertThat(group).hasSizeGreaterThan(1);
        assertThat(entriesAfter).hasSizeLessThan(entriesBefore.size());
        copyDir(original, crashed);
        Files.delete(crashed.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE));
    }

    private static List<Long> bases(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(LogSegment.LOG_SUFFIX))
                    .map(n -> Long.parseLong(n.substring(0, n.length() - LogSegment.LOG_SUFFIX.length())))
                    .sorted().toList();
        }
    }

    private static void copyDir(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static String name(long base, String suffix) {
        return LogSegment.fileName(base, suffix);
    }

    /** The cleaned segment's file {@code suffix} copied into the crashed dir as {@code targetSuffix}. */
    private void placeCleaned(String suffix, String targetSuffix) throws Exception {
        Files.copy(cleaned.resolve(name(cleanedBase, suffix)), crashed.resolve(name(cleanedBase, suffix) + targetSuffix),
                StandardCopyOption.REPLACE_EXISTING);
    }

    private void placeCleanedSegment(String targetSuffix) throws Exception {
        placeCleaned(LogSegment.INDEX_SUFFIX, targetSuffix);
        placeCleaned(LogSegment.TIME_INDEX_SUFFIX, targetSuffix);
        placeCleaned(LogSegment.LOG_SUFFIX, targetSuffix);
    }

    private void renameOld(long base, String suffix) throws Exception {
        for (String s : List.of(LogSegment.LOG_SUFFIX, LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX)) {
            Files.move(crashed.resolve(name(base, s)), crashed.resolve(name(base, s) + suffix));
        }
    }

    private List<String> leftovers() throws Exception {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(crashed)) {
            s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".cleaned") || n.endsWith(".swap") || n.endsWith(".deleted"))
                    .forEach(out::add);
        }
        return out;
    }

    private void recoversAs(Map<Long, CleanerTestSupport.Entry> expected) throws Exception {
        try (PartitionLog log = open(crashed, CONFIG, time)) {
            assertThat(leftovers()).isEmpty();
            assertThat(entries(log)).isEqualTo(expected);
            assertThat(latest(log)).isEqualTo(latest);
            assertThat(log.logEndOffset()).isEqualTo(logEnd);
            log.appendAsLeader(keyedBatch(T0, "e=after-recovery"), 0);
            assertThat(latest(log)).containsEntry("e", "after-recovery");
        }
        // and once more, now that recovery has settled everything
        try (PartitionLog log = open(crashed, CONFIG, time)) {
            assertThat(log.logEndOffset()).isEqualTo(logEnd + 1);
        }
    }

    @Test
    void killedWhileWritingTheCleanedSegmentKeepsTheOldOnes() throws Exception {
        placeCleanedSegment(CleanerRecovery.CLEANED_SUFFIX);
        // torn: only part of the cleaned log reached the page cache
        Path torn = crashed.resolve(name(cleanedBase, LogSegment.LOG_SUFFIX) + CleanerRecovery.CLEANED_SUFFIX);
        byte[] bytes = Files.readAllBytes(torn);
        Files.write(torn, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        recoversAs(entriesBefore);
    }

    @Test
    void killedWhileRenamingTheIndexesToSwapKeepsTheOldOnes() throws Exception {
        placeCleaned(LogSegment.INDEX_SUFFIX, CleanerRecovery.SWAP_SUFFIX);
        placeCleaned(LogSegment.TIME_INDEX_SUFFIX, CleanerRecovery.CLEANED_SUFFIX);
        placeCleaned(LogSegment.LOG_SUFFIX, CleanerRecovery.CLEANED_SUFFIX);
        recoversAs(entriesBefore);
    }

    @Test
    void killedOnceTheSwapFileExistsCompletesTheSwap() throws Exception {
        placeCleanedSegment(CleanerRecovery.SWAP_SUFFIX);
        recoversAs(entriesAfter);
    }

    @Test
    void killedWhileRenamingTheOldSegmentsToDeletedCompletesTheSwap() throws Exception {
        placeCleanedSegment(CleanerRecovery.SWAP_SUFFIX);
        renameOld(group.get(0), LogSegment.DELETED_SUFFIX);
        recoversAs(entriesAfter);
    }

    @Test
    void killedWhileRemovingTheSwapSuffixCompletesTheSwap() throws Exception {
        for (long base : group) {
            renameOld(base, LogSegment.DELETED_SUFFIX);
        }
        // the indexes already have their final names, the log is still .swap
        placeCleaned(LogSegment.INDEX_SUFFIX, "");
        placeCleaned(LogSegment.TIME_INDEX_SUFFIX, "");
        placeCleaned(LogSegment.LOG_SUFFIX, CleanerRecovery.SWAP_SUFFIX);
        recoversAs(entriesAfter);
    }

    @Test
    void killedAfterTheSwapWithOldSegmentsAwaitingDeletionKeepsTheCleanedLog() throws Exception {
        for (long base : group) {
            renameOld(base, LogSegment.DELETED_SUFFIX);
        }
        placeCleanedSegment("");
        recoversAs(entriesAfter);
    }

    @Test
    void killedBeforeTheCheckpointIsWrittenCleansAgainWithTheSameResult() throws Exception {
        for (long base : group) {
            renameOld(base, LogSegment.DELETED_SUFFIX);
        }
        placeCleanedSegment("");
        LogCleaner cleaner = new LogCleaner(CleanerConfig.defaults(), time);
        try (PartitionLog log = open(crashed, CONFIG, time)) {
            cleaner.register(log, Runnable::run, log::logEndOffset);
            cleaner.cleanFilthiestLog(new Cleaner(1 << 20, 64 * 1024, new Throttler(Double.MAX_VALUE, time), time));
            assertThat(latest(log)).isEqualTo(latest);
            assertThat(log.logEndOffset()).isEqualTo(logEnd);
        }
    }
}
