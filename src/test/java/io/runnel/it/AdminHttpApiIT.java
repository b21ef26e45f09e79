package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The admin HTTP API against one in-process node, with answers checked against what the Java clients
 * see: every endpoint, every bad-input case (400 naming the field, 404, 409), and /metrics.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class AdminHttpApiIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static AdminHttp http() {
        return new AdminHttp(node.broker().adminPort(), null);
    }

    private static void assertError(AdminHttp.Response r, int status, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        JsonObject e = r.json();
        assertThat(e.getInteger("status")).isEqualTo(status);
        assertThat(e.getString("error")).isNotBlank();
        assertThat(e.getString("message")).isNotBlank();
        if (field != null) {
            assertThat(e.getString("field")).isEqualTo(field);
        }
    }

    @Test
    void clusterBrokersHealthReadyAndOpenApi() throws Exception {
        AdminHttp http = http();
        JsonObject cluster = http.get("/api/v1/cluster").json();
        assertThat(cluster.getString("clusterId")).isEqualTo(node.admin().describeCluster().clusterId().get());
        assertThat(cluster.getInteger("controllerId")).isEqualTo(node.admin().describeCluster().controller().get().id());
        JsonArray brokers = http.get("/api/v1/brokers").array();
        assertThat(brokers).hasSize(1);
        JsonObject b = brokers.getJsonObject(0);
        assertThat(b.getString("host") + ":" + b.getInteger("port")).isEqualTo(node.bootstrapServers());
        assertThat(b.getBoolean("controller")).isTrue();
        assertThat(http.get("/health").json().getString("status")).isEqualTo("UP");
        Await.until("ready", () -> http.get("/ready").status() == 200);
        JsonObject doc = http.get("/openapi.json").json();
        assertThat(doc.getString("openapi")).startsWith("3.");
        // every route the API serves is documented
        assertThat(doc.getJsonObject("paths").fieldNames()).contains("/api/v1/cluster", "/api/v1/brokers",
                "/api/v1/topics", "/api/v1/topics/{topic}", "/api/v1/topics/{topic}/configs",
                "/api/v1/topics/{topic}/partitions", "/api/v1/topics/{topic}/records", "/api/v1/topics/{topic}/tail",
                "/api/v1/groups", "/api/v1/groups/{group}", "/api/v1/groups/{group}/offsets", "/health", "/ready",
                "/metrics");
        assertError(http.get("/api/v1/nothing-here"), 404, null);
        assertThat(http.get("/").body()).contains("<title>Runnel console</title>");
    }

    @Test
    void topicCreatedOverHttpIsUsableFromKafkaProducerAndDescribedLikeTheAdminClient() throws Exception {
        AdminHttp http = http();
        String topic = RunnelNode.uniqueName("http-topic");
        AdminHttp.Response created = http.post("/api/v1/topics", Map.of("name", topic, "partitions", 3,
                "replicationFactor", 1, "configs", Map.of("retention.ms", "86400000")));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.json().getJsonArray("partitions")).hasSize(3);

        var description = node.admin().describeTopics(Set.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
        assertThat(description.partitions()).hasSize(3);
        assertThat(created.json().getString("id")).isEqualTo(description.topicId().toString());
        var config = node.admin().describeConfigs(Set.of(new ConfigResource(ConfigResource.Type.TOPIC, topic)))
                .all().get(30, TimeUnit.SECONDS).values().iterator().next();
        assertThat(config.get("retention.ms").value()).isEqualTo("86400000");

        RecordMetadata md;
        try (KafkaProducer<String, String> p = node.producer()) {
            md = p.send(new ProducerRecord<>(topic, 1, "k", "from-java")).get(30, TimeUnit.SECONDS);
        }
        JsonArray topics = http.get("/api/v1/topics").array();
        assertThat(topics.stream().map(o -> ((JsonObject) o).getString("name"))).contains(topic);

        JsonArray parts = http.get("/api/v1/topics/" + topic + "/partitions").array();
        JsonObject p1 = parts.getJsonObject(1);
        assertThat(p1.getInteger("leader")).isEqualTo(description.partitions().get(1).leader().id());
        assertThat(p1.getJsonArray("replicas").getList()).containsExactly(description.partitions().get(1).leader().id());
        assertThat(p1.getJsonArray("isr").getList()).containsExactly(description.partitions().get(1).leader().id());
        assertThat(p1.getLong("logEndOffset")).isEqualTo(md.offset() + 1);
        assertThat(p1.getLong("highWatermark")).isEqualTo(node.admin().listOffsets(Map.of(new TopicPartition(topic, 1),
                OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS).get(new TopicPartition(topic, 1)).offset());
        assertThat(p1.getLong("sizeBytes")).isPositive();

        JsonObject detail = http.get("/api/v1/topics/" + topic).json();
        assertThat(detail.getInteger("partitionCount")).isEqualTo(3);
        assertThat(detail.getJsonObject("configs").getString("retention.ms")).isEqualTo("86400000");

        // configs: get, merge (null removes), replace
        JsonObject configs = http.get("/api/v1/topics/" + topic + "/configs").json();
        assertThat(configValue(configs, "retention.ms")).containsExactly("86400000", "TOPIC");
        assertThat(configValue(configs, "cleanup.policy")).containsExactly("delete", "DEFAULT");
        Map<String, Object> patch = new java.util.HashMap<>();
        patch.put("retention.ms", null);
        patch.put("max.message.bytes", "2048");
        JsonObject patched = http.patch("/api/v1/topics/" + topic + "/configs", patch).json();
        assertThat(configValue(patched, "max.message.bytes")).containsExactly("2048", "TOPIC");
        assertThat(configValue(patched, "retention.ms").get(1)).isEqualTo("DEFAULT");
        config = node.admin().describeConfigs(Set.of(new ConfigResource(ConfigResource.Type.TOPIC, topic)))
                .all().get(30, TimeUnit.SECONDS).values().iterator().next();
        assertThat(config.get("max.message.bytes").value()).isEqualTo("2048");
        JsonObject replaced = http.put("/api/v1/topics/" + topic + "/configs", Map.of("segment.ms", "3600000")).json();
        assertThat(configValue(replaced, "segment.ms")).containsExactly("3600000", "TOPIC");
        assertThat(configValue(replaced, "max.message.bytes").get(1)).isEqualTo("DEFAULT");

        // partitions: add
        AdminHttp.Response grown = http.post("/api/v1/topics/" + topic + "/partitions", Map.of("count", 5));
        assertThat(grown.status()).as(grown.body()).isEqualTo(200);
        assertThat(grown.array()).hasSize(5);
        assertThat(node.admin().describeTopics(Set.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                .partitions()).hasSize(5);

        // delete
        assertThat(http.delete("/api/v1/topics/" + topic).status()).isEqualTo(204);
        Await.until("topic gone", () -> !node.admin().listTopics().names().get().contains(topic));
        assertError(http.get("/api/v1/topics/" + topic), 404, null);
    }

    private static List<String> configValue(JsonObject configs, String name) {
        for (Object o : configs.getJsonArray("configs")) {
            JsonObject c = (JsonObject) o;
            if (c.getString("name").equals(name)) {
                return List.of(String.valueOf(c.getString("value")), c.getString("source"));
            }
        }
        throw new AssertionError(name + " not listed");
    }

    @Test
    void badTopicInputsAreRejectedWithTheFieldNamed() throws Exception {
        AdminHttp http = http();
        String topic = RunnelNode.uniqueName("http-bad");
        assertError(http.post("/api/v1/topics", "{not json"), 400, "body");
        assertError(http.post("/api/v1/topics", "[1,2]"), 400, "body");
        assertError(http.send("POST", "/api/v1/topics", null), 400, "body");
        assertError(http.post("/api/v1/topics", Map.of("partitions", 1)), 400, "name");
        assertError(http.post("/api/v1/topics", Map.of("name", 5)), 400, "name");
        assertError(http.post("/api/v1/topics", Map.of("name", "bad name!")), 400, "name");
        assertError(http.post("/api/v1/topics", Map.of("name", topic, "partitions", "three")), 400, "partitions");
        assertError(http.post("/api/v1/topics", Map.of("name", topic, "partitions", 0)), 400, "partitions");
        assertError(http.post("/api/v1/topics", Map.of("name", topic, "replicationFactor", 3)), 400, "replicationFactor");
        assertError(http.post("/api/v1/topics", Map.of("name", topic, "configs", "x")), 400, "configs");
        assertError(http.post("/api/v1/topics", Map.of("name", topic, "configs", Map.of("no.such", "1"))), 400,
                "configs.no.such");
        assertError(http.post("/api/v1/topics", Map.of("name", topic, "configs", Map.of("retention.ms", "soon"))), 400,
                "configs");
        // nothing above reached the broker
        assertThat(node.admin().listTopics().names().get()).doesNotContain(topic);

        assertThat(http.post("/api/v1/topics", Map.of("name", topic, "partitions", 2)).status()).isEqualTo(201);
        assertError(http.post("/api/v1/topics", Map.of("name", topic)), 409, null);
        assertError(http.post("/api/v1/topics/" + topic + "/partitions", Map.of("count", 1)), 400, "count");
        assertError(http.post("/api/v1/topics/" + topic + "/partitions", Map.of()), 400, "count");
        assertError(http.post("/api/v1/topics/" + topic + "/partitions", Map.of("count", "x")), 400, "count");
        assertError(http.patch("/api/v1/topics/" + topic + "/configs", Map.of("no.such", "1")), 400, "configs.no.such");
        assertError(http.patch("/api/v1/topics/" + topic + "/configs", Map.of("retention.ms", "x")), 400, "configs");
        assertError(http.patch("/api/v1/topics/" + topic + "/configs", Map.of("retention.ms", List.of())), 400,
                "configs.retention.ms");

        String missing = RunnelNode.uniqueName("http-missing");
        assertError(http.get("/api/v1/topics/" + missing), 404, null);
        assertError(http.delete("/api/v1/topics/" + missing), 404, null);
        assertError(http.get("/api/v1/topics/" + missing + "/configs"), 404, null);
        assertError(http.patch("/api/v1/topics/" + missing + "/configs", Map.of("retention.ms", "1")), 404, null);
        assertError(http.get("/api/v1/topics/" + missing + "/partitions"), 404, null);
        assertError(http.post("/api/v1/topics/" + missing + "/partitions", Map.of("count", 4)), 404, null);
        assertError(http.post("/api/v1/topics/" + missing + "/records", Map.of("value", "v")), 404, null);
        assertError(http.get("/api/v1/topics/" + missing + "/records?partition=0"), 404, null);
        assertError(http.get("/api/v1/topics/" + missing + "/tail"), 404, null);
    }

    @Test
    void producedRecordsAreReadByKafkaConsumerAndHttpReadsWhatJavaProducerWrote() throws Exception {
        AdminHttp http = http();
        String topic = RunnelNode.uniqueName("http-records");
        node.createTopic(topic, 2);
        byte[] binary = {0, (byte) 0xff, 1, (byte) 0xfe};
        JsonObject body = new JsonObject().put("records", new JsonArray()
                .add(new JsonObject().put("partition", 0).put("key", "k1").put("value", "hello")
                        .put("headers", new JsonArray().add(new JsonObject().put("key", "h").put("value", "hv")))
                        .put("timestamp", 1_700_000_000_000L))
                .add(new JsonObject().put("partition", 0).put("encoding", "base64")
                        .put("value", Base64.getEncoder().encodeToString(binary)))
                .add(new JsonObject().put("key", "routed").put("value", "by-key")));
        AdminHttp.Response produced = http.post("/api/v1/topics/" + topic + "/records", body.encode());
        assertThat(produced.status()).as(produced.body()).isEqualTo(200);
        JsonArray offsets = produced.json().getJsonArray("offsets");
        assertThat(offsets.getJsonObject(0).getInteger("partition")).isZero();
        assertThat(offsets.getJsonObject(0).getLong("offset")).isZero();
        assertThat(offsets.getJsonObject(1).getLong("offset")).isEqualTo(1);
        // keyed records land where the Java producer's default partitioner puts them
        int keyedPartition = offsets.getJsonObject(2).getInteger("partition");
        try (KafkaProducer<String, String> p = node.producer()) {
            RecordMetadata md = p.send(new ProducerRecord<>(topic, null, "routed", "from-java",
                    List.of(new RecordHeader("jh", "jv".getBytes())))).get(30, TimeUnit.SECONDS);
            assertThat(md.partition()).isEqualTo(keyedPartition);
        }

        List<ConsumerRecord<String, String>> seen = new ArrayList<>();
        try (KafkaConsumer<String, String> c = node.consumer()) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            c.seekToBeginning(List.of(new TopicPartition(topic, 0)));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (seen.size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(seen::add);
            }
        }
        assertThat(seen).hasSizeGreaterThanOrEqualTo(2);
        assertThat(seen.get(0).key()).isEqualTo("k1");
        assertThat(seen.get(0).value()).isEqualTo("hello");
        assertThat(seen.get(0).timestamp()).isEqualTo(1_700_000_000_000L);
        assertThat(new String(seen.get(0).headers().lastHeader("h").value())).isEqualTo("hv");

        JsonObject read = http.get("/api/v1/topics/" + topic + "/records?partition=0&offset=0").json();
        JsonArray records = read.getJsonArray("records");
        if (keyedPartition == 0) {
            assertThat(records).hasSize(4);
        } else {
            assertThat(records).hasSize(2);
        }
        JsonObject r0 = records.getJsonObject(0);
        assertThat(r0.getLong("offset")).isZero();
        assertThat(r0.getString("key")).isEqualTo("k1");
        assertThat(r0.getString("value")).isEqualTo("hello");
        assertThat(r0.getLong("timestamp")).isEqualTo(1_700_000_000_000L);
        assertThat(r0.getString("timestampType")).isEqualTo("CreateTime");
        assertThat(r0.getJsonArray("headers").getJsonObject(0).getString("value")).isEqualTo("hv");
        JsonObject r1 = records.getJsonObject(1);
        assertThat(r1.getString("valueEncoding")).isEqualTo("base64");
        assertThat(Base64.getDecoder().decode(r1.getString("value"))).isEqualTo(binary);
        assertThat(r1.getValue("key")).isNull();
        assertThat(read.getLong("nextOffset")).isEqualTo(records.size());

        JsonObject fromOne = http.get("/api/v1/topics/" + topic + "/records?partition=0&offset=1&limit=1&encoding=base64").json();
        assertThat(fromOne.getJsonArray("records")).hasSize(1);
        assertThat(fromOne.getJsonArray("records").getJsonObject(0).getLong("offset")).isEqualTo(1);
        assertThat(fromOne.getLong("nextOffset")).isEqualTo(2);

        JsonObject javaRecord = http.get("/api/v1/topics/" + topic + "/records?partition=" + keyedPartition + "&offset=0")
                .json();
        assertThat(javaRecord.getJsonArray("records").stream().map(o -> ((JsonObject) o).getString("value")))
                .contains("by-key", "from-java");

        // bad inputs
        String base = "/api/v1/topics/" + topic + "/records";
        assertError(http.get(base), 400, "partition");
        assertError(http.get(base + "?partition=x"), 400, "partition");
        assertError(http.get(base + "?partition=7"), 404, null);
        assertError(http.get(base + "?partition=0&offset=99"), 400, "offset");
        assertError(http.get(base + "?partition=0&offset=-1"), 400, "offset");
        assertError(http.get(base + "?partition=0&limit=0"), 400, "limit");
        assertError(http.get(base + "?partition=0&encoding=hex"), 400, "encoding");
        assertError(http.post(base, Map.of("records", List.of())), 400, "records");
        assertError(http.post(base, Map.of("records", List.of(Map.of("partition", 9, "value", "v")))), 400,
                "records[0].partition");
        assertError(http.post(base, Map.of("records", List.of(Map.of("value", 5)))), 400, "records[0].value");
        assertError(http.post(base, Map.of("value", "%%%", "encoding", "base64")), 400, "record.value");
        assertError(http.post(base, Map.of("value", "v", "headers", "x")), 400, "record.headers");
        assertError(http.post(base, Map.of("value", "v", "timestamp", -5)), 400, "record.timestamp");
        assertError(http.get("/api/v1/topics/" + topic + "/tail?last=-1"), 400, "last");
        assertError(http.get("/api/v1/topics/" + topic + "/tail?partition=5"), 404, null);
    }

    @Test
    void groupsShowMembersAssignmentsAndLagEqualToEndMinusCommittedThenResetAndDelete() throws Exception {
        AdminHttp http = http();
        String topic = RunnelNode.uniqueName("http-group-topic");
        String group = RunnelNode.uniqueName("http-group");
        node.createTopic(topic, 2);
        try (KafkaProducer<String, String> p = node.producer()) {
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i));
            }
            p.flush();
        }
        try (KafkaConsumer<String, String> c = node.consumer(Map.of("group.id", group))) {
            c.subscribe(List.of(topic));
            int got = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (got < 10 && System.nanoTime() < deadline) {
                got += c.poll(Duration.ofMillis(200)).count();
            }
            assertThat(got).isEqualTo(10);
            // commit part of partition 0 and all of partition 1
            c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(2),
                    new TopicPartition(topic, 1), new OffsetAndMetadata(5)));

            JsonObject live = http.get("/api/v1/groups/" + group).json();
            assertThat(live.getString("state")).isEqualTo("Stable");
            assertThat(live.getJsonArray("members")).hasSize(1);
            JsonObject member = live.getJsonArray("members").getJsonObject(0);
            assertThat(member.getJsonArray("assignment").getJsonObject(0).getString("topic")).isEqualTo(topic);
            assertThat(member.getJsonArray("assignment").getJsonObject(0).getJsonArray("partitions").getList())
                    .containsExactly(0, 1);
            // the group cannot be deleted or reset while it has members
            assertError(http.delete("/api/v1/groups/" + group), 409, null);
            assertError(http.post("/api/v1/groups/" + group + "/offsets", Map.of("to", "earliest", "topic", topic)), 409,
                    null);
        }
        Await.until("group empty", () -> "Empty".equals(http.get("/api/v1/groups/" + group).json().getString("state")));

        JsonObject described = http.get("/api/v1/groups/" + group).json();
        Map<TopicPartition, OffsetAndMetadata> committed = node.admin().listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        var ends = node.admin().listOffsets(Map.of(new TopicPartition(topic, 0), OffsetSpec.latest(),
                new TopicPartition(topic, 1), OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS);
        long total = 0;
        for (Object o : described.getJsonArray("offsets")) {
            JsonObject row = (JsonObject) o;
            TopicPartition tp = new TopicPartition(row.getString("topic"), row.getInteger("partition"));
            long expectedLag = ends.get(tp).offset() - committed.get(tp).offset();
            assertThat(row.getLong("committedOffset")).isEqualTo(committed.get(tp).offset());
            assertThat(row.getLong("endOffset")).isEqualTo(ends.get(tp).offset());
            assertThat(row.getLong("lag")).isEqualTo(expectedLag);
            total += expectedLag;
        }
        assertThat(total).isEqualTo(3);
        assertThat(described.getLong("totalLag")).isEqualTo(total);
        JsonArray list = http.get("/api/v1/groups").array();
        JsonObject listed = list.stream().map(o -> (JsonObject) o).filter(g -> g.getString("groupId").equals(group))
                .findFirst().orElseThrow();
        assertThat(listed.getLong("totalLag")).isEqualTo(3);
        assertThat(listed.getInteger("members")).isZero();

        // /metrics shows the lag
        Await.until("lag gauge", () -> http.get("/metrics").body().lines().anyMatch(l ->
                l.startsWith("runnel_group_lag_sum{group=\"" + group + "\"}") && l.endsWith(" 3.0")));

        // resets: bad inputs first
        String offsets = "/api/v1/groups/" + group + "/offsets";
        assertError(http.post(offsets, Map.of()), 400, "to");
        assertError(http.post(offsets, Map.of("to", "yesterday")), 400, "to");
        assertError(http.post(offsets, Map.of("to", "timestamp")), 400, "timestamp");
        assertError(http.post(offsets, Map.of("to", "offset", "offset", -3)), 400, "offset");
        assertError(http.post(offsets, Map.of("to", "earliest", "topic", topic, "partitions", List.of(7))), 400,
                "partitions[0]");
        assertError(http.post(offsets, Map.of("to", "earliest", "partitions", List.of(0))), 400, "topic");
        assertError(http.post(offsets, Map.of("to", "earliest", "topic", "no-such-topic-x")), 404, null);
        assertError(http.post("/api/v1/groups/" + RunnelNode.uniqueName("nogroup") + "/offsets",
                Map.of("to", "earliest")), 404, null);

        JsonObject reset = http.post(offsets, Map.of("to", "earliest", "topic", topic, "partitions", List.of(0))).json();
        assertThat(reset.getJsonArray("offsets").getJsonObject(0).getLong("offset")).isZero();
        assertThat(node.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                .get(new TopicPartition(topic, 0)).offset()).isZero();
        http.post(offsets, Map.of("to", "latest"));
        Map<TopicPartition, OffsetAndMetadata> afterLatest = node.admin().listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        assertThat(afterLatest.get(new TopicPartition(topic, 0)).offset()).isEqualTo(5);
        assertThat(afterLatest.get(new TopicPartition(topic, 1)).offset()).isEqualTo(5);
        assertThat(http.get("/api/v1/groups/" + group).json().getLong("totalLag")).isZero();
        http.post(offsets, Map.of("to", "offset", "offset", 3, "topic", topic, "partitions", List.of(1)));
        assertThat(node.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                .get(new TopicPartition(topic, 1)).offset()).isEqualTo(3);
        JsonObject byTime = http.post(offsets, Map.of("to", "timestamp", "timestamp", 0, "topic", topic)).json();
        assertThat(byTime.getJsonArray("offsets").stream().map(o -> ((JsonObject) o).getLong("offset"))).containsOnly(0L);
        // a new group gets its first offsets when a topic is named, as kafka-consumer-groups allows
        String fresh = RunnelNode.uniqueName("http-fresh");
        assertThat(http.post("/api/v1/groups/" + fresh + "/offsets", Map.of("to", "latest", "topic", topic)).status())
                .isEqualTo(200);
        assertThat(node.admin().listConsumerGroupOffsets(fresh).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS))
                .hasSize(2);

        assertThat(http.delete("/api/v1/groups/" + group).status()).isEqualTo(204);
        assertError(http.get("/api/v1/groups/" + group), 404, null);
        assertError(http.delete("/api/v1/groups/" + group), 404, null);
        assertThat(node.admin().listConsumerGroups().all().get(30, TimeUnit.SECONDS).stream()
                .map(g -> g.groupId())).doesNotContain(group);
    }

    @Test
    void metricsScrapeShowsRequestsBytesAndRecordsAfterProduceAndConsume() throws Exception {
        AdminHttp http = http();
        String topic = RunnelNode.uniqueName("http-metrics");
        node.createTopic(topic, 1);
        try (KafkaProducer<String, String> p = node.producer()) {
            for (int i = 0; i < 5; i++) {
                p.send(new ProducerRecord<>(topic, "k", "value-" + i));
            }
            p.flush();
        }
        try (KafkaConsumer<String, String> c = node.consumer()) {
            c.assign(List.of(new TopicPartition(topic, 0)));
            c.seekToBeginning(List.of(new TopicPartition(topic, 0)));
            int got = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (got < 5 && System.nanoTime() < deadline) {
                got += c.poll(Duration.ofMillis(200)).count();
            }
            assertThat(got).isEqualTo(5);
        }
        http.get("/api/v1/topics/" + topic + "/records?partition=0");
        String text = http.get("/metrics").body();
        assertThat(value(text, "runnel_requests_total{api=\"PRODUCE\"}")).isPositive();
        assertThat(value(text, "runnel_requests_total{api=\"FETCH\"}")).isPositive();
        assertThat(value(text, "runnel_request_latency_seconds_count{api=\"PRODUCE\"}")).isPositive();
        assertThat(text).contains("runnel_request_latency_seconds_bucket{api=\"FETCH\"");
        assertThat(value(text, "runnel_topic_bytes_in_bytes_total{topic=\"" + topic + "\"}")).isPositive();
        assertThat(value(text, "runnel_topic_records_in_total{topic=\"" + topic + "\"}")).isEqualTo(5.0);
        assertThat(value(text, "runnel_topic_bytes_out_bytes_total{topic=\"" + topic + "\"}")).isPositive();
        assertThat(value(text, "runnel_topic_records_out_total{topic=\"" + topic + "\"}")).isEqualTo(5.0);
        assertThat(value(text, "runnel_connections_opened_total")).isPositive();
        assertThat(value(text, "runnel_partitions_leader")).isPositive();
        assertThat(value(text, "runnel_partitions_offline")).isZero();
        assertThat(value(text, "runnel_partitions_under_replicated")).isZero();
        assertThat(value(text, "runnel_log_size_bytes{partition=\"0\",topic=\"" + topic + "\"}")).isPositive();
        assertThat(value(text, "runnel_log_end_offset{partition=\"0\",topic=\"" + topic + "\"}")).isEqualTo(5.0);
        // the process's open segment files: at least this topic's, within the bound
        assertThat(value(text, "runnel_log_open_files")).isPositive()
                .isLessThanOrEqualTo(value(text, "runnel_log_open_files_limit"));
        assertThat(text).contains("runnel_log_open_files_evictions_total");
        assertThat(value(text, "runnel_fetch_sessions")).isNotNegative();
        assertThat(text).contains("runnel_fetch_session_evictions_total");
        assertThat(text).contains("runnel_isr_shrinks_total", "runnel_isr_expands_total", "jvm_memory_used_bytes",
                "runnel_eventloop_delay_seconds_count", "vertx_");
    }

    /** The value of the sample whose name and labels are exactly {@code series}. */
    static double value(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
                .orElseThrow(() -> new AssertionError(series + " not in the scrape"));
    }
}
