package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Dynamic broker configs through the official Admin client, as Kafka's KRaft keeps them: set for the cluster
 * (resource ""), shown by DescribeConfigs with their sources, applied at once to running partitions whose
 * topic has no override of its own, kept in the metadata log across a restart.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DynamicBrokerConfigsIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("log.retention.check.interval.ms", "100")
            .withProperty("log.segment.delete.delay.ms", "0");

    private static final long T = 30;
    private static final ConfigResource CLUSTER = new ConfigResource(ConfigResource.Type.BROKER, "");

    @BeforeEach
    void inProcessOnly() {
        assumeTrue(node.canRestart(), "the restart needs an in-process Runnel node or -Dit.restartCommand");
    }

    private static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
    }

    private Config describe(ConfigResource r) throws Exception {
        return node.admin().describeConfigs(List.of(r)).all().get(T, TimeUnit.SECONDS).get(r);
    }

    private long earliest(TopicPartition tp) throws Exception {
        return node.admin().listOffsets(Map.of(tp, OffsetSpec.earliest())).all().get(T, TimeUnit.SECONDS)
                .get(tp).offset();
    }

    @Test
    void aClusterDefaultIsShownAppliedToRunningTopicsAndKeptAcrossARestart() throws Exception {
        String plain = RunnelNode.uniqueName("dyn-plain");
        String own = RunnelNode.uniqueName("dyn-own");
        // small segments, so that old records fill closed segments that retention may delete
        node.createTopics(new NewTopic(plain, 1, (short) 1).configs(Map.of("segment.bytes", "1024")),
                new NewTopic(own, 1, (short) 1).configs(Map.of("segment.bytes", "1024", "retention.ms", "86400000000")));
        long hourAgo = System.currentTimeMillis() - 3_600_000L;
        try (KafkaProducer<String, String> producer = node.producer()) {
            for (int i = 0; i < 50; i++) {
                for (String topic : List.of(plain, own)) {
                    // one record a batch: a batch fills its segment whatever its size, and the producer would
                    // otherwise put all fifty into one batch in the one (active) segment that retention keeps
                    producer.send(new ProducerRecord<>(topic, 0, hourAgo, "k" + i, "x".repeat(100)))
                            .get(T, TimeUnit.SECONDS);
                }
            }
        }
        TopicPartition plainP = new TopicPartition(plain, 0);
        TopicPartition ownP = new TopicPartition(own, 0);
        assertThat(earliest(plainP)).isZero();

        node.admin().incrementalAlterConfigs(Map.of(CLUSTER, List.of(set("log.retention.ms", "60000"),
                set("min.insync.replicas", "1")))).all().get(T, TimeUnit.SECONDS);

        ConfigEntry clusterRetention = describe(CLUSTER).get("log.retention.ms");
        assertThat(clusterRetention.value()).isEqualTo("60000");
        assertThat(clusterRetention.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        ConfigResource self = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(nodeId()));
        ConfigEntry brokerRetention = describe(self).get("log.retention.ms");
        assertThat(brokerRetention.value()).isEqualTo("60000");
        assertThat(brokerRetention.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        assertThat(brokerRetention.isReadOnly()).isFalse();
        assertThat(describe(self).get("min.insync.replicas").source())
                .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        ConfigEntry topicRetention = describe(new ConfigResource(ConfigResource.Type.TOPIC, plain)).get("retention.ms");
        assertThat(topicRetention.value()).isEqualTo("60000");
        assertThat(topicRetention.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        assertThat(describe(new ConfigResource(ConfigResource.Type.TOPIC, own)).get("retention.ms").source())
                .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);

        // the hour-old records of the topic without an override go; the topic's own retention still wins
        Await.until("retention by the dynamic default", Duration.ofSeconds(30), () -> earliest(plainP) > 0);
        assertThat(earliest(ownP)).isZero();

        node.restart();

        Config after = describe(CLUSTER);
        assertThat(after.get("log.retention.ms").value()).isEqualTo("60000");
        assertThat(after.get("min.insync.replicas").value()).isEqualTo("1");
        assertThat(describe(new ConfigResource(ConfigResource.Type.TOPIC, plain)).get("retention.ms").source())
                .isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);

        node.admin().incrementalAlterConfigs(Map.of(CLUSTER, List.of(
                new AlterConfigOp(new ConfigEntry("log.retention.ms", null), AlterConfigOp.OpType.DELETE),
                new AlterConfigOp(new ConfigEntry("min.insync.replicas", null), AlterConfigOp.OpType.DELETE))))
                .all().get(T, TimeUnit.SECONDS);
        assertThat(describe(CLUSTER).entries()).isEmpty();
    }

    @Test
    void aConfigThatIsNotDynamicIsRefusedWithKafkasMessage() throws Exception {
        ConfigResource self = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(nodeId()));
        assertThatThrownBy(() -> node.admin().incrementalAlterConfigs(Map.of(self, List.of(set("num.partitions", "7"))))
                .all().get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("Cannot update these configs dynamically: Set(num.partitions)");
        assertThat(describe(self).get("num.partitions").isReadOnly()).isTrue();
    }

    private static int nodeId() throws Exception {
        return node.admin().describeCluster().nodes().get(T, TimeUnit.SECONDS).iterator().next().id();
    }
}
