package io.runnel.bridge;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import io.runnel.log.LogBatch;
import io.runnel.log.LogReadResult;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.utils.Utils;

/**
 * The broker-to-broker read of a partition on its leader, what a subscription uses for every partition
 * it is assigned, wherever that partition is led: a long poll, as a Kafka Fetch.
 *
 * <p>Request (JSON object, to {@code <prefix>.node.<leader>.read}): {@code {"topic", "partition",
 * "offset", "maxBytes", "maxWaitMs"}}, offset -2 for the log start and -1 for the high watermark (Kafka's
 * ListOffsets values). Reply: a Buffer of whole record batches (format v2, as in the log; the first may
 * start before the offset asked for), read below the high watermark only, so a record read here is on every
 * in-sync replica and survives a leader change; header {@code offset} is the offset the read started at
 * (the resolved one for -1/-2). An empty Buffer after {@code maxWaitMs} means nothing new. Failures:
 * NOT_LEADER_OR_FOLLOWER (this broker does not lead the partition: ask the leader the metadata now
 * names), OFFSET_OUT_OF_RANGE.
 *
 * <p>Threading: {@link #serve} runs on the bridge verticle's context; the read itself on the partition
 * owner's worker context (it may wait on the disk); the append listener on the appender's thread (the
 * owner's context), which only schedules: the read of a parked poll on that context, else a wake-up on
 * the bridge context.
 */
final class BridgeReads {

    static final String H_OFFSET = "offset";
    static final int MAX_BYTES_LIMIT = 8 << 20;
    static final long MAX_WAIT_LIMIT_MS = 30_000;

    private final Vertx vertx;
    private final ContextInternal context;
    private final PartitionManager partitions;

    BridgeReads(Vertx vertx, ContextInternal context, PartitionManager partitions) {
        this.vertx = vertx;
        this.context = context;
        this.partitions = partitions;
    }

    /** The request for a read of {@code tp} from {@code offset}. */
    static JsonObject request(TopicPartition tp, long offset, int maxBytes, long maxWaitMs) {
        return new JsonObject().put("topic", tp.topic()).put("partition", tp.partition()).put("offset", offset)
                .put("maxBytes", maxBytes).put("maxWaitMs", maxWaitMs);
    }

    /** Serves one read request (verticle context): the reply is a copy of the records read. */
    void serve(Message<Object> msg) {
        JsonObject body = msg.body() instanceof JsonObject j ? j : null;
        if (body == null || !(body.getValue("topic") instanceof String topic)
                || !(body.getValue("partition") instanceof Number partition)
                || !(body.getValue("offset") instanceof Number offset)) {
            throw BridgeException.invalid("a read needs {\"topic\", \"partition\", \"offset\"}");
        }
        read(new TopicPartition(topic, partition.intValue()), offset.longValue(), body.getLong("maxBytes", 1L << 20),
                body.getLong("maxWaitMs", 0L)).onComplete(ar -> {
                    if (ar.failed()) {
                        BridgeVerticle.fail(msg, ar.cause());
                        return;
                    }
                    ByteBuffer bytes = ar.result().records().buffer().duplicate();
                    byte[] copy = new byte[bytes.remaining()];
                    bytes.get(copy);
                    msg.reply(Buffer.buffer(copy), new DeliveryOptions().addHeader(H_OFFSET,
                            Long.toString(ar.result().from())));
                });
    }

    /**
     * The read itself, for {@link #serve} and for a subscription on this broker reading a partition this broker
     * leads (no event-bus message, no copy of the records: the result is handed over on the bridge context).
     * Completes on the bridge context, with data at once or after the first append or {@code maxWaitMs}; fails
     * with NOT_LEADER_OR_FOLLOWER or OFFSET_OUT_OF_RANGE. Call it on the bridge context.
     */
    Future<Read> read(TopicPartition tp, long offset, long maxBytes, long maxWaitMs) {
        int max = (int) Math.max(1, Math.min(MAX_BYTES_LIMIT, maxBytes));
        long maxWait = Math.max(0, Math.min(MAX_WAIT_LIMIT_MS, maxWaitMs));
        PartitionOwner owner = partitions.get(tp);
        if (owner == null || !owner.isLeader()) {
            return Future.failedFuture(new NotLeaderOrFollowerException("this broker does not lead " + tp));
        }
        Promise<Read> promise = context.promise();
        new LongPoll(promise, owner, offset, max, System.currentTimeMillis() + maxWait).attempt();
        return promise.future();
    }

    /** What a read found: the records (whole batches; the first may start before {@code from}), from {@code from}. */
    record Read(long from, RecordSet records) {

        /** The read a reply of {@link #serve} carries, for a request from {@code asked}. */
        static Read of(Message<?> reply, long asked) {
            String resolved = reply.headers().get(H_OFFSET);
            Buffer body = reply.body() instanceof Buffer b ? b : Buffer.buffer();
            return new Read(resolved != null ? Long.parseLong(resolved) : asked,
                    RecordSet.wrap(ByteBuffer.wrap(body.getBytes())));
        }
    }

    /** On the owner's context: may wait on the disk. */
    private static Read readOnOwner(PartitionOwner owner, long offset, int maxBytes) {
        if (!owner.isLeader()) {
            throw new NotLeaderOrFollowerException("this broker no longer leads " + owner.topicPartition());
        }
        long from = offset == -2 ? owner.log().logStartOffset() : offset == -1 ? owner.highWatermark() : offset;
        LogReadResult result = owner.read(from, maxBytes, true);
        return new Read(from, result.records().copyAndRelease());
    }

    /**
     * One request, answered with data at once or after the first append (or the deadline). While it is
     * parked (nothing to read yet), the first append takes the read over on the owner's context, where the
     * append just ran, and hands the result to the bridge context: one hop from the append to the answer,
     * where waking the bridge context to ask the owner's context to read would be three.
     */
    private final class LongPoll implements Runnable {
        final Promise<Read> promise;
        final PartitionOwner owner;
        final int maxBytes;
        final long deadline;
        /** an append happened since the last read started */
        final AtomicBoolean appended = new AtomicBoolean();
        /** waiting for an append or the deadline, with nothing read; whoever clears it reads next */
        final AtomicBoolean parked = new AtomicBoolean();
        /** where the next read starts: written on the bridge context before parking (published by parked) */
        volatile long offset;
        long timer = -1;
        boolean done;

        LongPoll(Promise<Read> promise, PartitionOwner owner, long offset, int maxBytes, long deadline) {
            this.promise = promise;
            this.owner = owner;
            this.offset = offset;
            this.maxBytes = maxBytes;
            this.deadline = deadline;
            // before the first read, so an append between the read and the wait is never missed
            owner.addAppendListener(this);
        }

        /** Reads on the owner's context (bridge context). */
        void attempt() {
            appended.set(false);
            long asked = offset;
            here(owner.submit(() -> readOnOwner(owner, asked, maxBytes))).onComplete(this::handle);
        }

        /** A read's outcome (bridge context): answer, read again, or park until an append or the deadline. */
        private void handle(AsyncResult<Read> ar) {
            if (done) {
                return;
            }
            if (ar.failed()) {
                finish();
                promise.fail(ar.cause());
                return;
            }
            Read read = ar.result();
            offset = read.from();
            if (read.records().sizeInBytes() > 0 || System.currentTimeMillis() >= deadline) {
                finish();
                promise.complete(read);
                return;
            }
            if (appended.get()) {
                attempt();
                return;
            }
            parked.set(true);
            if (timer < 0) {
                timer = vertx.setTimer(Math.max(1, deadline - System.currentTimeMillis()), t -> {
                    timer = -1;
                    wake();
                });
            }
        }

        private void finish() {
            done = true;
            parked.set(false);
            owner.removeAppendListener(this);
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }

        /** The deadline, or an append that found the poll not parked yet (bridge context). */
        private void wake() {
            if (!done && parked.compareAndSet(true, false)) {
                attempt();
            }
        }

        /**
         * After an append, on the appender's thread (the owner's context; on a role change too). A parked
         * poll is read right after the append's own task, on that context, and only the result hops; otherwise
         * the bridge context learns of the append (a read in flight reads again, see {@link #handle}).
         */
        @Override
        public void run() {
            if (!appended.compareAndSet(false, true)) {
                return;
            }
            if (parked.compareAndSet(true, false)) {
                owner.context().runOnContext(v -> {
                    appended.set(false);
                    AsyncResult<Read> result;
                    try {
                        result = Future.succeededFuture(readOnOwner(owner, offset, maxBytes));
                    } catch (RuntimeException e) {
                        result = Future.failedFuture(e);
                    }
                    AsyncResult<Read> r = result;
                    context.runOnContext(x -> handle(r));
                });
            } else {
                context.runOnContext(v -> wake());
            }
        }
    }

    // ---- the reading side ----

    /** Records parsed from a read reply, and where to read next. */
    record Batch(List<BridgeRecord> records, long next) {
    }

    /** The records of a read at or after {@code from}, and the next offset to read. */
    static Batch parse(TopicPartition tp, RecordSet records, long from) {
        List<BridgeRecord> out = new ArrayList<>();
        long next = from;
        for (LogBatch batch : records.batches()) {
            next = Math.max(next, batch.nextOffset());
            if (batch.isControlBatch()) {
                continue;
            }
            for (LogRecord r : batch) {
                if (r.offset() < from) {
                    continue;
                }
                List<Header> headers = List.of(r.headers());
                out.add(new BridgeRecord(tp.topic(), tp.partition(), r.offset(), r.timestamp(),
                        batch.timestampType().toString(), r.hasKey() ? Utils.toArray(r.key()) : null,
                        r.hasValue() ? Utils.toArray(r.value()) : null, headers));
            }
        }
        return new Batch(out, next);
    }

    private <T> Future<T> here(Future<T> f) {
        Promise<T> promise = context.promise();
        f.onComplete(promise);
        return promise.future();
    }
}
