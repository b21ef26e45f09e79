package io.runnel.metadata;

import java.util.Map;
import java.util.function.IntSupplier;

import io.runnel.cluster.TopicInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An internal topic a coordinator keeps its state in ({@code __consumer_offsets}, {@code __transaction_state}), as
 * Kafka creates them: its configured partitions, its configured replication factor capped at the size of the
 * cluster (the larger of the voter count and the registered brokers, so 1 on a single node), the overrides the
 * subclass gives. Created when a client first looks for a coordinator, as in Kafka; a cluster member also checks in
 * the background ({@value #CHECK_INTERVAL_MS} ms) so that it exists before then. Creation fails, and is tried again,
 * while fewer brokers than its replication factor are alive, as in Kafka.
 *
 * <p>Threading: any thread; futures complete where {@link TopicManager} completes them.
 */
public abstract class InternalTopic {

    private static final Logger LOG = LoggerFactory.getLogger(InternalTopic.class);
    public static final long CHECK_INTERVAL_MS = 2000;

    private final String name;
    private final TopicManager topics;
    private final int partitions;
    private final short configuredReplicationFactor;
    private final IntSupplier clusterSize;
    private Future<TopicInfo> creating;

    /** @param clusterSize the brokers the cluster has now (1 on a single node); any thread */
    protected InternalTopic(String name, TopicManager topics, int partitions, short replicationFactor,
                            IntSupplier clusterSize) {
        this.name = name;
        this.topics = topics;
        this.partitions = partitions;
        this.configuredReplicationFactor = replicationFactor;
        this.clusterSize = clusterSize;
    }

    /** The configured partition count (the topic keeps the one it was created with: {@link #currentPartitions}). */
    public int partitions() {
        return partitions;
    }

    public short replicationFactor() {
        return (short) Math.max(1, Math.min(configuredReplicationFactor, clusterSize.getAsInt()));
    }

    /** The topic's config overrides. */
    public abstract Map<String, String> configs();

    /** Whether the topic exists as this broker knows it. Any thread. */
    public boolean exists() {
        return topics.topic(name) != null;
    }

    /**
     * Whether the topic exists; if not, starts creating it (what a search for a coordinator does in Kafka) and
     * answers false: the caller reports the coordinator unavailable and the client retries.
     */
    public boolean existsOrCreate() {
        if (exists()) {
            return true;
        }
        ensure().onFailure(t -> LOG.debug("Creating {} failed: {}", name, t.toString()));
        return false;
    }

    /**
     * The partitions keys (groups, transactional ids) map onto: those of the existing topic, as in Kafka, so that
     * changing the setting later moves no key away from its state; the setting until the topic exists. Any thread.
     */
    public int currentPartitions() {
        TopicInfo t = topics.topic(name);
        return t != null && t.partitions() > 0 ? t.partitions() : partitions;
    }

    /**
     * Creates the topic unless it exists; one attempt at a time (callers asking meanwhile share it). Fails while it
     * cannot be created (no controller, too few live brokers).
     */
    public synchronized Future<TopicInfo> ensure() {
        TopicInfo existing = topics.topic(name);
        if (existing != null) {
            return Future.succeededFuture(existing);
        }
        if (creating != null) {
            return creating;
        }
        Future<TopicInfo> attempt = topics.create(name, partitions, replicationFactor(), configs(), false)
                .onSuccess(t -> LOG.info("Created {} with {} partitions, replication factor {}", name,
                        t.partitions(), t.replicationFactor()))
                .recover(t -> t instanceof TopicExistsException && topics.topic(name) != null
                        ? Future.succeededFuture(topics.topic(name)) : Future.failedFuture(t));
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
            ensure().onFailure(t -> LOG.debug("{} not created yet: {}", name, t.toString()));
        });
    }
}
