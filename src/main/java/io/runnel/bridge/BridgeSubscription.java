package io.runnel.bridge;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

import io.runnel.cluster.ClusterView;
import io.runnel.cluster.PartitionState;
import io.runnel.cluster.TopicInfo;
import io.runnel.group.GroupCoordinator;
import io.runnel.metadata.TopicManager;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocolCollection;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestTopic;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData.SyncGroupRequestAssignment;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One event-bus subscriber's membership in a consumer group, and the delivery of its partitions. It lives
 * on the broker that coordinates its group (the bridge routes every subscription call there), so its group
 * calls are in-process.
 *
 * <p>The bridge is a real member of the classic group, through the same coordinator calls a Kafka
 * consumer's requests make: JoinGroup with the {@code consumer} protocol type and the {@code range}
 * protocol (the one every Java consumer offers by default), SyncGroup (as leader it assigns with
 * kafka-clients' {@link RangeAssignor}), Heartbeat, OffsetCommit, LeaveGroup. So Kafka consumers and
 * event-bus subscribers of one group share its partitions, and the commits are ordinary group offsets.
 * It is a static member (group.instance.id from its {@link SubscriptionRequest}): when another broker takes
 * the subscription over (this one died or stopped coordinating the group) the new incarnation rejoins
 * under the same instance id and keeps the assignment without a rebalance, and this one is fenced.
 * Rebalances are eager, as the range protocol is: on REBALANCE_IN_PROGRESS every partition is revoked,
 * acknowledged offsets committed, then the member rejoins.
 *
 * <p>Reading: every assigned partition is read on its leader, wherever that is, with the long-polling
 * read of {@link BridgeReads} on the leader's per-node address (a partition this broker leads is read by a
 * call, without the event bus); the leader is looked up in the metadata
 * for each read, so a leader change costs one failed or abandoned read. Only records below the high
 * watermark are read, so none delivered can be lost by a leader change.
 *
 * <p>Delivery: each delivery (one record, or with {@code batch} up to that many of one partition) is an
 * event-bus request to the subscriber's address; the reply is the acknowledgement. At most
 * {@code credits} deliveries are unanswered at any time; with {@code ordered} (the default) at most one
 * per partition, so a partition's records are processed strictly in order while partitions proceed in
 * parallel. Per partition, the committed offset is the lowest delivered-but-unacknowledged offset (or the
 * read position when all are acknowledged), so a record is committed only after it and everything before
 * it were acknowledged: at-least-once. A failure reply or an ack timeout rewinds the partition to that
 * delivery's first record and redelivers from there; NO_HANDLERS (nobody listens at the address), the
 * subscriber's cluster node leaving, or no heartbeat within the session timeout end the subscription: the
 * member commits what was acknowledged and leaves the group, and its partitions go to the other members.
 *
 * <p>Threading: every field is confined to the bridge verticle's event-loop context; results of the
 * coordinator and of reads are hopped back onto it.
 */
final class BridgeSubscription {

    private static final Logger LOG = LoggerFactory.getLogger(BridgeSubscription.class);
    private static final short JOIN_VERSION = 9;
    private static final short COMMIT_VERSION = 8;
    static final int READ_MAX_BYTES = 1 << 20;
    static final long READ_MAX_WAIT_MS = 1000;
    /** how much longer than the long poll a read may take before it is given up (a dead leader) */
    static final long READ_GRACE_MS = 4000;
    private static final long RETRY_MS = 100;
    static final long COMMIT_INTERVAL_MS = 200;

    /** How a subscription ended: {@code handedOff} when another incarnation may take it over. */
    record Ended(BridgeSubscription subscription, boolean handedOff) {
    }

    private final String id;
    private final SubscriptionRequest req;
    private final Vertx vertx;
    private final ContextInternal context;
    private final String prefix;
    private final int localNode;
    private final TopicManager topics;
    private final ClusterView cluster;
    private final GroupCoordinator groups;
    private final BridgeReads localReads;
    private final BiConsumer<BridgeSubscription, Boolean> onClosed;
    private final byte[] subscriptionMetadata;
    private final long heartbeatIntervalMs;
    private final Promise<Void> started;
    private final Map<TopicPartition, Cursor> cursors = new LinkedHashMap<>();
    private final BridgeRecordJson.Encoding jsonEncoding;

    private String memberId = "";
    private int generation = -1;
    private int epoch;
    private boolean joining;
    private boolean heartbeatInFlight;
    private boolean closed;
    private Future<Void> closing;
    private int outstanding;
    private long deliverySeq;
    private long lastSeen;
    private long timerId = -1;
    private long commitTimer = -1;
    private Future<Void> lastCommit = Future.succeededFuture();
    private Promise<Void> queuedCommit;

    /**
     * @param cluster    partition leaders; null on a node that hosts every partition itself
     * @param localReads this broker's reads (on {@code context}), for the partitions it leads; null to read every
     *                   partition through the event bus
     * @param onClosed   called once on the context when it ended, with whether it was handed off
     */
    BridgeSubscription(String id, SubscriptionRequest req, Vertx vertx, ContextInternal context, String prefix,
                       int localNode, TopicManager topics, ClusterView cluster, GroupCoordinator groups,
                       BridgeReads localReads, BiConsumer<BridgeSubscription, Boolean> onClosed) {
        this.id = id;
        this.req = req;
        this.vertx = vertx;
        this.context = context;
        this.prefix = prefix;
        this.localNode = localNode;
        this.topics = topics;
        this.cluster = cluster;
        this.groups = groups;
        this.localReads = localReads;
        this.onClosed = onClosed;
        this.subscriptionMetadata = Utils.toArray(ConsumerProtocol.serializeSubscription(new Subscription(req.topics())));
        this.heartbeatIntervalMs = Math.max(50, Math.min(req.sessionTimeoutMs() / 3, 1000));
        this.started = context.promise();
        this.jsonEncoding = req.binary() ? null : BridgeRecordJson.Encoding.parse("encoding", req.encoding());
    }

    String id() {
        return id;
    }

    String nodeId() {
        return req.nodeId();
    }

    SubscriptionRequest request() {
        return req;
    }

    boolean isClosed() {
        return closed;
    }

    /** Joins the group; completes once the first assignment is known (on the bridge context). */
    Future<Void> start() {
        if (timerId >= 0 || closed) {
            // already started: two heartbeats that both found it missing take it over once
            return started.future();
        }
        lastSeen = System.currentTimeMillis();
        timerId = vertx.setPeriodic(heartbeatIntervalMs, t -> tick());
        join();
        return started.future();
    }

    /** Completes once the first assignment is known. */
    Future<Void> started() {
        return started.future();
    }

    /** The subscriber showed it is alive (heartbeat, ack). */
    void touch() {
        lastSeen = System.currentTimeMillis();
    }

    JsonObject describe() {
        JsonArray assigned = new JsonArray();
        for (TopicPartition tp : cursors.keySet()) {
            assigned.add(new JsonObject().put("topic", tp.topic()).put("partition", tp.partition()));
        }
        return new JsonObject().put("subscriptionId", id).put("memberId", memberId).put("generation", generation)
                .put("heartbeatIntervalMs", heartbeatIntervalMs).put("partitions", assigned);
    }

    // ---- group membership ----

    private void join() {
        if (closed) {
            return;
        }
        joining = true;
        JoinGroupRequestProtocolCollection protocols = new JoinGroupRequestProtocolCollection();
        protocols.add(new JoinGroupRequestProtocol().setName(RangeAssignor.RANGE_ASSIGNOR_NAME)
                .setMetadata(subscriptionMetadata));
        JoinGroupRequestData request = new JoinGroupRequestData().setGroupId(req.group()).setMemberId(memberId)
                .setGroupInstanceId(req.instanceId())
                .setSessionTimeoutMs(req.sessionTimeoutMs()).setRebalanceTimeoutMs(req.sessionTimeoutMs())
                .setProtocolType(ConsumerProtocol.PROTOCOL_TYPE).setProtocols(protocols);
        here(groups.joinGroup(request, JOIN_VERSION, req.clientId(), "/" + (req.nodeId() == null ? "local" : req.nodeId())))
                .onComplete(ar -> {
                    if (closed) {
                        return;
                    }
                    if (ar.failed()) {
                        failStart(ar.cause());
                        return;
                    }
                    JoinGroupResponseData resp = ar.result();
                    Errors error = Errors.forCode(resp.errorCode());
                    switch (error) {
                        case NONE -> {
                            memberId = resp.memberId();
                            generation = resp.generationId();
                            sync(resp);
                        }
                        case MEMBER_ID_REQUIRED -> {
                            memberId = resp.memberId();
                            join();
                        }
                        case UNKNOWN_MEMBER_ID -> {
                            memberId = "";
                            join();
                        }
                        case COORDINATOR_LOAD_IN_PROGRESS, REBALANCE_IN_PROGRESS -> vertx.setTimer(RETRY_MS, t -> join());
                        case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, FENCED_INSTANCE_ID -> moved(error);
                        default -> failStart(error.exception());
                    }
                });
    }

    private void sync(JoinGroupResponseData joined) {
        // a static member rejoining a stable group keeps the assignment: the leader is told to skip it (v9)
        List<SyncGroupRequestAssignment> assignments = joined.leader().equals(memberId) && !joined.skipAssignment()
                ? assign(joined) : List.of();
        SyncGroupRequestData request = new SyncGroupRequestData().setGroupId(req.group()).setMemberId(memberId)
                .setGroupInstanceId(req.instanceId())
                .setGenerationId(generation).setProtocolType(ConsumerProtocol.PROTOCOL_TYPE)
                .setProtocolName(joined.protocolName()).setAssignments(assignments);
        here(groups.syncGroup(request)).onComplete(ar -> {
            if (closed) {
                return;
            }
            if (ar.failed()) {
                failStart(ar.cause());
                return;
            }
            SyncGroupResponseData resp = ar.result();
            Errors error = Errors.forCode(resp.errorCode());
            switch (error) {
                case NONE -> {
                    Assignment assignment = ConsumerProtocol.deserializeAssignment(ByteBuffer.wrap(resp.assignment()));
                    joining = false;
                    startPartitions(assignment.partitions());
                }
                case UNKNOWN_MEMBER_ID -> {
                    memberId = "";
                    join();
                }
                case REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION -> join();
                case COORDINATOR_LOAD_IN_PROGRESS -> vertx.setTimer(RETRY_MS, t -> join());
                case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, FENCED_INSTANCE_ID -> moved(error);
                default -> failStart(error.exception());
            }
        });
    }

    /** The leader's assignment for every member, by kafka-clients' RangeAssignor over the known topics. */
    private List<SyncGroupRequestAssignment> assign(JoinGroupResponseData joined) {
        Map<String, Subscription> subscriptions = new HashMap<>();
        Map<String, Integer> partitionsPerTopic = new HashMap<>();
        for (JoinGroupResponseData.JoinGroupResponseMember m : joined.members()) {
            Subscription s = ConsumerProtocol.deserializeSubscription(ByteBuffer.wrap(m.metadata()));
            subscriptions.put(m.memberId(), s);
            for (String topic : s.topics()) {
                TopicInfo t = topics.topic(topic);
                if (t != null) {
                    partitionsPerTopic.put(topic, t.partitions());
                }
            }
        }
        Map<String, List<TopicPartition>> assigned = new RangeAssignor().assign(partitionsPerTopic, subscriptions);
        List<SyncGroupRequestAssignment> out = new ArrayList<>();
        for (String member : subscriptions.keySet()) {
            ByteBuffer bytes = ConsumerProtocol.serializeAssignment(
                    new Assignment(assigned.getOrDefault(member, List.of())));
            out.add(new SyncGroupRequestAssignment().setMemberId(member).setAssignment(Utils.toArray(bytes)));
        }
        return out;
    }

    private void startPartitions(List<TopicPartition> assigned) {
        int myEpoch = ++epoch;
        Map<String, List<Integer>> byTopic = new LinkedHashMap<>();
        assigned.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new ArrayList<>()).add(tp.partition()));
        List<OffsetFetchRequestTopics> request = new ArrayList<>();
        byTopic.forEach((t, ps) -> request.add(new OffsetFetchRequestTopics().setName(t).setPartitionIndexes(ps)));
        here(groups.fetchOffsets(req.group(), request, true)).onComplete(ar -> {
            if (closed || myEpoch != epoch) {
                return;
            }
            if (ar.failed() || ar.result().errorCode() != Errors.NONE.code()) {
                // e.g. commits of the previous generation still being written: try again shortly
                vertx.setTimer(RETRY_MS, t -> {
                    if (!closed && myEpoch == epoch) {
                        startPartitions(assigned);
                    }
                });
                return;
            }
            Map<TopicPartition, Long> committed = new HashMap<>();
            OffsetFetchResponseGroup group = ar.result();
            group.topics().forEach(t -> t.partitions().forEach(p -> {
                if (p.errorCode() == Errors.NONE.code()) {
                    committed.put(new TopicPartition(t.name(), p.partitionIndex()), p.committedOffset());
                }
            }));
            for (TopicPartition tp : assigned) {
                long offset = committed.getOrDefault(tp, -1L);
                // without a committed offset the leader resolves the reset: -2 its log start, -1 its high watermark
                cursors.put(tp, new Cursor(tp, offset >= 0 ? offset : resetPosition(), offset));
            }
            LOG.info("Subscription {} of group {} (member {}, generation {}) assigned {}", req.instanceId(),
                    req.group(), memberId, generation, cursors.keySet());
            started.tryComplete();
            pump();
        });
    }

    private long resetPosition() {
        return req.earliest() ? -2 : -1;
    }

    private void tick() {
        if (closed) {
            return;
        }
        if (System.currentTimeMillis() - lastSeen > req.sessionTimeoutMs()) {
            close("no heartbeat from the subscriber within " + req.sessionTimeoutMs() + " ms");
            return;
        }
        // a read waiting on a broker that no longer leads its partition (or died) is given up at once
        for (Cursor c : cursors.values()) {
            if (c.reading && c.readLeader != leaderOf(c.tp)) {
                c.readSeq++;
                c.reading = false;
            }
        }
        pump();
        if (joining || generation < 0 || heartbeatInFlight) {
            return;
        }
        heartbeatInFlight = true;
        int gen = generation;
        here(groups.heartbeat(new HeartbeatRequestData().setGroupId(req.group()).setMemberId(memberId)
                .setGroupInstanceId(req.instanceId()).setGenerationId(gen))).onComplete(ar -> {
                    heartbeatInFlight = false;
                    if (closed || ar.failed() || joining || gen != generation) {
                        return;
                    }
                    Errors error = Errors.forCode(ar.result().errorCode());
                    switch (error) {
                        case NONE -> {
                        }
                        case REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION -> rebalance();
                        case UNKNOWN_MEMBER_ID -> {
                            memberId = "";
                            rebalance();
                        }
                        case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, FENCED_INSTANCE_ID -> moved(error);
                        default -> LOG.debug("Heartbeat of subscription {} answered {}", req.instanceId(), error);
                    }
                });
    }

    /** Eager rebalance: stop delivering, commit what was acknowledged, drop the partitions, rejoin. */
    private void rebalance() {
        joining = true;
        revokeAll().onComplete(v -> join());
    }

    private Future<Void> revokeAll() {
        epoch++;
        cursors.values().forEach(Cursor::revoke);
        return commit().transform(ar -> {
            cursors.clear();
            return Future.<Void>succeededFuture();
        });
    }

    // ---- offsets ----

    /**
     * Commits every partition whose acknowledged prefix moved. Commits run one at a time; a call while one
     * is running joins the next one, which picks up all acknowledgements made until it starts.
     */
    Future<Void> commit() {
        if (queuedCommit != null) {
            return queuedCommit.future();
        }
        Promise<Void> next = context.promise();
        queuedCommit = next;
        lastCommit.onComplete(ar -> {
            if (queuedCommit == next) {
                queuedCommit = null;
            }
            commitNow().onComplete(next);
        });
        lastCommit = next.future();
        return next.future();
    }

    /**
     * Commits the acknowledgements within {@link #COMMIT_INTERVAL_MS}: one commit (a replicated write) per
     * acknowledgement would cost more than the deliveries; at most that much is delivered again after the
     * subscription moves to another broker.
     */
    private void commitSoon() {
        if (commitTimer < 0 && !closed) {
            commitTimer = vertx.setTimer(COMMIT_INTERVAL_MS, t -> {
                commitTimer = -1;
                if (!closed) {
                    commit();
                }
            });
        }
    }

    private Future<Void> commitNow() {
        Map<Cursor, Long> offsets = new LinkedHashMap<>();
        for (Cursor c : cursors.values()) {
            long offset = c.committable();
            if (offset > c.committed) {
                offsets.put(c, offset);
            }
        }
        if (offsets.isEmpty() || generation < 0) {
            return Future.succeededFuture();
        }
        Map<String, OffsetCommitRequestTopic> byTopic = new LinkedHashMap<>();
        offsets.forEach((c, offset) -> byTopic.computeIfAbsent(c.tp.topic(),
                t -> new OffsetCommitRequestTopic().setName(t)).partitions().add(
                new OffsetCommitRequestPartition().setPartitionIndex(c.tp.partition()).setCommittedOffset(offset)
                        .setCommittedLeaderEpoch(-1).setCommittedMetadata("")));
        OffsetCommitRequestData request = new OffsetCommitRequestData().setGroupId(req.group())
                .setGenerationIdOrMemberEpoch(generation).setMemberId(memberId).setGroupInstanceId(req.instanceId())
                .setTopics(new ArrayList<>(byTopic.values()));
        return here(groups.commitOffsets(request, COMMIT_VERSION)).map(resp -> {
            Map<TopicPartition, Short> errors = new HashMap<>();
            for (OffsetCommitResponseData.OffsetCommitResponseTopic t : resp.topics()) {
                t.partitions().forEach(p -> errors.put(new TopicPartition(t.name(), p.partitionIndex()), p.errorCode()));
            }
            offsets.forEach((c, offset) -> {
                short error = errors.getOrDefault(c.tp, Errors.UNKNOWN_SERVER_ERROR.code());
                if (error == Errors.NONE.code()) {
                    c.committed = Math.max(c.committed, offset);
                } else {
                    // not fatal: the records stay uncommitted and are delivered again after a rebalance
                    LOG.debug("Commit of {} at {} for subscription {} failed: {}", c.tp, offset, req.instanceId(),
                            Errors.forCode(error));
                }
            });
            return null;
        });
    }

    /** The committed offsets of the current assignment, after committing what was acknowledged. */
    Future<JsonObject> commitAndDescribe() {
        return commit().map(v -> {
            JsonArray out = new JsonArray();
            for (Cursor c : cursors.values()) {
                out.add(new JsonObject().put("topic", c.tp.topic()).put("partition", c.tp.partition())
                        .put("offset", c.committed));
            }
            return new JsonObject().put("offsets", out);
        });
    }

    // ---- reading ----

    /** The leader of {@code tp} as the metadata says now, or -1 while it has none. */
    private int leaderOf(TopicPartition tp) {
        if (cluster == null) {
            return localNode;
        }
        PartitionState state = cluster.state(tp);
        return state == null ? -1 : state.leader();
    }

    private void read(Cursor c) {
        int leader = leaderOf(c.tp);
        if (leader < 0) {
            retryRead(c, RETRY_MS);
            return;
        }
        c.reading = true;
        c.readLeader = leader;
        long from = c.fetchPosition;
        int readSeq = ++c.readSeq;
        Future<BridgeReads.Read> result;
        if (leader == localNode && localReads != null) {
            // led here: the read is a call, its records handed over as read (no event-bus request, reply or copy)
            result = localReads.read(c.tp, from, READ_MAX_BYTES, READ_MAX_WAIT_MS);
        } else {
            DeliveryOptions options = new DeliveryOptions().setSendTimeout(READ_MAX_WAIT_MS + READ_GRACE_MS);
            result = vertx.eventBus().<Object>request(BridgeAddresses.nodeAddress(prefix, leader, BridgeAddresses.READ),
                    BridgeReads.request(c.tp, from, READ_MAX_BYTES, READ_MAX_WAIT_MS), options)
                    .map(reply -> BridgeReads.Read.of(reply, from));
        }
        result.onComplete(ar -> {
            if (readSeq != c.readSeq || c.revoked || closed) {
                return;
            }
            c.reading = false;
            if (ar.failed()) {
                Errors error = BridgeException.errorOf(ar.cause());
                if (error == Errors.OFFSET_OUT_OF_RANGE) {
                    LOG.info("Subscription {}: offset {} of {} is out of range, reset to the {}", req.instanceId(),
                            from, c.tp, req.earliest() ? "log start" : "high watermark");
                    c.fetchPosition = resetPosition();
                    pump();
                } else {
                    // the leader moved or died: the next read asks whoever the metadata names then
                    LOG.debug("Subscription {}: reading {} at {} on broker {} failed: {}", req.instanceId(), c.tp,
                            from, leader, ar.cause().getMessage());
                    retryRead(c, error == Errors.NOT_LEADER_OR_FOLLOWER || isTransport(ar.cause())
                            ? RETRY_MS : 1000);
                }
                return;
            }
            long start = ar.result().from();
            BridgeReads.Batch batch = BridgeReads.parse(c.tp, ar.result().records(), start);
            c.buffered.addAll(batch.records());
            c.fetchPosition = Math.max(batch.next(), start);
            pump();
        });
    }

    private static boolean isTransport(Throwable t) {
        return t instanceof ReplyException re
                && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.TIMEOUT);
    }

    private void retryRead(Cursor c, long delayMs) {
        c.retrying = true;
        vertx.setTimer(delayMs, t -> {
            c.retrying = false;
            pump();
        });
    }

    // ---- delivery ----

    private void pump() {
        if (closed) {
            return;
        }
        boolean progress = true;
        while (progress && outstanding < req.credits()) {
            progress = false;
            for (Cursor c : cursors.values()) {
                if (outstanding >= req.credits()) {
                    break;
                }
                if (!c.revoked && !c.buffered.isEmpty() && (!req.ordered() || c.inFlight == 0)) {
                    List<BridgeRecord> records = new ArrayList<>(Math.min(req.batch(), c.buffered.size()));
                    while (records.size() < req.batch() && !c.buffered.isEmpty()) {
                        records.add(c.buffered.poll());
                    }
                    deliver(c, records);
                    progress = true;
                }
            }
        }
        for (Cursor c : cursors.values()) {
            if (!c.revoked && !c.reading && !c.retrying && c.buffered.isEmpty()) {
                read(c);
            }
        }
    }

    private void deliver(Cursor c, List<BridgeRecord> records) {
        long delivery = ++deliverySeq;
        long first = records.get(0).offset();
        c.pending.put(first, delivery);
        c.inFlight++;
        outstanding++;
        DeliveryOptions options = new DeliveryOptions().setSendTimeout(req.ackTimeoutMs())
                .addHeader(BridgeAddresses.H_SUBSCRIPTION, id);
        Object body = req.binary() ? binary(records.get(0), options) : json(records, options);
        vertx.eventBus().request(req.address(), body, options).onComplete(ar -> {
            outstanding--;
            c.inFlight--;
            boolean current = !c.revoked && Long.valueOf(delivery).equals(c.pending.get(first));
            if (ar.succeeded()) {
                touch();
                if (current) {
                    c.pending.remove(first);
                    if (c.committable() > c.committed) {
                        commitSoon();
                    }
                }
            } else {
                ReplyFailure failure = ar.cause() instanceof ReplyException re ? re.failureType() : ReplyFailure.ERROR;
                if (failure == ReplyFailure.NO_HANDLERS) {
                    close("nobody listens at " + req.address());
                    return;
                }
                if (failure == ReplyFailure.RECIPIENT_FAILURE) {
                    touch();
                }
                if (current) {
                    rewind(c, first);
                }
            }
            pump();
        });
    }

    private static Buffer binary(BridgeRecord r, DeliveryOptions options) {
        options.addHeader(BridgeAddresses.H_TOPIC, r.topic())
                .addHeader(BridgeAddresses.H_PARTITION, Integer.toString(r.partition()))
                .addHeader(BridgeAddresses.H_OFFSET, Long.toString(r.offset()))
                .addHeader(BridgeAddresses.H_TIMESTAMP, Long.toString(r.timestamp()))
                .addHeader(BridgeAddresses.H_TIMESTAMP_TYPE, r.timestampType());
        if (r.key() != null) {
            options.addHeader(BridgeAddresses.H_KEY, BridgeMessages.encodeBytes(r.key()));
        }
        if (!r.headers().isEmpty()) {
            options.addHeader(BridgeAddresses.H_HEADERS, BridgeMessages.encodeHeaders(r.headers()));
        }
        return r.value() == null ? null : Buffer.buffer(r.value());
    }

    /** One JSON record object, or with {@code batch} above 1 an array of them; headers name the first. */
    private Object json(List<BridgeRecord> records, DeliveryOptions options) {
        BridgeRecord head = records.get(0);
        options.addHeader(BridgeAddresses.H_TOPIC, head.topic())
                .addHeader(BridgeAddresses.H_PARTITION, Integer.toString(head.partition()))
                .addHeader(BridgeAddresses.H_OFFSET, Long.toString(head.offset()));
        if (req.batch() == 1) {
            return encode(head);
        }
        JsonArray array = new JsonArray(new ArrayList<>(records.size()));
        records.forEach(r -> array.add(encode(r)));
        return array;
    }

    private JsonObject encode(BridgeRecord r) {
        return BridgeRecordJson.encode(r.topic(), r.partition(), r.offset(), r.timestamp(), r.timestampType(), r.key(),
                r.value(), r.headers().toArray(new Header[0]), jsonEncoding, jsonEncoding);
    }

    /** Redelivers a partition from {@code offset}: later deliveries in flight no longer count. */
    private void rewind(Cursor c, long offset) {
        c.pending.tailMap(offset, true).clear();
        c.buffered.clear();
        c.fetchPosition = offset;
        c.reading = false;
        c.readSeq++;
    }

    // ---- end ----

    /** Commits what was acknowledged and leaves the group; completes on the bridge context. */
    Future<Void> close(String reason) {
        if (closing != null) {
            return closing;
        }
        stop(reason);
        closing = commit().transform(ar -> memberId.isEmpty() ? Future.<Void>succeededFuture()
                : here(groups.leaveGroup(req.group(), List.of(new MemberIdentity().setMemberId(memberId)
                        .setGroupInstanceId(req.instanceId())))).<Void>mapEmpty().otherwiseEmpty())
                .onComplete(ar -> {
                    cursors.clear();
                    onClosed.accept(this, false);
                });
        return closing;
    }

    /**
     * Stops here without leaving the group, after committing what it can: another broker takes the
     * subscription over (the broker shuts down, or no longer coordinates the group), and its incarnation
     * rejoins under the same instance id, keeping the partitions.
     */
    Future<Void> handOff(String reason) {
        if (closing != null) {
            return closing;
        }
        stop(reason);
        closing = commit().otherwiseEmpty().onComplete(ar -> {
            cursors.clear();
            onClosed.accept(this, true);
        });
        return closing;
    }

    private void stop(String reason) {
        closed = true;
        vertx.cancelTimer(timerId);
        LOG.info("Subscription {} of group {} (member {}) stops here: {}", req.instanceId(), req.group(), memberId,
                reason);
        epoch++;
        cursors.values().forEach(Cursor::revoke);
        started.tryFail(reason);
    }

    /** The group is coordinated elsewhere now, or a newer incarnation took this member over. */
    private void moved(Errors error) {
        if (!started.future().isComplete()) {
            // the request is routed again to whoever coordinates the group now
            started.tryFail(error.exception("the group's coordinator is not this broker"));
        }
        handOff("the group is no longer coordinated here (" + error.name() + ")");
    }

    private void failStart(Throwable cause) {
        if (!started.future().isComplete()) {
            started.tryFail(cause);
            close("joining the group failed: " + cause.getMessage());
        } else {
            LOG.warn("Subscription {}: group operation failed; rejoining", req.instanceId(), cause);
            vertx.setTimer(RETRY_MS, t -> rebalance());
        }
    }

    private <T> Future<T> here(Future<T> f) {
        Promise<T> promise = context.promise();
        f.onComplete(promise);
        return promise.future();
    }

    /** One assigned partition, read from its leader. */
    private static final class Cursor {
        final TopicPartition tp;
        final ArrayDeque<BridgeRecord> buffered = new ArrayDeque<>();
        /** first offset of each delivered, unacknowledged delivery, to the delivery that carries it */
        final TreeMap<Long, Long> pending = new TreeMap<>();
        /** -2/-1 until the leader resolved the reset (see {@link BridgeReads}) */
        long fetchPosition;
        long committed;
        int inFlight;
        boolean reading;
        boolean retrying;
        boolean revoked;
        int readSeq;
        int readLeader = -1;

        Cursor(TopicPartition tp, long position, long committed) {
            this.tp = tp;
            this.fetchPosition = position;
            this.committed = committed;
        }

        void revoke() {
            revoked = true;
            readSeq++;
        }

        long committable() {
            if (!pending.isEmpty()) {
                return pending.firstKey();
            }
            if (!buffered.isEmpty()) {
                return buffered.peek().offset();
            }
            return fetchPosition;
        }
    }
}
