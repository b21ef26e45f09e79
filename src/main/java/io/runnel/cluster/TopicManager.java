package io.runnel.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.runnel.config.BrokerConfig;
import io.runnel.config.TopicConfigs;
import io.runnel.partition.PartitionManager;
import io.vertx.core.Context;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;

/**
 * Creates, changes and deletes topics: the metadata image (persisted) plus the hosted partition logs.
 * On a single node every partition is hosted here with this node as its only replica; the controller
 * of a cluster takes this role later.
 *
 * <p>Threading: lookups from any thread. Mutations run one at a time on the metadata worker context;
 * their futures complete there.
 */
public final class TopicManager {

    private final BrokerConfig config;
    private final MetadataStore store;
    private final PartitionManager partitions;
    private final Context metaContext;
    private final int liveBrokers = 1;

    /**
     * Topic changes in a cluster: carried out by the controller, which every broker then hears about
     * through {@link #applyClusterTopic} / {@link #removeClusterTopic}. Futures may complete on any thread.
     */
    public interface ClusterOps {
        Future<TopicInfo> create(String name, int partitions, short replicationFactor, Map<String, String> configs);

        Future<Void> delete(String name);

        Future<TopicInfo> createPartitions(String name, int newTotal);

        /**
         * Replaces the topic's overrides with {@code configs} (already merged and validated) if they are
         * still {@code expected}; fails with {@link StaleConfigsException} naming the current ones if not.
         */
        Future<TopicInfo> alterConfigs(String name, Map<String, String> expected, Map<String, String> configs);
    }

    private volatile ClusterOps cluster;

    /** Switches topic changes to the controller; partitions then open as their states arrive. */
    public void clusterMode(ClusterOps ops) {
        this.cluster = ops;
    }

    /** A topic the controller created or changed: recorded here (persisted), configs applied to hosted logs. */
    public Future<Void> applyClusterTopic(TopicInfo t) {
        return onMeta(() -> {
            TopicInfo old = store.get(t.name());
            if (old == null || !old.equals(t)) {
                store.put(t);
            }
            return old;
        }).compose(old -> old != null && !old.configs().equals(t.configs())
                ? partitions.updateConfigs(t.name(), t.configs()) : Future.<Void>succeededFuture());
    }

    /** A topic the controller deleted: forgotten here and its hosted logs removed. */
    public Future<Void> removeClusterTopic(String name) {
        return onMeta(() -> {
            store.remove(name);
            return null;
        }).compose(v -> {
            List<Future<Void>> deletes = new ArrayList<>();
            for (var owner : partitions.all()) {
                if (owner.topicPartition().topic().equals(name)) {
                    deletes.add(partitions.delete(owner.topicPartition()));
                }
            }
            return Future.join(deletes).mapEmpty();
        });
    }

    public TopicManager(BrokerConfig config, MetadataStore store, PartitionManager partitions, Context metaContext) {
        this.config = config;
        this.store = store;
        this.partitions = partitions;
        this.metaContext = metaContext;
    }

    /** Loads the metadata and opens every partition log (recovering them); the result when all are open. */
    public Future<Void> start() {
        return onMeta(() -> {
            store.load();
            return null;
        }).compose(v -> {
            if (cluster != null) {
                // a cluster member opens a partition when its state says it holds a replica
                return Future.succeededFuture();
            }
            List<Future<?>> opens = new ArrayList<>();
            for (TopicInfo t : store.all()) {
                for (int p = 0; p < t.partitions(); p++) {
                    opens.add(partitions.open(new TopicPartition(t.name(), p), t.id(), t.configs()));
                }
            }
            return Future.all(opens).mapEmpty();
        });
    }

    public TopicInfo topic(String name) {
        return store.get(name);
    }

    public TopicInfo topic(Uuid id) {
        return store.byId(id);
    }

    public java.util.Collection<TopicInfo> topics() {
        return store.all();
    }

    /**
     * Creates a topic. {@code partitions} or {@code replicationFactor} of -1 take the broker defaults.
     */
    public Future<TopicInfo> create(String name, int partitionCount, short replicationFactor,
                                    Map<String, String> configs, boolean validateOnly) {
        return onMeta(() -> {
            Topic.validate(name);
            if (store.get(name) != null) {
                throw new TopicExistsException("Topic '" + name + "' already exists.");
            }
            int n = partitionCount == -1 ? config.getInt(BrokerConfig.NUM_PARTITIONS) : partitionCount;
            short rf = replicationFactor == -1 ? config.getShort(BrokerConfig.DEFAULT_REPLICATION_FACTOR)
                    : replicationFactor;
            if (n <= 0) {
                throw new InvalidPartitionsException("Number of partitions must be larger than 0.");
            }
            if (rf <= 0) {
                throw new InvalidReplicationFactorException("Replication factor must be larger than 0.");
            }
            if (cluster == null && rf > liveBrokers) {
                throw new InvalidReplicationFactorException("Unable to replicate the partition " + rf
                        + " time(s): The target replication factor of " + rf
                        + " cannot be reached because only " + liveBrokers + " broker(s) are registered.");
            }
            TopicConfigs.validate(configs);
            TopicInfo t = new TopicInfo(name, Uuid.randomUuid(), n, rf, Map.copyOf(configs));
            if (!validateOnly && cluster == null) {
                store.put(t);
            }
            return t;
        }).compose(t -> {
            if (validateOnly) {
                return Future.succeededFuture(t);
            }
            if (cluster != null) {
                return cluster.create(name, t.partitions(), t.replicationFactor(), t.configs());
            }
            return openAll(t, 0).map(t).recover(err -> forget(t).transform(v -> Future.failedFuture(err)));
        });
    }

    /** Undoes a creation whose logs could not all be opened, so no half-created topic stays behind. */
    private Future<Void> forget(TopicInfo t) {
        return onMeta(() -> {
            store.remove(t.name());
            return null;
        }).compose(v -> deleteLogs(t.name(), t.partitions()));
    }

    /** Creates a topic with the broker defaults unless it exists (auto-creation); either way returns it. */
    public Future<TopicInfo> autoCreate(String name) {
        TopicInfo existing = store.get(name);
        if (existing != null) {
            return Future.succeededFuture(existing);
        }
        return create(name, -1, (short) -1, Map.of(), false).recover(t -> {
            if (t instanceof TopicExistsException) {
                return Future.succeededFuture(store.get(name));
            }
            return Future.failedFuture(t);
        });
    }

    public Future<Void> delete(String name) {
        if (!config.getBoolean(BrokerConfig.DELETE_TOPIC_ENABLE)) {
            return Future.failedFuture(new TopicDeletionDisabledException("Topic deletion is disabled."));
        }
        return onMeta(() -> {
            TopicInfo t = store.get(name);
            if (t == null) {
                throw new UnknownTopicOrPartitionException("This server does not host this topic-partition.");
            }
            if (cluster == null) {
                store.remove(name);
            }
            return t;
        }).compose(t -> {
            if (cluster != null) {
                return cluster.delete(name);
            }
            return deleteLogs(name, t.partitions());
        });
    }

    public Future<TopicInfo> createPartitions(String name, int newTotal, boolean validateOnly) {
        return onMeta(() -> {
            TopicInfo t = store.get(name);
            if (t == null) {
                throw new UnknownTopicOrPartitionException("The topic '" + name + "' does not exist.");
            }
            if (newTotal < t.partitions()) {
                throw new InvalidPartitionsException("Topic currently has " + t.partitions()
                        + " partitions, which is higher than the requested " + newTotal + ".");
            }
            if (newTotal == t.partitions()) {
                throw new InvalidPartitionsException("Topic already has " + t.partitions() + " partitions.");
            }
            TopicInfo updated = t.withPartitions(newTotal);
            if (!validateOnly && cluster == null) {
                store.put(updated);
            }
            return new TopicInfo[] {t, updated};
        }).compose(pair -> {
            if (validateOnly) {
                return Future.succeededFuture(pair[1]);
            }
            if (cluster != null) {
                return cluster.createPartitions(name, newTotal);
            }
            return openAll(pair[1], pair[0].partitions()).map(pair[1]);
        });
    }

    /** Replaces the topic's overrides by {@code newConfigs} (already merged by the caller). */
    public Future<TopicInfo> replaceConfigs(String name, Map<String, String> newConfigs, boolean validateOnly) {
        return alterConfigs(name, old -> new HashMap<>(newConfigs), validateOnly);
    }

    /**
     * Applies {@code change} to the topic's current overrides (a mutable copy) and stores the result, so
     * that concurrent incremental changes (IncrementalAlterConfigs) never lose each other's updates.
     * Standalone, the read, the change and the write happen together on the metadata context. In a
     * cluster this broker's copy of the topic may be behind the controller's, so the controller applies
     * the result only over the overrides it was computed from, and when they changed meanwhile the change
     * is computed again from the controller's current ones ({@value #CONFIG_CHANGE_ATTEMPTS} attempts).
     */
    public Future<TopicInfo> alterConfigs(String name, java.util.function.UnaryOperator<Map<String, String>> change,
                                          boolean validateOnly) {
        return onMeta(() -> {
            TopicInfo t = store.get(name);
            if (t == null) {
                throw new UnknownTopicOrPartitionException("The topic '" + name + "' does not exist.");
            }
            TopicInfo updated = t.withConfigs(changed(t.configs(), change));
            if (!validateOnly && cluster == null) {
                store.put(updated);
            }
            return new TopicInfo[] {t, updated};
        }).compose(pair -> validateOnly ? Future.succeededFuture(pair[1])
                : cluster != null ? alterOnController(name, change, pair[0].configs(), pair[1].configs(), 1)
                : partitions.updateConfigs(name, pair[1].configs()).map(pair[1]));
    }

    private static final int CONFIG_CHANGE_ATTEMPTS = 10;

    private static Map<String, String> changed(Map<String, String> current,
                                               java.util.function.UnaryOperator<Map<String, String>> change) {
        Map<String, String> newConfigs = change.apply(new HashMap<>(current));
        TopicConfigs.validate(newConfigs);
        return newConfigs;
    }

    private Future<TopicInfo> alterOnController(String name, java.util.function.UnaryOperator<Map<String, String>> change,
                                                Map<String, String> expected, Map<String, String> configs, int attempt) {
        return cluster.alterConfigs(name, expected, configs).recover(t -> {
            if (!(t instanceof StaleConfigsException stale)) {
                return Future.failedFuture(t);
            }
            if (attempt >= CONFIG_CHANGE_ATTEMPTS) {
                return Future.failedFuture(new org.apache.kafka.common.errors.InvalidUpdateVersionException(
                        "The configs of topic " + name + " changed concurrently " + attempt + " times; try again"));
            }
            Map<String, String> next;
            try {
                next = changed(stale.current(), change);
            } catch (RuntimeException e) {
                return Future.failedFuture(e);
            }
            return alterOnController(name, change, stale.current(), next, attempt + 1);
        });
    }

    /** Removes the logs of partitions {@code 0..count-1} of a topic hosted here. */
    private Future<Void> deleteLogs(String topic, int count) {
        List<Future<Void>> deletes = new ArrayList<>();
        for (int p = 0; p < count; p++) {
            deletes.add(partitions.delete(new TopicPartition(topic, p)));
        }
        return Future.join(deletes).mapEmpty();
    }

    private Future<Void> openAll(TopicInfo t, int from) {
        List<Future<?>> opens = new ArrayList<>();
        for (int p = from; p < t.partitions(); p++) {
            opens.add(partitions.open(new TopicPartition(t.name(), p), t.id(), t.configs()));
        }
        return Future.all(opens).mapEmpty();
    }

    private <T> Future<T> onMeta(Callable<T> task) {
        return io.runnel.server.OnContext.call(metaContext, task);
    }
}
