package io.runnel.txn;

import io.vertx.core.Future;

/**
 * Gets transaction markers written (Kafka's TransactionMarkerChannelManager).
 *
 * <p>Threading: any thread; futures may complete on any thread.
 */
public interface MarkerWriter {

    /**
     * Keeps sending the job's markers to the leaders of its partitions until each one is written, or is not needed
     * any more (its topic deleted); completes then. Fails when the job is dropped: {@link #cancel} of its
     * transaction-state partition, or a leader saying this coordinator is deposed.
     */
    Future<Void> write(MarkerJob job);

    /** Drops the jobs of a {@code __transaction_state} partition this broker no longer leads. */
    void cancel(int txnPartition);

    /** Drops every job. */
    default void close() {
    }
}
