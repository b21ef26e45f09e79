package io.runnel.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import io.runnel.partition.PartitionOwner;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * One live tail: a server-sent-events stream of a topic's newest records. It starts {@code backlog}
 * records before each partition's high watermark and then follows appends.
 *
 * <p>Threading: all state lives on the request's event loop. Append listeners (called on the owners'
 * threads) only schedule a pump there; reading the log runs in {@code executeBlocking}, one read at a
 * time, and the events are written back on the event loop. A slow browser pauses the pump (write queue
 * full) instead of buffering without bound.
 */
final class LiveTail {

    private static final long KEEPALIVE_MS = 15_000;
    private static final int RECORDS_PER_READ = 200;

    private final Vertx vertx;
    private final Context context;
    private final HttpServerResponse response;
    private final List<PartitionOwner> owners;
    private final long[] positions;
    private final RecordRoutes reader;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable onAppend = this::schedule;
    private boolean reading;
    private boolean closed;
    private long keepalive = -1;

    LiveTail(Vertx vertx, RoutingContext ctx, List<PartitionOwner> owners, int backlog, RecordRoutes reader) {
        this.vertx = vertx;
        this.context = vertx.getOrCreateContext();
        this.response = ctx.response();
        this.owners = owners;
        this.reader = reader;
        this.positions = new long[owners.size()];
        for (int i = 0; i < owners.size(); i++) {
            PartitionOwner o = owners.get(i);
            positions[i] = Math.max(o.log().logStartOffset(), o.highWatermark() - backlog);
        }
    }

    void start() {
        response.setChunked(true).putHeader("Content-Type", "text/event-stream")
                .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
        response.write(": tail of " + owners.size() + " partition(s)\n\n");
        response.closeHandler(v -> close());
        response.exceptionHandler(t -> close());
        response.drainHandler(v -> pump());
        for (PartitionOwner o : owners) {
            o.addAppendListener(onAppend);
        }
        keepalive = vertx.setPeriodic(KEEPALIVE_MS, id -> {
            if (!closed) {
                response.write(": keepalive\n\n");
            }
        });
        pump();
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            context.runOnContext(v -> {
                scheduled.set(false);
                pump();
            });
        }
    }

    private void pump() {
        if (closed || reading || response.writeQueueFull()) {
            return;
        }
        List<Integer> behind = new ArrayList<>();
        for (int i = 0; i < owners.size(); i++) {
            PartitionOwner o = owners.get(i);
            if (o.isClosed()) {
                close();
                response.end("event: end\ndata: {}\n\n");
                return;
            }
            if (positions[i] < o.highWatermark()) {
                behind.add(i);
            }
        }
        if (behind.isEmpty()) {
            return;
        }
        reading = true;
        vertx.executeBlocking(() -> {
            List<RecordRoutes.ReadResult> results = new ArrayList<>();
            for (int i : behind) {
                PartitionOwner o = owners.get(i);
                // retention may have moved the log start past us: skip ahead rather than fail
                long from = Math.max(positions[i], o.log().logStartOffset());
                results.add(reader.readBlocking(o, from, RECORDS_PER_READ, 1024 * 1024, false));
            }
            return results;
        }, false).onComplete(ar -> {
            reading = false;
            if (closed) {
                return;
            }
            if (ar.failed()) {
                response.write("event: error\ndata: " + new JsonObject().put("message", String.valueOf(ar.cause().getMessage()))
                        .encode() + "\n\n");
                return;
            }
            List<RecordRoutes.ReadResult> results = ar.result();
            boolean progressed = false;
            for (int k = 0; k < behind.size(); k++) {
                RecordRoutes.ReadResult r = results.get(k);
                for (JsonObject record : r.records()) {
                    response.write("event: record\nid: " + record.getInteger("partition") + "-" + record.getLong("offset")
                            + "\ndata: " + record.encode() + "\n\n");
                }
                progressed |= r.nextOffset() > positions[behind.get(k)];
                positions[behind.get(k)] = r.nextOffset();
            }
            if (progressed) {
                // more may have arrived while reading; without progress wait for the next append
                pump();
            }
        });
    }

    private void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (PartitionOwner o : owners) {
            o.removeAppendListener(onAppend);
        }
        if (keepalive >= 0) {
            vertx.cancelTimer(keepalive);
        }
    }
}
