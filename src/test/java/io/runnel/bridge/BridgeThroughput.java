package io.runnel.bridge;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.runnel.cluster.ClusterManagerFactory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A manual measurement (not a test): records per second produced over the event bus by an application
 * clustered with a running node, for one record per message (one at a time, and many in flight, which the
 * bridge batches per partition) and for JSON-array and binary batches. Not a speed gate; scripts/bench.sh
 * is where targets are met.
 *
 * <pre>
 * java -cp target/runnel.jar:target/test-classes io.runnel.bridge.BridgeThroughput CLUSTER HZ_MEMBER APP_PORT TOPIC SECONDS
 * </pre>
 */
public final class BridgeThroughput {

    private BridgeThroughput() {
    }

    public static void main(String[] args) throws Exception {
        String cluster = args[0];
        String member = args[1];
        int port = Integer.parseInt(args[2]);
        String topic = args[3];
        long seconds = Long.parseLong(args[4]);
        Vertx vertx = ClusterManagerFactory.startClustered(new VertxOptions(), new ClusterManagerFactory.Settings(
                cluster, "127.0.0.1", port, 1, List.of(member, "127.0.0.1:" + port)))
                .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        String address = BridgeAddresses.address(BridgeAddresses.DEFAULT_PREFIX, BridgeAddresses.PRODUCE);
        byte[] value = new byte[100];
        String value64 = Base64.getEncoder().encodeToString(value);
        try {
            // warm-up (and topic creation)
            run(vertx, seconds / 2 + 1, 64, 1, () -> single(vertx, address, topic, value));
            report("single record per message, 1 in flight", run(vertx, seconds, 1, 1,
                    () -> single(vertx, address, topic, value)));
            report("single record per message, 64 in flight", run(vertx, seconds, 64, 1,
                    () -> single(vertx, address, topic, value)));
            JsonArray batch = new JsonArray();
            for (int i = 0; i < 100; i++) {
                batch.add(new JsonObject().put("value", value64));
            }
            report("JSON array of 100 records, 8 in flight", run(vertx, seconds, 8, 100,
                    () -> vertx.eventBus().request(address, batch, new DeliveryOptions().addHeader("topic", topic))));
            List<byte[][]> records = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                records.add(new byte[][] {null, value});
            }
            Buffer binary = BridgeProducer.encodeBinaryBatch(records);
            report("binary batch of 100 records, 8 in flight", run(vertx, seconds, 8, 100,
                    () -> vertx.eventBus().request(address, binary, new DeliveryOptions().addHeader("topic", topic)
                            .addHeader(BridgeAddresses.H_FORMAT, BridgeAddresses.FORMAT_RECORDS))));
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static Future<?> single(Vertx vertx, String address, String topic, byte[] value) {
        return vertx.eventBus().request(address, Buffer.buffer(value), new DeliveryOptions().addHeader("topic", topic));
    }

    private static void report(String what, double perSecond) {
        System.out.printf("%-45s %,12.0f records/s%n", what, perSecond);
    }

    /** Records per second sending for {@code seconds} with {@code inFlight} messages outstanding. */
    private static double run(Vertx vertx, long seconds, int inFlight, int perMessage,
                              java.util.function.Supplier<Future<?>> send) throws Exception {
        Semaphore permits = new Semaphore(inFlight);
        AtomicLong done = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            permits.acquire();
            send.get().onComplete(ar -> {
                if (ar.succeeded()) {
                    done.addAndGet(perMessage);
                } else {
                    failed.incrementAndGet();
                }
                permits.release();
            });
        }
        permits.acquire(inFlight);
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (failed.get() > 0) {
            System.out.println("  failed messages: " + failed.get());
        }
        CompletableFuture.completedFuture(null);
        return done.get() / elapsed;
    }
}
