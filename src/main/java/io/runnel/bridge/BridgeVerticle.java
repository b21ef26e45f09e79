package io.runnel.bridge;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import io.runnel.cluster.ClusterManagerFactory;
import io.runnel.cluster.ClusterView;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.group.GroupCoordinator;
import io.runnel.log.LogAppendResult;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidRequiredAcksException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the event-bus addresses (see {@code package-info.java}) to Vert.x applications on this node or,
 * with {@code cluster.enabled}, anywhere in the Hazelcast cluster. Records produced here go through the
 * same partition owners, validation and logs as a Kafka producer's; subscriptions are consumer-group
 * members through the same coordinator as Kafka consumers ({@link BridgeSubscription}), routed to the
 * group's coordinator by {@link BridgeSubscriptions}, and read partitions on their leaders through the
 * per-node read address ({@link BridgeReads}) this verticle serves on every broker.
 *
 * <p>Threading: one event-loop context (this verticle's). Every handler and every subscription runs on
 * it; results from partition owners and the group coordinator are hopped back onto it. Cluster
 * membership events arrive on Hazelcast threads and are handed to this context before anything else.
 */
public final class BridgeVerticle extends VerticleBase {

    private static final Logger LOG = LoggerFactory.getLogger(BridgeVerticle.class);

    private final BrokerConfig config;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final GroupCoordinator groups;
    private final OffsetsTopic offsetsTopic;
    private final String prefix;
    private final ClusterView cluster;
    private BridgeSubscriptions subscriptions;
    private final Map<String, AtomicInteger> roundRobin = new ConcurrentHashMap<>();
    private final List<MessageConsumer<?>> consumers = new ArrayList<>();
    private Runnable memberListener = () -> {
    };

    /** @param cluster partition leaders; null when this node hosts every partition itself */
    public BridgeVerticle(BrokerConfig config, TopicManager topics, PartitionManager partitions,
                          GroupCoordinator groups, OffsetsTopic offsetsTopic, ClusterView cluster) {
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.groups = groups;
        this.offsetsTopic = offsetsTopic;
        this.cluster = cluster;
        this.prefix = config.getString(BrokerConfig.BRIDGE_ADDRESS_PREFIX);
    }

    @Override
    public Future<?> start() {
        register(BridgeAddresses.PRODUCE, this::produce);
        register(BridgeAddresses.METADATA, this::metadata);
        subscriptions = new BridgeSubscriptions(vertx, (ContextInternal) context, prefix, config.nodeId(), topics, cluster,
                groups, offsetsTopic, this::resolve);
        subscriptions.register(this::registerAt);
        BridgeReads reads = new BridgeReads(vertx, (ContextInternal) context, partitions);
        registerAt(BridgeAddresses.nodeAddress(prefix, config.nodeId(), BridgeAddresses.READ), reads::serve);
        if (((io.vertx.core.internal.VertxInternal) vertx).isClustered()) {
            // only a clustered node touches the cluster classes (and with them Hazelcast)
            memberListener = ClusterManagerFactory.onMemberRemoved(vertx, context, subscriptions::nodeLeft);
        }
        List<Future<Void>> ready = new ArrayList<>();
        consumers.forEach(c -> ready.add(c.completion()));
        return Future.all(ready);
    }

    @Override
    public Future<?> stop() {
        memberListener.run();
        return subscriptions == null ? Future.succeededFuture() : subscriptions.stop();
    }

    private void register(String name, io.vertx.core.Handler<Message<Object>> handler) {
        registerAt(BridgeAddresses.address(prefix, name), handler);
    }

    private void registerAt(String address, io.vertx.core.Handler<Message<Object>> handler) {
        consumers.add(vertx.eventBus().consumer(address, msg -> {
            try {
                handler.handle(msg);
            } catch (RuntimeException e) {
                fail(msg, e);
            }
        }));
    }

    // ---- produce ----

    private void produce(Message<Object> msg) {
        var h = msg.headers();
        String topic = h.get(BridgeAddresses.H_TOPIC);
        if (topic == null || topic.isEmpty()) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_TOPIC + "' is required");
        }
        Long partitionHeader = BridgeMessages.longHeader(h, BridgeAddresses.H_PARTITION);
        byte[] key = BridgeMessages.decodeBytes(BridgeAddresses.H_KEY, h.get(BridgeAddresses.H_KEY));
        Long timestampHeader = BridgeMessages.longHeader(h, BridgeAddresses.H_TIMESTAMP);
        if (timestampHeader != null && timestampHeader < 0) {
            throw BridgeException.invalid("header '" + BridgeAddresses.H_TIMESTAMP + "' must not be negative");
        }
        List<Header> headers = BridgeMessages.decodeHeaders(h.get(BridgeAddresses.H_HEADERS));
        Long acksHeader = BridgeMessages.longHeader(h, BridgeAddresses.H_ACKS);
        short acks = acksHeader == null ? -1 : acksHeader.shortValue();
        if (acksHeader != null && acks != -1 && acks != 1) {
            throw new InvalidRequiredAcksException("acks must be -1 (all) or 1 (leader), got " + acksHeader);
        }
        byte[] value = BridgeMessages.valueOf(msg.body());
        long timestamp = timestampHeader == null ? System.currentTimeMillis() : timestampHeader;
        Future<JsonObject> result = resolve(topic).compose(t -> {
            int partition = partitionFor(t, partitionHeader, key);
            TopicPartition tp = new TopicPartition(t.name(), partition);
            PartitionOwner owner = partitions.get(tp);
            if (owner == null) {
                return Future.failedFuture(new NotLeaderOrFollowerException("partition " + tp + " is not hosted here"));
            }
            RecordSet records = RecordSet.of(
                    new RecordSet.NewRecord(timestamp, key, value, headers.toArray(new Header[0])));
            return owner.append(records, acks).map(r -> produced(tp, r, timestamp));
        });
        here(result).onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(ar.result());
            } else {
                fail(msg, ar.cause());
            }
        });
    }

    private static JsonObject produced(TopicPartition tp, LogAppendResult r, long timestamp) {
        return new JsonObject().put("topic", tp.topic()).put("partition", tp.partition())
                .put("offset", r.firstOffset()).put("timestamp", r.logAppendTime() >= 0 ? r.logAppendTime() : timestamp);
    }

    /** Kafka's default partitioner: murmur2 of the key, else spread over the partitions in turn. */
    private int partitionFor(TopicInfo t, Long requested, byte[] key) {
        if (requested != null) {
            if (requested < 0 || requested >= t.partitions()) {
                throw new UnknownTopicOrPartitionException("topic '" + t.name() + "' has " + t.partitions()
                        + " partition(s); partition " + requested + " does not exist");
            }
            return requested.intValue();
        }
        if (key != null) {
            return Utils.toPositive(Utils.murmur2(key)) % t.partitions();
        }
        int next = roundRobin.computeIfAbsent(t.name(), n -> new AtomicInteger()).getAndIncrement();
        return Utils.toPositive(next) % t.partitions();
    }

    /** The topic, auto-created when allowed, else UNKNOWN_TOPIC_OR_PARTITION naming it. */
    private Future<TopicInfo> resolve(String name) {
        TopicInfo t = topics.topic(name);
        if (t != null) {
            return Future.succeededFuture(t);
        }
        try {
            Topic.validate(name);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        if (!config.getBoolean(BrokerConfig.AUTO_CREATE_TOPICS_ENABLE) || Topic.isInternal(name)) {
            return Future.failedFuture(new UnknownTopicOrPartitionException("topic '" + name
                    + "' does not exist and auto.create.topics.enable is false"));
        }
        return topics.autoCreate(name);
    }

    // ---- metadata ----

    private void metadata(Message<Object> msg) {
        JsonObject body = msg.body() == null ? new JsonObject() : json(msg);
        JsonArray requested = body.getValue("topics") instanceof JsonArray a ? a : null;
        if (body.containsKey("topics") && requested == null && body.getValue("topics") != null) {
            throw BridgeException.invalid("'topics' must be an array of topic names");
        }
        List<String> names = new ArrayList<>();
        if (requested == null) {
            topics.topics().forEach(t -> {
                if (!Topic.isInternal(t.name())) {
                    names.add(t.name());
                }
            });
            names.sort(null);
        } else {
            requested.forEach(o -> names.add(String.valueOf(o)));
        }
        JsonArray out = new JsonArray();
        for (String name : names) {
            TopicInfo t = topics.topic(name);
            JsonObject entry = new JsonObject().put("name", name);
            if (t == null) {
                Errors e = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                out.add(entry.put("errorCode", e.code()).put("error", e.name()));
                continue;
            }
            JsonArray parts = new JsonArray();
            for (int p = 0; p < t.partitions(); p++) {
                PartitionOwner o = partitions.get(new TopicPartition(name, p));
                JsonObject pj = new JsonObject().put("partition", p).put("leader", config.nodeId());
                if (o != null) {
                    pj.put("leaderEpoch", o.leaderEpoch()).put("logStartOffset", o.log().logStartOffset())
                            .put("highWatermark", o.highWatermark());
                }
                parts.add(pj);
            }
            out.add(entry.put("errorCode", 0).put("topicId", t.id().toString())
                    .put("replicationFactor", (int) t.replicationFactor()).put("partitions", parts));
        }
        msg.reply(new JsonObject().put("clusterId", config.clusterId()).put("nodeId", config.nodeId())
                .put("topics", out));
    }

    // ---- helpers ----

    static JsonObject json(Message<Object> msg) {
        Object body = msg.body();
        if (body instanceof JsonObject j) {
            return j;
        }
        if (body instanceof String s) {
            try {
                return new JsonObject(s);
            } catch (RuntimeException e) {
                throw BridgeException.invalid("the body is not a JSON object: " + e.getMessage());
            }
        }
        if (body instanceof io.vertx.core.buffer.Buffer b) {
            try {
                return new JsonObject(b);
            } catch (RuntimeException e) {
                throw BridgeException.invalid("the body is not a JSON object: " + e.getMessage());
            }
        }
        throw BridgeException.invalid("the body must be a JSON object, not "
                + (body == null ? "null" : body.getClass().getSimpleName()));
    }

    static void fail(Message<Object> msg, Throwable t) {
        Errors error = BridgeException.errorOf(t);
        if (error == Errors.UNKNOWN_SERVER_ERROR) {
            LOG.error("Bridge request to {} failed unexpectedly", msg.address(), t);
        }
        msg.fail(error.code(), BridgeException.message(error, t));
    }

    private <T> Future<T> here(Future<T> f) {
        Promise<T> promise = ((ContextInternal) context).promise();
        f.onComplete(promise);
        return promise.future();
    }
}
