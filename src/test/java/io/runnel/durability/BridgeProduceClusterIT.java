package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.runnel.bridge.BridgeAddresses;
import io.runnel.bridge.BridgeException;
import io.runnel.cluster.ClusterManagerFactory;
import io.runnel.testutil.Ports;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Produce over the event bus to a three-broker cluster with the bridge on every broker: the event bus
 * spreads requests over the three, each routes to the partition's leader, and every acknowledged record
 * is in the log exactly once at the offset it was acknowledged with, also while the leader of a partition
 * is killed (kill -9) mid-stream. A send that times out is indeterminate (it may be in the log, once at
 * most); one that fails otherwise must not be in the log.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class BridgeProduceClusterIT {

    @TempDir
    Path dir;

    /** What the application learnt of one value it sent. */
    private record Outcome(int partition, long offset, Errors error, boolean noAnswer) {
        Outcome(int partition, long offset, Errors error) {
            this(partition, offset, error, false);
        }
    }

    @Test
    void everyAcknowledgedRecordIsWrittenOnceThroughEveryBrokerAndAcrossALeaderKill() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("faults.full"), "full form only (-Dfaults.full=true, scripts/faults.sh);"
                + " EventBusClusterIT produces over the event bus through a leader kill in every run");
        try (ProcessCluster cluster = new ProcessCluster(dir, Map.of("bridge.enabled", "true",
                "num.partitions", "6", "default.replication.factor", "3", "min.insync.replicas", "2"));
             Admin admin = admin(cluster)) {
            cluster.startAll();
            String topic = "bridge-produce";
            ProcessCluster.createReplicatedTopic(admin, topic, 6);
            Vertx app = ClusterManagerFactory.startClustered(new VertxOptions(), new ClusterManagerFactory.Settings(
                    cluster.clusterName(), "127.0.0.1", Ports.free(), 1, cluster.hazelcastMembers()))
                    .toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
            try {
                Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
                // every broker's bridge answers: metadata names the answering node, and the leaders it gives are
                // the same whichever broker answers
                ProcessCluster.await("the bridge on all three brokers", Duration.ofSeconds(60),
                        () -> answeringNodes(app, topic).size() == 3);

                // a topic that does not exist yet: auto-created through whichever broker answers, never NOT_LEADER
                String fresh = "bridge-produce-new";
                sendAll(app, fresh, 0, 120, outcomes, false);
                assertThat(outcomes.values()).allSatisfy(o -> assertThat(o.error()).isNull());

                sendAll(app, topic, 0, 600, outcomes, false);
                assertThat(outcomes.values()).allSatisfy(o -> assertThat(o.error()).isNull());

                // the leader of partition 0 is killed mid-stream
                int victim = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                        .get(topic).partitions().get(0).leader().id();
                Thread killer = new Thread(() -> {
                    try {
                        Thread.sleep(1500);
                        cluster.kill(victim);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                killer.start();
                sendAll(app, topic, 600, 2400, outcomes, true);
                killer.join();

                // runnel.metadata names the new leaders once the controller has moved them off the killed broker
                ProcessCluster.await("leaders off node " + victim, Duration.ofSeconds(60), () -> {
                    try {
                        JsonObject meta = metadata(app, topic);
                        return meta.getJsonArray("topics").getJsonObject(0).getJsonArray("partitions").stream()
                                .map(o -> ((JsonObject) o).getInteger("leader")).allMatch(l -> l > 0 && l != victim);
                    } catch (Exception e) {
                        return false;
                    }
                });
                verify(cluster, topic, 0, 2400, outcomes);
                verify(cluster, fresh, 0, 120, outcomes);
            } finally {
                app.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Sends values {@code from} to {@code to} (exclusive), keyed so they spread over the six partitions, 16
     * messages in flight: odd tens as one JSON array of ten records, the rest one record per message.
     */
    private static void sendAll(Vertx app, String topic, int from, int to, Map<String, Outcome> outcomes,
                                boolean pace) throws Exception {
        Semaphore inFlight = new Semaphore(16);
        AtomicInteger pending = new AtomicInteger();
        for (int i = from; i < to; ) {
            inFlight.acquire();
            pending.incrementAndGet();
            Future<?> sent;
            if ((i / 10) % 2 == 1 && i % 10 == 0 && i + 10 <= to) {
                JsonArray batch = new JsonArray();
                List<String> values = new ArrayList<>();
                for (int k = 0; k < 10; k++) {
                    String v = topic + "-" + (i + k);
                    values.add(v);
                    batch.add(new JsonObject().put("key", "k" + ((i + k) % 17)).put("keyEncoding", "text")
                            .put("value", v).put("valueEncoding", "text"));
                }
                sent = app.eventBus().<JsonObject>request(BridgeAddresses.address("runnel", BridgeAddresses.PRODUCE),
                        batch, new DeliveryOptions().setSendTimeout(45_000).addHeader("topic", topic))
                        .onComplete(ar -> {
                            if (ar.succeeded()) {
                                JsonArray results = ar.result().body().getJsonArray("results");
                                for (int k = 0; k < values.size(); k++) {
                                    JsonObject r = results.getJsonObject(k);
                                    outcomes.put(values.get(k), r.containsKey("errorCode")
                                            ? new Outcome(-1, -1, Errors.forCode(r.getInteger("errorCode").shortValue()))
                                            : new Outcome(r.getInteger("partition"), r.getLong("offset"), null));
                                }
                            } else {
                                values.forEach(v -> outcomes.put(v, failed(ar.cause())));
                            }
                        });
                i += 10;
            } else {
                String v = topic + "-" + i;
                sent = app.eventBus().<JsonObject>request(BridgeAddresses.address("runnel", BridgeAddresses.PRODUCE),
                        Buffer.buffer(v), new DeliveryOptions().setSendTimeout(45_000).addHeader("topic", topic)
                                .addHeader("key", java.util.Base64.getEncoder().encodeToString(
                                        ("k" + (i % 17)).getBytes(StandardCharsets.UTF_8))))
                        .map(Message::body)
                        .onComplete(ar -> outcomes.put(v, ar.succeeded()
                                ? new Outcome(ar.result().getInteger("partition"), ar.result().getLong("offset"), null)
                                : failed(ar.cause())));
                i++;
            }
            sent.onComplete(ar -> {
                pending.decrementAndGet();
                inFlight.release();
            });
            if (pace) {
                Thread.sleep(5);
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (pending.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(pending.get()).as("answers outstanding").isZero();
    }

    private static Outcome failed(Throwable t) {
        if (t instanceof ReplyException re && re.failureCode() < 0) {
            // no answer from the event bus (a request to a killed broker): indeterminate
            return new Outcome(-1, -1, Errors.REQUEST_TIMED_OUT, true);
        }
        return new Outcome(-1, -1, BridgeException.errorOf(t));
    }

    /** The log of every partition, read with a Kafka consumer, against what the application was told. */
    private static void verify(ProcessCluster cluster, String topic, int from, int to, Map<String, Outcome> outcomes) {
        Map<String, List<String>> seen = new HashMap<>();
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    seen.computeIfAbsent(new String(r.value(), StandardCharsets.UTF_8), k -> new ArrayList<>())
                            .add(r.partition() + "/" + r.offset());
                }
            }
            assertThat(tps).allSatisfy(tp -> assertThat(consumer.position(tp)).isEqualTo(end.get(tp)));
        }
        int acked = 0;
        int indeterminate = 0;
        int noAnswer = 0;
        for (int i = from; i < to; i++) {
            String v = topic + "-" + i;
            Outcome o = outcomes.get(v);
            assertThat(o).as("outcome of %s", v).isNotNull();
            List<String> where = seen.getOrDefault(v, List.of());
            assertThat(where.size()).as("%s written at most once: %s", v, where).isLessThanOrEqualTo(1);
            if (o.error() == null) {
                acked++;
                assertThat(where).as("acknowledged %s read back where acknowledged", v)
                        .containsExactly(o.partition() + "/" + o.offset());
            } else if (o.error() == Errors.REQUEST_TIMED_OUT) {
                indeterminate++;
                noAnswer += o.noAnswer() ? 1 : 0;
            } else {
                assertThat(where).as("%s failed with %s, so it must not be written", v, o.error()).isEmpty();
            }
        }
        Set<String> extra = new HashSet<>(seen.keySet());
        for (int i = from; i < to; i++) {
            extra.remove(topic + "-" + i);
        }
        assertThat(extra).as("values nobody sent").isEmpty();
        System.out.printf("BridgeProduceClusterIT %s: %d acknowledged, %d indeterminate (%d of them sent to the killed"
                + " broker and never answered), %d failed%n", topic, acked, indeterminate, noAnswer,
                to - from - acked - indeterminate);
        // most sends succeed across the kill: the bridge retries within its send timeout
        assertThat(acked).isGreaterThan((to - from) * 9 / 10);
    }

    private static Set<Integer> answeringNodes(Vertx app, String topic) {
        Set<Integer> nodes = new HashSet<>();
        Map<Integer, String> leaders = new HashMap<>();
        for (int i = 0; i < 12; i++) {
            try {
                JsonObject m = metadata(app, topic);
                nodes.add(m.getInteger("nodeId"));
                leaders.put(m.getInteger("nodeId"), m.getJsonArray("topics").getJsonObject(0)
                        .getJsonArray("partitions").stream().map(o -> ((JsonObject) o).getInteger("leader"))
                        .toList().toString());
            } catch (Exception e) {
                return Set.of();
            }
        }
        return new HashSet<>(leaders.values()).size() == 1 ? nodes : Set.of();
    }

    private static JsonObject metadata(Vertx app, String topic) throws Exception {
        return app.eventBus().<JsonObject>request(BridgeAddresses.address("runnel", BridgeAddresses.METADATA),
                new JsonObject().put("topics", new JsonArray().add(topic)),
                new DeliveryOptions().setSendTimeout(10_000)).map(Message::body)
                .toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private static Admin admin(ProcessCluster cluster) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        return Admin.create(p);
    }
}
