package io.runnel.group;

import java.io.Closeable;
import java.io.IOException;
import java.util.function.Consumer;

import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;

/**
 * Storage of the {@code __consumer_offsets} partitions as the group coordinator sees it.
 *
 * <p>Threading: every method may block on the disk. The coordinator calls them one at a time, in order,
 * from an ordered {@code executeBlocking} of its own context, never from an event loop.
 */
public interface OffsetsLog extends Closeable {

    /** Appends the batch to the partition; returns once it is in the log (as durable as a produce). */
    void append(int partition, MemoryRecords records) throws IOException;

    /** Feeds every record of the partition, oldest first, to {@code sink}; control batches are skipped. */
    void replay(int partition, Consumer<Record> sink) throws IOException;
}
