import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.TcpIpConfig;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * The event-bus workloads of scripts/bench.sh: a plain Vert.x application (vertx-core and vertx-hazelcast
 * only, no Runnel classes, the raw addresses of the README's table) that joins a Runnel node's Hazelcast
 * cluster as the README's event-bus section does (the node lists the application's member port in its
 * {@code cluster.members}) and measures, on that node:
 * <ul>
 *   <li>{@code produce}: throughput of batched produce to {@code runnel.produce}, {@code FORMAT} {@code binary}
 *   (a Buffer of records back to back with header {@code format: records}) or {@code json} (a JSON array of
 *   records, values base64), {@code BATCH} records a message, {@code IN_FLIGHT} messages unanswered at a time,
 *   {@code acks} -1 or 1, from the first send until the last reply; every record's result is checked.
 *   Prints {@code eventbus-produce records=N seconds=S rps=R mbps=M} (MB = 2^20 bytes of values, as
 *   ProducerPerformance counts).</li>
 *   <li>{@code e2e}: end-to-end latency at a fixed rate, with the rules of FixedRateEndToEnd.java: one record
 *   per message (Buffer body, acks=-1) sent on a fixed schedule, a subscription ({@code runnel.subscribe},
 *   autoOffsetReset latest) on the same topic delivering to an address of this application, each record
 *   timed from its scheduled send until its delivery arrives (same JVM, same clock; a stalled sender counts
 *   against the broker), the first WARMUP records not counted, one collection before the clock starts,
 *   and this JVM's collections after the warm-up reported. DELIVERY_BATCH (default 1: one record per delivery,
 *   the next of a partition after the previous one's reply) above 1 subscribes with {@code "batch"}: what has
 *   arrived for a partition goes out in one delivery, as a Kafka consumer's poll returns it. Prints the same
 *   {@code e2e records=N p50_ms=.. p99_ms=.. p999_ms=.. max_ms=.. client_gc=N client_gc_ms=..} line.</li>
 * </ul>
 *
 * <pre>
 * java -cp target/runnel.jar scripts/bench/EventBusBench.java produce CLUSTER NODE_MEMBER APP_PORT TOPIC RECORDS RECORD_SIZE FORMAT BATCH IN_FLIGHT ACKS
 * java -cp target/runnel.jar scripts/bench/EventBusBench.java e2e CLUSTER NODE_MEMBER APP_PORT TOPIC RATE RECORDS WARMUP RECORD_SIZE [DELIVERY_BATCH]
 * </pre>
 * The class path only has to hold vertx-core and vertx-hazelcast with their dependencies; bench.sh uses the
 * node's own JAR for that (the same versions), and nothing here names a Runnel class.
 */
public final class EventBusBench {

    private static final String PREFIX = "runnel";

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            usage();
        }
        String mode = args[0];
        String cluster = args[1];
        String member = args[2];
        int port = Integer.parseInt(args[3]);
        String topic = args[4];
        if (!(mode.equals("produce") && args.length == 11) && !(mode.equals("e2e") && (args.length == 9
                || args.length == 10))) {
            usage();
        }
        Vertx vertx = join(cluster, member, port);
        int status;
        try {
            status = mode.equals("produce")
                    ? produce(vertx, topic, Integer.parseInt(args[5]), Integer.parseInt(args[6]), args[7],
                    Integer.parseInt(args[8]), Integer.parseInt(args[9]), args[10])
                    : e2e(vertx, topic, Integer.parseInt(args[5]), Integer.parseInt(args[6]), Integer.parseInt(args[7]),
                    Integer.parseInt(args[8]), args.length == 10 ? Integer.parseInt(args[9]) : 1);
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        System.exit(status);
    }

    private static void usage() {
        System.err.println("usage: produce CLUSTER NODE_MEMBER APP_PORT TOPIC RECORDS RECORD_SIZE binary|json BATCH IN_FLIGHT ACKS\n"
                + "       e2e CLUSTER NODE_MEMBER APP_PORT TOPIC RATE RECORDS WARMUP RECORD_SIZE [DELIVERY_BATCH]");
        System.exit(2);
    }

    /**
     * Joins the node's cluster as the README's application does: Hazelcast on 127.0.0.1 at APP_PORT exactly,
     * TCP-IP join over the node's member and this one, multicast off, the maps the Vert.x event bus uses.
     */
    private static Vertx join(String cluster, String member, int port) throws Exception {
        Config config = new Config();
        config.addMultiMapConfig(new MultiMapConfig("__vertx.subs").setBackupCount(1)
                .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
        config.addMapConfig(new MapConfig("__vertx.haInfo").setBackupCount(1));
        config.addMapConfig(new MapConfig("__vertx.nodeInfo").setBackupCount(1));
        config.setClusterName(cluster);
        config.setProperty("hazelcast.wait.seconds.before.join", "0");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.socket.bind.any", "false");
        config.setProperty("hazelcast.logging.type", "none");
        NetworkConfig network = config.getNetworkConfig();
        network.setReuseAddress(true);
        network.setPort(port).setPortAutoIncrement(false).setPortCount(1);
        network.getInterfaces().setEnabled(true).clear().addInterface("127.0.0.1");
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        TcpIpConfig tcp = join.getTcpIpConfig().setEnabled(true).setConnectionTimeoutSeconds(1);
        tcp.clear();
        tcp.addMember(member);
        tcp.addMember("127.0.0.1:" + port);
        VertxOptions options = new VertxOptions();
        options.getEventBusOptions().setHost("127.0.0.1").setPort(0);
        return Vertx.builder().with(options).withClusterManager(new HazelcastClusterManager(config)).buildClustered()
                .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** Asks runnel.metadata until the topic has a leader for every partition (the bridge is registered by then). */
    private static void awaitTopic(Vertx vertx, String topic) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                JsonObject md = (JsonObject) vertx.eventBus().request(PREFIX + ".metadata",
                                new JsonObject().put("topics", new JsonArray().add(topic)), new DeliveryOptions().setSendTimeout(5000))
                        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
                JsonArray topics = md.getJsonArray("topics");
                if (topics != null && !topics.isEmpty()) {
                    JsonObject t = topics.getJsonObject(0);
                    JsonArray parts = t.getJsonArray("partitions");
                    boolean led = parts != null && !parts.isEmpty();
                    for (int i = 0; led && i < parts.size(); i++) {
                        led = parts.getJsonObject(i).getInteger("leader", -1) >= 0;
                    }
                    if (led && t.getInteger("errorCode", 0) == 0) {
                        return;
                    }
                }
                last = md.encode();
            } catch (Exception e) {
                last = String.valueOf(e.getCause() != null ? e.getCause() : e);
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("topic " + topic + " not led within 60 s over the event bus: " + last);
    }

    private static int produce(Vertx vertx, String topic, int records, int size, String format, int batch, int inFlight,
                               String acks) throws Exception {
        awaitTopic(vertx, topic);
        byte[] value = new byte[size];
        for (int i = 0; i < size; i++) {
            value[i] = (byte) ('A' + i % 26);
        }
        DeliveryOptions opts = new DeliveryOptions().setSendTimeout(60_000).addHeader("topic", topic).addHeader("acks", acks);
        Object full;
        Object tail = null;
        int tailCount = records % batch;
        if (format.equals("binary")) {
            opts.addHeader("format", "records");
            full = binaryBatch(value, batch);
            if (tailCount > 0) {
                tail = binaryBatch(value, tailCount);
            }
        } else if (format.equals("json")) {
            full = jsonBatch(value, batch);
            if (tailCount > 0) {
                tail = jsonBatch(value, tailCount);
            }
        } else {
            throw new IllegalArgumentException("format must be binary or json: " + format);
        }
        int messages = records / batch + (tailCount > 0 ? 1 : 0);
        Semaphore permits = new Semaphore(inFlight);
        AtomicLong written = new AtomicLong();
        AtomicReference<String> failure = new AtomicReference<>();
        long start = System.nanoTime();
        for (int m = 0; m < messages && failure.get() == null; m++) {
            permits.acquire();
            int expect = (m == messages - 1 && tailCount > 0) ? tailCount : batch;
            Object body = expect == batch ? full : tail;
            vertx.eventBus().<JsonObject>request(PREFIX + ".produce", body, opts).onComplete(ar -> {
                if (ar.failed()) {
                    failure.compareAndSet(null, String.valueOf(ar.cause()));
                } else {
                    JsonArray results = ar.result().body().getJsonArray("results");
                    int ok = 0;
                    for (int i = 0; results != null && i < results.size(); i++) {
                        JsonObject r = results.getJsonObject(i);
                        if (r.containsKey("errorCode")) {
                            failure.compareAndSet(null, r.encode());
                        } else {
                            ok++;
                        }
                    }
                    if (ok != expect) {
                        failure.compareAndSet(null, "a batch of " + expect + " records was answered with " + ok
                                + " successes: " + ar.result().body().encode());
                    }
                    written.addAndGet(ok);
                }
                permits.release();
            });
        }
        permits.acquire(inFlight);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failure.get() != null) {
            System.err.println("eventbus-produce failed: " + failure.get());
            return 1;
        }
        double rps = written.get() / seconds;
        System.out.printf("eventbus-produce records=%d seconds=%.3f rps=%.1f mbps=%.2f format=%s batch=%d in_flight=%d acks=%s%n",
                written.get(), seconds, rps, rps * size / (1024.0 * 1024.0), format, batch, inFlight, acks);
        return 0;
    }

    private static Buffer binaryBatch(byte[] value, int count) {
        Buffer b = Buffer.buffer(count * (value.length + 8));
        for (int i = 0; i < count; i++) {
            b.appendInt(-1).appendInt(value.length).appendBytes(value);
        }
        return b;
    }

    private static JsonArray jsonBatch(byte[] value, int count) {
        String v64 = Base64.getEncoder().encodeToString(value);
        JsonArray a = new JsonArray();
        for (int i = 0; i < count; i++) {
            a.add(new JsonObject().put("value", v64));
        }
        return a;
    }

    /**
     * @param deliveryBatch 1: one record per delivery (binary body, the default subscription); above 1: the
     *                      subscription's {@code batch} option, up to that many records of a partition per delivery
     *                      (a JSON array, values in base64), as a Kafka consumer's poll returns what has arrived
     */
    private static int e2e(Vertx vertx, String topic, int rate, int records, int warmup, int size, int deliveryBatch)
            throws Exception {
        size = Math.max(16, size);
        awaitTopic(vertx, topic);
        long[] latencyNanos = new long[records];
        Arrays.fill(latencyNanos, -1);
        AtomicInteger received = new AtomicInteger();
        AtomicInteger probes = new AtomicInteger();
        AtomicReference<String> failure = new AtomicReference<>();
        AtomicLongArray scheduled = new AtomicLongArray(records);
        String address = "bench.eventbus.deliveries." + ProcessHandle.current().pid();
        vertx.eventBus().<Object>consumer(address, (Message<Object> msg) -> {
            long now = System.nanoTime();
            List<Long> seqs = new ArrayList<>(1);
            if (msg.body() instanceof Buffer body) {
                seqs.add(body.length() >= 8 ? body.getLong(0) : -2);
            } else if (msg.body() instanceof JsonArray batch) {
                for (int i = 0; i < batch.size(); i++) {
                    byte[] v = java.util.Base64.getDecoder().decode(batch.getJsonObject(i).getString("value"));
                    seqs.add(v.length >= 8 ? Buffer.buffer(v).getLong(0) : -2);
                }
            }
            for (long seq : seqs) {
                if (seq >= 0 && seq < records) {
                    if (latencyNanos[(int) seq] < 0) {
                        latencyNanos[(int) seq] = now - scheduled.get((int) seq);
                        received.incrementAndGet();
                    }
                } else if (seq == -1) {
                    probes.incrementAndGet();
                }
            }
            msg.reply(null);
        }).completion().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        JsonObject subscribe = new JsonObject()
                .put("group", "bench-eventbus-" + ProcessHandle.current().pid()).put("topics", new JsonArray().add(topic))
                .put("address", address).put("credits", 1000).put("autoOffsetReset", "latest");
        if (deliveryBatch > 1) {
            subscribe.put("batch", deliveryBatch).put("encoding", "base64");
        }
        JsonObject sub = vertx.eventBus().<JsonObject>request(PREFIX + ".subscribe", subscribe,
                new DeliveryOptions().setSendTimeout(60_000)).toCompletionStage().toCompletableFuture()
                .get(90, TimeUnit.SECONDS).body();
        String subscriptionId = sub.getString("subscriptionId");
        long heartbeatMs = Math.max(100, sub.getLong("heartbeatIntervalMs", 3000L));
        long timer = vertx.setPeriodic(heartbeatMs, t -> vertx.eventBus().request(PREFIX + ".heartbeat",
                new JsonObject().put("subscriptionId", subscriptionId))
                .onFailure(e -> failure.compareAndSet(null, "heartbeat failed: " + e)));
        DeliveryOptions opts = new DeliveryOptions().setSendTimeout(60_000).addHeader("topic", topic).addHeader("acks", "-1");
        // the subscription is live once a probe record sent now is delivered (its position is "latest")
        long probeDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (probes.get() == 0) {
            if (System.nanoTime() > probeDeadline) {
                System.err.println("e2e: no probe record was delivered within 60 s of subscribing: " + sub.encode());
                return 1;
            }
            Buffer probe = Buffer.buffer(new byte[size]).setLong(0, -1);
            vertx.eventBus().request(PREFIX + ".produce", probe, opts);
            Thread.sleep(500);
        }
        Thread.sleep(500); // probes still in flight arrive before the clock starts
        System.gc();

        long[] gcAtWarmupEnd = null;
        long period = TimeUnit.SECONDS.toNanos(1) / rate;
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
        AtomicInteger unanswered = new AtomicInteger();
        long[] ackNanos = new long[records]; // scheduled send until the produce reply: where the time goes
        for (int i = 0; i < records && failure.get() == null; i++) {
            if (i == Math.min(warmup, records - 1)) {
                gcAtWarmupEnd = gcTotals();
            }
            long at = start + i * period;
            long wait;
            while ((wait = at - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            byte[] value = new byte[size];
            writeLong(value, 0, i);
            scheduled.set(i, at);
            unanswered.incrementAndGet();
            int seq = i;
            vertx.eventBus().request(PREFIX + ".produce", Buffer.buffer(value), opts).onComplete(ar -> {
                ackNanos[seq] = System.nanoTime() - at;
                unanswered.decrementAndGet();
                if (ar.failed()) {
                    failure.compareAndSet(null, "produce failed: " + ar.cause());
                }
            });
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((received.get() < records || unanswered.get() > 0) && failure.get() == null && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        long[] gcAtEnd = gcTotals();
        long[] gcInWindow = new long[2];
        if (gcAtWarmupEnd != null) {
            gcInWindow[0] = gcAtEnd[0] - gcAtWarmupEnd[0];
            gcInWindow[1] = gcAtEnd[1] - gcAtWarmupEnd[1];
        }
        vertx.cancelTimer(timer);
        try {
            vertx.eventBus().request(PREFIX + ".unsubscribe", new JsonObject().put("subscriptionId", subscriptionId))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.err.println("e2e: unsubscribe failed (ignored): " + e);
        }
        if (failure.get() != null) {
            System.err.println("e2e failed: " + failure.get());
            return 1;
        }
        if (received.get() < records) {
            System.err.println("e2e: only " + received.get() + " of " + records + " records arrived within 30 s");
            return 1;
        }
        int from = Math.min(warmup, records - 1);
        int worst = from;
        for (int i = from; i < records; i++) {
            if (latencyNanos[i] > latencyNanos[worst]) {
                worst = i;
            }
        }
        System.out.printf("e2e worst record %d, due %.3f s after the first send%n", worst, (double) worst / rate);
        long[] acked = Arrays.copyOfRange(ackNanos, from, records);
        Arrays.sort(acked);
        System.out.printf("e2e produce acknowledged (scheduled send to reply): p50_ms=%.3f p99_ms=%.3f max_ms=%.3f%n",
                ms(pct(acked, 0.50)), ms(pct(acked, 0.99)), ms(acked[acked.length - 1]));
        long[] steady = Arrays.copyOfRange(latencyNanos, from, records);
        Arrays.sort(steady);
        System.out.printf("e2e records=%d p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f client_gc=%d client_gc_ms=%d%n",
                steady.length, ms(pct(steady, 0.50)), ms(pct(steady, 0.99)), ms(pct(steady, 0.999)),
                ms(steady[steady.length - 1]), gcInWindow[0], gcInWindow[1]);
        return 0;
    }

    private static long[] gcTotals() {
        long count = 0;
        long ms = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, gc.getCollectionCount());
            ms += Math.max(0, gc.getCollectionTime());
        }
        return new long[] {count, ms};
    }

    private static long pct(long[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void writeLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }
}
