package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The event-bus bridge on three brokers (separate processes), used by a plain Vert.x application
 * ({@link PlainEventBusApp}: vertx-core and vertx-hazelcast only, raw addresses) on topics of six
 * partitions led by all three: subscriptions are routed to the group's coordinator, read every partition
 * on its leader, keep per-partition order for any credits (or not, when asked), deliver batches and JSON;
 * and survive kill -9 of a partition leader and of the broker holding the subscription, delivering every
 * acknowledged record, in order per partition (a redelivery rewinds, never skips).
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
@org.junit.jupiter.api.TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EventBusClusterIT {

    private static Path dir;
    private static ProcessCluster cluster;
    private static Admin admin;
    private static PlainEventBusApp app;
    private static final AtomicInteger TOPICS = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("eb-cluster");
        cluster = new ProcessCluster(dir, Map.of("bridge.enabled", "true", "replica.lag.time.max.ms", "5000",
                "group.initial.rebalance.delay.ms", "0", "group.min.session.timeout.ms", "1000"));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        admin = Admin.create(ap);
        ProcessCluster.createReplicatedTopic(admin, "eb-warmup", 1);
        app = PlainEventBusApp.join(cluster.clusterName(), cluster.hazelcastMembers(), io.runnel.testutil.Ports.free());
    }

    @AfterAll
    static void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private static String topic() throws Exception {
        String name = "ebc-" + TOPICS.incrementAndGet();
        admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(name, 6, (short) 3)
                .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
        ProcessCluster.await("leaders for " + name, Duration.ofSeconds(60), () -> {
            TopicDescription d = ProcessCluster.describe(admin, name);
            return d != null && d.partitions().stream().allMatch(p -> p.leader() != null);
        });
        return name;
    }

    private static KafkaProducer<String, String> producer() {
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        return new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer());
    }

    /** Produces {@code count} records round the partitions (value = JSON {"i": n}); answers per partition the count. */
    private static Map<Integer, Integer> produce(String topic, int count) throws Exception {
        Map<Integer, Integer> perPartition = new ConcurrentHashMap<>();
        try (KafkaProducer<String, String> producer = producer()) {
            List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sends = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                sends.add(producer.send(new ProducerRecord<>(topic, i % 6, null, Integer.toString(i),
                        new JsonObject().put("i", i).encode(),
                        List.of(new RecordHeader("h", Integer.toString(i).getBytes(StandardCharsets.UTF_8))))));
            }
            for (var f : sends) {
                perPartition.merge(f.get(60, TimeUnit.SECONDS).partition(), 1, Integer::sum);
            }
        }
        return perPartition;
    }

    private static JsonObject request(String group, String topic) {
        return new JsonObject().put("group", group).put("topics", new JsonArray().add(topic))
                .put("autoOffsetReset", "earliest").put("sessionTimeoutMs", 10_000).put("ackTimeoutMs", 10_000);
    }

    private static int partitionOf(Message<Object> msg) {
        return Integer.parseInt(msg.headers().get("partition"));
    }

    private static long offsetOf(Message<Object> msg) {
        return Long.parseLong(msg.headers().get("offset"));
    }

    @Test
    @Order(1)
    void orderedDeliveryKeepsEachPartitionInOrderWithManyCredits() throws Exception {
        String topic = topic();
        Map<Integer, Integer> produced = produce(topic, 600);
        Map<Integer, List<Long>> received = new ConcurrentHashMap<>();
        Map<Integer, AtomicInteger> inFlight = new ConcurrentHashMap<>();
        AtomicInteger maxInFlightOnePartition = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        AtomicInteger total = new AtomicInteger();
        PlainEventBusApp.Sub sub = app.subscribe(request("ordered", topic).put("credits", 50), msg -> {
            int p = partitionOf(msg);
            received.computeIfAbsent(p, x -> new CopyOnWriteArrayList<>()).add(offsetOf(msg));
            int now = inFlight.computeIfAbsent(p, x -> new AtomicInteger()).incrementAndGet();
            maxInFlightOnePartition.accumulateAndGet(now, Math::max);
            maxInFlight.accumulateAndGet(total.incrementAndGet(), Math::max);
            // acknowledged a little later, in no particular order: concurrency would reorder
            Promise<Void> ack = Promise.promise();
            app.vertx.setTimer(1 + (offsetOf(msg) * 7) % 5, t -> {
                inFlight.get(p).decrementAndGet();
                total.decrementAndGet();
                ack.complete();
            });
            return ack.future();
        });
        assertThat(sub.subscribed.getJsonArray("partitions")).hasSize(6);
        ProcessCluster.await("600 records", Duration.ofSeconds(60),
                () -> received.values().stream().mapToInt(List::size).sum() >= 600);
        for (int p = 0; p < 6; p++) {
            List<Long> expected = new ArrayList<>();
            for (long o = 0; o < produced.get(p); o++) {
                expected.add(o);
            }
            assertThat(received.get(p)).as("partition %d in offset order, once", p).isEqualTo(expected);
        }
        assertThat(maxInFlightOnePartition.get()).as("one delivery of a partition at a time").isEqualTo(1);
        assertThat(maxInFlight.get()).as("partitions in parallel").isGreaterThan(1).isLessThanOrEqualTo(6);
        sub.unsubscribe();
    }

    @Test
    @Order(2)
    void unorderedDeliveryHasRecordsOfOnePartitionInFlightUpToTheCredits() throws Exception {
        String topic = topic();
        produce(topic, 300);
        Set<String> received = ConcurrentHashMap.newKeySet();
        Map<Integer, AtomicInteger> inFlight = new ConcurrentHashMap<>();
        AtomicInteger maxInFlightOnePartition = new AtomicInteger();
        AtomicInteger total = new AtomicInteger();
        AtomicInteger maxTotal = new AtomicInteger();
        PlainEventBusApp.Sub sub = app.subscribe(request("unordered", topic).put("credits", 12).put("ordered", false),
                msg -> {
                    int p = partitionOf(msg);
                    received.add(p + "/" + offsetOf(msg));
                    maxInFlightOnePartition.accumulateAndGet(
                            inFlight.computeIfAbsent(p, x -> new AtomicInteger()).incrementAndGet(), Math::max);
                    maxTotal.accumulateAndGet(total.incrementAndGet(), Math::max);
                    Promise<Void> ack = Promise.promise();
                    app.vertx.setTimer(20, t -> {
                        inFlight.get(p).decrementAndGet();
                        total.decrementAndGet();
                        ack.complete();
                    });
                    return ack.future();
                });
        ProcessCluster.await("300 records", Duration.ofSeconds(60), () -> received.size() >= 300);
        assertThat(received).hasSize(300);
        assertThat(maxInFlightOnePartition.get()).as("records of one partition concurrently").isGreaterThan(1);
        assertThat(maxTotal.get()).as("never more than the credits").isLessThanOrEqualTo(12);
        sub.unsubscribe();
    }

    @Test
    @Order(3)
    void batchesOfJsonRecordsAndTextRecords() throws Exception {
        String topic = topic();
        Map<Integer, Integer> produced = produce(topic, 600);
        List<JsonArray> batches = new CopyOnWriteArrayList<>();
        PlainEventBusApp.Sub sub = app.subscribe(request("batched", topic).put("credits", 4).put("batch", 50)
                .put("encoding", "json"), msg -> {
                    batches.add((JsonArray) msg.body());
                    return Future.succeededFuture();
                });
        ProcessCluster.await("600 records in batches", Duration.ofSeconds(60),
                () -> batches.stream().mapToInt(JsonArray::size).sum() >= 600);
        Map<Integer, List<Long>> offsets = new HashMap<>();
        for (JsonArray batch : batches) {
            assertThat(batch.size()).isBetween(1, 50);
            int partition = batch.getJsonObject(0).getInteger("partition");
            for (int i = 0; i < batch.size(); i++) {
                JsonObject r = batch.getJsonObject(i);
                assertThat(r.getInteger("partition")).as("one partition per batch").isEqualTo(partition);
                assertThat(r.getString("valueEncoding")).isEqualTo("json");
                JsonObject value = r.getJsonObject("value");
                // keys are the record number, valid JSON too
                assertThat(r.getString("keyEncoding")).isEqualTo("json");
                assertThat(r.getInteger("key")).isEqualTo(value.getInteger("i"));
                assertThat(r.getJsonArray("headers").getJsonObject(0).getString("key")).isEqualTo("h");
                offsets.computeIfAbsent(partition, p -> new ArrayList<>()).add(r.getLong("offset"));
            }
        }
        assertThat(batches.stream().anyMatch(b -> b.size() > 1)).as("records batched").isTrue();
        for (int p = 0; p < 6; p++) {
            List<Long> expected = new ArrayList<>();
            for (long o = 0; o < produced.get(p); o++) {
                expected.add(o);
            }
            assertThat(offsets.get(p)).as("partition %d in order", p).isEqualTo(expected);
        }
        sub.unsubscribe();

        List<JsonObject> texts = new CopyOnWriteArrayList<>();
        PlainEventBusApp.Sub text = app.subscribe(request("text", topic).put("encoding", "text"), msg -> {
            texts.add((JsonObject) msg.body());
            return Future.succeededFuture();
        });
        ProcessCluster.await("600 text records", Duration.ofSeconds(60), () -> texts.size() >= 600);
        JsonObject one = texts.get(0);
        assertThat(one.getString("valueEncoding")).isEqualTo("text");
        assertThat(new JsonObject(one.getString("value")).getInteger("i")).isEqualTo(Integer.parseInt(one.getString("key")));
        text.unsubscribe();
    }

    @Test
    @Order(4)
    void everyAcknowledgedRecordIsDeliveredInOrderThroughKillsOfALeaderAndOfTheSubscriptionsBroker() throws Exception {
        String topic = topic();
        String group = "survivor";
        Map<Integer, Set<Long>> delivered = new ConcurrentHashMap<>();
        List<String> skips = new CopyOnWriteArrayList<>();
        AtomicLong deliveries = new AtomicLong();
        AtomicLong redeliveries = new AtomicLong();
        List<long[]> newRecordTimes = new CopyOnWriteArrayList<>();
        PlainEventBusApp.Sub sub = app.subscribe(request(group, topic).put("credits", 20), msg -> {
            int p = partitionOf(msg);
            long o = offsetOf(msg);
            Set<Long> seen = delivered.computeIfAbsent(p, x -> ConcurrentHashMap.newKeySet());
            if (o > 0 && !seen.contains(o - 1)) {
                skips.add(p + "/" + o);
            }
            deliveries.incrementAndGet();
            if (!seen.add(o)) {
                redeliveries.incrementAndGet();
            } else {
                newRecordTimes.add(new long[] {System.currentTimeMillis(), p, o});
            }
            return Future.succeededFuture();
        });
        assertThat(sub.subscribed.getJsonArray("partitions")).hasSize(6);

        Map<Integer, Set<Long>> acked = new ConcurrentHashMap<>();
        List<Long> ackTimes = new CopyOnWriteArrayList<>();
        AtomicBoolean producing = new AtomicBoolean(true);
        AtomicInteger failedSends = new AtomicInteger();
        Thread producerThread = new Thread(() -> {
            // the application produces too, over the event bus (runnel.produce: body the value, header the
            // topic; the bridge picks the partition and routes to its leader), at most 300 unanswered
            java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(300);
            try {
                int i = 0;
                while (producing.get()) {
                    for (int k = 0; k < 30; k++, i++) {
                        window.acquire();
                        app.vertx.eventBus().<JsonObject>request("runnel.produce", io.vertx.core.buffer.Buffer.buffer("v" + i),
                                new io.vertx.core.eventbus.DeliveryOptions().addHeader("topic", topic)
                                        .setSendTimeout(60_000)).onComplete(ar -> {
                                    window.release();
                                    if (ar.succeeded()) {
                                        JsonObject m = ar.result().body();
                                        ackTimes.add(System.currentTimeMillis());
                                        acked.computeIfAbsent(m.getInteger("partition"),
                                                x -> ConcurrentHashMap.newKeySet()).add(m.getLong("offset"));
                                    } else {
                                        failedSends.incrementAndGet();
                                    }
                                });
                    }
                    Thread.sleep(30);
                }
                window.tryAcquire(300, 90, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "eb-cluster-producer");
        producerThread.start();
        try {
            Thread.sleep(4000);
            int coordinator = coordinator(group);
            TopicPartitionInfo victim = ProcessCluster.describe(admin, topic).partitions().stream()
                    .filter(p -> p.leader() != null && p.leader().id() != coordinator).findFirst().orElseThrow();
            int leader = victim.leader().id();
            long before = deliveries.get();
            long kill1 = System.currentTimeMillis();
            cluster.kill(leader);
            ProcessCluster.await("deliveries go on without broker " + leader, Duration.ofSeconds(60),
                    () -> deliveries.get() > before + 500);
            Thread.sleep(2000);
            cluster.start(leader);
            awaitBridge(leader);
            awaitInSync(topic);
            int home = coordinator(group);
            long before2 = deliveries.get();
            long kill2 = System.currentTimeMillis();
            cluster.kill(home);
            ProcessCluster.await("deliveries go on without the subscription's broker " + home, Duration.ofSeconds(90),
                    () -> deliveries.get() > before2 + 500);
            // and a clean shutdown (SIGTERM) of the next one hands the subscription over
            cluster.start(home);
            awaitBridge(home);
            awaitInSync(topic);
            int home2 = coordinator(group);
            long before3 = deliveries.get();
            long stop3 = System.currentTimeMillis();
            cluster.stop(home2);
            ProcessCluster.await("deliveries go on after broker " + home2 + " shut down", Duration.ofSeconds(90),
                    () -> deliveries.get() > before3 + 500);
            Thread.sleep(3000);
            producing.set(false);
            producerThread.join(150_000);

            Map<Integer, Set<Long>> expected = new HashMap<>(acked);
            ProcessCluster.await("every acknowledged record delivered", Duration.ofSeconds(120), () -> {
                for (Map.Entry<Integer, Set<Long>> e : expected.entrySet()) {
                    Set<Long> got = delivered.get(e.getKey());
                    if (got == null || !got.containsAll(e.getValue())) {
                        return false;
                    }
                }
                return true;
            }, () -> "missing " + missing(expected, delivered));
            assertThat(skips).as("a record delivered before its predecessor").isEmpty();
            int total = expected.values().stream().mapToInt(Set::size).sum();
            assertThat(total).isGreaterThan(1000);
            assertThat(expected.keySet()).hasSize(6);
            assertThat(sub.lastHeartbeat.getString("subscriptionId")).isEqualTo(sub.id);

            // still alive: new records keep coming, the heartbeats are answered
            long okBefore = sub.heartbeatsOk;
            Map<Integer, Integer> more = produce(topic, 60);
            ProcessCluster.await("records produced after the kills", Duration.ofSeconds(60), () -> delivered.values()
                    .stream().mapToInt(Set::size).sum() >= total + 60);
            ProcessCluster.await("heartbeats answered", Duration.ofSeconds(30), () -> sub.heartbeatsOk > okBefore + 2);
            assertThat(more.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(60);

            System.out.printf("eb-cluster: %d records acknowledged (%d event-bus produces failed), %d deliveries, %d redeliveries;"
                            + " leader kill %d -> gap %d ms; home kill %d -> gap %d ms; home SIGTERM %d -> gap %d ms;"
                            + " heartbeats ok %d failed %d; generation %d -> %d%n",
                    total, failedSends.get(), deliveries.get(), redeliveries.get(), leader,
                    gapAfter(newRecordTimes, kill1), home, gapAfter(newRecordTimes, kill2), home2,
                    gapAfter(newRecordTimes, stop3), sub.heartbeatsOk, sub.heartbeatsFailed,
                    sub.subscribed.getInteger("generation"), sub.lastHeartbeat.getInteger("generation"));
            System.out.printf("eb-cluster: delivery rate %.0f records/s over the run%n", rate(newRecordTimes));
            System.out.println("eb-cluster: leader kill timeline " + timeline(newRecordTimes, ackTimes, kill1));
            System.out.println("eb-cluster: home kill timeline " + timeline(newRecordTimes, ackTimes, kill2));
            System.out.println("eb-cluster: home SIGTERM timeline " + timeline(newRecordTimes, ackTimes, stop3));
            sub.unsubscribe();
        } finally {
            producing.set(false);
            producerThread.join(30_000);
        }
    }

    private static void awaitInSync(String topic) throws InterruptedException {
        ProcessCluster.await("every partition fully in sync again", Duration.ofSeconds(120), () -> {
            TopicDescription d = ProcessCluster.describe(admin, topic);
            TopicDescription o = ProcessCluster.describe(admin, Topic.GROUP_METADATA_TOPIC_NAME);
            return d != null && o != null && d.partitions().stream().allMatch(p -> p.isr().size() == 3)
                    && o.partitions().stream().allMatch(p -> p.isr().size() == 3);
        }, () -> cluster.describeEverywhere(topic));
    }

    /** Until broker {@code node}'s bridge answers on its per-node address (its clustered Vert.x is up). */
    private static void awaitBridge(int node) throws InterruptedException {
        ProcessCluster.await("the bridge of broker " + node, Duration.ofSeconds(120), () -> {
            try {
                app.vertx.eventBus().request("runnel.node." + node + ".read", new JsonObject(),
                        new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(2000))
                        .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
                return true;
            } catch (Exception e) {
                // INVALID_REQUEST: a handler is there
                return e.getCause() instanceof io.vertx.core.eventbus.ReplyException re
                        && re.failureType() == io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE;
            }
        });
    }

    private static int coordinator(String group) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS)
                .get(group);
        return d.coordinator().id();
    }

    /** The longest pause between two first deliveries in the 15 s after {@code at}. */
    private static long gapAfter(List<long[]> times, long at) {
        long prev = at;
        long gap = 0;
        for (long[] t : times) {
            if (t[0] < at || t[0] > at + 15_000) {
                continue;
            }
            gap = Math.max(gap, t[0] - prev);
            prev = t[0];
        }
        return gap;
    }

    /** Per second from 2 s before {@code at} to 20 s after: records acknowledged to the producer / first delivered. */
    private static String timeline(List<long[]> delivered, List<Long> acked, long at) {
        StringBuilder b = new StringBuilder();
        for (long t = at - 2000; t < at + 20_000; t += 1000) {
            long from = t;
            long to = t + 1000;
            long d = delivered.stream().filter(x -> x[0] >= from && x[0] < to).count();
            long a = acked.stream().filter(x -> x >= from && x < to).count();
            b.append(String.format("[%+ds acked %d delivered %d] ", (t - at) / 1000, a, d));
        }
        return b.toString();
    }

    private static double rate(List<long[]> times) {
        if (times.size() < 2) {
            return 0;
        }
        long span = times.get(times.size() - 1)[0] - times.get(0)[0];
        return span <= 0 ? 0 : times.size() * 1000.0 / span;
    }

    private static String missing(Map<Integer, Set<Long>> expected, Map<Integer, Set<Long>> delivered) {
        StringBuilder b = new StringBuilder();
        expected.forEach((p, offsets) -> {
            Set<Long> left = new HashSet<>(offsets);
            left.removeAll(delivered.getOrDefault(p, Set.of()));
            if (!left.isEmpty()) {
                b.append(p).append(": ").append(left.size()).append(" e.g. ")
                        .append(left.stream().sorted().limit(5).toList()).append("; ");
            }
        });
        return b.toString();
    }
}
