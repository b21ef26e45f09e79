package io.runnel.txn;

import java.io.Closeable;
import java.io.IOException;
import java.util.function.Consumer;

import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;

/**
 * Storage of the {@code __transaction_state} partitions as the transaction coordinator sees it.
 *
 * <p>Threading: {@link #append} and {@link #leaderEpoch} are called from the coordinator's context and must not
 * block; appends reach the partition in the order of the calls, and the future may complete on any thread.
 * {@link #replay} may block on the disk and is called off the event loop.
 */
public interface TransactionLog extends Closeable {

    /**
     * Appends the batch to the partition; completes once it is committed (in the log of every in-sync replica, as
     * acks=all), or fails with the error a produce would get.
     */
    Future<Void> append(int partition, RecordSet records);

    /** Feeds every record of the partition this broker leads, oldest first, to {@code sink}. Blocks on the disk. */
    void replay(int partition, Consumer<LogRecord> sink) throws IOException;

    /**
     * The leader epoch of the partition as this broker leads it: the coordinator epoch markers carry, so that a
     * partition leader refuses the markers of a deposed coordinator. -1 when it is not hosted here.
     */
    int leaderEpoch(int partition);

    @Override
    default void close() {
    }
}
