package io.runnel.bridge;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.TopicInfo;
import io.runnel.group.GroupCoordinator;
import io.runnel.metadata.OffsetsTopic;
import io.runnel.metadata.TopicManager;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownMemberIdException;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The subscription addresses of the bridge across a cluster.
 *
 * <p>Routing: a subscription lives on the broker that coordinates its group (the leader of the group's
 * {@code __consumer_offsets} partition in the metadata), so its group calls stay in-process. Every broker
 * serves the public addresses ({@code subscribe}, {@code heartbeat}, {@code commit}, {@code unsubscribe})
 * and forwards each request to the coordinator's per-node address ({@code <prefix>.node.<id>.<name>}),
 * retrying while the coordinator moves or loads the group (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
 * COORDINATOR_NOT_AVAILABLE, a dead node's silence) until the request's budget is spent. A per-node address
 * is always served where it is: a broker that does not coordinate the group answers NOT_COORDINATOR and the
 * forwarding broker asks again, so two brokers with different views never bounce a request between them.
 *
 * <p>Takeover: a subscription id carries its request ({@link SubscriptionRequest}); the coordinator that
 * receives a heartbeat or commit for an id it does not hold creates the subscription from it (it rejoins as
 * the same static member and resumes from the committed offsets). Ids ended on purpose here (unsubscribed,
 * the subscriber gone) are remembered for a while so a late heartbeat does not bring them back.
 *
 * <p>Threading: everything runs on the bridge verticle's context.
 */
final class BridgeSubscriptions {

    private static final Logger LOG = LoggerFactory.getLogger(BridgeSubscriptions.class);
    /** how long a forwarding broker keeps trying to reach the group's coordinator */
    static final long SUBSCRIBE_BUDGET_MS = 25_000;
    static final long CALL_BUDGET_MS = 5_000;
    private static final long ENDED_MEMORY_MS = 120_000;
    private static final Set<Integer> RETRIABLE = Set.of((int) Errors.NOT_COORDINATOR.code(),
            (int) Errors.COORDINATOR_LOAD_IN_PROGRESS.code(), (int) Errors.COORDINATOR_NOT_AVAILABLE.code());

    private final Vertx vertx;
    private final ContextInternal context;
    private final String prefix;
    private final int localNode;
    private final TopicManager topics;
    private final ClusterView cluster;
    private final GroupCoordinator groups;
    private final OffsetsTopic offsetsTopic;
    private final java.util.function.Function<String, Future<TopicInfo>> resolve;
    private final BridgeReads localReads;
    private final Map<String, BridgeSubscription> subscriptions = new HashMap<>();
    private final Map<String, Long> ended = new LinkedHashMap<>();

    BridgeSubscriptions(Vertx vertx, ContextInternal context, String prefix, int localNode, TopicManager topics,
                        ClusterView cluster, GroupCoordinator groups, OffsetsTopic offsetsTopic,
                        java.util.function.Function<String, Future<TopicInfo>> resolve, BridgeReads localReads) {
        this.vertx = vertx;
        this.context = context;
        this.prefix = prefix;
        this.localNode = localNode;
        this.topics = topics;
        this.cluster = cluster;
        this.groups = groups;
        this.offsetsTopic = offsetsTopic;
        this.resolve = resolve;
        this.localReads = localReads;
    }

    /** Registers the public and the per-node addresses through {@code register(address, handler)}. */
    void register(BiConsumer<String, Handler<Message<Object>>> register) {
        for (String name : List.of(BridgeAddresses.SUBSCRIBE, BridgeAddresses.HEARTBEAT, BridgeAddresses.COMMIT,
                BridgeAddresses.UNSUBSCRIBE)) {
            register.accept(BridgeAddresses.address(prefix, name), msg -> route(name, msg));
        }
        register.accept(BridgeAddresses.nodeAddress(prefix, localNode, BridgeAddresses.SUBSCRIBE), this::subscribe);
        register.accept(BridgeAddresses.nodeAddress(prefix, localNode, BridgeAddresses.HEARTBEAT), this::heartbeat);
        register.accept(BridgeAddresses.nodeAddress(prefix, localNode, BridgeAddresses.COMMIT), this::commit);
        register.accept(BridgeAddresses.nodeAddress(prefix, localNode, BridgeAddresses.UNSUBSCRIBE), this::unsubscribe);
    }

    /** The broker shuts down: its subscriptions are taken over by the group's next coordinator. */
    Future<?> stop() {
        List<Future<Void>> closing = new ArrayList<>();
        for (BridgeSubscription s : new ArrayList<>(subscriptions.values())) {
            closing.add(s.handOff("the broker is shutting down"));
        }
        return Future.join(closing);
    }

    /** A cluster node left: subscriptions whose subscriber ran there end. */
    void nodeLeft(String nodeId) {
        for (BridgeSubscription s : new ArrayList<>(subscriptions.values())) {
            if (nodeId.equals(s.nodeId())) {
                s.close("its cluster node " + nodeId + " left");
            }
        }
    }

    // ---- routing ----

    private void route(String name, Message<Object> msg) {
        JsonObject body = BridgeVerticle.json(msg);
        String group;
        long budget;
        if (name.equals(BridgeAddresses.SUBSCRIBE)) {
            group = SubscriptionRequest.parse(body).group();
            // what a Kafka consumer's FindCoordinator does; routing retries until the topic exists
            offsetsTopic.existsOrCreate();
            budget = SUBSCRIBE_BUDGET_MS;
        } else {
            group = subscriptionRequest(body).group();
            budget = CALL_BUDGET_MS;
        }
        forward(name, group, body, msg, System.currentTimeMillis() + budget);
    }

    private void forward(String name, String group, JsonObject body, Message<Object> msg, long deadline) {
        int coordinator = coordinatorOf(group);
        long left = deadline - System.currentTimeMillis();
        if (coordinator < 0) {
            if (left <= 0) {
                msg.fail(Errors.COORDINATOR_NOT_AVAILABLE.code(), BridgeException.message(Errors.COORDINATOR_NOT_AVAILABLE,
                        null) + " (group '" + group + "')");
            } else {
                vertx.setTimer(100, t -> forward(name, group, body, msg, deadline));
            }
            return;
        }
        String address = BridgeAddresses.nodeAddress(prefix, coordinator, name);
        DeliveryOptions options = new DeliveryOptions().setSendTimeout(Math.max(1000, left));
        vertx.eventBus().request(address, body, options).onComplete(ar -> {
            if (ar.succeeded()) {
                msg.reply(ar.result().body());
                return;
            }
            ReplyException re = ar.cause() instanceof ReplyException r ? r : null;
            boolean retriable = re != null && (re.failureType() == ReplyFailure.NO_HANDLERS
                    || re.failureType() == ReplyFailure.TIMEOUT
                    || (re.failureType() == ReplyFailure.RECIPIENT_FAILURE && RETRIABLE.contains(re.failureCode())));
            if (retriable && System.currentTimeMillis() + 100 < deadline) {
                LOG.debug("Bridge {} of group {} via broker {}: {}; retrying", name, group, coordinator,
                        ar.cause().getMessage());
                vertx.setTimer(100, t -> forward(name, group, body, msg, deadline));
            } else if (re != null && re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
                msg.fail(re.failureCode(), re.getMessage());
            } else {
                Errors error = Errors.COORDINATOR_NOT_AVAILABLE;
                msg.fail(error.code(), BridgeException.message(error, null) + " (group '" + group
                        + "': broker " + coordinator + " did not answer: " + ar.cause().getMessage() + ")");
            }
        });
    }

    /** The broker that coordinates {@code group} as the metadata says now, or -1 while none does. */
    private int coordinatorOf(String group) {
        if (cluster == null) {
            return localNode;
        }
        PartitionState state = cluster.state(new TopicPartition(OffsetsTopic.NAME, groups.partitionFor(group)));
        return state == null ? -1 : state.leader();
    }

    // ---- the coordinator's side ----

    private void subscribe(Message<Object> msg) {
        SubscriptionRequest req = SubscriptionRequest.parse(BridgeVerticle.json(msg));
        whenCoordinator(msg, req.group(), () -> {
            List<Future<TopicInfo>> resolved = new ArrayList<>();
            req.topics().forEach(t -> resolved.add(resolve.apply(t)));
            here(Future.all(resolved)).compose(v -> {
                BridgeSubscription s = create(req.toId(), req);
                return s.start().map(x -> s.describe());
            }).onComplete(ar -> reply(msg, ar));
        });
    }

    private void heartbeat(Message<Object> msg) {
        JsonObject body = BridgeVerticle.json(msg);
        BridgeSubscription s = subscriptions.get(id(body));
        if (s != null) {
            s.touch();
            msg.reply(s.describe());
            return;
        }
        SubscriptionRequest req = subscriptionRequest(body);
        whenCoordinator(msg, req.group(), () -> {
            // answered at once: the takeover's join may wait for a rebalance, the subscriber's heartbeats must not
            BridgeSubscription adopted = adopt(id(body), req);
            adopted.start();
            msg.reply(adopted.describe());
        });
    }

    private void commit(Message<Object> msg) {
        JsonObject body = BridgeVerticle.json(msg);
        BridgeSubscription s = subscriptions.get(id(body));
        if (s != null) {
            s.touch();
            s.commitAndDescribe().onComplete(ar -> reply(msg, ar));
            return;
        }
        SubscriptionRequest req = subscriptionRequest(body);
        whenCoordinator(msg, req.group(), () -> {
            BridgeSubscription adopted = adopt(id(body), req);
            adopted.start().compose(v -> adopted.commitAndDescribe()).onComplete(ar -> reply(msg, ar));
        });
    }

    private void unsubscribe(Message<Object> msg) {
        JsonObject body = BridgeVerticle.json(msg);
        BridgeSubscription s = subscriptions.get(id(body));
        if (s != null) {
            s.close("unsubscribed").onComplete(ar -> msg.reply(new JsonObject()));
            return;
        }
        SubscriptionRequest req = subscriptionRequest(body);
        whenCoordinator(msg, req.group(), () -> {
            // held by a broker that died: the static member leaves by its instance id
            remember(id(body));
            here(groups.leaveGroup(req.group(), List.of(new MemberIdentity().setMemberId("")
                    .setGroupInstanceId(req.instanceId())))).onComplete(ar -> msg.reply(new JsonObject()));
        });
    }

    /** Runs {@code then} if this broker serves {@code group} now, else fails {@code msg} so it is routed again. */
    private void whenCoordinator(Message<Object> msg, String group, Runnable then) {
        here(groups.status(group)).onComplete(ar -> {
            Errors status = ar.succeeded() ? ar.result() : Errors.COORDINATOR_NOT_AVAILABLE;
            if (status != Errors.NONE) {
                msg.fail(status.code(), BridgeException.message(status, null));
                return;
            }
            try {
                then.run();
            } catch (RuntimeException e) {
                BridgeVerticle.fail(msg, e);
            }
        });
    }

    private BridgeSubscription adopt(String id, SubscriptionRequest req) {
        BridgeSubscription existing = subscriptions.get(id);
        if (existing != null) {
            return existing;
        }
        LOG.info("Taking over subscription {} of group {} (its coordinator moved here)", req.instanceId(),
                req.group());
        return create(id, req);
    }

    private BridgeSubscription create(String id, SubscriptionRequest req) {
        BridgeSubscription s = new BridgeSubscription(id, req, vertx, context, prefix, localNode, topics, cluster,
                groups, localReads, (closed, handedOff) -> {
                    if (subscriptions.get(closed.id()) == closed) {
                        subscriptions.remove(closed.id());
                    }
                    if (!handedOff) {
                        remember(closed.id());
                    }
                });
        subscriptions.put(id, s);
        return s;
    }

    private void remember(String id) {
        long now = System.currentTimeMillis();
        for (Iterator<Long> it = ended.values().iterator(); it.hasNext(); ) {
            if (now - it.next() > ENDED_MEMORY_MS) {
                it.remove();
            } else {
                break;
            }
        }
        ended.remove(id);
        ended.put(id, now);
    }

    private static String id(JsonObject body) {
        return body.getValue("subscriptionId") instanceof String s ? s : null;
    }

    /** The request the body's subscription id carries; UNKNOWN_MEMBER_ID for an id ended here or not one. */
    private SubscriptionRequest subscriptionRequest(JsonObject body) {
        String id = id(body);
        if (id == null) {
            throw BridgeException.invalid("'subscriptionId' is required");
        }
        SubscriptionRequest req = ended.containsKey(id) ? null : SubscriptionRequest.fromId(id);
        if (req == null) {
            throw new UnknownMemberIdException("subscription " + id + " does not exist (it ended or never existed)");
        }
        return req;
    }

    private static <T> void reply(Message<Object> msg, io.vertx.core.AsyncResult<T> ar) {
        if (ar.succeeded()) {
            msg.reply(ar.result());
        } else {
            BridgeVerticle.fail(msg, ar.cause());
        }
    }

    private <T> Future<T> here(Future<T> f) {
        Promise<T> promise = context.promise();
        f.onComplete(promise);
        return promise.future();
    }
}
