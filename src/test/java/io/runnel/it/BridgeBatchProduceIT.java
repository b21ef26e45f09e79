package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.bridge.BridgeAddresses;
import io.runnel.bridge.BridgeRecord;
import io.runnel.bridge.RunnelEventBusClient;
import io.runnel.cluster.ClusterManagerFactory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The produce forms of the bridge beyond one Buffer: one JSON record, a JSON array answered per record in
 * request order (a bad record fails alone), the binary batch ({@code format: records}) and
 * {@link RunnelEventBusClient#produceAll}; every record read back by a Kafka consumer byte for byte.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BridgeBatchProduceIT {

    private static final String CLUSTER = "runnel-batch-" + java.util.UUID.randomUUID();
    private static final int[] PORTS = io.runnel.testutil.Ports.free(2);
    private static final List<String> MEMBERS = List.of("127.0.0.1:" + PORTS[0], "127.0.0.1:" + PORTS[1]);
    private static final String PRODUCE = BridgeAddresses.address("runnel", BridgeAddresses.PRODUCE);

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("cluster.enabled", "true")
            .withProperty("cluster.name", CLUSTER)
            .withProperty("cluster.port", Integer.toString(PORTS[0]))
            .withProperty("cluster.port.count", "1")
            .withProperty("cluster.members", String.join(",", MEMBERS));

    private static Vertx app;

    @BeforeAll
    static void startApplication() throws Exception {
        assumeFalse(node.isExternal(), "the event bus needs the in-process node");
        app = await(ClusterManagerFactory.startClustered(new VertxOptions(),
                new ClusterManagerFactory.Settings(CLUSTER, "127.0.0.1", PORTS[1], 1, MEMBERS)));
    }

    @AfterAll
    static void stopApplication() throws Exception {
        if (app != null) {
            await(app.close());
        }
    }

    @Test
    void aJsonRecordAJsonArrayAndABinaryBatchAreWrittenAndAnsweredPerRecordInOrder() throws Exception {
        String topic = RunnelNode.uniqueName("eb-batch");
        node.createTopic(topic, 3);

        JsonObject one = await(app.eventBus().<JsonObject>request(PRODUCE, new JsonObject().put("topic", topic)
                .put("partition", 2).put("key", "k-json").put("keyEncoding", "text")
                .put("value", new JsonObject().put("amount", 42)).put("valueEncoding", "json")
                .put("headers", new JsonArray().add(new JsonObject().put("key", "h").put("value", "AAE="))))
                .map(Message::body));
        assertThat(one.getString("topic")).isEqualTo(topic);
        assertThat(one.getInteger("partition")).isEqualTo(2);
        assertThat(one.getLong("offset")).isZero();

        JsonArray batch = new JsonArray()
                .add(new JsonObject().put("partition", 0).put("value", "first").put("valueEncoding", "text"))
                .add(new JsonObject().put("partition", 7).put("value", "no such partition").put("valueEncoding", "text"))
                .add(new JsonObject().put("partition", 0).put("value", "not base64!"))
                .add(new JsonObject().put("partition", 0).put("value", "second").put("valueEncoding", "text"))
                .add(new JsonObject().put("topic", topic).put("partition", 1).put("value", null));
        JsonArray results = await(app.eventBus().<JsonObject>request(PRODUCE, batch,
                new DeliveryOptions().addHeader("topic", topic)).map(m -> m.body().getJsonArray("results")));
        assertThat(results).hasSize(5);
        assertThat(results.getJsonObject(0).getLong("offset")).isZero();
        assertThat(results.getJsonObject(1).getInteger("errorCode")).isEqualTo(3);
        assertThat(results.getJsonObject(1).getString("error")).startsWith("UNKNOWN_TOPIC_OR_PARTITION");
        assertThat(results.getJsonObject(2).getInteger("errorCode")).isEqualTo(42);
        assertThat(results.getJsonObject(2).getString("error")).contains("INVALID_REQUEST", "value");
        assertThat(results.getJsonObject(3).getLong("offset")).isEqualTo(1);
        assertThat(results.getJsonObject(4).getInteger("partition")).isEqualTo(1);
        assertThat(results.getJsonObject(4).getLong("offset")).isZero();

        List<byte[][]> records = List.of(new byte[][] {"bk".getBytes(StandardCharsets.UTF_8), {1, 2, 3}},
                new byte[][] {null, null}, new byte[][] {{}, {(byte) 0xff}});
        Buffer binary = Buffer.buffer();
        for (byte[][] kv : records) {
            for (byte[] b : kv) {
                binary.appendInt(b == null ? -1 : b.length);
                if (b != null) {
                    binary.appendBytes(b);
                }
            }
        }
        JsonArray binaryResults = await(app.eventBus().<JsonObject>request(PRODUCE, binary, new DeliveryOptions()
                .addHeader("topic", topic).addHeader("partition", "1").addHeader("format", "records"))
                .map(m -> m.body().getJsonArray("results")));
        assertThat(binaryResults.stream().map(o -> ((JsonObject) o).getLong("offset")).toList())
                .containsExactly(1L, 2L, 3L);

        JsonArray helper = await(new RunnelEventBusClient(app).produceAll(List.of(
                new BridgeRecord(topic, 2, -1, 1234L, null, null, "via-helper".getBytes(StandardCharsets.UTF_8),
                        List.of(new RecordHeader("x", new byte[] {9}))))));
        assertThat(helper.getJsonObject(0).getLong("offset")).isEqualTo(1);
        assertThat(helper.getJsonObject(0).getLong("timestamp")).isEqualTo(1234L);

        Map<String, List<ConsumerRecord<byte[], byte[]>>> read = readAll(topic, Map.of(0, 2L, 1, 4L, 2, 2L));
        List<ConsumerRecord<byte[], byte[]>> p0 = read.get(topic + "-0");
        assertThat(p0.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList())
                .containsExactly("first", "second");
        List<ConsumerRecord<byte[], byte[]>> p1 = read.get(topic + "-1");
        assertThat(p1.get(0).value()).isNull();
        assertThat(p1.get(1).key()).isEqualTo("bk".getBytes(StandardCharsets.UTF_8));
        assertThat(p1.get(1).value()).containsExactly(1, 2, 3);
        assertThat(p1.get(2).key()).isNull();
        assertThat(p1.get(2).value()).isNull();
        assertThat(p1.get(3).key()).isEmpty();
        assertThat(p1.get(3).value()).containsExactly((byte) 0xff);
        List<ConsumerRecord<byte[], byte[]>> p2 = read.get(topic + "-2");
        assertThat(new String(p2.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("k-json");
        assertThat(new JsonObject(Buffer.buffer(p2.get(0).value())).getInteger("amount")).isEqualTo(42);
        assertThat(p2.get(0).headers().lastHeader("h").value()).containsExactly(0, 1);
        assertThat(new String(p2.get(1).value(), StandardCharsets.UTF_8)).isEqualTo("via-helper");
        assertThat(p2.get(1).timestamp()).isEqualTo(1234L);
    }

    @Test
    void aBadBinaryBatchOrAnEmptyArrayIsRefusedWhole() throws Exception {
        String topic = RunnelNode.uniqueName("eb-batch-bad");
        node.createTopic(topic, 1);
        ReplyException truncated = failure(app.eventBus().request(PRODUCE, Buffer.buffer().appendInt(5).appendByte((byte) 1),
                new DeliveryOptions().addHeader("topic", topic).addHeader("format", "records")));
        assertThat(truncated.failureCode()).isEqualTo(42);
        assertThat(truncated.getMessage()).contains("record 0");
        ReplyException empty = failure(app.eventBus().request(PRODUCE, new JsonArray(),
                new DeliveryOptions().addHeader("topic", topic)));
        assertThat(empty.failureCode()).isEqualTo(42);
        ReplyException badTimeout = failure(app.eventBus().request(PRODUCE, Buffer.buffer("v"),
                new DeliveryOptions().addHeader("topic", topic).addHeader("timeout", "0")));
        assertThat(badTimeout.getMessage()).contains("'timeout'");
    }

    @Test
    void metadataNamesTheLeaderReplicasAndIsrFromTheMetadataLog() throws Exception {
        String topic = RunnelNode.uniqueName("eb-meta");
        node.createTopic(topic, 2);
        JsonObject meta = await(new RunnelEventBusClient(app).metadata(topic));
        JsonArray partitions = meta.getJsonArray("topics").getJsonObject(0).getJsonArray("partitions");
        assertThat(partitions).hasSize(2);
        for (Object o : partitions) {
            JsonObject p = (JsonObject) o;
            assertThat(p.getInteger("leader")).isEqualTo(1);
            assertThat(p.getJsonArray("replicas").getList()).containsExactly(1);
            assertThat(p.getJsonArray("isr").getList()).containsExactly(1);
            assertThat(p.getLong("highWatermark")).isZero();
        }
    }

    private static Map<String, List<ConsumerRecord<byte[], byte[]>>> readAll(String topic, Map<Integer, Long> counts) {
        Map<String, Object> config = new HashMap<>(Map.of("bootstrap.servers", node.bootstrapServers(),
                "auto.offset.reset", "earliest", "enable.auto.commit", false));
        Map<String, List<ConsumerRecord<byte[], byte[]>>> out = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(config, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            counts.keySet().forEach(p -> tps.add(new TopicPartition(topic, p)));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && counts.entrySet().stream().anyMatch(e ->
                    out.getOrDefault(topic + "-" + e.getKey(), List.of()).size() < e.getValue())) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.computeIfAbsent(r.topic() + "-" + r.partition(), k -> new ArrayList<>()).add(r);
                }
            }
        }
        counts.forEach((p, n) -> assertThat(out.getOrDefault(topic + "-" + p, List.of())).hasSize(n.intValue()));
        return out;
    }

    private static ReplyException failure(Future<?> f) throws Exception {
        try {
            f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(ReplyException.class);
            return (ReplyException) e.getCause();
        }
        throw new AssertionError("expected a failure, got " + f.result());
    }

    private static <R> R await(Future<R> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
