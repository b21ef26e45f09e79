package io.runnel.bridge;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.runnel.log.RecordSet;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.protocol.Errors;

/**
 * The bridge's idempotent producer for one partition, as Kafka's Java producer with
 * {@code enable.idempotence=true} and {@code max.in.flight.requests.per.connection=1}: one batch in
 * flight; what arrives meanwhile waits and becomes the next batch (up to {@code maxBatchBytes}), so
 * batching comes for free under load and sequences stay in order.
 *
 * <p>Every batch carries (producer id, epoch, base sequence). A failed attempt is retried with the very
 * same batch until the records' send timeout: after a lost reply the leader (old or new) recognises the
 * retry as a duplicate of one of its last five batches and answers the original offsets, so a retry never
 * writes twice. Retried: every retriable Kafka error (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
 * UNKNOWN_TOPIC_OR_PARTITION while a topic is created, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS, ...) and
 * event-bus timeouts and missing handlers, with backoff; the transport re-reads the metadata image each
 * attempt. OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID and INVALID_PRODUCER_EPOCH (the leader lost
 * or expired this producer's state) bump the epoch and resend the batch from sequence 0, as the Java
 * producer does: the batch was not written (a written one would have been a duplicate), and acknowledged
 * batches are untouched. A batch given up at its deadline after a retriable failure may or may not have
 * been written: its records fail with REQUEST_TIMED_OUT saying so, and the epoch is bumped so no later
 * batch depends on its sequence. Any other error is the leader's definite refusal: the records fail with
 * it and the sequence is not used.
 *
 * <p>Threading: every method runs on {@code context} (the bridge verticle's); a transport result completed on
 * another thread (the partition owner's, for a local append) hops back once.
 */
final class PartitionProducer {

    /** Where the leader wrote a batch. */
    record Appended(long baseOffset, long logAppendTime) {
    }

    /** Sends a batch to the partition's leader, looked up afresh on each call; may complete on any thread. */
    interface Transport {
        Future<Appended> send(TopicPartition tp, RecordSet batch, short acks, long timeoutMs);
    }

    /** Producer ids: from the controller-allocated blocks InitProducerId uses. */
    interface ProducerIds {
        /** The bridge broker's producer id (the same for every partition). */
        Future<Long> shared();

        /** A new producer id, for a partition whose epochs ran out. */
        Future<Long> fresh();
    }

    /** The longest one attempt waits before it is retried (the rest of the send timeout covers retries). */
    static final long ATTEMPT_TIMEOUT_MS = 5_000;
    static final long BACKOFF_MIN_MS = 50;
    static final long BACKOFF_MAX_MS = 1_000;
    /** Epoch bumps within one batch before its reset errors are taken as final. */
    private static final int MAX_RESETS = 3;
    /** A record's size in a batch beyond its key, value and headers (length varints, deltas, attributes). */
    private static final int RECORD_OVERHEAD = 24;
    private static final int BATCH_OVERHEAD = 61;

    private record Pending(RecordSet.NewRecord record, short acks, long deadlineNanos, Promise<JsonObject> promise,
                           int size) {
    }

    private static final class Batch {
        final List<Pending> records;
        final short acks;
        final long deadlineNanos;
        short epoch;
        int baseSequence;
        RecordSet built;
        int attempts;
        int resets;
        Throwable lastError;

        Batch(List<Pending> records, short acks, long deadlineNanos) {
            this.records = records;
            this.acks = acks;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private final TopicPartition tp;
    private final Context context;
    private final Transport transport;
    private final ProducerIds ids;
    private final int maxBatchBytes;
    private final Supplier<Long> nanoTime;
    private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    private Batch inFlight;
    private boolean awaitingId;
    private boolean needFreshId;
    private long producerId = -1;
    private short epoch;
    private int nextSequence;

    PartitionProducer(TopicPartition tp, Context context, Transport transport, ProducerIds ids, int maxBatchBytes) {
        this(tp, context, transport, ids, maxBatchBytes, System::nanoTime);
    }

    PartitionProducer(TopicPartition tp, Context context, Transport transport, ProducerIds ids, int maxBatchBytes,
                      Supplier<Long> nanoTime) {
        this.tp = tp;
        this.context = context;
        this.transport = transport;
        this.ids = ids;
        this.maxBatchBytes = maxBatchBytes;
        this.nanoTime = nanoTime;
    }

    /**
     * Queues a record; the future completes with {@code {"topic", "partition", "offset", "timestamp"}} once
     * the leader has it (with {@code acks}), or fails with the Kafka error. {@code timeoutMs}: the send
     * timeout (delivery.timeout.ms) from now.
     */
    Future<JsonObject> send(RecordSet.NewRecord record, short acks, long timeoutMs) {
        Promise<JsonObject> promise = Promise.promise();
        int size = RECORD_OVERHEAD + length(record.key()) + length(record.value());
        for (var h : record.headers()) {
            size += h.key().length() + length(h.value()) + 4;
        }
        waiting.add(new Pending(record, acks, nanoTime.get() + timeoutMs * 1_000_000L, promise, size));
        maybeSend();
        return promise.future();
    }

    /** Whether nothing is queued or in flight (the owner may drop an idle producer). */
    boolean idle() {
        return inFlight == null && waiting.isEmpty() && !awaitingId;
    }

    long producerId() {
        return producerId;
    }

    short epoch() {
        return epoch;
    }

    int nextSequence() {
        return nextSequence;
    }

    private void maybeSend() {
        if (inFlight != null || awaitingId || waiting.isEmpty()) {
            return;
        }
        long now = nanoTime.get();
        while (!waiting.isEmpty() && waiting.peek().deadlineNanos() - now <= 0) {
            Pending expired = waiting.poll();
            expired.promise().fail(new TimeoutException("The record for " + tp + " expired before it could be sent"
                    + " (the batches ahead of it took the whole send timeout); it was not written"));
        }
        if (waiting.isEmpty()) {
            return;
        }
        if (producerId < 0) {
            awaitingId = true;
            (needFreshId ? ids.fresh() : ids.shared()).onComplete(ar -> context.runOnContext(v -> {
                awaitingId = false;
                if (ar.succeeded()) {
                    producerId = ar.result();
                    needFreshId = false;
                    epoch = 0;
                    nextSequence = 0;
                    maybeSend();
                } else {
                    // no controller to allocate an id (yet): like any retriable error, until the records expire
                    context.owner().setTimer(BACKOFF_MAX_MS, id -> maybeSend());
                }
            }));
            return;
        }
        List<Pending> records = new ArrayList<>();
        Pending first = waiting.poll();
        records.add(first);
        long deadline = first.deadlineNanos();
        int bytes = BATCH_OVERHEAD + first.size();
        while (!waiting.isEmpty() && waiting.peek().acks() == first.acks()
                && bytes + waiting.peek().size() <= maxBatchBytes) {
            Pending next = waiting.poll();
            bytes += next.size();
            records.add(next);
            if (next.deadlineNanos() - deadline < 0) {
                deadline = next.deadlineNanos();
            }
        }
        Batch b = new Batch(records, first.acks(), deadline);
        assign(b);
        inFlight = b;
        attempt(b);
    }

    /** Gives the batch the producer's current epoch and next sequence, and builds it. */
    private void assign(Batch b) {
        b.epoch = epoch;
        b.baseSequence = nextSequence;
        RecordSet.Builder builder = RecordSet.builder().idempotent(producerId, epoch, nextSequence);
        for (Pending p : b.records) {
            builder.add(p.record());
        }
        b.built = builder.build();
    }

    private void attempt(Batch b) {
        long remainingMs = (b.deadlineNanos - nanoTime.get()) / 1_000_000L;
        if (remainingMs <= 0) {
            giveUp(b);
            return;
        }
        b.attempts++;
        Future<Appended> sent;
        try {
            sent = transport.send(tp, b.built, b.acks, Math.min(remainingMs, ATTEMPT_TIMEOUT_MS));
        } catch (RuntimeException e) {
            sent = Future.failedFuture(e);
        }
        if (sent.isComplete()) {
            // failed at once: handled after this task, so failing batches never recurse into each other
            Future<Appended> done = sent;
            context.runOnContext(v -> result(b, done));
            return;
        }
        // one hop at most: a transport completing on the owner's worker (a local append) hands the result over
        // here; one completing on this context (a reply from another broker) is handled at once
        sent.onComplete(ar -> {
            if (onContext()) {
                result(b, ar);
            } else {
                context.runOnContext(v -> result(b, ar));
            }
        });
    }

    private boolean onContext() {
        ContextInternal current = ContextInternal.current();
        return current != null && current.unwrap() == ((ContextInternal) context).unwrap() && current.inThread();
    }

    private void result(Batch b, AsyncResult<Appended> ar) {
        if (b != inFlight) {
            return;
        }
        if (ar.succeeded()) {
            Appended a = ar.result();
            // the state first: a completion's callbacks may run here and send the partition's next record
            nextSequence = incrementSequence(b.baseSequence, b.records.size());
            for (int i = 0; i < b.records.size(); i++) {
                Pending p = b.records.get(i);
                p.promise().complete(new JsonObject().put("topic", tp.topic()).put("partition", tp.partition())
                        .put("offset", a.baseOffset() + i)
                        .put("timestamp", a.logAppendTime() >= 0 ? a.logAppendTime() : p.record().timestamp()));
            }
            done();
            return;
        }
        Throwable t = ar.cause();
        b.lastError = t;
        switch (classify(t)) {
            case RESET -> {
                if (++b.resets > MAX_RESETS) {
                    refuse(b, t);
                    return;
                }
                // the leader has no (or other) state for this producer: new epoch, sequences from 0, same records
                bumpEpoch();
                if (producerId < 0) {
                    // the epoch ran out: a new producer id first; the batch is rebuilt when it arrives
                    awaitingId = true;
                    ids.fresh().onComplete(id -> context.runOnContext(v -> {
                        awaitingId = false;
                        if (id.failed()) {
                            giveUp(b);
                            return;
                        }
                        producerId = id.result();
                        needFreshId = false;
                        epoch = 0;
                        nextSequence = 0;
                        assign(b);
                        attempt(b);
                    }));
                    return;
                }
                assign(b);
                attempt(b);
            }
            case RETRY -> {
                long delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS << Math.min(b.attempts - 1, 5));
                if (nanoTime.get() + delay * 1_000_000L - b.deadlineNanos >= 0) {
                    giveUp(b);
                } else {
                    context.owner().setTimer(delay, id -> attempt(b));
                }
            }
            default -> refuse(b, t);
        }
    }

    /** A definite refusal: nothing was written (the sequence stays unused, unless an earlier attempt was lost). */
    private void refuse(Batch b, Throwable t) {
        for (Pending p : b.records) {
            p.promise().fail(t);
        }
        if (b.attempts > 1) {
            // an earlier attempt's outcome is unknown: start a new epoch rather than rely on the leader's state
            bumpEpoch();
        }
        done();
    }

    /** The send timeout passed after retriable failures: the outcome is unknown. */
    private void giveUp(Batch b) {
        String last = b.lastError == null ? "none" : BridgeException.message(BridgeException.errorOf(b.lastError),
                b.lastError);
        TimeoutException timeout = new TimeoutException("No acknowledgement for " + tp + " within the send timeout"
                + " after " + b.attempts + " attempt(s) (last error " + last + "); the record may or may not have"
                + " been written");
        for (Pending p : b.records) {
            p.promise().fail(timeout);
        }
        bumpEpoch();
        done();
    }

    private void done() {
        inFlight = null;
        maybeSend();
    }

    /** A new epoch, sequences from 0; past the last epoch, a new producer id (fetched by the next send). */
    private void bumpEpoch() {
        if (epoch == Short.MAX_VALUE) {
            producerId = -1;
            needFreshId = true;
            epoch = 0;
        } else {
            epoch++;
        }
        nextSequence = 0;
    }

    enum Outcome { RETRY, RESET, FAIL }

    /** What to do after a failed attempt. */
    static Outcome classify(Throwable t) {
        if (t instanceof ReplyException re && re.failureType() != ReplyFailure.RECIPIENT_FAILURE) {
            // TIMEOUT: no answer (outcome unknown); NO_HANDLERS: the leader's bridge is not (or no longer) there
            return Outcome.RETRY;
        }
        Errors error = BridgeException.errorOf(t);
        return switch (error) {
            case OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH -> Outcome.RESET;
            default -> error.exception() instanceof RetriableException ? Outcome.RETRY : Outcome.FAIL;
        };
    }

    /** Kafka's sequence arithmetic: sequences wrap from Integer.MAX_VALUE to 0. */
    static int incrementSequence(int sequence, int increment) {
        if (sequence > Integer.MAX_VALUE - increment) {
            return increment - (Integer.MAX_VALUE - sequence) - 1;
        }
        return sequence + increment;
    }

    private static int length(byte[] b) {
        return b == null ? 0 : b.length;
    }
}
