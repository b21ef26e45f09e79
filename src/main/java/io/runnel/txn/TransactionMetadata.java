package io.runnel.txn;

import java.util.LinkedHashSet;
import java.util.Set;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.RecordBatch;

/**
 * One transactional id as its coordinator holds it: its producer id and epoch, the transaction in progress (state,
 * partitions, start) and at most one transition in flight ({@link #pendingState}): a transition is prepared
 * ({@code prepare*}, giving the {@link TxnTransit} to write), written to {@code __transaction_state}, and only then
 * applied ({@link #complete}); while one is pending, requests that would start another get CONCURRENT_TRANSACTIONS.
 * The transitions and their checks are Kafka's (TransactionMetadata.scala).
 *
 * <p>Threading: confined to the coordinator's context.
 */
public final class TransactionMetadata {

    final String transactionalId;
    long producerId;
    long prevProducerId;
    long nextProducerId;
    short producerEpoch;
    short lastProducerEpoch;
    int txnTimeoutMs;
    TransactionState state;
    final Set<TopicPartition> partitions = new LinkedHashSet<>();
    long txnStartTimestamp;
    long txnLastUpdateTimestamp;
    short clientTransactionVersion;
    TransactionState pendingState;
    /** Completes when the pending transition (its write, or its markers and completion) is over; null if none. */
    io.vertx.core.Future<Void> pendingDone;
    /**
     * Partitions asked for while a transition is being written (an add, or the markers and completion of the last
     * transaction): added together by the next write, for the producer id and epoch they were asked for.
     */
    Set<TopicPartition> queuedAdds;
    io.vertx.core.Promise<Errors> queuedDone;
    short queuedClientVersion;
    long queuedProducerId;
    short queuedProducerEpoch;
    /** A fence whose write failed: the epoch was bumped in memory only, so the next fence does not bump again. */
    boolean hasFailedEpochFence;

    TransactionMetadata(String transactionalId, long producerId, long prevProducerId, long nextProducerId,
                        short producerEpoch, short lastProducerEpoch, int txnTimeoutMs, TransactionState state,
                        Set<TopicPartition> partitions, long txnStartTimestamp, long txnLastUpdateTimestamp,
                        short clientTransactionVersion) {
        this.transactionalId = transactionalId;
        this.producerId = producerId;
        this.prevProducerId = prevProducerId;
        this.nextProducerId = nextProducerId;
        this.producerEpoch = producerEpoch;
        this.lastProducerEpoch = lastProducerEpoch;
        this.txnTimeoutMs = txnTimeoutMs;
        this.state = state;
        this.partitions.addAll(partitions);
        this.txnStartTimestamp = txnStartTimestamp;
        this.txnLastUpdateTimestamp = txnLastUpdateTimestamp;
        this.clientTransactionVersion = clientTransactionVersion;
    }

    /** A transactional id seen for the first time: no epoch yet, so its first InitProducerId gives epoch 0. */
    static TransactionMetadata fresh(String transactionalId, long producerId, int txnTimeoutMs, long now) {
        return new TransactionMetadata(transactionalId, producerId, RecordBatch.NO_PRODUCER_ID,
                RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_PRODUCER_EPOCH, txnTimeoutMs,
                TransactionState.EMPTY, Set.of(), -1, now, (short) 0);
    }

    static TransactionMetadata fromTransit(String transactionalId, TxnTransit t) {
        return new TransactionMetadata(transactionalId, t.producerId(), t.prevProducerId(), t.nextProducerId(),
                t.producerEpoch(), RecordBatch.NO_PRODUCER_EPOCH, t.txnTimeoutMs(), t.state(), t.partitions(),
                t.txnStartTimestamp(), t.txnLastUpdateTimestamp(), t.clientTransactionVersion());
    }

    public String transactionalId() {
        return transactionalId;
    }

    public long producerId() {
        return producerId;
    }

    public short producerEpoch() {
        return producerEpoch;
    }

    public TransactionState state() {
        return state;
    }

    public Set<TopicPartition> partitions() {
        return Set.copyOf(partitions);
    }

    public long txnStartTimestamp() {
        return txnStartTimestamp;
    }

    public int txnTimeoutMs() {
        return txnTimeoutMs;
    }

    boolean pendingTransitionInProgress() {
        return pendingState != null;
    }

    static boolean isEpochExhausted(short epoch) {
        return epoch >= Short.MAX_VALUE - 1;
    }

    boolean isProducerEpochExhausted() {
        return isEpochExhausted(producerEpoch);
    }

    boolean epochBumpEveryEnd() {
        return clientTransactionVersion >= 2;
    }

    /** The current state as a transit, writing nothing new (a load's resend of markers starts from it). */
    TxnTransit current() {
        return new TxnTransit(producerId, prevProducerId, nextProducerId, producerEpoch, lastProducerEpoch,
                txnTimeoutMs, state, partitions, txnStartTimestamp, txnLastUpdateTimestamp, clientTransactionVersion);
    }

    /** Bumps the epoch to fence the producer of an ongoing transaction, which is then aborted. */
    TxnTransit prepareFenceProducerEpoch() {
        if (producerEpoch == Short.MAX_VALUE) {
            throw new IllegalStateException("Cannot fence producer " + producerId + " with epoch " + producerEpoch);
        }
        short bumped = hasFailedEpochFence ? producerEpoch : (short) (producerEpoch + 1);
        return prepare(TransactionState.PREPARE_EPOCH_FENCE, producerId, RecordBatch.NO_PRODUCER_ID, bumped,
                RecordBatch.NO_PRODUCER_EPOCH, txnTimeoutMs, partitions, txnStartTimestamp, txnLastUpdateTimestamp,
                (short) 0);
    }

    /**
     * InitProducerId on an id with no transaction in progress: the next epoch (or, with {@code expectedEpoch}, the
     * retry rules of KIP-360). Null with {@code error[0]} set when the producer is fenced.
     */
    TxnTransit prepareIncrementProducerEpoch(int newTimeoutMs, Short expectedEpoch, long now, Errors[] error) {
        if (isProducerEpochExhausted()) {
            throw new IllegalStateException("Cannot allocate any more producer epochs for producerId " + producerId);
        }
        short bumped = (short) (producerEpoch + 1);
        short nextEpoch;
        short lastEpoch;
        if (expectedEpoch == null) {
            nextEpoch = bumped;
            lastEpoch = RecordBatch.NO_PRODUCER_EPOCH;
        } else if (producerEpoch == RecordBatch.NO_PRODUCER_EPOCH || expectedEpoch == producerEpoch) {
            nextEpoch = bumped;
            lastEpoch = producerEpoch;
        } else if (expectedEpoch == lastProducerEpoch) {
            // a retry of a bump whose answer the producer lost
            nextEpoch = producerEpoch;
            lastEpoch = lastProducerEpoch;
        } else {
            error[0] = Errors.PRODUCER_FENCED;
            return null;
        }
        return prepare(TransactionState.EMPTY, producerId, RecordBatch.NO_PRODUCER_ID, nextEpoch, lastEpoch,
                newTimeoutMs, Set.of(), -1, now, (short) 0);
    }

    /** InitProducerId when the epochs of the producer id are used up: a new producer id at epoch 0. */
    TxnTransit prepareProducerIdRotation(long newProducerId, int newTimeoutMs, long now, boolean recordLastEpoch) {
        return prepare(TransactionState.EMPTY, newProducerId, RecordBatch.NO_PRODUCER_ID, (short) 0,
                recordLastEpoch ? producerEpoch : RecordBatch.NO_PRODUCER_EPOCH, newTimeoutMs, Set.of(), -1, now,
                (short) 0);
    }

    TxnTransit prepareAddPartitions(Set<TopicPartition> added, long now, short clientVersion) {
        long start = switch (state) {
            case EMPTY, COMPLETE_ABORT, COMPLETE_COMMIT -> now;
            default -> txnStartTimestamp;
        };
        Set<TopicPartition> all = new LinkedHashSet<>(partitions);
        all.addAll(added);
        return prepare(TransactionState.ONGOING, producerId, RecordBatch.NO_PRODUCER_ID, producerEpoch,
                lastProducerEpoch, txnTimeoutMs, all, start, now, clientVersion);
    }

    TxnTransit prepareAbortOrCommit(TransactionState next, short clientVersion, long nextPid, long now) {
        short epoch = producerEpoch;
        short last = lastProducerEpoch;
        if (clientVersion >= 2) {
            epoch = (short) (producerEpoch + 1);
            last = producerEpoch;
        }
        return prepare(next, producerId, nextPid, epoch, last, txnTimeoutMs, partitions, txnStartTimestamp, now,
                clientVersion);
    }

    TxnTransit prepareComplete(long now) {
        TransactionState next = state == TransactionState.PREPARE_COMMIT ? TransactionState.COMPLETE_COMMIT
                : TransactionState.COMPLETE_ABORT;
        hasFailedEpochFence = false;
        long pid = producerId;
        short epoch = producerEpoch;
        if (epochBumpEveryEnd() && nextProducerId != RecordBatch.NO_PRODUCER_ID) {
            // the epoch overflowed at this end: the producer continues with the next producer id
            pid = nextProducerId;
            epoch = 0;
        }
        return prepare(next, pid, RecordBatch.NO_PRODUCER_ID, epoch, producerEpoch, txnTimeoutMs, Set.of(),
                txnStartTimestamp, now, clientTransactionVersion);
    }

    TxnTransit prepareDead() {
        return prepare(TransactionState.DEAD, producerId, RecordBatch.NO_PRODUCER_ID, producerEpoch,
                lastProducerEpoch, txnTimeoutMs, Set.of(), txnStartTimestamp, txnLastUpdateTimestamp, (short) 0);
    }

    private TxnTransit prepare(TransactionState to, long pid, long nextPid, short epoch, short lastEpoch,
                               int timeoutMs, Set<TopicPartition> parts, long start, long now, short clientVersion) {
        if (pendingState != null) {
            throw new IllegalStateException("Transition of " + transactionalId + " to " + to + " while " + pendingState
                    + " is pending");
        }
        if (pid < 0) {
            throw new IllegalArgumentException("Illegal producer id " + pid);
        }
        if (to != TransactionState.DEAD && epoch < 0) {
            throw new IllegalArgumentException("Illegal producer epoch " + epoch);
        }
        if (!to.validPrevious().contains(state)) {
            throw new IllegalStateException("Transition of " + transactionalId + " from " + state + " to " + to
                    + " is not valid");
        }
        pendingState = to;
        return new TxnTransit(pid, producerId, nextPid, epoch, lastEpoch, timeoutMs, to, parts, start, now,
                clientVersion);
    }

    /** Applies a transition once its record is written (Kafka's completeTransitionTo). */
    void complete(TxnTransit t) {
        if (pendingState != t.state()) {
            throw new IllegalStateException("Completing " + t.state() + " of " + transactionalId + " while "
                    + pendingState + " is pending");
        }
        switch (t.state()) {
            case EMPTY -> {
                txnTimeoutMs = t.txnTimeoutMs();
                producerEpoch = t.producerEpoch();
                lastProducerEpoch = t.lastProducerEpoch();
                producerId = t.producerId();
                prevProducerId = t.prevProducerId();
                partitions.clear();
                txnStartTimestamp = -1;
            }
            case ONGOING -> {
                txnStartTimestamp = t.txnStartTimestamp();
                partitions.addAll(t.partitions());
            }
            case PREPARE_COMMIT, PREPARE_ABORT -> {
                if (t.epochBumpEveryEnd()) {
                    producerEpoch = t.producerEpoch();
                    lastProducerEpoch = t.lastProducerEpoch();
                    nextProducerId = t.nextProducerId();
                }
            }
            case COMPLETE_COMMIT, COMPLETE_ABORT -> {
                txnStartTimestamp = t.txnStartTimestamp();
                partitions.clear();
                if (t.epochBumpEveryEnd()) {
                    producerEpoch = t.producerEpoch();
                    lastProducerEpoch = t.lastProducerEpoch();
                    prevProducerId = t.prevProducerId();
                    producerId = t.producerId();
                    nextProducerId = t.nextProducerId();
                }
            }
            default -> throw new IllegalStateException("Cannot complete a transition to " + t.state());
        }
        clientTransactionVersion = t.clientTransactionVersion();
        txnLastUpdateTimestamp = t.txnLastUpdateTimestamp();
        pendingState = null;
        state = t.state();
    }

    @Override
    public String toString() {
        return "TransactionMetadata(" + transactionalId + ", producerId=" + producerId + ", epoch=" + producerEpoch
                + ", state=" + state + ", pending=" + pendingState + ", partitions=" + partitions + ")";
    }
}
