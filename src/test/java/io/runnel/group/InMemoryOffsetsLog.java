package io.runnel.group;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MutableRecordBatch;
import org.apache.kafka.common.record.Record;

/**
 * An {@link OffsetsLog} in memory: each partition is a list of copied batches. Survives a coordinator
 * "restart" (a new coordinator over the same instance) and can be told to fail appends.
 */
final class InMemoryOffsetsLog implements OffsetsLog {

    private final Map<Integer, List<ByteBuffer>> partitions = new HashMap<>();
    volatile boolean failAppends;
    volatile boolean closed;
    /** When set, appends wait for it (a slow disk). */
    volatile CountDownLatch gate;

    @Override
    public synchronized void append(int partition, MemoryRecords records) throws IOException {
        CountDownLatch g = gate;
        if (g != null) {
            try {
                g.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
        if (failAppends) {
            throw new IOException("disk failed (test)");
        }
        ByteBuffer copy = ByteBuffer.allocate(records.sizeInBytes());
        copy.put(records.buffer().duplicate());
        copy.flip();
        partitions.computeIfAbsent(partition, p -> new ArrayList<>()).add(copy);
    }

    @Override
    public synchronized void replay(int partition, Consumer<Record> sink) {
        for (ByteBuffer buf : partitions.getOrDefault(partition, List.of())) {
            for (MutableRecordBatch batch : MemoryRecords.readableRecords(buf.duplicate()).batches()) {
                for (Record r : batch) {
                    sink.accept(r);
                }
            }
        }
    }

    synchronized int recordCount() {
        int[] n = new int[1];
        for (int p : partitions.keySet()) {
            replay(p, r -> n[0]++);
        }
        return n[0];
    }

    @Override
    public void close() {
        closed = true;
    }
}
