package io.runnel.metadata;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiFunction;
import java.util.function.LongFunction;
import java.util.function.UnaryOperator;

import io.runnel.cluster.StaleConfigsException;
import io.runnel.cluster.TopicInfo;
import io.runnel.config.BrokerConfig;
import io.runnel.config.DynamicBrokerConfigs;
import io.runnel.config.TopicConfigs;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;

/**
 * Topics as the metadata image holds them, and their changes as records proposed to the metadata quorum:
 * a change is answered once a majority of voters has it and this broker has applied it (so a client reads
 * its own writes here) and acted on it, or a short grace after that (see {@link #propose}).
 *
 * <p>Threading: reads from any thread; futures complete on the caller's context.
 */
public final class TopicManager {

    private static final int CONFIG_CHANGE_ATTEMPTS = 10;

    private final BrokerConfig config;
    private final MetadataQuorum quorum;
    private final MetadataImage image;
    private final LongFunction<CompletableFuture<Void>> published;

    /**
     * @param published completes once this broker has acted on the metadata log up to an offset (partitions
     *                  opened or removed), see {@code BrokerMetadataPublisher}
     */
    public TopicManager(BrokerConfig config, MetadataQuorum quorum, LongFunction<CompletableFuture<Void>> published) {
        this.config = config;
        this.quorum = quorum;
        this.image = quorum.stateMachine().image();
        this.published = published;
    }

    public TopicInfo topic(String name) {
        MetadataImage.TopicImage t = image.topic(name);
        return t == null ? null : t.info();
    }

    public TopicInfo topic(Uuid id) {
        MetadataImage.TopicImage t = image.topic(id);
        return t == null ? null : t.info();
    }

    public Collection<TopicInfo> topics() {
        List<TopicInfo> out = new ArrayList<>();
        image.topics().forEach(t -> out.add(t.info()));
        return out;
    }

    /**
     * Completes once this broker knows every topic the quorum's leader knew when asked: what a broker
     * waits for before it answers that a topic does not exist.
     */
    public Future<Void> catchUp() {
        return MetadataFutures.on(Vertx.currentContext(), quorum.barrier());
    }

    /** Creates a topic. {@code partitions} or {@code replicationFactor} of -1 take the broker defaults. */
    public Future<TopicInfo> create(String name, int partitionCount, short replicationFactor,
                                    Map<String, String> configs, boolean validateOnly) {
        int n = partitionCount == -1 ? config.getInt(BrokerConfig.NUM_PARTITIONS) : partitionCount;
        short rf = replicationFactor == -1 ? config.getShort(BrokerConfig.DEFAULT_REPLICATION_FACTOR) : replicationFactor;
        try {
            Topic.validate(name);
            if (image.topic(name) != null) {
                throw new TopicExistsException("Topic '" + name + "' already exists.");
            }
            if (n <= 0) {
                throw new InvalidPartitionsException("Number of partitions must be larger than 0.");
            }
            if (rf <= 0) {
                throw new InvalidReplicationFactorException("Replication factor must be larger than 0.");
            }
            TopicConfigs.validate(configs);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        if (validateOnly) {
            int live = image.unfencedBrokers().size();
            if (rf > live) {
                return Future.failedFuture(new InvalidReplicationFactorException("Unable to replicate the partition "
                        + rf + " time(s): The target replication factor of " + rf + " cannot be reached because only "
                        + live + " broker(s) are registered."));
            }
            return Future.succeededFuture(new TopicInfo(name, Uuid.randomUuid(), n, rf, Map.copyOf(configs)));
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return propose(MetadataRecords.createTopic(name, Uuid.randomUuid(), n, rf, configs, random.nextInt(1 << 16),
                random.nextInt(1 << 16))).map(MetadataImage::topicFromReply);
    }

    /** Creates a topic with the broker defaults unless it exists (auto-creation); either way returns it. */
    public Future<TopicInfo> autoCreate(String name) {
        TopicInfo existing = topic(name);
        if (existing != null) {
            return Future.succeededFuture(existing);
        }
        return create(name, -1, (short) -1, Map.of(), false).recover(t -> t instanceof TopicExistsException
                && topic(name) != null ? Future.succeededFuture(topic(name)) : Future.failedFuture(t));
    }

    public Future<Void> delete(String name) {
        if (!config.getBoolean(BrokerConfig.DELETE_TOPIC_ENABLE)) {
            return Future.failedFuture(new TopicDeletionDisabledException("Topic deletion is disabled."));
        }
        if (image.topic(name) == null) {
            return Future.failedFuture(new UnknownTopicOrPartitionException("This server does not host this topic-partition."));
        }
        return propose(MetadataRecords.deleteTopic(name)).mapEmpty();
    }

    public Future<TopicInfo> createPartitions(String name, int newTotal, boolean validateOnly) {
        TopicInfo t = topic(name);
        if (t == null) {
            return Future.failedFuture(new UnknownTopicOrPartitionException("The topic '" + name + "' does not exist."));
        }
        if (newTotal < t.partitions()) {
            return Future.failedFuture(new InvalidPartitionsException("Topic currently has " + t.partitions()
                    + " partitions, which is higher than the requested " + newTotal + "."));
        }
        if (newTotal == t.partitions()) {
            return Future.failedFuture(new InvalidPartitionsException("Topic already has " + t.partitions() + " partitions."));
        }
        if (validateOnly) {
            return Future.succeededFuture(t.withPartitions(newTotal));
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return propose(MetadataRecords.createPartitions(name, newTotal, random.nextInt(1 << 16), random.nextInt(1 << 16)))
                .map(MetadataImage::topicFromReply);
    }

    /** Replaces the topic's overrides by {@code newConfigs} (already merged by the caller). */
    public Future<TopicInfo> replaceConfigs(String name, Map<String, String> newConfigs, boolean validateOnly) {
        return alterConfigs(name, old -> new HashMap<>(newConfigs), validateOnly);
    }

    /**
     * Applies {@code change} to the topic's current overrides (a mutable copy). The record is applied only
     * over the overrides the change was computed from, so two concurrent incremental changes through
     * different brokers never lose each other's updates: a stale one is computed again from the current
     * overrides ({@value #CONFIG_CHANGE_ATTEMPTS} attempts).
     */
    public Future<TopicInfo> alterConfigs(String name, UnaryOperator<Map<String, String>> change, boolean validateOnly) {
        TopicInfo t = topic(name);
        if (t == null) {
            return Future.failedFuture(new UnknownTopicOrPartitionException("The topic '" + name + "' does not exist."));
        }
        Map<String, String> next;
        try {
            next = TopicConfigs.validate(change.apply(new HashMap<>(t.configs())));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        if (validateOnly) {
            return Future.succeededFuture(t.withConfigs(next));
        }
        return compareAndSet("topic " + name, change, TopicConfigs::validate,
                (expected, configs) -> MetadataRecords.alterConfigs(name, expected, configs), t.configs(), next, 1)
                .map(MetadataImage::topicFromReply);
    }

    /** The dynamic configs of a BROKER resource ("" for the cluster default, else a node id). */
    public Map<String, String> brokerConfigs(String resource) {
        return image.brokerConfigs(resource);
    }

    /**
     * Applies {@code change} to a BROKER resource's dynamic configs (a mutable copy), over the configs it was
     * computed from, as {@link #alterConfigs} does for a topic.
     */
    public Future<Map<String, String>> alterBrokerConfigs(String resource, UnaryOperator<Map<String, String>> change,
                                                          boolean validateOnly) {
        Map<String, String> current = image.brokerConfigs(resource);
        Map<String, String> next;
        try {
            next = DynamicBrokerConfigs.validate(change.apply(new HashMap<>(current)));
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        if (validateOnly) {
            return Future.succeededFuture(next);
        }
        String what = resource.isEmpty() ? "the cluster default" : "broker " + resource;
        return compareAndSet(what, change, DynamicBrokerConfigs::validate,
                (expected, configs) -> MetadataRecords.alterBrokerConfigs(resource, expected, configs), current, next, 1)
                .map(reply -> MetadataRecords.strings(reply.getJsonObject("configs")));
    }

    /**
     * Proposes {@code configs} over {@code expected}; when the log holds other configs by then (a concurrent
     * change through another broker), computes the change again from those, up to
     * {@value #CONFIG_CHANGE_ATTEMPTS} attempts, so that no change loses another's update.
     */
    private Future<JsonObject> compareAndSet(String what, UnaryOperator<Map<String, String>> change,
                                             UnaryOperator<Map<String, String>> validate,
                                             BiFunction<Map<String, String>, Map<String, String>, JsonObject> record,
                                             Map<String, String> expected, Map<String, String> configs, int attempt) {
        return propose(record.apply(expected, configs)).recover(t -> {
            if (!(t instanceof StaleConfigsException stale)) {
                return Future.failedFuture(t);
            }
            if (attempt >= CONFIG_CHANGE_ATTEMPTS) {
                return Future.failedFuture(new InvalidUpdateVersionException("The configs of " + what
                        + " changed concurrently " + attempt + " times; try again"));
            }
            Map<String, String> next;
            try {
                next = validate.apply(change.apply(new HashMap<>(stale.current())));
            } catch (RuntimeException e) {
                return Future.failedFuture(e);
            }
            return compareAndSet(what, change, validate, record, stale.current(), next, attempt + 1);
        });
    }

    /**
     * Proposes a record; completes (on the caller's context) once this broker has applied it and acted on it
     * (its partition logs opened or removed), or {@value #PUBLISH_GRACE_MS} ms after applying it, whichever
     * comes first. A small topic is then produceable here as soon as it is created; the logs of a topic of
     * thousands of partitions keep opening after the answer (a produce meanwhile gets the retriable
     * NOT_LEADER_OR_FOLLOWER), as in Kafka, whose brokers create logs after the metadata shows the topic.
     */
    private Future<JsonObject> propose(JsonObject record) {
        return MetadataFutures.on(Vertx.currentContext(), quorum.propose(record)
                .thenCompose(reply -> published.apply(reply.getLong(MetadataQuorum.LOG_INDEX))
                        .completeOnTimeout(null, PUBLISH_GRACE_MS, java.util.concurrent.TimeUnit.MILLISECONDS)
                        .thenApply(v -> reply)));
    }

    static final long PUBLISH_GRACE_MS = 250;
}
