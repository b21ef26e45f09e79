package io.runnel.txn;

import java.util.Map;

import io.runnel.config.BrokerConfig;
import io.runnel.metadata.TopicManager;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.internals.Topic;

/**
 * The internal {@code __transaction_state} topic, as Kafka has it: {@code transaction.state.log.num.partitions}
 * partitions, {@code transaction.state.log.replication.factor} replicas capped at the brokers of the cluster (as
 * {@code __consumer_offsets} is), {@code cleanup.policy=compact}, {@code min.insync.replicas} from
 * {@code transaction.state.log.min.isr} (capped at the replication factor), uncompressed, unclean election off.
 * Created when a client first looks for a transaction coordinator (FindCoordinator), as in Kafka; a cluster member
 * also checks in the background so that it exists before then.
 *
 * <p>Threading: any thread.
 */
public final class TransactionStateTopic extends io.runnel.metadata.InternalTopic {

    public static final String NAME = Topic.TRANSACTION_STATE_TOPIC_NAME;

    private final int minIsr;
    private final int segmentBytes;

    public TransactionStateTopic(BrokerConfig config, TopicManager topics, java.util.function.IntSupplier clusterSize) {
        super(NAME, topics, config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_NUM_PARTITIONS),
                config.getShort(BrokerConfig.TRANSACTION_STATE_LOG_REPLICATION_FACTOR), clusterSize);
        this.minIsr = config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_MIN_ISR);
        this.segmentBytes = config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_SEGMENT_BYTES);
    }

    @Override
    public Map<String, String> configs() {
        return Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.COMPRESSION_TYPE_CONFIG, "uncompressed",
                TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG, "false",
                TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(Math.min(minIsr, replicationFactor())),
                TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(segmentBytes));
    }
}
