package io.runnel.cluster;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

import io.runnel.partition.PartitionManager;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.NotControllerException;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins this broker's topics and partitions to the controller: applies every topic record and partition
 * state the controller publishes (opening, leading, following or dropping local replicas), and carries
 * topic changes made on this broker to the controller over the event bus ({@value #ADDRESS_PREFIX}<node>),
 * as KRaft brokers forward them to the active controller.
 *
 * <p>Threading: listener callbacks run on the controller's context; the event-bus consumer on this
 * broker's Vert.x; both only start futures.
 */
public final class ClusterMember implements ClusterController.Listener, TopicManager.ClusterOps {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterMember.class);
    static final String ADDRESS_PREFIX = "runnel.controller.";
    private static final String STALE = "staleConfigs";

    private final Vertx vertx;
    private final int localNode;
    private final ClusterController controller;
    private final TopicManager topics;
    private final PartitionManager partitions;
    // states that arrived before their topic's record; controller context only
    private final Map<TopicPartition, PartitionState> pending = new HashMap<>();

    public ClusterMember(Vertx vertx, int localNode, ClusterController controller, TopicManager topics,
                         PartitionManager partitions) {
        this.vertx = vertx;
        this.localNode = localNode;
        this.controller = controller;
        this.topics = topics;
        this.partitions = partitions;
    }

    /** Serves the controller operations forwarded by other brokers; call once at start. */
    public Future<Void> listen() {
        return vertx.eventBus().<JsonObject>consumer(ADDRESS_PREFIX + localNode, this::serve).completion();
    }

    @Override
    public void onTopic(TopicRecord topic) {
        if (topic.deleted()) {
            topics.removeClusterTopic(topic.name())
                    .compose(v -> controller.forgetTopic(topic.name()))
                    .onFailure(t -> LOG.warn("Removing deleted topic {} failed", topic.name(), t));
            return;
        }
        TopicInfo info = topic.info();
        topics.applyClusterTopic(info).onComplete(ar -> {
            if (ar.failed()) {
                LOG.warn("Recording topic {} failed", topic.name(), ar.cause());
            }
        });
        for (Iterator<Map.Entry<TopicPartition, PartitionState>> it = pending.entrySet().iterator(); it.hasNext();) {
            Map.Entry<TopicPartition, PartitionState> e = it.next();
            if (e.getKey().topic().equals(topic.name())) {
                it.remove();
                apply(e.getKey(), info, e.getValue());
            }
        }
    }

    @Override
    public void onPartitionState(TopicPartition tp, PartitionState state) {
        TopicRecord topic = controller.topic(tp.topic());
        if (topic == null) {
            pending.put(tp, state);
            return;
        }
        apply(tp, topic.info(), state);
    }

    private void apply(TopicPartition tp, TopicInfo topic, PartitionState state) {
        if (state.replicas().contains(localNode)) {
            partitions.applyState(tp, topic.id(), topic.configs(), state)
                    .onFailure(t -> LOG.warn("Applying {} to {} failed", state, tp, t));
        } else if (partitions.get(tp) != null) {
            // no longer a replica here
            partitions.delete(tp).onFailure(t -> LOG.warn("Dropping {} failed", tp, t));
        }
    }

    // ---- topic changes, carried to the controller

    @Override
    public Future<TopicInfo> create(String name, int partitionCount, short replicationFactor, Map<String, String> configs) {
        JsonObject req = new JsonObject().put("op", "create").put("name", name).put("partitions", partitionCount)
                .put("replicationFactor", (int) replicationFactor).put("configs", new JsonObject(new HashMap<>(configs)));
        return forward(req).compose(this::recordLocally);
    }

    @Override
    public Future<Void> delete(String name) {
        return forward(new JsonObject().put("op", "delete").put("name", name)).mapEmpty();
    }

    @Override
    public Future<TopicInfo> createPartitions(String name, int newTotal) {
        return forward(new JsonObject().put("op", "partitions").put("name", name).put("partitions", newTotal))
                .compose(this::recordLocally);
    }

    @Override
    public Future<TopicInfo> alterConfigs(String name, Map<String, String> expected, Map<String, String> configs) {
        return forward(new JsonObject().put("op", "configs").put("name", name)
                .put("expected", new JsonObject(new HashMap<>(expected)))
                .put("configs", new JsonObject(new HashMap<>(configs)))).compose(this::recordLocally);
    }

    /** Records the controller's answer here at once, so this broker's next Metadata answer has it. */
    private Future<TopicInfo> recordLocally(TopicRecord record) {
        TopicInfo info = record.info();
        return topics.applyClusterTopic(info).map(info);
    }

    private Future<TopicRecord> forward(JsonObject request) {
        int controllerId = controller.controllerId();
        if (controllerId < 0) {
            return Future.failedFuture(new NotControllerException("No controller: this broker sees no majority"));
        }
        if (controllerId == localNode) {
            return execute(request);
        }
        return vertx.eventBus().<JsonObject>request(ADDRESS_PREFIX + controllerId, request)
                .recover(t -> Future.failedFuture(t instanceof ReplyException re && re.failureCode() > 0
                        ? Errors.forCode((short) re.failureCode()).exception(re.getMessage())
                        : new NotControllerException("The controller did not answer: " + t.getMessage())))
                .compose(reply -> reply.body().containsKey(STALE)
                        ? Future.failedFuture(new StaleConfigsException(request.getString("name"),
                                strings(reply.body().getJsonObject(STALE))))
                        : Future.succeededFuture(TopicRecord.CODEC.fromJson().apply(reply.body())));
    }

    private void serve(Message<JsonObject> message) {
        execute(message.body()).onComplete(ar -> {
            if (ar.succeeded()) {
                message.reply(TopicRecord.CODEC.toJson().apply(ar.result()).put("key", ar.result().id().toString()));
            } else if (ar.cause() instanceof StaleConfigsException stale) {
                // not a failure: the answer the forwarding broker recomputes its change from
                message.reply(new JsonObject().put(STALE, new JsonObject(new HashMap<>(stale.current()))));
            } else {
                Throwable t = ar.cause();
                Errors error = t instanceof ApiException ? Errors.forException(t) : Errors.UNKNOWN_SERVER_ERROR;
                message.fail(error.code(), t.getMessage());
            }
        });
    }

    private Future<TopicRecord> execute(JsonObject req) {
        String name = req.getString("name");
        return switch (req.getString("op")) {
            case "create" -> controller.createTopic(name, req.getInteger("partitions"),
                    req.getInteger("replicationFactor").shortValue(), strings(req.getJsonObject("configs")));
            case "delete" -> controller.deleteTopic(name);
            case "partitions" -> controller.createPartitions(name, req.getInteger("partitions"));
            case "configs" -> {
                // applied only over the overrides the forwarding broker computed the change from, checked
                // on the controller's context where topic changes run one at a time: two changes through
                // different brokers cannot overwrite each other
                Map<String, String> expected = strings(req.getJsonObject("expected"));
                Map<String, String> configs = strings(req.getJsonObject("configs"));
                yield controller.alterConfigs(name, current -> {
                    if (!current.equals(expected)) {
                        throw new StaleConfigsException(name, current);
                    }
                    return configs;
                });
            }
            default -> Future.failedFuture(new IllegalArgumentException("unknown controller operation"));
        };
    }

    private static Map<String, String> strings(JsonObject j) {
        Map<String, String> m = new HashMap<>();
        j.forEach(e -> m.put(e.getKey(), String.valueOf(e.getValue())));
        return m;
    }
}
