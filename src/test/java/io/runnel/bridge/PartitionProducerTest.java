package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import io.runnel.log.LogBatch;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The bridge's per-partition idempotent producer against a fake leader that keeps Kafka's producer state
 * (duplicates of recent batches answered with their original offsets, sequence gaps refused, a new epoch
 * starting at sequence 0), with scripted faults: lost replies, NOT_LEADER, lost producer state.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PartitionProducerTest {

    private static final TopicPartition TP = new TopicPartition("t", 0);

    private Vertx vertx;
    private Context context;
    private FakeLeader leader;
    private PartitionProducer producer;
    private final AtomicLong nextId = new AtomicLong(1000);

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
        context = vertx.getOrCreateContext();
        leader = new FakeLeader();
        producer = new PartitionProducer(TP, context, leader, ids(1000L), 1 << 20);
    }

    /** The bridge broker's producer id {@code shared}; fresh ones counted up from 1000. */
    private PartitionProducer.ProducerIds ids(long shared) {
        return new PartitionProducer.ProducerIds() {
            @Override
            public Future<Long> shared() {
                return Future.succeededFuture(shared);
            }

            @Override
            public Future<Long> fresh() {
                return Future.succeededFuture(nextId.incrementAndGet());
            }
        };
    }

    @AfterEach
    void tearDown() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void recordsArrivingWhileABatchIsInFlightGoOutTogetherAsTheNextBatch() throws Exception {
        Promise<Void> release = Promise.promise();
        leader.script.add(call -> release.future().compose(v -> leader.write(call)));
        List<CompletableFuture<JsonObject>> results = new ArrayList<>();
        results.add(send("v0", 30_000));
        waitFor(() -> leader.calls.size() == 1);
        for (int i = 1; i <= 4; i++) {
            results.add(send("v" + i, 30_000));
        }
        Thread.sleep(100);
        assertThat(leader.calls).hasSize(1);
        context.runOnContext(v -> release.complete());
        for (int i = 0; i < 5; i++) {
            assertThat(results.get(i).get(10, TimeUnit.SECONDS).getLong("offset")).isEqualTo(i);
        }
        assertThat(leader.calls).hasSize(2);
        assertThat(leader.calls.get(1).records()).containsExactly("v1", "v2", "v3", "v4");
        assertThat(leader.calls.get(1).baseSequence()).isEqualTo(1);
        assertThat(leader.log).containsExactly("v0", "v1", "v2", "v3", "v4");
        assertThat(producer.nextSequence()).isEqualTo(5);
    }

    @Test
    void aRetryAfterALostReplyIsAnsweredWithTheOriginalOffsetAndNotWrittenTwice() throws Exception {
        send("a", 30_000).get(10, TimeUnit.SECONDS);
        leader.script.add(call -> leader.write(call).compose(x -> Future.failedFuture(
                new ReplyException(ReplyFailure.TIMEOUT, "Timed out after waiting 5000(ms) for a reply"))));
        JsonObject b = send("b", 30_000).get(10, TimeUnit.SECONDS);
        assertThat(b.getLong("offset")).isEqualTo(1);
        assertThat(leader.log).containsExactly("a", "b");
        assertThat(leader.duplicates).isEqualTo(1);
        // the same batch both times
        assertThat(leader.calls.get(1)).isEqualTo(leader.calls.get(2));
        assertThat(send("c", 30_000).get(10, TimeUnit.SECONDS).getLong("offset")).isEqualTo(2);
        assertThat(leader.calls.get(3).baseSequence()).isEqualTo(2);
    }

    @Test
    void notLeaderAndMissingHandlersAreRetriedUntilTheLeaderAnswers() throws Exception {
        leader.script.add(call -> Future.failedFuture(new NotLeaderOrFollowerException("not yet")));
        leader.script.add(call -> Future.failedFuture(new ReplyException(ReplyFailure.NO_HANDLERS, "none")));
        leader.script.add(call -> Future.failedFuture(new ReplyException(ReplyFailure.RECIPIENT_FAILURE,
                Errors.LEADER_NOT_AVAILABLE.code(), "LEADER_NOT_AVAILABLE: creating")));
        assertThat(send("x", 30_000).get(10, TimeUnit.SECONDS).getLong("offset")).isZero();
        assertThat(leader.calls).hasSize(4);
        assertThat(leader.log).containsExactly("x");
    }

    @Test
    void aLeaderThatLostTheProducersStateGetsTheBatchUnderANewEpochFromSequenceZero() throws Exception {
        send("a", 30_000).get(10, TimeUnit.SECONDS);
        send("b", 30_000).get(10, TimeUnit.SECONDS);
        // a new leader whose state ends earlier (say, an acks=1 batch it never replicated)
        leader.lastSequence.put(1000L, 5);
        JsonObject c = send("c", 30_000).get(10, TimeUnit.SECONDS);
        assertThat(c.getLong("offset")).isEqualTo(2);
        assertThat(leader.log).containsExactly("a", "b", "c");
        Call last = leader.calls.get(leader.calls.size() - 1);
        assertThat(last.epoch()).isEqualTo((short) 1);
        assertThat(last.baseSequence()).isZero();
        assertThat(leader.calls.get(leader.calls.size() - 2).error()).isInstanceOf(OutOfOrderSequenceException.class);
    }

    @Test
    void aBatchWithoutAnAnswerWithinTheSendTimeoutFailsAsIndeterminateAndTheEpochMovesOn() throws Exception {
        leader.script.add(call -> leader.write(call).compose(x -> Future.failedFuture(
                new ReplyException(ReplyFailure.TIMEOUT, "no reply"))));
        for (int i = 0; i < 50; i++) {
            leader.script.add(call -> Future.failedFuture(new ReplyException(ReplyFailure.TIMEOUT, "no reply")));
        }
        Throwable t = catchThrowable(() -> send("lost", 400).get(10, TimeUnit.SECONDS));
        assertThat(t).isInstanceOf(ExecutionException.class).cause().isInstanceOf(TimeoutException.class)
                .hasMessageContaining("may or may not have been written");
        assertThat(BridgeException.errorOf(t.getCause())).isEqualTo(Errors.REQUEST_TIMED_OUT);
        leader.script.clear();
        assertThat(send("next", 30_000).get(10, TimeUnit.SECONDS).getLong("offset")).isEqualTo(1);
        Call last = leader.calls.get(leader.calls.size() - 1);
        assertThat(last.epoch()).isEqualTo((short) 1);
        assertThat(last.baseSequence()).isZero();
        assertThat(leader.log).containsExactly("lost", "next");
    }

    @Test
    void aDefiniteRefusalFailsTheRecordsAndLeavesTheSequenceUnused() throws Exception {
        leader.script.add(call -> Future.failedFuture(new RecordTooLargeException("too large")));
        Throwable t = catchThrowable(() -> send("big", 30_000).get(10, TimeUnit.SECONDS));
        assertThat(t.getCause()).isInstanceOf(RecordTooLargeException.class);
        assertThat(leader.calls).hasSize(1);
        assertThat(send("ok", 30_000).get(10, TimeUnit.SECONDS).getLong("offset")).isZero();
        assertThat(leader.calls.get(1).baseSequence()).isZero();
        assertThat(leader.calls.get(1).epoch()).isZero();
    }

    @Test
    void sequencesWrapAsKafkasDo() {
        assertThat(PartitionProducer.incrementSequence(5, 3)).isEqualTo(8);
        assertThat(PartitionProducer.incrementSequence(Integer.MAX_VALUE, 1)).isZero();
        assertThat(PartitionProducer.incrementSequence(Integer.MAX_VALUE - 1, 3)).isEqualTo(1);
    }

    @Test
    void errorsAreClassifiedAsTheJavaProducerDoes() {
        assertThat(PartitionProducer.classify(new NotLeaderOrFollowerException("x"))).isEqualTo(PartitionProducer.Outcome.RETRY);
        assertThat(PartitionProducer.classify(new TimeoutException("x"))).isEqualTo(PartitionProducer.Outcome.RETRY);
        assertThat(PartitionProducer.classify(new ReplyException(ReplyFailure.TIMEOUT, "x")))
                .isEqualTo(PartitionProducer.Outcome.RETRY);
        assertThat(PartitionProducer.classify(new ReplyException(ReplyFailure.RECIPIENT_FAILURE,
                Errors.UNKNOWN_PRODUCER_ID.code(), "x"))).isEqualTo(PartitionProducer.Outcome.RESET);
        assertThat(PartitionProducer.classify(new InvalidProducerEpochException("x"))).isEqualTo(PartitionProducer.Outcome.RESET);
        assertThat(PartitionProducer.classify(new RecordTooLargeException("x"))).isEqualTo(PartitionProducer.Outcome.FAIL);
        assertThat(PartitionProducer.classify(new ReplyException(ReplyFailure.RECIPIENT_FAILURE,
                Errors.INVALID_TIMESTAMP.code(), "x"))).isEqualTo(PartitionProducer.Outcome.FAIL);
    }

    // ---- helpers ----

    private CompletableFuture<JsonObject> send(String value, long timeoutMs) {
        CompletableFuture<JsonObject> out = new CompletableFuture<>();
        context.runOnContext(v -> producer.send(new RecordSet.NewRecord(1L, null,
                value.getBytes(StandardCharsets.UTF_8)), (short) -1, timeoutMs).onComplete(ar -> {
                    if (ar.succeeded()) {
                        out.complete(ar.result());
                    } else {
                        out.completeExceptionally(ar.cause());
                    }
                }));
        return out;
    }

    private static void waitFor(Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.get()) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** One attempt as the leader saw it. */
    record Call(long producerId, short epoch, int baseSequence, List<String> records, Throwable error) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Call c && c.producerId == producerId && c.epoch == epoch
                    && c.baseSequence == baseSequence && c.records.equals(records);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(producerId) + baseSequence;
        }
    }

    /** A leader with Kafka's producer-state rules; faults come from {@code script}, one per attempt. */
    final class FakeLeader implements PartitionProducer.Transport {
        final List<String> log = new ArrayList<>();
        final List<Call> calls = new ArrayList<>();
        final Deque<java.util.function.Function<Call, Future<PartitionProducer.Appended>>> script = new ArrayDeque<>();
        final Map<Long, Short> epochs = new HashMap<>();
        final Map<Long, Integer> lastSequence = new HashMap<>();
        final Map<String, Long> written = new HashMap<>();
        int duplicates;

        @Override
        public synchronized Future<PartitionProducer.Appended> send(TopicPartition tp, RecordSet batch, short acks,
                                                                    long timeoutMs) {
            LogBatch b = batch.batches().iterator().next();
            List<String> values = new ArrayList<>();
            for (LogRecord r : b) {
                byte[] v = new byte[r.value().remaining()];
                r.value().duplicate().get(v);
                values.add(new String(v, StandardCharsets.UTF_8));
            }
            Call call = new Call(b.producerId(), b.producerEpoch(), b.baseSequence(), values, null);
            int index = calls.size();
            calls.add(call);
            var step = script.poll();
            Future<PartitionProducer.Appended> f = step == null ? write(call) : step.apply(call);
            return f.onFailure(e -> calls.set(index, new Call(call.producerId(), call.epoch(),
                    call.baseSequence(), call.records(), e)));
        }

        synchronized Future<PartitionProducer.Appended> write(Call c) {
            String id = c.producerId() + "/" + c.epoch() + "/" + c.baseSequence();
            Long original = written.get(id);
            if (original != null) {
                duplicates++;
                return Future.succeededFuture(new PartitionProducer.Appended(original, -1));
            }
            Short known = epochs.get(c.producerId());
            if (known != null && c.epoch() < known) {
                return Future.failedFuture(new InvalidProducerEpochException("old epoch"));
            }
            if (known != null && c.epoch() > known ? c.baseSequence() != 0
                    : known != null && c.baseSequence() != lastSequence.get(c.producerId()) + 1) {
                return Future.failedFuture(new OutOfOrderSequenceException("gap"));
            }
            long base = log.size();
            log.addAll(c.records());
            written.put(id, base);
            epochs.put(c.producerId(), c.epoch());
            lastSequence.put(c.producerId(), c.baseSequence() + c.records().size() - 1);
            return Future.succeededFuture(new PartitionProducer.Appended(base, -1));
        }
    }
}
