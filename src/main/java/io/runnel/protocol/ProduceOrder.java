package io.runnel.protocol;

import java.util.ArrayDeque;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Keeps one connection's produce requests handing their batches to the partitions in the order the requests
 * arrived. Kafka reads a connection's next request only after answering the one before, so a producer's
 * pipelined requests (max.in.flight.requests.per.connection) reach each partition in the order they were sent.
 * Runnel reads on and serves a connection's requests concurrently, which keeps that order by itself as long as
 * each request hands its batches to the partition owners at once, while it is being handled. A request whose
 * transaction the coordinator must verify first (KIP-890) cannot: it hands them over when the coordinator
 * answers, and every produce request behind it must wait for that, or the next batch of the same producer and
 * partition overtakes it (seen as OUT_OF_ORDER_SEQUENCE_NUMBER, sequence 15 arriving before 0-14, then
 * ProducerFencedException in a transactional producer). Requests behind none that waits are not delayed.
 *
 * <p>Threading: the connection's event loop only ({@link #handOver} is called from the produce handler there);
 * a readiness that completes elsewhere comes back to that loop first.
 */
public final class ProduceOrder {

    private final Context context;
    private final ArrayDeque<Step> waiting = new ArrayDeque<>();

    private static final class Step {
        final Runnable handOver;
        boolean ready;

        Step(Runnable handOver) {
            this.handOver = handOver;
        }
    }

    /** @param context the connection's event-loop context */
    public ProduceOrder(Context context) {
        this.context = context;
    }

    /** Whether a request that is ready now may hand its batches over at once: none before it is waiting. */
    public boolean idle() {
        return waiting.isEmpty();
    }

    /**
     * Runs {@code handOver} once {@code ready} is complete (either way) and every request queued before it has
     * handed its batches over; at once when both hold already.
     */
    public void handOver(Future<?> ready, Runnable handOver) {
        if (waiting.isEmpty() && ready.isComplete()) {
            handOver.run();
            return;
        }
        Step step = new Step(handOver);
        waiting.add(step);
        ready.onComplete(ar -> {
            if (Vertx.currentContext() == context) {
                step.ready = true;
                drain();
            } else {
                context.runOnContext(v -> {
                    step.ready = true;
                    drain();
                });
            }
        });
    }

    private void drain() {
        while (!waiting.isEmpty() && waiting.peek().ready) {
            waiting.poll().handOver.run();
        }
    }
}
