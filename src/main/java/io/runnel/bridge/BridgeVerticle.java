package io.runnel.bridge;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.runnel.cluster.ClusterManagerFactory;
import io.runnel.cluster.ClusterView;
import io.runnel.cluster.ProducerIdManager;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.group.GroupCoordinator;
import io.runnel.partition.PartitionManager;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the event-bus addresses (see {@code package-info.java}) to Vert.x applications on this node or,
 * with {@code cluster.enabled}, anywhere in the Hazelcast cluster. Produce and metadata are
 * {@link BridgeProducer}'s (records go to each partition's leader, through the same partition owners,
 * validation and logs as a Kafka producer's); subscriptions are consumer-group members through the same
 * coordinator as Kafka consumers ({@link BridgeSubscription}).
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
    private final Map<String, BridgeSubscription> subscriptions = new HashMap<>();
    private final ClusterView cluster;
    private final ProducerIdManager producerIds;
    private final List<MessageConsumer<?>> consumers = new ArrayList<>();
    private Runnable memberListener = () -> {
    };

    public BridgeVerticle(BrokerConfig config, TopicManager topics, PartitionManager partitions,
                          GroupCoordinator groups, OffsetsTopic offsetsTopic, ClusterView cluster,
                          ProducerIdManager producerIds) {
        this.config = config;
        this.topics = topics;
        this.partitions = partitions;
        this.groups = groups;
        this.offsetsTopic = offsetsTopic;
        this.cluster = cluster;
        this.producerIds = producerIds;
        this.prefix = config.getString(BrokerConfig.BRIDGE_ADDRESS_PREFIX);
    }

    @Override
    public Future<?> start() {
        BridgeProducer producer = new BridgeProducer(vertx, (ContextInternal) context, config, topics, partitions,
                cluster, producerIds);
        register(BridgeAddresses.PRODUCE, producer::produce);
        register(BridgeAddresses.SUBSCRIBE, this::subscribe);
        register(BridgeAddresses.HEARTBEAT, this::heartbeat);
        register(BridgeAddresses.COMMIT, this::commit);
        register(BridgeAddresses.UNSUBSCRIBE, this::unsubscribe);
        register(BridgeAddresses.METADATA, producer::metadata);
        // broker-to-broker hops, on this broker's own addresses
        registerNode(BridgeAddresses.APPEND, producer::append);
        registerNode(BridgeAddresses.OFFSETS, producer::offsets);
        if (((io.vertx.core.internal.VertxInternal) vertx).isClustered()) {
            // only a clustered node touches the cluster classes (and with them Hazelcast)
            memberListener = ClusterManagerFactory.onMemberRemoved(vertx, context, this::nodeLeft);
        }
        List<Future<Void>> ready = new ArrayList<>();
        consumers.forEach(c -> ready.add(c.completion()));
        return Future.all(ready);
    }

    @Override
    public Future<?> stop() {
        memberListener.run();
        List<Future<Void>> closing = new ArrayList<>();
        for (BridgeSubscription s : new ArrayList<>(subscriptions.values())) {
            closing.add(s.close("the broker is shutting down"));
        }
        return Future.join(closing);
    }

    private void register(String name, io.vertx.core.Handler<Message<Object>> handler) {
        consume(BridgeAddresses.address(prefix, name), handler);
    }

    private void registerNode(String name, io.vertx.core.Handler<Message<Object>> handler) {
        consume(BridgeAddresses.nodeAddress(prefix, config.nodeId(), name), handler);
    }

    private void consume(String address, io.vertx.core.Handler<Message<Object>> handler) {
        consumers.add(vertx.eventBus().consumer(address, msg -> {
            try {
                handler.handle(msg);
            } catch (RuntimeException e) {
                fail(msg, e);
            }
        }));
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

    // ---- subscriptions ----

    private void subscribe(Message<Object> msg) {
        JsonObject body = json(msg);
        BridgeSubscription.Request req;
        try {
            String group = body.getString("group");
            String address = body.getString("address");
            JsonArray topicList = body.getJsonArray("topics");
            if (group == null || group.isEmpty()) {
                throw BridgeException.invalid("'group' is required");
            }
            if (address == null || address.isEmpty()) {
                throw BridgeException.invalid("'address' (where records are delivered) is required");
            }
            if (topicList == null || topicList.isEmpty()) {
                throw BridgeException.invalid("'topics' must be a non-empty array of topic names");
            }
            List<String> names = new ArrayList<>();
            for (Object o : topicList) {
                if (!(o instanceof String s) || s.isEmpty()) {
                    throw BridgeException.invalid("'topics' must be a non-empty array of topic names");
                }
                names.add(s);
            }
            int credits = body.getInteger("credits", 100);
            if (credits < 1) {
                throw BridgeException.invalid("'credits' must be at least 1");
            }
            String reset = body.getString("autoOffsetReset", "latest");
            if (!reset.equals("earliest") && !reset.equals("latest")) {
                throw BridgeException.invalid("'autoOffsetReset' must be 'earliest' or 'latest'");
            }
            long ackTimeout = body.getLong("ackTimeoutMs", 30_000L);
            if (ackTimeout < 1) {
                throw BridgeException.invalid("'ackTimeoutMs' must be positive");
            }
            req = new BridgeSubscription.Request(group, names, address, credits,
                    body.getInteger("sessionTimeoutMs", 10_000), ackTimeout, reset.equals("earliest"),
                    body.getString("nodeId"), body.getString("clientId", "runnel-eventbus"));
        } catch (ClassCastException e) {
            throw BridgeException.invalid("a field of the subscribe request has the wrong type: " + e.getMessage());
        }
        // what a Kafka consumer's FindCoordinator does; the join retries until the topic exists
        offsetsTopic.existsOrCreate();
        List<Future<TopicInfo>> resolved = new ArrayList<>();
        req.topics().forEach(t -> resolved.add(resolve(t)));
        here(Future.all(resolved)).compose(v -> {
            BridgeSubscription s = new BridgeSubscription(req, vertx, (ContextInternal) context, topics, partitions,
                    groups, closed -> subscriptions.remove(closed.id()));
            subscriptions.put(s.id(), s);
            return s.start().map(x -> s.describe());
        }).onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(ar.result());
            } else {
                fail(msg, ar.cause());
            }
        });
    }

    private void heartbeat(Message<Object> msg) {
        BridgeSubscription s = subscription(msg);
        s.touch();
        msg.reply(s.describe());
    }

    private void commit(Message<Object> msg) {
        BridgeSubscription s = subscription(msg);
        s.touch();
        s.commitAndDescribe().onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(ar.result());
            } else {
                fail(msg, ar.cause());
            }
        });
    }

    private void unsubscribe(Message<Object> msg) {
        subscription(msg).close("unsubscribed").onComplete(ar -> msg.reply(new JsonObject()));
    }

    private BridgeSubscription subscription(Message<Object> msg) {
        String id = json(msg).getValue("subscriptionId") instanceof String s ? s : null;
        if (id == null) {
            throw BridgeException.invalid("'subscriptionId' is required");
        }
        BridgeSubscription s = subscriptions.get(id);
        if (s == null) {
            throw new UnknownMemberIdException("subscription " + id + " does not exist (it ended or never existed)");
        }
        return s;
    }

    private void nodeLeft(String nodeId) {
        for (BridgeSubscription s : new ArrayList<>(subscriptions.values())) {
            if (nodeId.equals(s.nodeId())) {
                s.close("its cluster node " + nodeId + " left");
            }
        }
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
