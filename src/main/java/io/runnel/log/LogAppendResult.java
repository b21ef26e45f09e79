package io.runnel.log;

/**
 * What an append did. For a duplicate idempotent batch (same producer, epoch and sequences as one of
 * the last five appended) nothing is written and {@code duplicate} is true; the offsets are those the
 * original batch was given, as Kafka answers a retried batch.
 *
 * @param firstOffset     offset of the first record appended
 * @param lastOffset      offset of the last record appended
 * @param logAppendTime   broker time stamped into the batches for LogAppendTime topics, else -1
 * @param logStartOffset  log start offset after the append
 * @param recordCount     number of records appended (0 for a duplicate)
 * @param sizeInBytes     bytes appended (0 for a duplicate)
 * @param duplicate       true when the batch was recognised as an idempotent retry
 */
public record LogAppendResult(long firstOffset, long lastOffset, long logAppendTime, long logStartOffset,
                              int recordCount, int sizeInBytes, boolean duplicate) {
}
