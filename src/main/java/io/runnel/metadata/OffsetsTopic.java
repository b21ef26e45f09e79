package io.runnel.metadata;

import java.util.Map;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.internals.Topic;

/**
 * The internal {@code __consumer_offsets} topic, an ordinary replicated topic as in Kafka:
 * {@code offsets.topic.num.partitions} partitions, {@code offsets.topic.replication.factor} replicas
 * (capped at the size of the cluster: the larger of the voter count and the registered brokers, so 1 on
 * a single node), {@code cleanup.policy=compact} and
 * {@code min.insync.replicas=min(2, replication factor)}. It is created when a client first looks for a
 * coordinator, as in Kafka (a single node adopts the {@code __consumer_offsets-N} directories an older
 * version wrote then); a cluster member also checks in the background, so
 * that it exists before then. Creation fails, and is tried again, while fewer brokers than its replication
 * factor are alive, as in Kafka.
 *
 * <p>Threading: any thread; futures complete where {@link TopicManager} completes them.
 */
public final class OffsetsTopic extends InternalTopic {

    public static final String NAME = Topic.GROUP_METADATA_TOPIC_NAME;

    private final int segmentBytes;

    /** @param clusterSize the brokers the cluster has now (1 on a single node); any thread */
    public OffsetsTopic(BrokerConfig config, TopicManager topics, java.util.function.IntSupplier clusterSize) {
        super(NAME, topics, config.getInt(BrokerConfig.OFFSETS_TOPIC_NUM_PARTITIONS),
                config.getShort(BrokerConfig.OFFSETS_TOPIC_REPLICATION_FACTOR), clusterSize);
        this.segmentBytes = config.getInt(BrokerConfig.OFFSETS_TOPIC_SEGMENT_BYTES);
    }

    @Override
    public Map<String, String> configs() {
        return Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(Math.min(2, replicationFactor())),
                TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(segmentBytes));
    }
}
