package io.runnel.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.log.LogConfig;
import io.runnel.log.PartitionLog;
import io.runnel.log.RecordSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code __consumer_offsets} as an ordinary internal topic on a single node: a data directory from before
 * it was one (bare {@code __consumer_offsets-N} logs, no topic in the metadata) keeps its committed offsets,
 * and clients see the topic as internal and can neither write to it nor delete it.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class OffsetsTopicUpgradeIT {

    private static final int PARTITIONS = 4;
    private static final String GROUP = "upgraded-group";

    @TempDir
    Path dir;
    private Broker broker;

    @AfterEach
    void stop() throws Exception {
        if (broker != null) {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private void start() throws Exception {
        start(PARTITIONS);
    }

    private void start(int offsetsPartitions) throws Exception {
        broker = Broker.start(Map.of("log.dirs", dir.toString(), "listeners", "PLAINTEXT://127.0.0.1:0",
                "admin.listener", "127.0.0.1:0", "offsets.topic.num.partitions", Integer.toString(offsetsPartitions),
                "group.initial.rebalance.delay.ms", "0")).toCompletionStage().toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        return Admin.create(p);
    }

    /** Writes the group's commits as the earlier layout did: straight into its partition's log directory. */
    private void writeOldLayout(Map<TopicPartition, Long> offsets) throws Exception {
        int partition = Utils.abs(GROUP.hashCode()) % PARTITIONS;
        TopicPartition otp = new TopicPartition(Topic.GROUP_METADATA_TOPIC_NAME, partition);
        try (PartitionLog log = PartitionLog.open(otp, dir.resolve(otp.topic() + "-" + partition),
                LogConfig.defaults(), Time.SYSTEM)) {
            long now = System.currentTimeMillis();
            for (Map.Entry<TopicPartition, Long> e : offsets.entrySet()) {
                GroupRecord r = new GroupRecord.OffsetCommit(GROUP, e.getKey(),
                        new CommittedOffset(e.getValue(), -1, "old", now, -1L));
                log.appendAsLeader(RecordSet.of(
                        new RecordSet.NewRecord(now, GroupRecordCodec.key(r), GroupRecordCodec.value(r))), 0);
            }
            log.flush();
        }
    }

    @Test
    void committedOffsetsOfTheEarlierLayoutSurviveTheUpgrade() throws Exception {
        Map<TopicPartition, Long> offsets = Map.of(new TopicPartition("orders", 0), 17L,
                new TopicPartition("orders", 1), 42L);
        writeOldLayout(offsets);
        start();
        try (Admin admin = admin()) {
            // the first search for the group's coordinator creates the topic over the old directories
            Map<TopicPartition, OffsetAndMetadata> committed = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                try {
                    committed = admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata()
                            .get(10, TimeUnit.SECONDS);
                    break;
                } catch (ExecutionException e) {
                    Thread.sleep(100);
                }
            }
            assertThat(committed).isNotNull();
            assertThat(committed).hasSize(2);
            Map<TopicPartition, OffsetAndMetadata> loaded = committed;
            offsets.forEach((tp, offset) -> {
                assertThat(loaded.get(tp).offset()).isEqualTo(offset);
                assertThat(loaded.get(tp).metadata()).isEqualTo("old");
            });
            TopicDescription d = admin.describeTopics(List.of(Topic.GROUP_METADATA_TOPIC_NAME)).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(Topic.GROUP_METADATA_TOPIC_NAME);
            assertThat(d.isInternal()).isTrue();
            assertThat(d.partitions()).hasSize(PARTITIONS);
        }
        // and again after a restart, now from the topic the upgrade created
        broker.closeAndWait(30, TimeUnit.SECONDS);
        broker = null;
        start();
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(GROUP)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            offsets.forEach((tp, offset) -> assertThat(committed.get(tp).offset()).isEqualTo(offset));
        }
    }

    /**
     * offsets.topic.num.partitions changed after the topic exists: groups stay on the partitions the topic
     * has (as in Kafka), so a group whose partition would differ under the new setting keeps its offsets.
     */
    @Test
    void changingTheOffsetsPartitionCountLaterKeepsGroupsWhereTheyAre() throws Exception {
        String group = null;
        for (int i = 0; group == null; i++) {
            String g = "moved-" + i;
            // under the new setting its partition would be one the topic does not even have
            if (Utils.abs(g.hashCode()) % 7 >= PARTITIONS) {
                group = g;
            }
        }
        TopicPartition tp = new TopicPartition("orders", 0);
        start(PARTITIONS);
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("orders", 1, (short) 1)))
                    .all().get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    admin.alterConsumerGroupOffsets(group, Map.of(tp, new OffsetAndMetadata(23L, "kept")))
                            .all().get(10, TimeUnit.SECONDS);
                    break;
                } catch (ExecutionException e) {
                    // the first search for the coordinator creates the offsets topic; retried until it exists
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(100);
                }
            }
        }
        broker.closeAndWait(30, TimeUnit.SECONDS);
        broker = null;
        start(7);
        try (Admin admin = admin()) {
            assertThat(admin.describeTopics(List.of(Topic.GROUP_METADATA_TOPIC_NAME)).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(Topic.GROUP_METADATA_TOPIC_NAME).partitions()).hasSize(PARTITIONS);
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS).get(tp);
            assertThat(committed).isNotNull();
            assertThat(committed.offset()).isEqualTo(23L);
            assertThat(committed.metadata()).isEqualTo("kept");
        }
    }

    /** A producer's metadata request creates the topic, as in Kafka, and its write is then refused. */
    @Test
    void clientsCanNeitherWriteToNorDeleteTheOffsetsTopic() throws Exception {
        start();
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "10000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(Topic.GROUP_METADATA_TOPIC_NAME, 0, "k", "v"))
                    .get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(InvalidTopicException.class);
        }
        try (Admin admin = admin()) {
            assertThatThrownBy(() -> admin.deleteTopics(List.of(Topic.GROUP_METADATA_TOPIC_NAME)).all()
                    .get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(TopicAuthorizationException.class);
            assertThat(admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true))
                    .names().get(10, TimeUnit.SECONDS)).contains(Topic.GROUP_METADATA_TOPIC_NAME);
        }
    }
}
