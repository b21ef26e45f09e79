package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.idempotent;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.readValues;
import static io.runnel.log.LogTestSupport.withSegmentBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class IdempotentProducerTest {

    private static final long PID = 1000L;

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    @Test
    void retriedBatchIsADuplicateAnsweredWithTheOriginalOffsets() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(idempotent(PID, (short) 0, 0, T0, "a", "b"), 0);
            log.appendAsLeader(idempotent(PID, (short) 0, 2, T0, "c"), 0);
            LogAppendResult dup = log.appendAsLeader(idempotent(PID, (short) 0, 0, T0, "a", "b"), 0);
            assertThat(dup.duplicate()).isTrue();
            assertThat(dup.firstOffset()).isZero();
            assertThat(dup.lastOffset()).isEqualTo(1);
            assertThat(dup.recordCount()).isZero();
            assertThat(log.logEndOffset()).isEqualTo(3);
            assertThat(readValues(log, 0)).containsExactly("a", "b", "c");
        }
    }

    @Test
    void onlyTheLastFiveBatchesAreRemembered() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            for (int seq = 0; seq < 6; seq++) {
                log.appendAsLeader(idempotent(PID, (short) 0, seq, T0, "v" + seq), 0);
            }
            assertThat(log.appendAsLeader(idempotent(PID, (short) 0, 1, T0, "v1"), 0).firstOffset()).isEqualTo(1);
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 0, 0, T0, "v0"), 0))
                    .isInstanceOf(OutOfOrderSequenceException.class);
        }
    }

    @Test
    void sequenceGapIsOutOfOrder() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(idempotent(PID, (short) 0, 0, T0, "a"), 0);
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 0, 2, T0, "c"), 0))
                    .isInstanceOf(OutOfOrderSequenceException.class);
            assertThat(log.logEndOffset()).isEqualTo(1);
            log.appendAsLeader(idempotent(PID, (short) 0, 1, T0, "b"), 0);
            assertThat(log.logEndOffset()).isEqualTo(2);
        }
    }

    @Test
    void lowerEpochIsFencedAndANewEpochMustStartAtZero() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(idempotent(PID, (short) 3, 0, T0, "a"), 0);
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 2, 1, T0, "b"), 0))
                    .isInstanceOf(InvalidProducerEpochException.class);
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 4, 5, T0, "b"), 0))
                    .isInstanceOf(OutOfOrderSequenceException.class);
            log.appendAsLeader(idempotent(PID, (short) 4, 0, T0, "b"), 0);
            // the old epoch's batches are forgotten with the bump
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 3, 0, T0, "a"), 0))
                    .isInstanceOf(InvalidProducerEpochException.class);
            assertThat(readValues(log, 0)).containsExactly("a", "b");
        }
    }

    @Test
    void unknownProducerIsAcceptedAtAnySequenceOnceThePartitionHasHeldRecords() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(idempotent(PID + 1, (short) 0, 0, T0, "other"), 0);
            // as Kafka (KIP-360): its state may have been removed by retention or expiry, so any sequence goes
            log.appendAsLeader(idempotent(PID, (short) 0, 42, T0, "a"), 0);
            log.appendAsLeader(idempotent(PID, (short) 0, 43, T0, "b"), 0);
            assertThat(log.logEndOffset()).isEqualTo(3);
        }
    }

    @Test
    void neverWrittenPartitionRefusesAFirstSequenceAboveZero() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 0, 42, T0, "a"), 0))
                    .isInstanceOf(OutOfOrderSequenceException.class)
                    .hasMessageContaining("42 (incoming seq. number)");
            assertThat(log.logEndOffset()).isZero();
            // a new epoch, or a producer starting as it should, is taken
            log.appendAsLeader(idempotent(PID, (short) 1, 0, T0, "a"), 0);
            assertThat(log.logEndOffset()).isEqualTo(1);
        }
    }

    /**
     * The batch order NetworkPartitionIT's producer met on a new topic: request A (sequences 0-16) reached the
     * leader before it led the partition and was answered NOT_LEADER_OR_FOLLOWER, request B (17-21), pipelined
     * behind it, arrived once it did. Taking B as an unknown producer's first batch made every retry of A
     * OUT_OF_ORDER_SEQUENCE_NUMBER for good (the Java client retries it without bumping the epoch, since a
     * later sequence was acknowledged), and A's records were lost. B must be refused instead, so A's retry
     * goes first and B's retry follows it.
     */
    @Test
    void laterBatchReachingANewPartitionFirstIsRefusedSoTheEarlierOneCanStillBeWritten() throws Exception {
        String[] a = new String[17];
        for (int i = 0; i < a.length; i++) {
            a[i] = "a" + i;
        }
        try (PartitionLog log = open(dir, config(), time)) {
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 0, 17, T0, "b0", "b1", "b2", "b3",
                    "b4"), 0)).isInstanceOf(OutOfOrderSequenceException.class);
            assertThat(log.appendAsLeader(idempotent(PID, (short) 0, 0, T0, a), 0).firstOffset()).isZero();
            assertThat(log.appendAsLeader(idempotent(PID, (short) 0, 17, T0, "b0", "b1", "b2", "b3", "b4"), 0)
                    .firstOffset()).isEqualTo(17);
            assertThat(readValues(log, 0)).hasSize(22).startsWith("a0").endsWith("b4");
        }
    }

    @Test
    void dedupeSurvivesReopenWithoutCleanShutdown() throws Exception {
        int size = idempotent(PID, (short) 0, 0, T0, "value-0").sizeInBytes();
        LogConfig cfg = withSegmentBytes(config(), size * 3);
        PartitionLog crashed = open(dir, cfg, time);
        for (int seq = 0; seq < 7; seq++) {
            crashed.appendAsLeader(idempotent(PID, (short) 0, seq, T0, "value-" + seq), 0);
        }
        crashed.closeWithoutShutdown();
        assertThat(dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE)).doesNotExist();

        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.logEndOffset()).isEqualTo(7);
            LogAppendResult dup = log.appendAsLeader(idempotent(PID, (short) 0, 6, T0, "value-6"), 0);
            assertThat(dup.duplicate()).isTrue();
            assertThat(dup.firstOffset()).isEqualTo(6);
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(PID, (short) 0, 8, T0, "gap"), 0))
                    .isInstanceOf(OutOfOrderSequenceException.class);
            log.appendAsLeader(idempotent(PID, (short) 0, 7, T0, "value-7"), 0);
        }
        // and again from the snapshot written by the clean close
        try (PartitionLog log = open(dir, cfg, time)) {
            assertThat(log.appendAsLeader(idempotent(PID, (short) 0, 7, T0, "value-7"), 0).duplicate()).isTrue();
        }
    }

    @Test
    void dedupeSurvivesReopenWithoutAnySnapshot() throws Exception {
        PartitionLog crashed = open(dir, config(), time);
        crashed.appendAsLeader(idempotent(PID, (short) 0, 0, T0, "a"), 0);
        crashed.appendAsLeader(idempotent(PID, (short) 0, 1, T0, "b"), 0);
        crashed.closeWithoutShutdown();
        try (var files = java.nio.file.Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".snapshot"));
        }
        try (PartitionLog log = open(dir, config(), time)) {
            assertThat(log.appendAsLeader(idempotent(PID, (short) 0, 1, T0, "b"), 0).duplicate()).isTrue();
        }
    }
}
