package io.runnel.group;

import java.io.Closeable;
import java.io.IOException;
import java.util.function.Consumer;

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
     * Appends the batch to the partition; completes once it is committed (as an acks=all produce: in the
     * log of every in-sync replica), or fails with the error a produce would get.
     */
    Future<Void> append(int partition, RecordSet records);

    /**
     * Feeds every committed record of the partition this broker leads, oldest first, to {@code sink};
     * control batches are skipped. Blocks on the disk.
     */
    void replay(int partition, Consumer<LogRecord> sink) throws IOException;
}
