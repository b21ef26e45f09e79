package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.runnel.bridge.BridgeAddresses;
import io.runnel.bridge.BridgeRecord;
import io.runnel.bridge.RunnelEventBusClient;
import io.runnel.bridge.RunnelEventBusClient.Produced;
import io.runnel.bridge.RunnelEventBusClient.SubscribeOptions;
import io.runnel.bridge.RunnelEventBusClient.Subscription;
import io.runnel.cluster.ClusterManagerFactory;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A Vert.x application on a Vert.x instance of its own, clustered with the node through Hazelcast on
 * loopback, produces and consumes over the event bus beside Kafka clients.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EventBusBridgeIT {

    private static final String CLUSTER = "runnel-it-" + java.util.UUID.randomUUID();
    private static final int[] PORTS = freePorts(3);
    private static final List<String> MEMBERS = List.of("127.0.0.1:" + PORTS[0], "127.0.0.1:" + PORTS[1],
            "127.0.0.1:" + PORTS[2]);
    private static final long T = 30;

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("cluster.enabled", "true")
            .withProperty("cluster.name", CLUSTER)
            .withProperty("cluster.port", Integer.toString(PORTS[0]))
            .withProperty("cluster.port.count", "1")
            .withProperty("cluster.members", String.join(",", MEMBERS))
            // one broker; the other members are Vert.x applications
            .withProperty("auto.create.topics.enable", "false")
            .withProperty("group.min.session.timeout.ms", "1000");

    private static Vertx app;
    private static RunnelEventBusClient client;

    @BeforeAll
    static void startApplication() throws Exception {
        assumeFalse(node.isExternal(), "the event bus needs the in-process node");
        app = await(application(PORTS[1]));
        client = new RunnelEventBusClient(app);
    }

    @AfterAll
    static void stopApplication() throws Exception {
        if (app != null) {
            await(app.close());
        }
    }

    @Test
    void recordsProducedOverTheEventBusReachAKafkaConsumerByteForByte() throws Exception {
        String topic = RunnelNode.uniqueName("eb-produce");
        node.createTopic(topic, 2);
        byte[] key = {0, 1, (byte) 0xff, (byte) 0x80, 'k'};
        byte[] value = new byte[300];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) (i * 7);
        }
        List<Header> headers = List.of(new RecordHeader("trace", new byte[] {(byte) 0xfe, 0}),
                new RecordHeader("Trace", "upper".getBytes(StandardCharsets.UTF_8)),
                new RecordHeader("trace", (byte[]) null), new RecordHeader("empty", new byte[0]));
        long timestamp = System.currentTimeMillis() - 60_000;

        Produced first = await(client.produce(new BridgeRecord(topic, 1, -1, timestamp, null, key, value, headers)));
        Produced second = await(client.produce(BridgeRecord.of(topic, null, "plain".getBytes(StandardCharsets.UTF_8),
                List.of())));
        Produced tombstone = await(client.produce(new BridgeRecord(topic, 1, -1, -1, null, key, null, List.of())));
        assertThat(first.partition()).isEqualTo(1);
        assertThat(first.offset()).isZero();
        assertThat(first.timestamp()).isEqualTo(timestamp);
        assertThat(tombstone.partition()).isEqualTo(1);
        assertThat(tombstone.offset()).isEqualTo(first.offset() + (second.partition() == 1 ? 2 : 1));

        JsonObject metadata = await(client.metadata(topic));
        JsonObject described = metadata.getJsonArray("topics").getJsonObject(0);
        assertThat(described.getInteger("errorCode")).isZero();
        assertThat(described.getJsonArray("partitions")).hasSize(2);
        assertThat(described.getJsonArray("partitions").getJsonObject(1).getLong("highWatermark"))
                .isEqualTo(tombstone.offset() + 1);

        try (KafkaConsumer<byte[], byte[]> consumer = byteConsumer(Map.of())) {
            List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<Long, ConsumerRecord<byte[], byte[]>> p1 = new HashMap<>();
            List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
            Await.until("three records", () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(all::add);
                return all.size() >= 3;
            });
            all.stream().filter(r -> r.partition() == 1).forEach(r -> p1.put(r.offset(), r));
            ConsumerRecord<byte[], byte[]> r = p1.get(first.offset());
            assertThat(r.key()).isEqualTo(key);
            assertThat(r.value()).isEqualTo(value);
            assertThat(r.timestamp()).isEqualTo(timestamp);
            List<Header> got = Arrays.asList(r.headers().toArray());
            assertThat(got).hasSize(4);
            for (int i = 0; i < headers.size(); i++) {
                assertThat(got.get(i).key()).isEqualTo(headers.get(i).key());
                assertThat(got.get(i).value()).isEqualTo(headers.get(i).value());
            }
            ConsumerRecord<byte[], byte[]> t = p1.get(tombstone.offset());
            assertThat(t.key()).isEqualTo(key);
            assertThat(t.value()).isNull();
            ConsumerRecord<byte[], byte[]> s = all.stream().filter(x -> x.partition() == second.partition()
                    && x.offset() == second.offset()).findFirst().orElseThrow();
            assertThat(s.key()).isNull();
            assertThat(new String(s.value(), StandardCharsets.UTF_8)).isEqualTo("plain");
        }
    }

    @Test
    void recordsOfAKafkaProducerReachASubscriberInOrderPerPartition() throws Exception {
        String topic = RunnelNode.uniqueName("eb-consume");
        node.createTopic(topic, 3);
        List<RecordMetadata> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = byteProducer()) {
            for (int i = 0; i < 60; i++) {
                ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, 1_000_000L + i,
                        ("key-" + (i % 7)).getBytes(StandardCharsets.UTF_8), ("value-" + i).getBytes(StandardCharsets.UTF_8),
                        List.of(new RecordHeader("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8))));
                sent.add(producer.send(record).get(T, TimeUnit.SECONDS));
            }
        }
        List<BridgeRecord> received = new CopyOnWriteArrayList<>();
        Subscription sub = await(client.subscribe(
                new SubscribeOptions(RunnelNode.uniqueName("eb-group"), List.of(topic)).withCredits(7)
                        .withAutoOffsetReset("earliest"),
                record -> {
                    received.add(record);
                    return Future.succeededFuture();
                }));
        Await.until("60 records over the event bus", () -> received.size() >= 60);

        Map<Integer, List<BridgeRecord>> byPartition = new HashMap<>();
        received.forEach(r -> byPartition.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r));
        for (int i = 0; i < sent.size(); i++) {
            RecordMetadata m = sent.get(i);
            List<BridgeRecord> list = byPartition.get(m.partition());
            BridgeRecord r = list.get((int) m.offset());
            assertThat(r.offset()).isEqualTo(m.offset());
            assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("value-" + i);
            assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("key-" + (i % 7));
            assertThat(r.timestamp()).isEqualTo(1_000_000L + i);
            assertThat(r.timestampType()).isEqualTo("CreateTime");
            assertThat(r.headers()).hasSize(1);
            assertThat(new String(r.headers().get(0).value(), StandardCharsets.UTF_8)).isEqualTo(Integer.toString(i));
        }
        byPartition.values().forEach(list -> {
            for (int i = 0; i < list.size(); i++) {
                assertThat(list.get(i).offset()).as("delivered in offset order").isEqualTo(i);
            }
        });
        assertThat(received).hasSize(60);
        await(sub.close());
    }

    /**
     * The Java helper's batched and unordered options: batches of at most 10 records, each from one partition in
     * offset order, every record once; and an unordered subscription that acknowledges late still gets all.
     */
    @Test
    void theJavaHelperSubscribesInBatchesAndUnordered() throws Exception {
        String topic = RunnelNode.uniqueName("eb-batches");
        node.createTopic(topic, 2);
        try (KafkaProducer<byte[], byte[]> producer = byteProducer()) {
            for (int i = 0; i < 50; i++) {
                producer.send(new ProducerRecord<>(topic, i % 2, ("k" + i).getBytes(StandardCharsets.UTF_8),
                        ("v" + i).getBytes(StandardCharsets.UTF_8),
                        List.of(new RecordHeader("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8)))))
                        .get(T, TimeUnit.SECONDS);
            }
        }
        List<List<BridgeRecord>> batches = new CopyOnWriteArrayList<>();
        AtomicInteger records = new AtomicInteger();
        Subscription batched = await(client.subscribeBatches(new SubscribeOptions(RunnelNode.uniqueName("eb-b"),
                List.of(topic)).withAutoOffsetReset("earliest"), 10, batch -> {
                    batches.add(batch);
                    records.addAndGet(batch.size());
                    return Future.succeededFuture();
                }));
        Await.until("50 records in batches", () -> records.get() >= 50);
        Map<Integer, List<Long>> offsets = new HashMap<>();
        for (List<BridgeRecord> batch : batches) {
            assertThat(batch).hasSizeBetween(1, 10);
            assertThat(batch).extracting(BridgeRecord::partition).containsOnly(batch.get(0).partition());
            for (BridgeRecord r : batch) {
                offsets.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.offset());
                int i = Integer.parseInt(new String(r.headers().get(0).value(), StandardCharsets.UTF_8));
                assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("v" + i);
                assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("k" + i);
                assertThat(i % 2).isEqualTo(r.partition());
            }
        }
        assertThat(offsets.get(0)).containsExactlyElementsOf(java.util.stream.LongStream.range(0, 25).boxed().toList());
        assertThat(offsets.get(1)).containsExactlyElementsOf(java.util.stream.LongStream.range(0, 25).boxed().toList());
        await(batched.close());

        // unordered: acknowledgements held back until 20 records are out at once, which ordered delivery
        // (one unanswered record per partition, two partitions) could never reach
        Set<String> seen = ConcurrentHashMap.newKeySet();
        List<Promise<Void>> held = new CopyOnWriteArrayList<>();
        Subscription unordered = await(client.subscribe(new SubscribeOptions(RunnelNode.uniqueName("eb-u"),
                List.of(topic)).withAutoOffsetReset("earliest").withCredits(20).withOrdered(false), r -> {
                    seen.add(r.partition() + "/" + r.offset());
                    Promise<Void> p = Promise.promise();
                    held.add(p);
                    return p.future();
                }));
        Await.until("20 records out unacknowledged at once", () -> held.size() >= 20);
        held.forEach(Promise::tryComplete);
        Await.until("every record, acknowledging as they come", () -> {
            held.forEach(Promise::tryComplete);
            return seen.size() >= 50;
        });
        await(unordered.close());
    }

    @Test
    void aKilledSubscribersRecordsAreRedeliveredToTheRemainingMemberAndCommitsAreGroupOffsets() throws Exception {
        String topic = RunnelNode.uniqueName("eb-failover");
        String group = RunnelNode.uniqueName("eb-failover-group");
        node.createTopic(topic, 2);
        SubscribeOptions options = new SubscribeOptions(group, List.of(topic)).withCredits(5)
                .withAutoOffsetReset("earliest").withSessionTimeoutMs(3000);

        Set<String> survivorAcked = ConcurrentHashMap.newKeySet();
        Subscription survivor = await(client.subscribe(options, r -> {
            survivorAcked.add(r.partition() + "/" + r.offset());
            return Future.succeededFuture();
        }));
        Vertx doomed = await(application(PORTS[2]));
        Set<String> doomedAcked = ConcurrentHashMap.newKeySet();
        List<String> doomedStalled = new CopyOnWriteArrayList<>();
        AtomicInteger doomedSeen = new AtomicInteger();
        Subscription victim = await(new RunnelEventBusClient(doomed).subscribe(options, r -> {
            if (doomedSeen.incrementAndGet() <= 3) {
                doomedAcked.add(r.partition() + "/" + r.offset());
                return Future.succeededFuture();
            }
            // processing hangs: never acknowledged
            doomedStalled.add(r.partition() + "/" + r.offset());
            return Promise.promise().future();
        }));
        assertThat(victim.partitions()).hasSize(1);

        Set<String> all = new HashSet<>();
        try (KafkaProducer<byte[], byte[]> producer = byteProducer()) {
            for (int i = 0; i < 40; i++) {
                RecordMetadata m = producer.send(new ProducerRecord<>(topic, i % 2, null,
                        ("v" + i).getBytes(StandardCharsets.UTF_8))).get(T, TimeUnit.SECONDS);
                all.add(m.partition() + "/" + m.offset());
            }
        }
        // ordered delivery holds the doomed member's partition at 3 acknowledged plus 1 unanswered, whatever
        // the credits
        Await.until("the doomed member stalls on its partition", () -> doomedStalled.size() == 1);
        Thread.sleep(300);
        assertThat(doomedStalled).hasSize(1);

        await(doomed.close());

        Await.until("every record processed by a live member", () -> {
            Set<String> done = new HashSet<>(survivorAcked);
            done.addAll(doomedAcked);
            return done.containsAll(all);
        });
        assertThat(survivorAcked).containsAll(doomedStalled);
        Set<String> done = new HashSet<>(survivorAcked);
        done.addAll(doomedAcked);
        assertThat(done).isEqualTo(all);

        // the acknowledgements became ordinary committed offsets of the group
        Await.until("offsets committed to the end", () -> {
            Map<TopicPartition, OffsetAndMetadata> committed = node.admin().listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
            return committed.size() == 2 && committed.values().stream().allMatch(o -> o != null && o.offset() == 20);
        });
        await(survivor.close());

        // a Kafka consumer in the same group starts from those commits
        try (KafkaProducer<byte[], byte[]> producer = byteProducer();
             KafkaConsumer<byte[], byte[]> consumer = byteConsumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group))) {
            producer.send(new ProducerRecord<>(topic, 0, null, "after".getBytes(StandardCharsets.UTF_8))).get(T, TimeUnit.SECONDS);
            consumer.subscribe(List.of(topic));
            List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
            Await.until("the record after the commits", () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(got::add);
                return !got.isEmpty();
            });
            consumer.poll(Duration.ofMillis(300)).forEach(got::add);
            assertThat(got).hasSize(1);
            assertThat(got.get(0).offset()).isEqualTo(20);
        }
    }

    @Test
    void badRequestsAreAnsweredWithAFailureNamingTheReason() throws Exception {
        String topic = RunnelNode.uniqueName("eb-bad");
        node.createTopic(topic, 1);
        String produce = BridgeAddresses.address(BridgeAddresses.DEFAULT_PREFIX, BridgeAddresses.PRODUCE);
        String subscribe = BridgeAddresses.address(BridgeAddresses.DEFAULT_PREFIX, BridgeAddresses.SUBSCRIBE);

        ReplyException unknown = failure(client.produce(BridgeRecord.of("no-such-topic", null, new byte[1], List.of())));
        assertThat(unknown.failureCode()).isEqualTo(3);
        assertThat(unknown.getMessage()).contains("UNKNOWN_TOPIC_OR_PARTITION", "no-such-topic",
                "auto.create.topics.enable");

        ReplyException tooLarge = failure(client.produce(BridgeRecord.of(topic, null, new byte[2 * 1024 * 1024],
                List.of())));
        assertThat(tooLarge.failureCode()).isEqualTo(10);
        assertThat(tooLarge.getMessage()).startsWith("MESSAGE_TOO_LARGE");

        ReplyException badKey = failure(app.eventBus().request(produce, Buffer.buffer("v"), new DeliveryOptions()
                .addHeader(BridgeAddresses.H_TOPIC, topic).addHeader(BridgeAddresses.H_KEY, "*not base64*")));
        assertThat(badKey.failureCode()).isEqualTo(42);
        assertThat(badKey.getMessage()).contains("INVALID_REQUEST", "'key'", "base64");

        ReplyException noTopic = failure(app.eventBus().request(produce, Buffer.buffer("v")));
        assertThat(noTopic.failureCode()).isEqualTo(42);
        assertThat(noTopic.getMessage()).contains("'topic' is required");

        ReplyException notJson = failure(app.eventBus().request(subscribe, Buffer.buffer("{not json")));
        assertThat(notJson.failureCode()).isEqualTo(42);
        assertThat(notJson.getMessage()).contains("INVALID_REQUEST", "not a JSON object");

        ReplyException noGroup = failure(app.eventBus().request(subscribe,
                new JsonObject().put("topics", List.of(topic)).put("address", "x")));
        assertThat(noGroup.failureCode()).isEqualTo(42);
        assertThat(noGroup.getMessage()).contains("'group' is required");

        ReplyException unknownSub = failure(client.subscribe(new SubscribeOptions("g", List.of("missing-topic")),
                r -> Future.succeededFuture()));
        assertThat(unknownSub.failureCode()).isEqualTo(3);
        assertThat(unknownSub.getMessage()).contains("missing-topic");
    }

    private static Future<Vertx> application(int port) {
        return ClusterManagerFactory.startClustered(new VertxOptions(),
                new ClusterManagerFactory.Settings(CLUSTER, "127.0.0.1", port, 1, MEMBERS));
    }

    private static KafkaProducer<byte[], byte[]> byteProducer() {
        return new KafkaProducer<>(Map.of("bootstrap.servers", node.bootstrapServers(), "linger.ms", 0),
                new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static KafkaConsumer<byte[], byte[]> byteConsumer(Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false));
        config.putAll(overrides);
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static ReplyException failure(Future<?> f) throws Exception {
        try {
            f.toCompletionStage().toCompletableFuture().get(T, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(ReplyException.class);
            return (ReplyException) e.getCause();
        }
        throw new AssertionError("expected a failure, got " + f.result());
    }

    private static <R> R await(Future<R> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(T, TimeUnit.SECONDS);
    }

    private static int[] freePorts(int n) {
        return io.runnel.testutil.Ports.free(n);
    }
}
