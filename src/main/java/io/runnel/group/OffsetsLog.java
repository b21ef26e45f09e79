package io.runnel.group;

import java.io.Closeable;
import java.io.IOException;

import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;

/**
 * Storage of the {@code __consumer_offsets} partitions as the group coordinator sees it.
 *
 * <p>Threading: {@link #append} is called from the coordinator's context and must not block; appends
 * reach the partition in the order of the calls, and the future may complete on any thread.
 * {@link #replay} and {@link #close} may block on the disk and are called off the event loop (an
 * ordered {@code executeBlocking} of the coordinator's context).
 */
public interface OffsetsLog extends Closeable {

    /**
     * Appends the batch to the partition; completes with the offset of its first record once it is committed
     * (as an acks=all produce: in the log of every in-sync replica), or fails with the error a produce would get.
     * A transactional batch (TxnOffsetCommit) is checked against its producer's epoch as a produce is.
     */
    Future<Long> append(int partition, RecordSet records);

    /**
     * Feeds every record of the partition this broker leads, oldest first, with the batch holding it, to
     * {@code sink}: the records of control batches (transaction markers) too, so that a transaction's
     * offsets are applied or dropped where its marker is. Blocks on the disk.
     */
    void replay(int partition, ReplaySink sink) throws IOException;

    /** Receives the records of {@link #replay}; batch and record are valid during the call only. */
    @FunctionalInterface
    interface ReplaySink {
        void accept(LogBatch batch, LogRecord record);
    }
}
