package io.runnel.metadata;

import java.util.Map;

import io.runnel.cluster.TopicInfo;
import io.runnel.config.BrokerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.internals.Topic;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The internal {@code __consumer_offsets} topic, an ordinary replicated topic as in Kafka:
 * {@code offsets.topic.num.partitions} partitions, {@code offsets.topic.replication.factor} replicas
 * (capped at the size of the cluster: the larger of the voter count and the registered brokers, so 1 on
 * a single node), {@code cleanup.policy=compact} and
 * {@code min.insync.replicas=min(2, replication factor)}. It is created when a client first looks for a
 * coordinator, as in Kafka (a single node adopts the {@code __consumer_offsets-N} directories an older
 * version wrote then); a cluster member also checks in the background ({@value #CHECK_INTERVAL_MS} ms), so
 * that it exists before then. Creation fails, and is tried again, while fewer brokers than its replication
 * factor are alive, as in Kafka.
 *
 * <p>Threading: any thread; futures complete where {@link TopicManager} completes them.
 */
public final class OffsetsTopic {

    private static final Logger LOG = LoggerFactory.getLogger(OffsetsTopic.class);
    public static final String NAME = Topic.GROUP_METADATA_TOPIC_NAME;
    static final long CHECK_INTERVAL_MS = 2000;

    private final TopicManager topics;
    private final int partitions;
    private final short configuredReplicationFactor;
    private final int segmentBytes;
    private final java.util.function.IntSupplier clusterSize;
    private Future<TopicInfo> creating;

    /** @param clusterSize the brokers the cluster has now (1 on a single node); any thread */
    public OffsetsTopic(BrokerConfig config, TopicManager topics, java.util.function.IntSupplier clusterSize) {
        this.topics = topics;
        this.partitions = config.getInt(BrokerConfig.OFFSETS_TOPIC_NUM_PARTITIONS);
        this.configuredReplicationFactor = config.getShort(BrokerConfig.OFFSETS_TOPIC_REPLICATION_FACTOR);
        this.segmentBytes = config.getInt(BrokerConfig.OFFSETS_TOPIC_SEGMENT_BYTES);
        this.clusterSize = clusterSize;
    }

    public int partitions() {
        return partitions;
    }

    public short replicationFactor() {
        return (short) Math.max(1, Math.min(configuredReplicationFactor, clusterSize.getAsInt()));
    }

    /** The topic's config overrides. */
    public Map<String, String> configs() {
        return Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(Math.min(2, replicationFactor())),
                TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(segmentBytes));
    }

    /** Whether the topic exists as this broker knows it. Any thread. */
    public boolean exists() {
        return topics.topic(NAME) != null;
    }

    /**
     * Whether the topic exists; if not, starts creating it (what a search for a coordinator does in
     * Kafka) and answers false: the caller reports the coordinator unavailable and the client retries.
     */
    public boolean existsOrCreate() {
        if (exists()) {
            return true;
        }
        ensure().onFailure(t -> LOG.debug("Creating {} failed: {}", NAME, t.toString()));
        return false;
    }

    /**
     * The partitions groups map onto: those of the existing topic, as in Kafka, so that changing
     * {@code offsets.topic.num.partitions} later moves no group away from its offsets; the setting until
     * the topic exists. Any thread.
     */
    public int currentPartitions() {
        TopicInfo t = topics.topic(NAME);
        return t != null && t.partitions() > 0 ? t.partitions() : partitions;
    }

    /**
     * Creates the topic unless it exists; one attempt at a time (callers asking meanwhile share it).
     * Fails while it cannot be created (no controller, too few live brokers).
     */
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
        // first at once (1 ms): the brokers needed for its replication factor are most likely all there at start
        vertx.setPeriodic(1, CHECK_INTERVAL_MS, id -> {
            if (exists()) {
                vertx.cancelTimer(id);
                return;
            }
            ensure().onFailure(t -> LOG.debug("{} not created yet: {}", NAME, t.toString()));
        });
    }
}
