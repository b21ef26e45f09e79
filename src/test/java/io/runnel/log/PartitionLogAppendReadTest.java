package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.batch;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.offsets;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.readAll;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.values;
import static io.runnel.log.LogTestSupport.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.requests.ListOffsetsRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(30)
class PartitionLogAppendReadTest {

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "snappy", "lz4", "zstd"})
    void roundTripsBatchesWithOffsetsAssignedInPlaceAndValidCrc(String codec) throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            RecordSet first = batch(codec, T0, "a", "b", "c");
            int size = first.sizeInBytes();
            LogAppendResult r1 = log.appendAsLeader(first, 7);
            LogAppendResult r2 = log.appendAsLeader(batch(codec, T0 + 1, "d", "e"), 7);

            assertThat(r1.firstOffset()).isZero();
            assertThat(r1.lastOffset()).isEqualTo(2);
            assertThat(r1.recordCount()).isEqualTo(3);
            assertThat(r1.sizeInBytes()).isEqualTo(size);
            assertThat(r2.firstOffset()).isEqualTo(3);
            assertThat(r2.lastOffset()).isEqualTo(4);
            assertThat(log.logEndOffset()).isEqualTo(5);
            assertThat(log.sizeInBytes()).isEqualTo(size + r2.sizeInBytes());

            RecordSet read = readAll(log, 0);
            assertThat(values(read)).containsExactly("a", "b", "c", "d", "e");
            assertThat(offsets(read)).containsExactly(0L, 1L, 2L, 3L, 4L);
            for (LogBatch b : read.batches()) {
                assertThat(b.isValid()).isTrue();
                assertThat(b.partitionLeaderEpoch()).isEqualTo(7);
                assertThat(b.compressionName()).isEqualTo(codec);
            }
            // stored as sent: one batch per append, not re-encoded
            assertThat(read.sizeInBytes()).isEqualTo(size + r2.sizeInBytes());
        }
    }

    @Test
    void readFromTheMiddleOfABatchReturnsTheWholeBatch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(batch(T0, "a", "b", "c"), 0);
            log.appendAsLeader(batch(T0, "d"), 0);
            RecordSet read = readAll(log, 1);
            assertThat(offsets(read)).containsExactly(0L, 1L, 2L, 3L);
            assertThat(offsets(readAll(log, 3))).containsExactly(3L);
        }
    }

    @Test
    void readStopsAtMaxBytesAndMaxOffsetButMinOneMessageReturnsAWholeBatch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            int size = log.appendAsLeader(batch(T0, "a", "b"), 0).sizeInBytes();
            log.appendAsLeader(batch(T0, "c"), 0);
            log.appendAsLeader(batch(T0, "d"), 0);

            LogReadResult small = log.read(0, size - 1, Long.MAX_VALUE, true);
            assertThat(small.records().sizeInBytes()).isEqualTo(size);
            assertThat(log.read(0, size - 1, Long.MAX_VALUE, false).records().sizeInBytes()).isZero();
            assertThat(offsets(log.read(0, size, Long.MAX_VALUE, false).records().toRecordSet()))
                    .containsExactly(0L, 1L);

            assertThat(offsets(log.read(0, Integer.MAX_VALUE, 3, false).records().toRecordSet()))
                    .containsExactly(0L, 1L, 2L);
            assertThat(log.read(3, Integer.MAX_VALUE, 3, true).records().sizeInBytes()).isZero();
            assertThat(log.read(4, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().sizeInBytes()).isZero();
            assertThat(small.logEndOffset()).isEqualTo(4);
            assertThat(small.logStartOffset()).isZero();
        }
    }

    /**
     * The read finds its end through the index rather than batch by batch: over batches of varied sizes,
     * several segments and a sparse index, every (offset, max bytes, bound) gives exactly the whole batches
     * a walk over all of them gives.
     */
    @Test
    void readReturnsTheSameWholeBatchesAsAWalkOverEveryBatch() throws Exception {
        java.util.Random random = new java.util.Random(42);
        LogConfig cfg = with(config(), 40_000, Long.MAX_VALUE, -1, -1, 1 << 20, 700, 0, false);
        record Batch(long base, long last, long segment, int size) {
        }
        List<Batch> batches = new ArrayList<>();
        try (PartitionLog log = open(dir, cfg, time)) {
            List<LogAppendResult> appended = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                String[] values = new String[1 + random.nextInt(5)];
                for (int v = 0; v < values.length; v++) {
                    values[v] = "v".repeat(1 + random.nextInt(400));
                }
                appended.add(log.appendAsLeader(batch(T0 + i, values), 0));
            }
            java.util.TreeSet<Long> segmentBases = new java.util.TreeSet<>(log.segmentBaseOffsets());
            assertThat(segmentBases).hasSizeGreaterThan(3);
            for (LogAppendResult r : appended) {
                batches.add(new Batch(r.firstOffset(), r.lastOffset(), segmentBases.floor(r.firstOffset()),
                        r.sizeInBytes()));
            }
            long end = log.logEndOffset();
            for (int trial = 0; trial < 3000; trial++) {
                long from = random.nextLong(end);
                long bound = from + 1 + random.nextLong(end - from + 5);
                int maxBytes = random.nextInt(12_000);
                boolean minOne = random.nextBoolean();
                // the walk: from the batch holding `from`, within its segment, whole batches below the bound
                int at = 0;
                while (batches.get(at).last() < from) {
                    at++;
                }
                List<Long> expected = new ArrayList<>();
                long total = 0;
                for (int b = at; b < batches.size() && batches.get(b).segment() == batches.get(at).segment(); b++) {
                    Batch x = batches.get(b);
                    if (x.last() >= bound || (total + x.size() > maxBytes && !(minOne && total == 0))) {
                        break;
                    }
                    expected.add(x.base());
                    total += x.size();
                }
                RecordSet read = log.read(from, maxBytes, bound, minOne).records().toRecordSet();
                List<Long> got = new ArrayList<>();
                read.batches().forEach(b -> got.add(b.baseOffset()));
                assertThat(got).as("from %d, max %d bytes, bound %d, minOne %s", from, maxBytes, bound, minOne)
                        .isEqualTo(expected);
                assertThat(read.sizeInBytes()).isEqualTo((int) total);
            }
        }
    }

    @Test
    void readOutsideTheLogIsOutOfRange() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(batch(T0, "a"), 0);
            assertThatThrownBy(() -> log.read(2, 100, Long.MAX_VALUE, true))
                    .isInstanceOf(OffsetOutOfRangeException.class);
            assertThatThrownBy(() -> log.read(-1, 100, Long.MAX_VALUE, true))
                    .isInstanceOf(OffsetOutOfRangeException.class);
        }
    }

    @Test
    void rollsWhenTheSegmentWouldExceedSegmentBytes() throws Exception {
        int batchSize = batch(T0, "value-0").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 3, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                log.appendAsLeader(batch(T0, "value-" + i), 0);
                expected.add("value-" + i);
            }
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 3L, 6L, 9L);
            assertThat(dir.resolve("00000000000000000003.log")).exists();
            assertThat(dir.resolve("00000000000000000003.index")).exists();
            assertThat(dir.resolve("00000000000000000003.timeindex")).exists();
            assertThat(readValues(log, 0)).containsExactlyElementsOf(expected);
            assertThat(readValues(log, 4)).containsExactlyElementsOf(expected.subList(4, 10));
        }
    }

    @Test
    void rollsWhenSegmentMsHasPassedSinceTheFirstBatch() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, 1000, -1, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            log.appendAsLeader(batch(T0, "a"), 0);
            time.sleep(500);
            log.appendAsLeader(batch(T0 + 500, "b"), 0);
            assertThat(log.numberOfSegments()).isEqualTo(1);
            time.sleep(600);
            log.appendAsLeader(batch(T0 + 1100, "c"), 0);
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L);
        }
    }

    @Test
    void findsOffsetsByTimestampIncludingMaxTimestamp() throws Exception {
        int batchSize = batch(T0, "x").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, -1, -1, 1 << 20, 1, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            log.appendAsLeader(batch(T0 + 10, "a"), 1);   // 0
            log.appendAsLeader(batch(T0 + 50, "b"), 1);   // 1
            log.appendAsLeader(batch(T0 + 20, "c"), 2);   // 2
            log.appendAsLeader(batch(T0 + 40, "d"), 2);   // 3
            log.appendAsLeader(batch(T0 + 60, "e"), 2);   // 4
            assertThat(log.numberOfSegments()).isGreaterThan(1);

            assertThat(log.offsetForTimestamp(T0)).hasValueSatisfying(t -> assertThat(t.offset()).isZero());
            assertThat(log.offsetForTimestamp(T0 + 11)).hasValueSatisfying(t -> {
                assertThat(t.offset()).isEqualTo(1);
                assertThat(t.timestamp()).isEqualTo(T0 + 50);
            });
            assertThat(log.offsetForTimestamp(T0 + 55)).hasValueSatisfying(t -> {
                assertThat(t.offset()).isEqualTo(4);
                assertThat(t.leaderEpoch()).isEqualTo(2);
            });
            assertThat(log.offsetForTimestamp(T0 + 61)).isEmpty();
            assertThat(log.offsetForTimestamp(ListOffsetsRequest.MAX_TIMESTAMP)).hasValueSatisfying(t -> {
                assertThat(t.offset()).isEqualTo(4);
                assertThat(t.timestamp()).isEqualTo(T0 + 60);
            });
            assertThat(log.offsetForTimestamp(ListOffsetsRequest.EARLIEST_TIMESTAMP).get().offset()).isZero();
            assertThat(log.offsetForTimestamp(ListOffsetsRequest.LATEST_TIMESTAMP).get().offset()).isEqualTo(5);
        }
        // the same answers from the indexes written at close
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.offsetForTimestamp(T0 + 11).get().offset()).isEqualTo(1);
            assertThat(log.offsetForTimestamp(ListOffsetsRequest.MAX_TIMESTAMP).get().offset()).isEqualTo(4);
        }
    }

    @Test
    void maxTimestampPointsAtTheRecordInsideABatch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(batch(T0, "a"), 0);
            RecordSet b = RecordSet.of(new RecordSet.NewRecord(T0 + 1, null, "x".getBytes()),
                    new RecordSet.NewRecord(T0 + 9, null, "y".getBytes()),
                    new RecordSet.NewRecord(T0 + 2, null, "z".getBytes()));
            log.appendAsLeader(b, 0);
            TimestampOffset max = log.offsetForTimestamp(ListOffsetsRequest.MAX_TIMESTAMP).orElseThrow();
            assertThat(max.offset()).isEqualTo(2);
            assertThat(max.timestamp()).isEqualTo(T0 + 9);
        }
    }

    @Test
    void logAppendTimeTopicsStampTheBrokerTime() throws Exception {
        LogConfig cfg = with(config(), 1 << 30, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, true);
        try (PartitionLog log = open(dir, cfg, time)) {
            time.sleep(5);
            LogAppendResult r = log.appendAsLeader(batch("gzip", 42L, "a", "b"), 0);
            assertThat(r.logAppendTime()).isEqualTo(T0 + 5);
            LogBatch stored = readAll(log, 0).batches().iterator().next();
            assertThat(stored.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
            assertThat(stored.maxTimestamp()).isEqualTo(T0 + 5);
            assertThat(stored.isValid()).isTrue();
        }
    }

    @Test
    void tracksLeaderEpochsAndAnswersEndOffsetForEpoch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            assertThat(log.latestEpoch()).isEqualTo(-1);
            assertThat(log.endOffsetForEpoch(0)).isEqualTo(new TimestampOffset(-1, -1, -1));
            log.appendAsLeader(batch(T0, "a", "b"), 1);   // epoch 1: 0..1
            log.appendAsLeader(batch(T0, "c"), 3);        // epoch 3: 2
            log.appendAsLeader(batch(T0, "d"), 3);        // 3
            assertThat(log.latestEpoch()).isEqualTo(3);
            assertThat(log.endOffsetForEpoch(3).offset()).isEqualTo(4);
            assertThat(log.endOffsetForEpoch(1).offset()).isEqualTo(2);
            TimestampOffset e2 = log.endOffsetForEpoch(2);
            assertThat(e2.timestamp()).isEqualTo(1);
            assertThat(e2.offset()).isEqualTo(2);
            assertThat(log.endOffsetForEpoch(4).offset()).isEqualTo(-1);
            assertThat(Files.readAllLines(dir.resolve("leader-epoch-checkpoint")))
                    .containsExactly("0", "2", "1 0", "3 2");

            log.truncateTo(2);
            assertThat(log.logEndOffset()).isEqualTo(2);
            assertThat(log.latestEpoch()).isEqualTo(1);
            assertThat(values(readAll(log, 0))).containsExactly("a", "b");
            log.appendAsLeader(batch(T0, "e"), 4);
            assertThat(values(readAll(log, 0))).containsExactly("a", "b", "e");
        }
    }

    @Test
    void truncatingToTheLogEndDropsOnlyAnEpochStartedThereWithoutData() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(batch(T0, "a", "b"), 1);
            log.appendAsLeader(batch(T0, "c"), 3);
            // elected at epoch 4, then demoted before appending anything
            log.assignEpochStartOffset(4, log.logEndOffset());
            assertThat(log.latestEpoch()).isEqualTo(4);
            log.truncateTo(log.logEndOffset());
            // the empty epoch 4 would make every fetch from the new leader diverge again
            assertThat(log.latestEpoch()).isEqualTo(3);
            assertThat(log.endOffsetForEpoch(1).offset()).isEqualTo(2);
            assertThat(log.logEndOffset()).isEqualTo(3);
            log.truncateTo(log.logEndOffset());
            assertThat(log.latestEpoch()).as("epochs with data stay").isEqualTo(3);
            assertThat(values(readAll(log, 0))).containsExactly("a", "b", "c");
        }
    }

    @Test
    void truncateToRemovesLaterSegments() throws Exception {
        int batchSize = batch(T0, "value-0").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 2, Long.MAX_VALUE, -1, -1, 1 << 20, 4096, 0, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            for (int i = 0; i < 6; i++) {
                log.appendAsLeader(batch(T0, "value-" + i), 0);
            }
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L, 4L);
            log.truncateTo(3);
            assertThat(log.segmentBaseOffsets()).containsExactly(0L, 2L);
            assertThat(log.logEndOffset()).isEqualTo(3);
            assertThat(readValues(log, 0)).containsExactly("value-0", "value-1", "value-2");
            log.appendAsLeader(batch(T0, "again"), 0);
            assertThat(readValues(log, 0)).containsExactly("value-0", "value-1", "value-2", "again");
        }
    }

    @Test
    void truncationInsideABatchDropsTheWholeBatch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(batch(T0, "a"), 0);
            log.appendAsLeader(batch(T0, "b", "c", "d"), 0);
            log.truncateTo(2);
            assertThat(log.logEndOffset()).isEqualTo(1);
            assertThat(values(readAll(log, 0))).containsExactly("a");
        }
    }

    @Test
    void followerAppendKeepsTheLeadersOffsetsAndEpochs() throws Exception {
        Path leaderDir = dir.resolve("leader");
        Path followerDir = dir.resolve("follower");
        try (PartitionLog leader = open(leaderDir, config(), time);
             PartitionLog follower = open(followerDir, config(), time)) {
            leader.appendAsLeader(batch(T0, "a", "b"), 2);
            leader.appendAsLeader(batch(T0, "c"), 5);
            LogAppendResult r = follower.appendAsFollower(readAll(leader, 0));
            assertThat(r.firstOffset()).isZero();
            assertThat(r.lastOffset()).isEqualTo(2);
            assertThat(follower.logEndOffset()).isEqualTo(3);
            assertThat(follower.latestEpoch()).isEqualTo(5);
            assertThat(follower.endOffsetForEpoch(2).offset()).isEqualTo(2);
            assertThatThrownBy(() -> follower.appendAsFollower(readAll(leader, 0)))
                    .isInstanceOf(org.apache.kafka.common.InvalidRecordException.class);
        }
    }

    @Test
    void concurrentReaderSeesOnlyWholeBatches() throws Exception {
        int batchSize = batch(T0, "value-0000").sizeInBytes();
        LogConfig cfg = with(config(), batchSize * 50, Long.MAX_VALUE, -1, -1, 1 << 20, 256, 0, false);
        int total = 2000;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (PartitionLog log = open(dir, cfg, time)) {
            AtomicBoolean done = new AtomicBoolean();
            Future<Long> reader = pool.submit(() -> {
                long next = 0;
                long checks = 0;
                while (!done.get() || next < log.logEndOffset()) {
                    long leo = log.logEndOffset();
                    if (next >= leo) {
                        Thread.onSpinWait();
                        continue;
                    }
                    RecordSet r = log.read(next, 4096, leo, true).records().toRecordSet();
                    int whole = 0;
                    for (LogBatch b : r.batches()) {
                        whole += b.sizeInBytes();
                        b.ensureValid();
                        if (b.lastOffset() >= next) {
                            if (b.baseOffset() != next) {
                                throw new AssertionError("gap at " + next + ": " + b.baseOffset());
                            }
                            next = b.nextOffset();
                        }
                        checks++;
                    }
                    if (whole != r.sizeInBytes()) {
                        throw new AssertionError("partial batch at " + next);
                    }
                }
                return next + checks * 0;
            });
            for (int i = 0; i < total; i++) {
                log.appendAsLeader(batch(T0, String.format("value-%04d", i)), 0);
            }
            done.set(true);
            assertThat(reader.get(20, TimeUnit.SECONDS)).isEqualTo(total);
            assertThat(log.numberOfSegments()).isGreaterThan(10);
        } finally {
            pool.shutdownNow();
        }
    }
}
