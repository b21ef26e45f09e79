package io.runnel.group;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * An {@link OffsetsLog} in memory: each partition is a list of copied batches. Survives a coordinator
 * "restart" (a new coordinator over the same instance) and can be told to fail appends.
 */
class InMemoryOffsetsLog implements OffsetsLog {

    private final Map<Integer, List<ByteBuffer>> partitions = new HashMap<>();
    private final ExecutorService appender = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "in-memory-offsets-log");
        t.setDaemon(true);
        return t;
    });
    volatile boolean failAppends;
    volatile boolean closed;
    /** When set, appends wait for it (a slow disk). */
    volatile CountDownLatch gate;
    /** Replays in subclasses may wait for it (a slow load). */
    final CountDownLatch loadGate = new CountDownLatch(1);

    /** Appends on a thread of its own, in call order, as a replicated log completes elsewhere. */
    @Override
    public Future<Void> append(int partition, RecordSet records) {
        ByteBuffer copy = ByteBuffer.allocate(records.sizeInBytes());
        copy.put(records.buffer().duplicate());
        copy.flip();
        Promise<Void> done = Promise.promise();
        appender.execute(() -> {
            try {
                doAppend(partition, copy);
                done.complete();
            } catch (IOException | RuntimeException e) {
                done.fail(e);
            }
        });
        return done.future();
    }

    private synchronized void doAppend(int partition, ByteBuffer copy) throws IOException {
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
        partitions.computeIfAbsent(partition, p -> new ArrayList<>()).add(copy);
    }

    @Override
    public synchronized void replay(int partition, Consumer<LogRecord> sink) {
        for (ByteBuffer buf : partitions.getOrDefault(partition, List.of())) {
            for (LogBatch batch : RecordSet.wrap(buf.duplicate()).batches()) {
                for (LogRecord r : batch) {
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

    /** Stops the appender thread (the log itself stays readable). */
    void shutdown() {
        appender.shutdownNow();
    }
}
