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
    private final Map<Integer, Long> nextOffsets = new HashMap<>();
    private final ExecutorService appender = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "in-memory-offsets-log");
        t.setDaemon(true);
        return t;
    });
    volatile boolean failAppends;
    volatile boolean closed;
    /** When set, appends wait for it (a slow disk). */
    volatile CountDownLatch gate;
    /** Replays of a {@link #loadingSlowly} log wait for it (a slow load). */
    final CountDownLatch loadGate = new CountDownLatch(1);

    /** A log whose replays (a partition's load) wait for {@link #loadGate} first, 5 s at most. */
    static InMemoryOffsetsLog loadingSlowly() {
        return new InMemoryOffsetsLog() {
            @Override
            public synchronized void replay(int partition, ReplaySink sink) {
                try {
                    loadGate.await(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                super.replay(partition, sink);
            }
        };
    }

    /** Appends on a thread of its own, in call order, as a replicated log completes elsewhere. */
    @Override
    public Future<Long> append(int partition, RecordSet records) {
        ByteBuffer copy = ByteBuffer.allocate(records.sizeInBytes());
        copy.put(records.buffer().duplicate());
        copy.flip();
        Promise<Long> done = Promise.promise();
        appender.execute(() -> {
            try {
                done.complete(doAppend(partition, copy));
            } catch (IOException | RuntimeException e) {
                done.fail(e);
            }
        });
        return done.future();
    }

    /** Appends a transaction marker of the producer (as WriteTxnMarkers would); returns its offset. */
    synchronized long appendMarker(int partition, long producerId, short producerEpoch, boolean commit) {
        RecordSet marker = RecordSet.endTransactionMarker(0, System.currentTimeMillis(), 0, producerId, producerEpoch,
                commit, 0);
        ByteBuffer copy = ByteBuffer.allocate(marker.sizeInBytes());
        copy.put(marker.buffer());
        copy.flip();
        try {
            return doAppend(partition, copy);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Gives the batches consecutive offsets, as a log does; returns the first one. */
    private synchronized long doAppend(int partition, ByteBuffer copy) throws IOException {
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
        long first = nextOffsets.getOrDefault(partition, 0L);
        long next = first;
        for (LogBatch batch : RecordSet.wrap(copy.duplicate()).batches()) {
            next += batch.lastOffset() - batch.baseOffset();
            batch.setLastOffset(next);
            next++;
        }
        nextOffsets.put(partition, next);
        partitions.computeIfAbsent(partition, p -> new ArrayList<>()).add(copy);
        return first;
    }

    @Override
    public synchronized void replay(int partition, ReplaySink sink) {
        for (ByteBuffer buf : partitions.getOrDefault(partition, List.of())) {
            for (LogBatch batch : RecordSet.wrap(buf.duplicate()).batches()) {
                for (LogRecord r : batch) {
                    sink.accept(batch, r);
                }
            }
        }
    }

    synchronized int recordCount() {
        int[] n = new int[1];
        for (int p : partitions.keySet()) {
            replay(p, (b, r) -> {
                if (!b.isControlBatch()) {
                    n[0]++;
                }
            });
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
