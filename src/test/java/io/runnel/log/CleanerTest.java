package io.runnel.log;

import static io.runnel.log.CleanerTestSupport.compacted;
import static io.runnel.log.CleanerTestSupport.compaction;
import static io.runnel.log.CleanerTestSupport.entries;
import static io.runnel.log.CleanerTestSupport.idempotentKeyed;
import static io.runnel.log.CleanerTestSupport.keyedBatch;
import static io.runnel.log.CleanerTestSupport.latest;
import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.open;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class CleanerTest {

    private static final long HOUR = 3600_000L;

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final LogCleaner logCleaner = new LogCleaner(CleanerConfig.defaults(), time);
    private final Cleaner cleaner = new Cleaner(1 << 20, 64 * 1024, new Throttler(Double.MAX_VALUE, time), time);

    private PartitionLog openCompacted(LogConfig config) throws Exception {
        PartitionLog log = open(dir.resolve("t-0"), config, time);
        logCleaner.register(log, Runnable::run, log::logEndOffset);
        return log;
    }

    private boolean clean() {
        return logCleaner.cleanFilthiestLog(cleaner);
    }

    private long files(String suffix) throws Exception {
        try (Stream<Path> s = Files.list(dir.resolve("t-0"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
        }
    }

    /** Every batch of the log, from offset 0. */
    private static List<LogBatch> batches(PartitionLog log) {
        List<LogBatch> out = new ArrayList<>();
        log.read(0, 1 << 20, Long.MAX_VALUE, true).records().toRecordSet().batches().forEach(out::add);
        return out;
    }

    /** 3 keys rewritten {@code rounds} times, one batch of the three per round, then a roll. */
    private static void writeRounds(PartitionLog log, int rounds, int from) {
        for (int i = from; i < from + rounds; i++) {
            log.appendAsLeader(keyedBatch(T0, "a=a" + i, "b=b" + i, "c=c" + i), 0);
        }
    }

    @Test
    void keepsTheLastRecordOfEachKeyAtItsOffsetAndGroupsSmallSegments() throws Exception {
        int batchBytes = keyedBatch(T0, "a=a0", "b=b0", "c=c0").sizeInBytes();
        try (PartitionLog log = openCompacted(compacted(batchBytes * 2, compaction(HOUR, 0, Long.MAX_VALUE, 0.1)))) {
            writeRounds(log, 10, 0);
            log.appendAsLeader(keyedBatch(T0, "a=a-last"), 0);
            log.forceRoll();
            int segmentsBefore = log.numberOfSegments();
            long endBefore = log.logEndOffset();

            assertThat(clean()).isTrue();

            Map<Long, CleanerTestSupport.Entry> after = entries(log);
            assertThat(after.keySet()).containsExactly(28L, 29L, 30L);
            assertThat(after.values()).extracting(CleanerTestSupport.Entry::value).containsExactly("b9", "c9", "a-last");
            assertThat(log.logEndOffset()).isEqualTo(endBefore);
            assertThat(log.numberOfSegments()).isEqualTo(segmentsBefore);
            assertThat(log.logStartOffset()).isZero();
            // a consumer at an offset that was cleaned away gets the next record
            assertThat(log.read(3, 1 << 20, Long.MAX_VALUE, true).records().toRecordSet().batches().iterator()
                    .next().lastOffset()).isGreaterThanOrEqualTo(3);
            // the checkpoint says where the clean section ends
            assertThat(Files.readAllLines(dir.resolve(LogCleanerManager.CHECKPOINT_FILE)))
                    .containsExactly("0", "1", "t 0 31");
            assertThat(files(CleanerRecovery.CLEANED_SUFFIX) + files(CleanerRecovery.SWAP_SUFFIX)).isZero();

            // the segments cleaned small are grouped into one by the next cleaning
            writeRounds(log, 1, 10);
            log.forceRoll();
            assertThat(clean()).isTrue();
            assertThat(log.numberOfSegments()).isLessThanOrEqualTo(3);
            assertThat(latest(log)).containsExactly(Map.entry("a", "a10"), Map.entry("b", "b10"), Map.entry("c", "c10"));
        }
    }

    @Test
    void neverCleansTheActiveSegment() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            writeRounds(log, 5, 0);
            assertThat(clean()).isFalse();
            assertThat(entries(log)).hasSize(15);
        }
    }

    @Test
    void cleansWhatIsAlreadyCleanAgainWithTheNewDirtySectionAndKeepsOnlyTheLatest() throws Exception {
        int batchBytes = keyedBatch(T0, "a=a0", "b=b0", "c=c0").sizeInBytes();
        try (PartitionLog log = openCompacted(compacted(batchBytes * 3, compaction(HOUR, 0, Long.MAX_VALUE, 0.5)))) {
            writeRounds(log, 6, 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            writeRounds(log, 6, 6);
            log.forceRoll();
            assertThat(clean()).isTrue();
            assertThat(latest(log)).containsExactly(Map.entry("a", "a11"), Map.entry("b", "b11"), Map.entry("c", "c11"));
            assertThat(entries(log)).hasSize(3);
        }
    }

    @Test
    void waitsForTheDirtyRatio() throws Exception {
        int batchBytes = keyedBatch(T0, "a=a0", "b=b0", "c=c0").sizeInBytes();
        try (PartitionLog log = openCompacted(compacted(batchBytes * 10, compaction(HOUR, 0, Long.MAX_VALUE, 0.9)))) {
            writeRounds(log, 10, 0);
            log.forceRoll();
            assertThat(clean()).isTrue(); // all dirty: ratio 1.0
            writeRounds(log, 1, 10);
            log.forceRoll();
            // one dirty batch beside the clean section is below 0.9
            assertThat(logCleaner.manager().stats(LogTestSupport.TP).dirtyRatio()).isLessThan(0.9);
            assertThat(clean()).isFalse();
        }
    }

    @Test
    void removesTombstonesOnlyAfterDeleteRetention() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            log.appendAsLeader(keyedBatch(T0, "a=a0", "b=b0"), 0);
            log.appendAsLeader(keyedBatch(T0, "a="), 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            // the tombstone stays, a consumer from the start still sees the delete
            assertThat(entries(log).values()).extracting(CleanerTestSupport.Entry::key).containsExactly("b", "a");

            time.ms += HOUR - 1;
            log.appendAsLeader(keyedBatch(time.ms, "b=b1"), 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            assertThat(entries(log).values()).extracting(CleanerTestSupport.Entry::value).containsExactly("", "b1");

            time.ms += 1;
            log.appendAsLeader(keyedBatch(time.ms, "c=c0"), 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            assertThat(entries(log).values()).extracting(CleanerTestSupport.Entry::value).containsExactly("b1", "c0");
        }
    }

    @Test
    void leavesRecordsYoungerThanMinCompactionLag() throws Exception {
        int batchBytes = keyedBatch(T0, "a=a0").sizeInBytes();
        try (PartitionLog log = openCompacted(compacted(batchBytes * 2, compaction(HOUR, HOUR, Long.MAX_VALUE, 0.0)))) {
            for (int i = 0; i < 4; i++) {
                time.ms = T0 + i * HOUR;
                log.appendAsLeader(keyedBatch(T0 + i * HOUR, "a=old" + i), 0);
            }
            time.ms = T0 + 4 * HOUR;
            for (int i = 0; i < 4; i++) {
                log.appendAsLeader(keyedBatch(time.ms, "a=new" + i), 0);
            }
            log.forceRoll();
            assertThat(clean()).isTrue();
            // only segments whose newest record is an hour old were compacted among themselves
            assertThat(entries(log).values()).extracting(CleanerTestSupport.Entry::value)
                    .containsExactly("old3", "new0", "new1", "new2", "new3");
        }
    }

    @Test
    void cleansBelowTheDirtyRatioOnceMaxCompactionLagPasses() throws Exception {
        int batchBytes = keyedBatch(T0, "a=a0", "b=b0", "c=c0").sizeInBytes();
        try (PartitionLog log = openCompacted(compacted(batchBytes * 10, compaction(HOUR, 0, 2 * HOUR, 0.99)))) {
            writeRounds(log, 10, 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            time.ms = T0 + HOUR;
            log.appendAsLeader(keyedBatch(time.ms, "a=late"), 0);
            log.forceRoll();
            assertThat(clean()).isFalse();
            time.ms = T0 + 3 * HOUR + 1;
            assertThat(clean()).isTrue();
            assertThat(latest(log)).containsEntry("a", "late");
            assertThat(entries(log)).hasSize(3);
        }
    }

    @Test
    void rollsTheActiveSegmentOfACompactedLogAtMaxCompactionLag() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, HOUR, 0.5)))) {
            log.appendAsLeader(keyedBatch(T0, "a=1"), 0);
            time.ms = T0 + HOUR + 1;
            log.appendAsLeader(keyedBatch(T0 + HOUR + 1, "a=2"), 0);
            assertThat(log.numberOfSegments()).isEqualTo(2);
        }
    }

    @Test
    void recompressesRewrittenBatchesWithTheirCodec() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            log.appendAsLeader(keyedBatch("gzip", T0, "a=a0", "b=b0", "a=a1"), 0);
            log.appendAsLeader(keyedBatch("lz4", T0, "b=b1", "c=c0"), 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            List<LogBatch> batches = batches(log);
            assertThat(batches).extracting(LogBatch::compressionName).containsExactly("gzip", "lz4");
            assertThat(batches).extracting(LogBatch::baseOffset).containsExactly(0L, 3L);
            assertThat(entries(log).keySet()).containsExactly(2L, 3L, 4L);
            batches.forEach(LogBatch::ensureValid);
        }
    }

    @Test
    void keepsTheLastBatchOfEachProducerSoARetryIsStillADuplicateAfterRestart() throws Exception {
        LogConfig config = compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0));
        java.util.function.Supplier<RecordSet> last = () -> idempotentKeyed(7L, (short) 0, 2, T0, "a=p2");
        try (PartitionLog log = openCompacted(config)) {
            log.appendAsLeader(idempotentKeyed(7L, (short) 0, 0, T0, "a=p0"), 0);
            log.appendAsLeader(idempotentKeyed(7L, (short) 0, 1, T0, "a=p1"), 0);
            log.appendAsLeader(last.get(), 0);
            log.appendAsLeader(keyedBatch(T0, "a=plain"), 0); // supersedes every record of producer 7
            log.forceRoll();
            assertThat(clean()).isTrue();
            List<LogBatch> batches = batches(log);
            // producer 7's last batch stays, emptied, with its producer fields and offsets
            assertThat(batches).hasSize(2);
            assertThat(batches.get(0).producerId()).isEqualTo(7L);
            assertThat(batches.get(0).baseSequence()).isEqualTo(2);
            assertThat(batches.get(0).baseOffset()).isEqualTo(2L);
            assertThat(batches.get(0).countOrNull()).isZero();
            assertThat(latest(log)).containsExactly(Map.entry("a", "plain"));
        }
        logCleaner.unregister(LogTestSupport.TP);
        // rebuild the producer state from the log alone, as a new leader without snapshots would
        try (Stream<Path> s = Files.list(dir.resolve("t-0"))) {
            for (Path p : s.filter(p -> p.toString().endsWith(ProducerStateManager.SNAPSHOT_SUFFIX)).toList()) {
                Files.delete(p);
            }
        }
        try (PartitionLog log = open(dir.resolve("t-0"), config, time)) {
            assertThat(log.appendAsLeader(last.get(), 0).duplicate()).isTrue();
            assertThat(log.appendAsLeader(idempotentKeyed(7L, (short) 0, 3, T0, "a=p3"), 0).duplicate()).isFalse();
        }
    }

    @Test
    void passesControlBatchesThrough() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            log.appendAsLeader(keyedBatch(T0, "a=a0"), 0);
            log.appendAsFollower(RecordSet.endTransactionMarker(1L, T0, 0, 9L, (short) 0, true, 0));
            log.appendAsLeader(keyedBatch(T0, "a=a1"), 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            List<LogBatch> batches = batches(log);
            assertThat(batches).extracting(LogBatch::isControlBatch).containsExactly(true, false);
            assertThat(batches.get(0).baseOffset()).isEqualTo(1L);
            assertThat(batches.get(0).countOrNull()).isEqualTo(1);
        }
    }

    @Test
    void dropsRecordsWithoutKeyBelowTheDirtyEnd() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            // a topic switched from delete to compact keeps its keyless history until cleaned
            log.updateConfig(log.config().withCompaction(false, true, log.config().compaction()));
            log.appendAsLeader(RecordSet.of(new RecordSet.NewRecord(T0, null, "no-key".getBytes())), 0);
            log.updateConfig(log.config().withCompaction(true, false, log.config().compaction()));
            log.appendAsLeader(keyedBatch(T0, "a=a0"), 0);
            log.forceRoll();
            assertThat(clean()).isTrue();
            assertThat(entries(log).keySet()).containsExactly(1L);
        }
    }

    @Test
    void aReaderHoldingASliceOfAReplacedSegmentStillReadsIt() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            writeRounds(log, 4, 0);
            log.forceRoll();
            LogSlice slice = log.read(0, 1 << 20, Long.MAX_VALUE, true).records();
            assertThat(clean()).isTrue();
            assertThat(files(LogSegment.DELETED_SUFFIX)).isEqualTo(3);
            assertThat(LogTestSupport.values(slice.toRecordSet())).hasSize(12);
            time.ms += log.config().fileDeleteDelayMs();
            assertThat(log.deleteScheduledFiles()).isEqualTo(1);
            assertThat(files(LogSegment.DELETED_SUFFIX)).isZero();
        }
    }

    @Test
    void refusesTheSwapWhenTheLogWasTruncatedDuringTheCleaning() throws Exception {
        try (PartitionLog log = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            writeRounds(log, 4, 0);
            log.forceRoll();
            writeRounds(log, 1, 4);
            // the owner runs the snapshot, then a truncation lands before the swap
            int[] calls = {0};
            java.util.concurrent.Executor owner = r -> {
                if (calls[0]++ == 1) {
                    log.truncateTo(12);
                }
                r.run();
            };
            Cleaner.Task task = new Cleaner.Task(log, owner, 0, 12, () -> false);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> cleaner.clean(task))
                    .isInstanceOf(Cleaner.CleaningAborted.class);
            assertThat(entries(log)).hasSize(12);
            assertThat(files(CleanerRecovery.CLEANED_SUFFIX) + files(CleanerRecovery.SWAP_SUFFIX)).isZero();
        }
    }

    @Test
    void aFollowerCopiesACleanedLeaderWithItsHoles() throws Exception {
        try (PartitionLog leader = openCompacted(compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)));
             PartitionLog follower = open(dir.resolve("t-0-follower"), compacted(1 << 20,
                     compaction(HOUR, 0, Long.MAX_VALUE, 0.0)), time)) {
            writeRounds(leader, 4, 0);
            leader.forceRoll();
            writeRounds(leader, 1, 4);
            assertThat(clean()).isTrue();
            while (follower.logEndOffset() < leader.logEndOffset()) {
                RecordSet fetched = leader.read(follower.logEndOffset(), 1 << 20, Long.MAX_VALUE, true)
                        .records().toRecordSet();
                follower.appendAsFollower(fetched);
            }
            assertThat(entries(follower)).isEqualTo(entries(leader));
            assertThat(entries(follower).keySet()).startsWith(9L, 10L, 11L);
        }
    }

    @Test
    void refusesTheSwapWhenRetentionDeletedASegmentDuringTheCleaning() throws Exception {
        LogConfig config = compacted(1 << 20, compaction(HOUR, 0, Long.MAX_VALUE, 0.0));
        try (PartitionLog log = openCompacted(config.withCompaction(true, true, config.compaction()))) {
            writeRounds(log, 2, 0);
            log.forceRoll();
            writeRounds(log, 2, 2);
            log.forceRoll();
            writeRounds(log, 1, 4);
            int[] calls = {0};
            java.util.concurrent.Executor owner = r -> {
                if (calls[0]++ == 1) {
                    // compact,delete: DeleteRecords (or retention) removes the first segment before its swap
                    log.deleteRecordsBefore(6);
                }
                r.run();
            };
            Cleaner.Task task = new Cleaner.Task(log, owner, 0, 12, () -> false);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> cleaner.clean(task))
                    .isInstanceOf(Cleaner.CleaningAborted.class);
            assertThat(log.logStartOffset()).isEqualTo(6);
            assertThat(entries(log).keySet()).containsExactly(6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L);
            assertThat(files(CleanerRecovery.CLEANED_SUFFIX) + files(CleanerRecovery.SWAP_SUFFIX)).isZero();
            // the next round cleans what is left
            assertThat(clean()).isTrue();
            assertThat(latest(log)).containsExactly(Map.entry("a", "a4"), Map.entry("b", "b4"), Map.entry("c", "c4"));
        }
    }

    @Test
    void offsetMapFillingUpEndsTheRoundWhereItStopped() throws Exception {
        Cleaner small = new Cleaner(OffsetMap.BYTES_PER_ENTRY * 4096L, 64 * 1024,
                new Throttler(Double.MAX_VALUE, time), time);
        try (PartitionLog log = openCompacted(compacted(64 * 1024, compaction(HOUR, 0, Long.MAX_VALUE, 0.0)))) {
            for (int i = 0; i < 10_000; i++) {
                log.appendAsLeader(keyedBatch(T0, "k" + i + "=v" + i), 0);
            }
            for (int i = 0; i < 10_000; i++) {
                log.appendAsLeader(keyedBatch(T0, "k" + i + "=w" + i), 0);
            }
            log.forceRoll();
            int rounds = 0;
            while (logCleaner.cleanFilthiestLog(small)) {
                rounds++;
            }
            assertThat(rounds).isGreaterThan(1);
            Map<String, String> latest = latest(log);
            assertThat(latest).hasSize(10_000);
            assertThat(latest.values()).allMatch(v -> v.startsWith("w"));
            assertThat(entries(log)).hasSize(10_000);
        }
    }
}
