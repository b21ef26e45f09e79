package io.runnel.log;

/**
 * An aborted transaction as the transaction index holds it and a read_committed fetch returns it: the
 * producer, the offsets of its first record and of its ABORT marker, and the last stable offset of the
 * partition when the marker was written (Kafka's {@code AbortedTxn}).
 */
public record AbortedTxn(long producerId, long firstOffset, long lastOffset, long lastStableOffset) {
}
