package io.runnel.log;

import java.util.List;

/**
 * @param records              whole batches starting at or before the fetch offset (the batch that holds
 *                             it), from one segment, capped at maxBytes unless minOneMessage forces one batch
 * @param logStartOffset       log start offset at the time of the read
 * @param logEndOffset         log end offset at the time of the read
 * @param abortedTransactions  for a read_committed read, the aborted transactions overlapping the range read
 *                             (Kafka's fetch upper bound: the next segment's base offset or the log end, and
 *                             never past the last stable offset); null for other reads
 */
public record LogReadResult(LogSlice records, long logStartOffset, long logEndOffset,
                            List<AbortedTxn> abortedTransactions) {

    public LogReadResult(LogSlice records, long logStartOffset, long logEndOffset) {
        this(records, logStartOffset, logEndOffset, null);
    }
}
