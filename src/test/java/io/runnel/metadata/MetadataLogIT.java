package io.runnel.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.runnel.Broker;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A single node is a metadata quorum of one: its metadata log takes snapshots and a restart comes back
 * from the newest snapshot plus the records after it; producer ids never repeat across restarts; and a
 * node upgraded from the layout before the metadata log imports its topics with their ids.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MetadataLogIT {

    @TempDir
    Path dir;

    private Map<String, String> props() {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("metadata.log.max.records.between.snapshots", "10");
        return p;
    }

    private static Broker start(Map<String, String> props) throws Exception {
        return Broker.start(props).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private static Admin admin(Broker b) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers());
        return Admin.create(p);
    }

    @Test
    void aRestartReplaysTheNewestSnapshotAndTheRecordsAfterIt() throws Exception {
        Map<String, TopicDescription> before;
        Broker broker = start(props());
        try (Admin admin = admin(broker)) {
            for (int i = 0; i < 30; i++) {
                admin.createTopics(List.of(new NewTopic("snap-" + i, 1 + i % 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
            admin.deleteTopics(List.of("snap-0", "snap-7")).all().get(30, TimeUnit.SECONDS);
            Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            before = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
        }
        broker.closeAndWait(30, TimeUnit.SECONDS);
        List<Path> snapshots;
        try (Stream<Path> files = Files.walk(dir.resolve("data").resolve(QuorumConfig.STORAGE_DIR_NAME))) {
            snapshots = files.filter(f -> f.getFileName().toString().startsWith("snapshot.")
                    && !f.getFileName().toString().endsWith(".md5")).toList();
        }
        assertThat(snapshots).as("snapshots of the metadata log").isNotEmpty();

        broker = start(props());
        try (Admin admin = admin(broker)) {
            Map<String, TopicDescription> after = admin.describeTopics(before.keySet()).allTopicNames()
                    .get(30, TimeUnit.SECONDS);
            assertThat(after.keySet()).isEqualTo(before.keySet()).doesNotContain("snap-0", "snap-7").contains("snap-29");
            before.forEach((name, d) -> {
                assertThat(after.get(name).topicId()).as("id of %s", name).isEqualTo(d.topicId());
                assertThat(after.get(name).partitions()).hasSameSizeAs(d.partitions());
                assertThat(after.get(name).partitions()).allSatisfy(p -> assertThat(p.leader()).isNotNull());
            });
        } finally {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void producerIdsComeFromBlocksTheLogAllocatedAndNeverRepeat() throws Exception {
        List<Long> ids = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            Broker broker = start(props());
            try (io.runnel.testutil.RawKafkaClient raw = new io.runnel.testutil.RawKafkaClient(broker.bootstrapServers())) {
                for (int i = 0; i < 5; i++) {
                    ids.add(raw.initProducerId());
                }
            } finally {
                broker.closeAndWait(30, TimeUnit.SECONDS);
            }
        }
        assertThat(ids).hasSize(15).doesNotHaveDuplicates();
    }

    @Test
    void aNodeFromBeforeTheMetadataLogImportsItsTopicsWithTheirIds() throws Exception {
        Path meta = dir.resolve("data").resolve("__runnel_meta");
        Files.createDirectories(meta);
        org.apache.kafka.common.Uuid id = org.apache.kafka.common.Uuid.randomUuid();
        Files.writeString(meta.resolve("topics.json"), "[{\"name\": \"legacy\", \"id\": \"" + id
                + "\", \"partitions\": 2, \"replicationFactor\": 1, \"configs\": {\"retention.ms\": \"1234\"}}]");
        Files.writeString(meta.resolve("producer-id-block"), "5000");
        Broker broker = start(props());
        try (Admin admin = admin(broker)) {
            TopicDescription d = admin.describeTopics(List.of("legacy")).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get("legacy");
            assertThat(d.topicId()).isEqualTo(id);
            assertThat(d.partitions()).hasSize(2).allSatisfy(p -> assertThat(p.leader()).isNotNull());
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>("legacy", 1, "k", "v")).get(30, TimeUnit.SECONDS);
            }
            try (io.runnel.testutil.RawKafkaClient raw = new io.runnel.testutil.RawKafkaClient(broker.bootstrapServers())) {
                assertThat(raw.initProducerId()).as("above every id the old block handed out").isGreaterThan(5000L << 10);
            }
        } finally {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
        assertThat(Files.exists(meta.resolve("topics.json.imported"))).isTrue();
        try (Stream<Path> children = Files.list(dir.resolve("data"))) {
            Set<String> dirs = children.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
            assertThat(dirs).contains("legacy-0", "legacy-1");
        }
    }
}
