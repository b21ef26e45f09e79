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
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
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

    private static final short TV1 = 1;
    private static final short TV2 = 2;

    static LogAppendResult end(PartitionLog log, long pid, short epoch, boolean commit, short transactionVersion) {
        return log.appendAsLeader(marker(pid, epoch, commit, 0), 0, AppendOrigin.COORDINATOR, transactionVersion);
    }

    /** The first offset of the producer's open transaction, -1 for none. */
    private static long txnStart(PartitionLog log, long pid) {
        return log.activeProducers().stream().filter(p -> p.producerId() == pid).findFirst()
                .map(PartitionLog.ProducerStateView::currentTxnStartOffset).orElse(-1L);
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

    @Test
    void legacyMarkerIsAcceptedAtTheTransactionsEpochAndRefusedBelowIt() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 5, 0, "a"), 0);
            assertThatThrownBy(() -> end(log, A, (short) 4, true, TV1))
                    .isInstanceOf(InvalidProducerEpochException.class).hasMessageContaining("TV1");
            // transaction version 0-1: the coordinator writes the markers at the transaction's own epoch
            end(log, A, (short) 5, true, TV1);
            settle(log);
            assertThat(log.lastStableOffset(log.logEndOffset())).isEqualTo(log.logEndOffset());
            // and a repeat of it (a coordinator's retry) is written again, as Kafka's
            end(log, A, (short) 5, true, TV1);
            assertThat(log.logEndOffset()).isEqualTo(3);
        }
    }

    @Test
    void versionTwoMarkerMustBeAboveTheTransactionsEpoch() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 5, 0, "a"), 0);
            // under version 2 the coordinator bumps the epoch before writing the markers: one at the data's epoch
            // is a late marker of an earlier end and would close this transaction
            assertThatThrownBy(() -> end(log, A, (short) 5, true, TV2))
                    .isInstanceOf(InvalidProducerEpochException.class).hasMessageContaining("<=");
            assertThatThrownBy(() -> end(log, A, (short) 4, false, TV2))
                    .isInstanceOf(InvalidProducerEpochException.class);
            assertThat(txnStart(log, A)).isZero();
            end(log, A, (short) 6, true, TV2);
            settle(log);
            assertThat(log.lastStableOffset(log.logEndOffset())).isEqualTo(2);
            // a retry of the marker just written (its answer lost, or the coordinator reloaded) is accepted
            end(log, A, (short) 6, true, TV2);
            assertThat(log.logEndOffset()).isEqualTo(3);
            // the next transaction at epoch 6 cannot be ended by a marker at 6 any more
            log.appendAsLeader(txn(A, (short) 6, 0, "b"), 0);
            assertThatThrownBy(() -> end(log, A, (short) 6, false, TV2))
                    .isInstanceOf(InvalidProducerEpochException.class);
            end(log, A, (short) 7, false, TV2);
            settle(log);
            assertThat(log.collectAbortedTransactions(0, log.logEndOffset()))
                    .containsExactly(new AbortedTxn(A, 3, 4, 5));
        }
    }

    @Test
    void replicatedMarkerBelowTheEpochIsKeptAsTheLeaderWroteIt() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            log.appendAsLeader(txn(A, (short) 5, 0, "a"), 0);
            RecordSet stale = RecordSet.endTransactionMarker(1L, T0, 0, A, (short) 4, true, 0);
            log.appendAsFollower(stale);
            assertThat(log.logEndOffset()).isEqualTo(2);
        }
    }

    /**
     * The events behind an OUT_OF_ORDER_SEQUENCE_NUMBER seen after a version-2 epoch bump, checked against Kafka's
     * ProducerAppendInfo: batches at epoch e, the commit marker at e+1, the next transaction at e+1 from sequence
     * 0, then a late retry of an epoch-e batch, which is fenced (INVALID_PRODUCER_EPOCH), never out of order, and
     * leaves the new epoch's sequence where it was.
     */
    @Test
    void lateRetryOfTheOldEpochAfterAVersionTwoBumpIsFencedNotOutOfOrder() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            short e = 3;
            short next = (short) (e + 1);
            log.appendAsLeader(txn(A, e, 0, "a0", "a1"), 0, AppendOrigin.CLIENT, TV2);
            log.appendAsLeader(txn(A, e, 2, "a2"), 0, AppendOrigin.CLIENT, TV2);
            end(log, A, next, true, TV2);
            // the old epoch's batches are forgotten: the new epoch starts at 0, and only at 0
            assertThatThrownBy(() -> log.appendAsLeader(txn(A, next, 3, "b?"), 0, AppendOrigin.CLIENT, TV2))
                    .isInstanceOf(OutOfOrderSequenceException.class);
            LogAppendResult b0 = log.appendAsLeader(txn(A, next, 0, "b0"), 0, AppendOrigin.CLIENT, TV2);
            assertThat(b0.firstOffset()).isEqualTo(4);
            // a retry of the epoch-e batch at sequence 2 (or of any other) arrives after the bump
            assertThatThrownBy(() -> log.appendAsLeader(txn(A, e, 2, "a2"), 0, AppendOrigin.CLIENT, TV2))
                    .isInstanceOf(InvalidProducerEpochException.class);
            assertThatThrownBy(() -> log.appendAsLeader(txn(A, e, 3, "a3"), 0, AppendOrigin.CLIENT, TV2))
                    .isInstanceOf(InvalidProducerEpochException.class);
            // the fenced retries changed nothing: the new epoch goes on at 1, and a retry of b0 is a duplicate
            LogAppendResult dup = log.appendAsLeader(txn(A, next, 0, "b0"), 0, AppendOrigin.CLIENT, TV2);
            assertThat(dup.duplicate()).isTrue();
            assertThat(dup.firstOffset()).isEqualTo(4);
            assertThat(log.appendAsLeader(txn(A, next, 1, "b1"), 0, AppendOrigin.CLIENT, TV2).firstOffset())
                    .isEqualTo(5);
            assertThat(txnStart(log, A)).isEqualTo(4);
            assertThat(log.hasOngoingTransaction(A, next)).isTrue();
            assertThat(log.hasOngoingTransaction(A, e)).isFalse();
        }
    }

    @Test
    void versionTwoTransactionOfAnUnknownProducerMustStartAtSequenceZero() throws Exception {
        try (PartitionLog log = open(dir, config(), time)) {
            // batch 0 failed its add to the transaction (and is being retried); batch 1 must not be written first
            assertThatThrownBy(() -> log.appendAsLeader(txn(A, (short) 0, 1, "second"), 0, AppendOrigin.CLIENT, TV2))
                    .isInstanceOf(OutOfOrderSequenceException.class).hasMessageContaining("Expected sequence 0");
            assertThat(log.logEndOffset()).isZero();
            log.appendAsLeader(txn(A, (short) 0, 0, "first"), 0, AppendOrigin.CLIENT, TV2);
            log.appendAsLeader(txn(A, (short) 0, 1, "second"), 0, AppendOrigin.CLIENT, TV2);
            // an older client's producer unknown here is still taken at any sequence, as Kafka does
            log.appendAsLeader(txn(B, (short) 0, 7, "b"), 0);
            assertThat(log.logEndOffset()).isEqualTo(3);
        }
    }
}
