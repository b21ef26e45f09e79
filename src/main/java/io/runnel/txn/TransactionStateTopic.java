package io.runnel.txn;

import java.util.Map;

import io.runnel.cluster.TopicInfo;
import io.runnel.config.BrokerConfig;
import io.runnel.metadata.TopicManager;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.internals.Topic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
public final class TransactionStateTopic {

    private static final Logger LOG = LoggerFactory.getLogger(TransactionStateTopic.class);
    public static final String NAME = Topic.TRANSACTION_STATE_TOPIC_NAME;
    static final long CHECK_INTERVAL_MS = 2000;

    private final TopicManager topics;
    private final int partitions;
    private final short configuredReplicationFactor;
    private final int minIsr;
    private final int segmentBytes;
    private final java.util.function.IntSupplier clusterSize;
    private Future<TopicInfo> creating;

    public TransactionStateTopic(BrokerConfig config, TopicManager topics, java.util.function.IntSupplier clusterSize) {
        this.topics = topics;
        this.partitions = config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_NUM_PARTITIONS);
        this.configuredReplicationFactor = config.getShort(BrokerConfig.TRANSACTION_STATE_LOG_REPLICATION_FACTOR);
        this.minIsr = config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_MIN_ISR);
        this.segmentBytes = config.getInt(BrokerConfig.TRANSACTION_STATE_LOG_SEGMENT_BYTES);
        this.clusterSize = clusterSize;
    }

    public short replicationFactor() {
        return (short) Math.max(1, Math.min(configuredReplicationFactor, clusterSize.getAsInt()));
    }

    public Map<String, String> configs() {
        return Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.COMPRESSION_TYPE_CONFIG, "uncompressed",
                TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG, "false",
                TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(Math.min(minIsr, replicationFactor())),
                TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(segmentBytes));
    }

    public boolean exists() {
        return topics.topic(NAME) != null;
    }

    /** Whether the topic exists; if not, starts creating it and answers false (the client retries). */
    public boolean existsOrCreate() {
        if (exists()) {
            return true;
        }
        ensure().onFailure(t -> LOG.debug("Creating {} failed: {}", NAME, t.toString()));
        return false;
    }

    /** The partitions transactional ids map onto: those of the existing topic, else the setting. Any thread. */
    public int currentPartitions() {
        TopicInfo t = topics.topic(NAME);
        return t != null && t.partitions() > 0 ? t.partitions() : partitions;
    }

    public synchronized Future<TopicInfo> ensure() {
        TopicInfo existing = topics.topic(NAME);
        if (existing != null) {
            return Future.succeededFuture(existing);
        }
        if (creating != null) {
            return creating;
        }
        Future<TopicInfo> attempt = topics.create(NAME, partitions, replicationFactor(), configs(), false)
                .onSuccess(t -> LOG.info("Created {} with {} partitions, replication factor {}", NAME,
                        t.partitions(), t.replicationFactor()))
                .recover(t -> t instanceof TopicExistsException && topics.topic(NAME) != null
                        ? Future.succeededFuture(topics.topic(NAME)) : Future.failedFuture(t));
        creating = attempt;
        attempt.onComplete(ar -> {
            synchronized (this) {
                creating = null;
            }
        });
        return attempt;
    }

    /** Keeps trying to create the topic until it exists (a cluster member). */
    public void checkInBackground(Vertx vertx) {
        vertx.setPeriodic(1, CHECK_INTERVAL_MS, id -> {
            if (exists()) {
                vertx.cancelTimer(id);
                return;
            }
            ensure().onFailure(t -> LOG.debug("{} not created yet: {}", NAME, t.toString()));
        });
    }
}
