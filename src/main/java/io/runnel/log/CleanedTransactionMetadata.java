package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * What the log cleaner knows about transactions while it walks batches in offset order, as Kafka's
 * {@code CleanedTransactionMetadata}: the aborted transactions of the range (from the transaction indexes),
 * which of them are open at the current batch, and which producers have committed data being walked.
 * Aborted data is discarded; an ABORT marker is kept (and its entry written to the cleaned segment's
 * transaction index) while data of its transaction was still seen in this pass, and may go once its delete
 * horizon passed otherwise; a COMMIT marker may go once no data of its transaction is left before it.
 *
 * <p>Threading: one cleaning, on the cleaner's thread.
 */
final class CleanedTransactionMetadata {

    private final PriorityQueue<AbortedTxn> aborted = new PriorityQueue<>(Comparator.comparingLong(AbortedTxn::firstOffset));
    // producer id -> (its aborted transaction, whether a batch of it was seen in this pass)
    private final Map<Long, Open> ongoingAborted = new HashMap<>();
    private final Set<Long> ongoingCommitted = new HashSet<>();
    private final TransactionIndex cleanedIndex;

    private static final class Open {
        final AbortedTxn txn;
        boolean batchSeen;

        Open(AbortedTxn txn) {
            this.txn = txn;
        }
    }

    /** {@code cleanedIndex}: where retained ABORT markers' entries go; null while building the offset map. */
    CleanedTransactionMetadata(TransactionIndex cleanedIndex) {
        this.cleanedIndex = cleanedIndex;
    }

    void addAbortedTransactions(List<AbortedTxn> txns) {
        aborted.addAll(txns);
    }

    private void consumeAbortedUpTo(long offset) {
        while (!aborted.isEmpty() && aborted.peek().firstOffset() <= offset) {
            AbortedTxn t = aborted.poll();
            ongoingAborted.putIfAbsent(t.producerId(), new Open(t));
        }
    }

    /** A data batch: true when it belongs to an aborted transaction and its records may all go. */
    boolean onBatchRead(LogBatch batch) {
        consumeAbortedUpTo(batch.lastOffset());
        if (!batch.isTransactional()) {
            return false;
        }
        Open open = ongoingAborted.get(batch.producerId());
        if (open != null) {
            open.batchSeen = true;
            return true;
        }
        ongoingCommitted.add(batch.producerId());
        return false;
    }

    /** A control batch: true when the marker is eligible for deletion (once its delete horizon passed). */
    boolean onControlBatchRead(LogBatch batch) {
        consumeAbortedUpTo(batch.lastOffset());
        LogBatch.EndTxnMarker marker = batch.endTxnMarker();
        if (marker == null) {
            // an emptied control batch (cleaned before), or not a transaction marker: keep a non-empty one
            return !batch.iterator().hasNext();
        }
        long pid = batch.producerId();
        if (!marker.commit()) {
            Open open = ongoingAborted.remove(pid);
            if (open != null && open.batchSeen) {
                // kept until a pass finds none of its data left; consumers still need the index entry
                if (cleanedIndex != null) {
                    try {
                        cleanedIndex.append(open.txn);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                return false;
            }
            return true;
        }
        return !ongoingCommitted.remove(pid);
    }
}
