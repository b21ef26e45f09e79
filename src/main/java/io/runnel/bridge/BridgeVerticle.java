package io.runnel.bridge;

import java.util.ArrayList;
import java.util.List;

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
import io.vertx.core.json.JsonObject;
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
 * coordinator as Kafka consumers ({@link BridgeSubscription}), routed to the group's coordinator by
 * {@link BridgeSubscriptions}, reading partitions on their leaders through the per-node read address
 * ({@link BridgeReads}) this verticle serves on every broker.
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
    private BridgeSubscriptions subscriptions;
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
        register(BridgeAddresses.METADATA, producer::metadata);
        BridgeReads reads = new BridgeReads(vertx, (ContextInternal) context, partitions);
        subscriptions = new BridgeSubscriptions(vertx, (ContextInternal) context, prefix, config.nodeId(), topics,
                cluster, groups, offsetsTopic, this::resolve, reads);
        subscriptions.register(this::consume);
        // broker-to-broker hops, on this broker's own addresses
        registerNode(BridgeAddresses.APPEND, producer::append);
        registerNode(BridgeAddresses.OFFSETS, producer::offsets);
        registerNode(BridgeAddresses.READ, reads::serve);
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
