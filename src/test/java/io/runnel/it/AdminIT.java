package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AlterConfigsRequest;
import org.apache.kafka.common.requests.AlterConfigsResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Topic and config administration through the official Admin client, as Apache Kafka answers it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final long T = 30;

    @Test
    void createsTopicWithPartitionsAndConfigsAndDescribesIt() throws Exception {
        String topic = RunnelNode.uniqueName("admin-create");
        CreateTopicsResult created = node.admin().createTopics(List.of(new NewTopic(topic, 3, (short) 1)
                .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "compact"))));
        created.all().get(T, TimeUnit.SECONDS);
        assertThat(created.numPartitions(topic).get()).isEqualTo(3);
        assertThat(created.replicationFactor(topic).get()).isEqualTo(1);
        assertThat(created.topicId(topic).get()).isNotNull();
        // CreateTopics v5+ answers the topic's effective configs.
        assertThat(created.config(topic).get().get("retention.ms").value()).isEqualTo("3600000");

        Await.until("topic listed", () -> node.admin().listTopics().names().get().contains(topic));
        Collection<Node> nodes = node.admin().describeCluster().nodes().get(T, TimeUnit.SECONDS);
        Set<Integer> liveIds = nodes.stream().map(Node::id).collect(Collectors.toSet());

        TopicDescription d = node.admin().describeTopics(Set.of(topic)).allTopicNames()
                .get(T, TimeUnit.SECONDS).get(topic);
        assertThat(d.name()).isEqualTo(topic);
        assertThat(d.isInternal()).isFalse();
        assertThat(d.topicId()).isEqualTo(created.topicId(topic).get());
        assertThat(d.partitions()).extracting(TopicPartitionInfo::partition).containsExactly(0, 1, 2);
        for (TopicPartitionInfo p : d.partitions()) {
            assertThat(p.leader()).isNotNull();
            assertThat(liveIds).contains(p.leader().id());
            assertThat(p.replicas()).hasSize(1).contains(p.leader());
            assertThat(p.isr()).contains(p.leader());
        }
    }

    @Test
    void listTopicsHidesInternalTopicsUnlessAsked() throws Exception {
        String topic = RunnelNode.uniqueName("admin-list");
        node.createTopic(topic, 1);
        Set<String> names = node.admin().listTopics().names().get(T, TimeUnit.SECONDS);
        assertThat(names).contains(topic).noneMatch(n -> n.startsWith("__"));
        assertThat(node.admin().listTopics().namesToListings().get(T, TimeUnit.SECONDS).get(topic).isInternal())
                .isFalse();
    }

    @Test
    void describeConfigsTellsTopicOverridesFromDefaults() throws Exception {
        String topic = RunnelNode.uniqueName("admin-configs");
        node.createTopics(new NewTopic(topic, 1, (short) 1)
                .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "compact")));

        Config config = topicConfig(topic);
        ConfigEntry retention = config.get("retention.ms");
        assertThat(retention.value()).isEqualTo("3600000");
        assertThat(retention.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assertThat(retention.isDefault()).isFalse();
        assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
        assertThat(config.get("cleanup.policy").source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);

        // Nobody sets log.cleaner.delete.retention.ms, so this is Kafka's built-in default.
        ConfigEntry deleteRetention = config.get("delete.retention.ms");
        assertThat(deleteRetention.value()).isEqualTo("86400000");
        assertThat(deleteRetention.source()).isEqualTo(ConfigEntry.ConfigSource.DEFAULT_CONFIG);
        assertThat(deleteRetention.isDefault()).isTrue();
        // Every topic config is listed, not only the overrides.
        assertThat(config.entries()).extracting(ConfigEntry::name)
                .contains("segment.bytes", "max.message.bytes", "min.insync.replicas", "retention.bytes");
    }

    @Test
    void incrementalAlterConfigsSetsDeletesAndAppends() throws Exception {
        String topic = RunnelNode.uniqueName("admin-incr");
        node.createTopics(new NewTopic(topic, 1, (short) 1)
                .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "compact")));
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);

        node.admin().incrementalAlterConfigs(Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("segment.ms", "600000"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("cleanup.policy", ""), AlterConfigOp.OpType.DELETE))))
                .all().get(T, TimeUnit.SECONDS);
        Await.until("configs altered", () -> "7200000".equals(topicConfig(topic).get("retention.ms").value()));
        Config after = topicConfig(topic);
        assertThat(after.get("segment.ms").value()).isEqualTo("600000");
        assertThat(after.get("segment.ms").source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assertThat(after.get("cleanup.policy").value()).isEqualTo("delete");
        assertThat(after.get("cleanup.policy").source()).isNotEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);

        // APPEND adds to a list-typed config (cleanup.policy), starting from its effective value.
        node.admin().incrementalAlterConfigs(Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND))))
                .all().get(T, TimeUnit.SECONDS);
        Await.until("cleanup.policy appended",
                () -> "delete,compact".equals(topicConfig(topic).get("cleanup.policy").value()));
    }

    @Test
    void legacyAlterConfigsReplacesTheWholeOverrideSet() throws Exception {
        String topic = RunnelNode.uniqueName("admin-alter");
        node.createTopics(new NewTopic(topic, 1, (short) 1)
                .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "compact")));
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);

        // The Java Admin client dropped alterConfigs in 4.0, but brokers still serve AlterConfigs v0-v2
        // (kafka-python uses it), so send it raw.
        try (RawKafkaClient raw = new RawKafkaClient(node.bootstrapServers())) {
            AlterConfigsResponse response = raw.send(new AlterConfigsRequest.Builder(Map.of(res,
                    new AlterConfigsRequest.Config(List.of(
                            new AlterConfigsRequest.ConfigEntry("retention.bytes", "1048576")))), false)
                    .build((short) 2));
            assertThat(response.errors().get(res).error()).isEqualTo(Errors.NONE);
        }
        Await.until("configs replaced", () -> "1048576".equals(topicConfig(topic).get("retention.bytes").value()));
        Config after = topicConfig(topic);
        // Overrides not named in AlterConfigs are dropped back to their defaults.
        assertThat(after.get("retention.ms").value()).isEqualTo("604800000");
        assertThat(after.get("retention.ms").source()).isNotEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assertThat(after.get("cleanup.policy").value()).isEqualTo("delete");
        assertThat(after.get("retention.bytes").source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
    }

    @Test
    void createPartitionsGrowsTopicAndRefusesToShrink() throws Exception {
        String topic = RunnelNode.uniqueName("admin-grow");
        node.createTopic(topic, 2);
        node.admin().createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get(T, TimeUnit.SECONDS);
        Await.until("five partitions", () -> describe(topic).partitions().size() == 5);
        assertThat(describe(topic).partitions()).allSatisfy(p -> assertThat(p.leader()).isNotNull());

        assertThatThrownBy(() -> node.admin().createPartitions(Map.of(topic, NewPartitions.increaseTo(3)))
                .all().get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidPartitionsException.class);

        // The new partitions take writes.
        KafkaProducer<String, String> producer = node.producer();
        assertThat(producer.send(new ProducerRecord<>(topic, 4, "k", "v")).get(T, TimeUnit.SECONDS).offset())
                .isZero();
    }

    @Test
    void deleteRecordsMovesTheEarliestOffset() throws Exception {
        String topic = RunnelNode.uniqueName("admin-delrec");
        node.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        KafkaProducer<String, String> producer = node.producer();
        for (int i = 0; i < 10; i++) {
            producer.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i));
        }
        producer.flush();
        assertThat(offset(tp, OffsetSpec.earliest())).isZero();
        assertThat(offset(tp, OffsetSpec.latest())).isEqualTo(10);

        long low = node.admin().deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4)))
                .lowWatermarks().get(tp).get(T, TimeUnit.SECONDS).lowWatermark();
        assertThat(low).isEqualTo(4);
        assertThat(offset(tp, OffsetSpec.earliest())).isEqualTo(4);
        assertThat(offset(tp, OffsetSpec.latest())).isEqualTo(10);

        // -1 means "up to the high watermark".
        low = node.admin().deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(-1)))
                .lowWatermarks().get(tp).get(T, TimeUnit.SECONDS).lowWatermark();
        assertThat(low).isEqualTo(10);
        assertThat(offset(tp, OffsetSpec.earliest())).isEqualTo(10);
    }

    @Test
    void deletedTopicDisappears() throws Exception {
        String topic = RunnelNode.uniqueName("admin-delete");
        node.createTopic(topic, 2);
        node.admin().deleteTopics(List.of(topic)).all().get(T, TimeUnit.SECONDS);
        Await.until("topic gone from listTopics",
                () -> !node.admin().listTopics().names().get().contains(topic));
        assertThatThrownBy(() -> describe(topic))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
        assertThatThrownBy(() -> node.admin().deleteTopics(List.of(topic)).all().get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
    }

    @Test
    void creatingAnExistingTopicFails() throws Exception {
        String topic = RunnelNode.uniqueName("admin-exists");
        node.createTopic(topic, 1);
        assertThatThrownBy(() -> node.admin().createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
                .all().get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TopicExistsException.class);
    }

    @Test
    void invalidTopicNamesAreRefused() {
        for (String name : List.of("bad name", "bad/name", "..", "x".repeat(250))) {
            assertThatThrownBy(() -> node.admin().createTopics(List.of(new NewTopic(name, 1, (short) 1)))
                    .all().get(T, TimeUnit.SECONDS))
                    .as(name)
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidTopicException.class);
        }
    }

    @Test
    void describingAnUnknownTopicFails() {
        String topic = RunnelNode.uniqueName("admin-unknown");
        assertThatThrownBy(() -> describe(topic))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
        // Describing must not auto-create it.
        assertThatThrownBy(() -> describe(topic))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
    }

    @Test
    void describeClusterNamesLiveNodesAndAController() throws Exception {
        DescribeClusterResult cluster = node.admin().describeCluster();
        Collection<Node> nodes = cluster.nodes().get(T, TimeUnit.SECONDS);
        assertThat(nodes).isNotEmpty().allSatisfy(n -> {
            assertThat(n.id()).isNotNegative();
            assertThat(n.host()).isNotBlank();
            assertThat(n.port()).isPositive();
        });
        assertThat(cluster.clusterId().get(T, TimeUnit.SECONDS)).isNotBlank();
        assertThat(nodes).contains(cluster.controller().get(T, TimeUnit.SECONDS));
        String bootstrapPort = node.bootstrapServers().substring(node.bootstrapServers().lastIndexOf(':') + 1);
        assertThat(nodes).extracting(n -> String.valueOf(n.port())).contains(bootstrapPort);
    }

    private static TopicDescription describe(String topic) throws Exception {
        return node.admin().describeTopics(Set.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS).get(topic);
    }

    private static Config topicConfig(String topic) throws Exception {
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return node.admin().describeConfigs(List.of(res)).all().get(T, TimeUnit.SECONDS).get(res);
    }

    private static long offset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return node.admin().listOffsets(Map.of(tp, spec)).partitionResult(tp).get(T, TimeUnit.SECONDS).offset();
    }
}
