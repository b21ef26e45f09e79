package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.idempotent;
import static io.runnel.log.LogTestSupport.open;
import static io.runnel.log.LogTestSupport.records;
import static io.runnel.log.LogTestSupport.withSegmentBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.TransactionCoordinatorFencedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Transactions on the log: open and closed transactions, the last stable offset, the .txnindex, fencing. */
@Timeout(30)
class TransactionalLogTest {

    private static final long A = 1000L;
    private static final long B = 2000L;

    @TempDir
    Path dir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);

    static RecordSet txn(long pid, short epoch, int seq, String... values) {
        return RecordSet.builder().transactional(pid, epoch, seq).addAll(records(T0, values)).build();
    }

    static RecordSet marker(long pid, short epoch, boolean commit, int coordinatorEpoch) {
        return RecordSet.endTransactionMarker(0L, T0, -1, pid, epoch, commit, coordinatorEpoch);
    }

    static LogAppendResult end(PartitionLog log, long pid, short epoch, boolean commit) {
        return log.appendAsLeader(marker(pid, epoch, commit, 0), 0, AppendOrigin.COORDINATOR);
    }

    private static void settle(PartitionLog log) {
        log.onHighWatermarkUpdated(log.logEndOffset());
    }

    @Test
    void openTransactionHoldsTheLastStableOffsetUntilItsMarkerIsReplicated() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(LogTestSupport.batch(T0, "plain"), 0);
            log.appendAsLeader(txn(A, (short) 0, 0, "a1", "a2"), 0);
            log.appendAsLeader(LogTestSupport.batch(T0, "plain2"), 0);
            settle(log);
            assertThat(log.lastStableOffset(log.logEndOffset())).isEqualTo(1);
            // the high watermark bounds it either way
            assertThat(log.lastStableOffset(0)).isZero();
            LogAppendResult m = end(log, A, (short) 0, true);
            assertThat(m.firstOffset()).isEqualTo(4);
            // closed, but its marker is not below the high watermark yet
            log.onHighWatermarkUpdated(4);
            assertThat(log.lastStableOffset(4)).isEqualTo(1);
            log.onHighWatermarkUpdated(5);
            assertThat(log.lastStableOffset(5)).isEqualTo(5);
            assertThat(log.collectAbortedTransactions(0, 5)).isEmpty();
        }
    }

    @Test
    void abortIsIndexedWithTheLastStableOffsetOfTheOtherOpenTransactions() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 0, 0, "a1", "a2"), 0);
            log.appendAsLeader(txn(B, (short) 0, 0, "b1"), 0);
            end(log, A, (short) 0, false);
            settle(log);
            AbortedTxn expected = new AbortedTxn(A, 0, 3, 2);
            assertThat(log.collectAbortedTransactions(0, log.logEndOffset())).containsExactly(expected);
            assertThat(log.lastStableOffset(log.logEndOffset())).isEqualTo(2);
            end(log, B, (short) 0, false);
            settle(log);
            assertThat(log.collectAbortedTransactions(0, 10))
                    .containsExactly(expected, new AbortedTxn(B, 2, 4, 5));
            // a fetch past A's marker no longer needs it
            assertThat(log.collectAbortedTransactions(4, 10)).containsExactly(new AbortedTxn(B, 2, 4, 5));
            LogReadResult read = log.read(0, Integer.MAX_VALUE, log.lastStableOffset(log.logEndOffset()), true, true);
            assertThat(read.abortedTransactions()).hasSize(2);
            // Kafka's on-disk entry: version 0, producer id, first offset, last offset, last stable offset
            ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(LogSegment.fileName(0, ".txnindex"))));
            assertThat(file.remaining()).isEqualTo(2 * 34);
            assertThat(file.getShort()).isZero();
            assertThat(file.getLong()).isEqualTo(A);
            assertThat(file.getLong()).isZero();
            assertThat(file.getLong()).isEqualTo(3);
            assertThat(file.getLong()).isEqualTo(2);
        }
    }

    @Test
    void epochsFenceDataAndMarkersAndAMarkerBumpsTheEpoch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 5, 0, "a"), 0);
            assertThatThrownBy(() -> log.appendAsLeader(txn(A, (short) 4, 1, "zombie"), 0))
                    .isInstanceOf(InvalidProducerEpochException.class);
            assertThatThrownBy(() -> end(log, A, (short) 4, false))
                    .isInstanceOf(InvalidProducerEpochException.class);
            log.appendAsLeader(marker(A, (short) 6, false, 3), 0, AppendOrigin.COORDINATOR);
            // the marker moved the producer to epoch 6: epoch 5 is a zombie now
            assertThatThrownBy(() -> log.appendAsLeader(txn(A, (short) 5, 1, "late"), 0))
                    .isInstanceOf(InvalidProducerEpochException.class);
            // an older transaction coordinator is fenced by the coordinator epoch
            assertThatThrownBy(() -> log.appendAsLeader(marker(A, (short) 6, true, 2), 0, AppendOrigin.COORDINATOR))
                    .isInstanceOf(TransactionCoordinatorFencedException.class);
            log.appendAsLeader(txn(A, (short) 6, 0, "next"), 0);
            assertThat(log.logEndOffset()).isEqualTo(3);
            settle(log);
            assertThat(log.lastStableOffset(log.logEndOffset())).isEqualTo(2);
        }
    }

    @Test
    void plainWriteDuringATransactionAndClientMarkersAreRefused() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 0, 0, "a"), 0);
            assertThatThrownBy(() -> log.appendAsLeader(idempotent(A, (short) 0, 1, T0, "plain"), 0))
                    .isInstanceOf(InvalidTxnStateException.class);
            assertThatThrownBy(() -> log.appendAsLeader(marker(A, (short) 0, true, 0), 0))
                    .isInstanceOf(InvalidRecordException.class);
            assertThat(log.logEndOffset()).isEqualTo(1);
        }
    }

    @Test
    void markerWithoutATransactionIsWrittenButIndexesNothing() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            end(log, A, (short) 0, false);
            settle(log);
            assertThat(log.logEndOffset()).isEqualTo(1);
            assertThat(log.lastStableOffset(1)).isEqualTo(1);
            assertThat(log.collectAbortedTransactions(0, 1)).isEmpty();
            assertThat(Files.exists(dir.resolve(LogSegment.fileName(0, ".txnindex")))).isFalse();
        }
    }

    @Test
    void snapshotCarriesOpenTransactionsAcrossACleanRestart() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(LogTestSupport.batch(T0, "x"), 0);
            log.appendAsLeader(txn(A, (short) 2, 0, "a1"), 0);
            log.appendAsLeader(txn(A, (short) 2, 1, "a2"), 0);
        }
        try (PartitionLog log = open(dir, config(), time)) {
            settle(log);
            assertThat(log.lastStableOffset(log.logEndOffset())).isEqualTo(1);
            List<PartitionLog.ProducerStateView> producers = log.activeProducers();
            assertThat(producers).hasSize(1);
            assertThat(producers.get(0).currentTxnStartOffset()).isEqualTo(1);
            assertThat(producers.get(0).lastSequence()).isEqualTo(1);
            assertThat(producers.get(0).producerEpoch()).isEqualTo((short) 2);
            end(log, A, (short) 2, false);
            settle(log);
            assertThat(log.collectAbortedTransactions(0, 10)).containsExactly(new AbortedTxn(A, 1, 3, 4));
            // the sequence continues from the snapshot's last batch
            log.appendAsLeader(txn(A, (short) 2, 2, "a3"), 0);
        }
    }

    @Test
    void snapshotIsKafkasProducerSnapshotFormat() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 7, 0, "a1", "a2"), 0);
        }
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(LogSegment.fileName(2, ".snapshot"))));
        assertThat(buf.getShort()).isEqualTo((short) 1);
        int crc = buf.getInt();
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(buf.duplicate());
        assertThat(crc).isEqualTo((int) c.getValue());
        assertThat(buf.getInt()).isEqualTo(1);
        assertThat(buf.getLong()).isEqualTo(A);
        assertThat(buf.getShort()).isEqualTo((short) 7);
        assertThat(buf.getInt()).isEqualTo(1); // last sequence
        assertThat(buf.getLong()).isEqualTo(1); // last offset
        assertThat(buf.getInt()).isEqualTo(1); // offset delta
        assertThat(buf.getLong()).isEqualTo(T0);
        assertThat(buf.getInt()).isEqualTo(-1); // coordinator epoch
        assertThat(buf.getLong()).isZero(); // current transaction first offset
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void recoveryAfterACrashRebuildsTheTransactionIndexAndOpenTransactions() throws Exception {
        LogConfig cfg = withSegmentBytes(config(), 300);
        PartitionLog log = open(dir, cfg, time);
        log.appendAsLeader(txn(A, (short) 0, 0, "a1"), 0);
        log.appendAsLeader(txn(B, (short) 0, 0, "b1"), 0);
        for (int i = 0; i < 6; i++) {
            log.appendAsLeader(LogTestSupport.batch(T0, "filler-" + i), 0);
        }
        end(log, A, (short) 0, false);
        log.appendAsLeader(LogTestSupport.batch(T0, "tail"), 0);
        settle(log);
        List<AbortedTxn> before = log.collectAbortedTransactions(0, log.logEndOffset());
        assertThat(before).containsExactly(new AbortedTxn(A, 0, 8, 1));
        assertThat(log.numberOfSegments()).isGreaterThan(1);
        long leo = log.logEndOffset();
        log.closeWithoutShutdown();
        // a crash: the index files are not trusted, whatever they hold
        for (long base : log.segmentBaseOffsets()) {
            Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, ".txnindex")));
        }
        try (PartitionLog reopened = open(dir, cfg, time)) {
            assertThat(reopened.logEndOffset()).isEqualTo(leo);
            settle(reopened);
            assertThat(reopened.collectAbortedTransactions(0, leo)).isEqualTo(before);
            // B is still open
            assertThat(reopened.lastStableOffset(leo)).isEqualTo(1);
        }
    }

    @Test
    void tornTransactionIndexIsRebuiltOnOpen() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 0, 0, "a1"), 0);
            log.appendAsLeader(txn(B, (short) 0, 0, "b1"), 0);
            end(log, A, (short) 0, false);
            end(log, B, (short) 0, false);
        }
        Path index = dir.resolve(LogSegment.fileName(0, ".txnindex"));
        Files.write(index, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        try (PartitionLog log = open(dir, config(), time)) {
            assertThat(log.segmentsRecoveredOnOpen()).isEqualTo(1);
            assertThat(log.collectAbortedTransactions(0, 10))
                    .containsExactly(new AbortedTxn(A, 0, 2, 1), new AbortedTxn(B, 1, 3, 4));
            assertThat(Files.size(index)).isEqualTo(2 * 34);
        }
    }

    @Test
    void markerInALaterSegmentIsFoundFromTheSegmentWhereTheTransactionStarted() throws Exception {
        try (PartitionLog log = open(dir, withSegmentBytes(config(), 200), time)) {
            log.appendAsLeader(txn(A, (short) 0, 0, "a1"), 0);
            for (int i = 0; i < 4; i++) {
                log.appendAsLeader(LogTestSupport.batch(T0, "filler-" + i), 0);
            }
            end(log, A, (short) 0, false);
            settle(log);
            assertThat(log.numberOfSegments()).isGreaterThan(1);
            assertThat(log.collectAbortedTransactions(0, 1)).containsExactly(new AbortedTxn(A, 0, 5, 6));
            LogReadResult read = log.read(0, 1, log.lastStableOffset(log.logEndOffset()), true, true);
            assertThat(read.abortedTransactions()).containsExactly(new AbortedTxn(A, 0, 5, 6));
        }
    }

    @Test
    void truncationBelowAMarkerReopensItsTransaction() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 0, 0, "a1", "a2"), 0);
            end(log, A, (short) 0, false);
            settle(log);
            assertThat(log.collectAbortedTransactions(0, 3)).hasSize(1);
            log.truncateTo(2);
            settle(log);
            assertThat(log.collectAbortedTransactions(0, 3)).isEmpty();
            assertThat(log.lastStableOffset(2)).isZero();
            assertThat(Files.size(dir.resolve(LogSegment.fileName(0, ".txnindex")))).isZero();
            // the new leader's marker closes it again
            end(log, A, (short) 0, true);
            settle(log);
            assertThat(log.lastStableOffset(3)).isEqualTo(3);
        }
    }

    @Test
    void followerKeepsTheSameTransactionStateAndIndex() throws Exception {
        Path leaderDir = dir.resolve("leader");
        Path followerDir = dir.resolve("follower");
        try (PartitionLog leader = open(leaderDir, config(), time);
             PartitionLog follower = open(followerDir, config(), time)) {
            leader.appendAsLeader(txn(A, (short) 0, 0, "a1"), 0);
            leader.appendAsLeader(txn(B, (short) 0, 0, "b1"), 0);
            end(leader, A, (short) 0, false);
            RecordSet copy = leader.read(0, Integer.MAX_VALUE, Long.MAX_VALUE, true).records().toRecordSet();
            follower.appendAsFollower(copy);
            settle(leader);
            settle(follower);
            assertThat(follower.collectAbortedTransactions(0, 10))
                    .isEqualTo(leader.collectAbortedTransactions(0, 10))
                    .containsExactly(new AbortedTxn(A, 0, 2, 1));
            assertThat(follower.lastStableOffset(3)).isEqualTo(leader.lastStableOffset(3)).isEqualTo(1);
        }
    }

    @Test
    void retentionRemovesTheTransactionIndexWithItsSegment() throws Exception {
        LogConfig cfg = LogTestSupport.with(config(), 200, Long.MAX_VALUE, 0L, -1L, 1_000_000, 4096, 0L, false);
        try (PartitionLog log = open(dir, cfg, time)) {
            log.appendAsLeader(txn(A, (short) 0, 0, "a1"), 0);
            end(log, A, (short) 0, false);
            for (int i = 0; i < 4; i++) {
                log.appendAsLeader(LogTestSupport.batch(T0, "filler-" + i), 0);
            }
            settle(log);
            Path index = dir.resolve(LogSegment.fileName(0, ".txnindex"));
            assertThat(index).exists();
            time.ms += 10_000;
            assertThat(log.deleteExpiredSegments()).isPositive();
            log.deleteScheduledFiles();
            assertThat(index).doesNotExist();
            assertThat(dir.resolve(LogSegment.fileName(0, ".txnindex.deleted"))).doesNotExist();
        }
    }
}
