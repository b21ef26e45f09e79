package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.runnel.server.ShardVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.internal.ContextInternal;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The long poll of {@link BridgeReads} on a real partition: a parked read is answered by the first append
 * (read on the owner's context right after it), appends racing the read's parking are never missed, and a
 * read with nothing new answers empty at its deadline.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BridgeReadsLongPollTest {

    private static final TopicPartition TP = new TopicPartition("poll", 0);
    private static final String ADDRESS = "test.read";
    /** far beyond what any answer here may take: a missed append shows as a read answered only at its deadline */
    private static final long LONG_WAIT_MS = 20_000;

    @TempDir
    Path dir;
    private final Vertx vertx = Vertx.vertx();
    private PartitionManager partitions;
    private PartitionOwner owner;
    private ContextInternal bridge;
    private BridgeReads reads;

    @BeforeEach
    void start() throws Exception {
        BrokerConfig config = new BrokerConfig(Map.of(BrokerConfig.LOG_DIRS, dir.toString(), BrokerConfig.NODE_ID, "1"));
        ShardVerticle shard = new ShardVerticle();
        await(vertx.deployVerticle(shard, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)));
        partitions = new PartitionManager(vertx, config, List.of(shard.ownContext()), Time.SYSTEM);
        owner = await(partitions.open(TP, Uuid.randomUuid(), Map.of()));
        bridge = (ContextInternal) vertx.getOrCreateContext();
        reads = new BridgeReads(vertx, bridge, partitions);
        Promise<Void> registered = Promise.promise();
        bridge.runOnContext(v -> vertx.eventBus().consumer(ADDRESS, (Message<Object> msg) -> {
            try {
                reads.serve(msg);
            } catch (RuntimeException e) {
                BridgeVerticle.fail(msg, e);
            }
        }).completion().onComplete(registered));
        await(registered.future());
    }

    @AfterEach
    void close() throws Exception {
        await(partitions.closeAll().recover(t -> Future.succeededFuture()));
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    private Future<Message<Buffer>> read(long offset, long maxWaitMs) {
        return vertx.eventBus().request(ADDRESS, BridgeReads.request(TP, offset, 1 << 20, maxWaitMs),
                new DeliveryOptions().setSendTimeout(maxWaitMs + 10_000));
    }

    private void append(String value) throws Exception {
        await(owner.append(RecordSet.builder().add(LogBatch.NO_TIMESTAMP, null,
                value.getBytes(StandardCharsets.UTF_8)).build(), (short) 1));
    }

    private static List<String> values(Message<Buffer> reply, long from) {
        List<String> out = new ArrayList<>();
        for (BridgeRecord r : BridgeReads.parse(TP, BridgeReads.Read.of(reply, from).records(), from).records()) {
            out.add(new String(r.value(), StandardCharsets.UTF_8));
        }
        return out;
    }

    @Test
    void aParkedReadIsAnsweredByTheFirstAppend() throws Exception {
        Future<Message<Buffer>> pending = read(0, LONG_WAIT_MS);
        Thread.sleep(300); // parked by now: the log is empty
        assertThat(pending.isComplete()).isFalse();
        long before = System.nanoTime();
        append("first");
        Message<Buffer> reply = pending.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before)).isLessThan(LONG_WAIT_MS / 2);
        assertThat(values(reply, 0)).containsExactly("first");
        assertThat(reply.headers().get(BridgeReads.H_OFFSET)).isEqualTo("0");
    }

    @Test
    void appendsRacingTheReadsAreNeverMissed() throws Exception {
        // each read starts as its record is appended from another thread, so the append lands before the
        // first read, between the read and the parking, or after the parking; every read must get its record
        for (int i = 0; i < 200; i++) {
            Future<Message<Buffer>> pending = read(i, LONG_WAIT_MS);
            if (i % 3 == 1) {
                Thread.sleep(1);
            }
            append("v" + i);
            Message<Buffer> reply = pending.toCompletionStage().toCompletableFuture().get(LONG_WAIT_MS / 2,
                    TimeUnit.MILLISECONDS);
            assertThat(values(reply, i)).as("read %d", i).containsExactly("v" + i);
        }
    }

    @Test
    void aReadWithNothingNewAnswersEmptyAtItsDeadline() throws Exception {
        append("only");
        long before = System.nanoTime();
        Message<Buffer> reply = await(read(1, 200));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before)).isGreaterThanOrEqualTo(150);
        assertThat(reply.body().length()).isZero();
        assertThat(reply.headers().get(BridgeReads.H_OFFSET)).isEqualTo("1");
    }

    /** The call a subscription on the leader makes: no event-bus message, the records as read, on the bridge context. */
    @Test
    void aLocalReadIsACallAnsweredOnTheBridgeContext() throws Exception {
        append("zero");
        java.util.concurrent.CompletableFuture<Boolean> onBridge = new java.util.concurrent.CompletableFuture<>();
        Promise<BridgeReads.Read> first = Promise.promise();
        bridge.runOnContext(v -> reads.read(TP, -2, 1 << 20, LONG_WAIT_MS).onComplete(ar -> {
            onBridge.complete(ContextInternal.current() != null && ContextInternal.current().unwrap() == bridge.unwrap());
            first.handle(ar);
        }));
        BridgeReads.Read read = await(first.future());
        assertThat(onBridge.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(read.from()).isZero(); // -2 resolved to the log start
        assertThat(BridgeReads.parse(TP, read.records(), read.from()).records()).extracting(r -> new String(r.value(),
                StandardCharsets.UTF_8)).containsExactly("zero");

        // parked until the next append, which answers it long before its deadline
        Promise<BridgeReads.Read> parked = Promise.promise();
        bridge.runOnContext(v -> reads.read(TP, 1, 1 << 20, LONG_WAIT_MS).onComplete(parked));
        Thread.sleep(300);
        assertThat(parked.future().isComplete()).isFalse();
        long before = System.nanoTime();
        append("one");
        BridgeReads.Read next = await(parked.future());
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before)).isLessThan(LONG_WAIT_MS / 2);
        BridgeReads.Batch batch = BridgeReads.parse(TP, next.records(), 1);
        assertThat(batch.records()).extracting(r -> new String(r.value(), StandardCharsets.UTF_8)).containsExactly("one");
        assertThat(batch.next()).isEqualTo(2);

        // a partition this broker does not lead: NOT_LEADER_OR_FOLLOWER, as over the event bus
        Promise<BridgeReads.Read> elsewhere = Promise.promise();
        bridge.runOnContext(v -> reads.read(new TopicPartition("elsewhere", 0), 0, 1 << 20, 100).onComplete(elsewhere));
        assertThat(elsewhere.future().toCompletionStage().toCompletableFuture().handle((r, t) -> t).get(10,
                TimeUnit.SECONDS)).isInstanceOf(org.apache.kafka.common.errors.NotLeaderOrFollowerException.class);
    }
}
