package io.runnel.bridge;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.runnel.cluster.TopicInfo;
import io.runnel.cluster.TopicManager;
import io.runnel.group.GroupCoordinator;
import io.runnel.log.LogBatch;
import io.runnel.log.LogReadResult;
import io.runnel.log.LogRecord;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionManager;
import io.runnel.partition.PartitionOwner;
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
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
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
 * One event-bus subscriber's membership in a consumer group, and the delivery of its partitions.
 *
 * <p>The bridge is a real member of the classic group, through the same coordinator calls a Kafka
 * consumer's requests make: JoinGroup with the {@code consumer} protocol type and the {@code range}
 * protocol (the one every Java consumer offers by default), SyncGroup (as leader it assigns with
 * kafka-clients' {@link RangeAssignor}), Heartbeat, OffsetCommit, LeaveGroup. So Kafka consumers and
 * event-bus subscribers of one group share its partitions, and the commits are ordinary group offsets.
 * Rebalances are eager, as the range protocol is: on REBALANCE_IN_PROGRESS every partition is revoked,
 * acknowledged offsets committed, then the member rejoins.
 *
 * <p>Delivery: each record is an event-bus request to the subscriber's address; the reply is the
 * acknowledgement. At most {@code credits} requests are unanswered at any time (flow control). Per
 * partition, the committed offset is the lowest delivered-but-unacknowledged offset (or the read
 * position when all are acknowledged), so a record is committed only after it and everything before
 * it were acknowledged: at-least-once. A failure reply or an ack timeout rewinds the partition to that
 * record and redelivers from there; NO_HANDLERS (nobody listens at the address), the subscriber's
 * cluster node leaving, or no heartbeat within the session timeout end the subscription: the member
 * commits what was acknowledged and leaves the group, and its partitions go to the other members.
 *
 * <p>Threading: every field is confined to the bridge verticle's event-loop context; results of the
 * coordinator and the partition owners are hopped back onto it. Reads that touch the disk run on the
 * partition owner's worker context. Append listeners run on the appender's thread and only schedule.
 */
final class BridgeSubscription {

    private static final Logger LOG = LoggerFactory.getLogger(BridgeSubscription.class);
    private static final short JOIN_VERSION = 9;
    private static final short COMMIT_VERSION = 8;
    private static final int READ_MAX_BYTES = 1 << 20;
    private static final long RETRY_MS = 100;

    /** What the subscriber asked for (validated by the verticle). */
    record Request(String group, List<String> topics, String address, int credits, int sessionTimeoutMs,
                   long ackTimeoutMs, boolean earliest, String nodeId, String clientId) {
    }

    private final String id = UUID.randomUUID().toString();
    private final Request req;
    private final Vertx vertx;
    private final ContextInternal context;
    private final TopicManager topics;
    private final PartitionManager partitions;
    private final GroupCoordinator groups;
    private final Consumer<BridgeSubscription> onClosed;
    private final byte[] subscriptionMetadata;
    private final long heartbeatIntervalMs;
    private final Promise<Void> started;
    private final Map<TopicPartition, Cursor> cursors = new LinkedHashMap<>();

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
    private Future<Void> lastCommit = Future.succeededFuture();
    private Promise<Void> queuedCommit;

    BridgeSubscription(Request req, Vertx vertx, ContextInternal context, TopicManager topics,
                       PartitionManager partitions, GroupCoordinator groups, Consumer<BridgeSubscription> onClosed) {
        this.req = req;
        this.vertx = vertx;
        this.context = context;
        this.topics = topics;
        this.partitions = partitions;
        this.groups = groups;
        this.onClosed = onClosed;
        this.subscriptionMetadata = Utils.toArray(ConsumerProtocol.serializeSubscription(new Subscription(req.topics())));
        this.heartbeatIntervalMs = Math.max(50, Math.min(req.sessionTimeoutMs() / 3, 1000));
        this.started = context.promise();
    }

    String id() {
        return id;
    }

    String nodeId() {
        return req.nodeId();
    }

    long heartbeatIntervalMs() {
        return heartbeatIntervalMs;
    }

    /** Joins the group; completes once the first assignment is known (on the bridge context). */
    Future<Void> start() {
        lastSeen = System.currentTimeMillis();
        timerId = vertx.setPeriodic(heartbeatIntervalMs, t -> tick());
        join();
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
                        case COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
                             REBALANCE_IN_PROGRESS -> vertx.setTimer(RETRY_MS, t -> join());
                        default -> failStart(error.exception());
                    }
                });
    }

    private void sync(JoinGroupResponseData joined) {
        List<SyncGroupRequestAssignment> assignments = joined.leader().equals(memberId) ? assign(joined) : List.of();
        SyncGroupRequestData request = new SyncGroupRequestData().setGroupId(req.group()).setMemberId(memberId)
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
                case COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR ->
                        vertx.setTimer(RETRY_MS, t -> join());
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
                PartitionOwner owner = partitions.get(tp);
                if (owner == null) {
                    LOG.warn("Subscription {} was assigned {}, which this node does not host", id, tp);
                    continue;
                }
                long offset = committed.getOrDefault(tp, -1L);
                Cursor c = new Cursor(tp, owner, offset >= 0 ? offset : resetOffset(owner), offset);
                cursors.put(tp, c);
                owner.addAppendListener(c);
            }
            LOG.info("Subscription {} of group {} (member {}, generation {}) assigned {}", id, req.group(), memberId,
                    generation, cursors.keySet());
            started.tryComplete();
            pump();
        });
    }

    private long resetOffset(PartitionOwner owner) {
        return req.earliest() ? owner.log().logStartOffset() : owner.highWatermark();
    }

    private void tick() {
        if (closed) {
            return;
        }
        if (System.currentTimeMillis() - lastSeen > req.sessionTimeoutMs()) {
            close("no heartbeat from the subscriber within " + req.sessionTimeoutMs() + " ms");
            return;
        }
        if (joining || generation < 0 || heartbeatInFlight) {
            return;
        }
        heartbeatInFlight = true;
        int gen = generation;
        here(groups.heartbeat(new HeartbeatRequestData().setGroupId(req.group()).setMemberId(memberId)
                .setGenerationId(gen))).onComplete(ar -> {
                    heartbeatInFlight = false;
                    if (closed || ar.failed() || joining || gen != generation) {
                        return;
                    }
                    Errors error = Errors.forCode(ar.result().errorCode());
                    switch (error) {
                        case NONE -> {
                        }
                        case REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION -> rebalance();
                        case UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID -> {
                            memberId = "";
                            rebalance();
                        }
                        default -> LOG.debug("Heartbeat of subscription {} answered {}", id, error);
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
        for (Cursor c : cursors.values()) {
            c.revoked = true;
            c.owner.removeAppendListener(c);
        }
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
                .setGenerationIdOrMemberEpoch(generation).setMemberId(memberId)
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
                    LOG.debug("Commit of {} at {} for subscription {} failed: {}", c.tp, offset, id, Errors.forCode(error));
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
                if (!c.revoked && !c.buffered.isEmpty()) {
                    deliver(c, c.buffered.poll());
                    progress = true;
                }
            }
        }
        for (Cursor c : cursors.values()) {
            if (!c.revoked && !c.reading && c.buffered.isEmpty() && !c.waiting.get()) {
                read(c);
            }
        }
    }

    private void read(Cursor c) {
        c.reading = true;
        long from = c.fetchPosition;
        int readSeq = ++c.readSeq;
        here(c.owner.submit(() -> readRecords(c.owner, from))).onComplete(ar -> {
            if (readSeq != c.readSeq) {
                return;
            }
            c.reading = false;
            if (c.revoked || closed) {
                return;
            }
            if (ar.failed()) {
                if (ar.cause() instanceof OffsetOutOfRangeException) {
                    c.fetchPosition = resetOffset(c.owner);
                    LOG.info("Subscription {}: offset {} of {} is out of range, reset to {}", id, from, c.tp,
                            c.fetchPosition);
                    pump();
                } else {
                    LOG.warn("Subscription {}: reading {} at {} failed", id, c.tp, from, ar.cause());
                    vertx.setTimer(1000, t -> pump());
                }
                return;
            }
            Batch batch = ar.result();
            if (batch.records.isEmpty() && batch.next <= from) {
                // caught up: wait for an append, re-checking the high watermark against a race with it
                c.waiting.set(true);
                if (c.owner.highWatermark() > from && c.waiting.compareAndSet(true, false)) {
                    context.runOnContext(v -> pump());
                }
                return;
            }
            c.buffered.addAll(batch.records);
            c.fetchPosition = Math.max(batch.next, from);
            pump();
        });
    }

    private record Batch(List<BridgeRecord> records, long next) {
    }

    /** On the owner's worker context: may wait on the disk. */
    private static Batch readRecords(PartitionOwner owner, long from) {
        TopicPartition tp = owner.topicPartition();
        LogReadResult result = owner.read(from, READ_MAX_BYTES, true);
        RecordSet records = result.records().toRecordSet();
        List<BridgeRecord> out = new ArrayList<>();
        long next = from;
        for (LogBatch batch : records.batches()) {
            next = Math.max(next, batch.nextOffset());
            if (batch.isControlBatch()) {
                continue;
            }
            for (LogRecord r : batch) {
                if (r.offset() < from) {
                    continue;
                }
                List<Header> headers = List.of(r.headers());
                out.add(new BridgeRecord(tp.topic(), tp.partition(), r.offset(), r.timestamp(),
                        batch.timestampType().toString(), r.hasKey() ? Utils.toArray(r.key()) : null,
                        r.hasValue() ? Utils.toArray(r.value()) : null, headers));
            }
        }
        return new Batch(out, next);
    }

    private void deliver(Cursor c, BridgeRecord r) {
        long delivery = ++deliverySeq;
        c.pending.put(r.offset(), delivery);
        outstanding++;
        DeliveryOptions options = new DeliveryOptions().setSendTimeout(req.ackTimeoutMs())
                .addHeader(BridgeAddresses.H_SUBSCRIPTION, id)
                .addHeader(BridgeAddresses.H_TOPIC, r.topic())
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
        Buffer body = r.value() == null ? null : Buffer.buffer(r.value());
        vertx.eventBus().request(req.address(), body, options).onComplete(ar -> {
            outstanding--;
            boolean current = !c.revoked && Long.valueOf(delivery).equals(c.pending.get(r.offset()));
            if (ar.succeeded()) {
                touch();
                if (current) {
                    c.pending.remove(r.offset());
                    if (c.committable() > c.committed) {
                        commit();
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
                    rewind(c, r.offset());
                }
            }
            pump();
        });
    }

    /** Redelivers a partition from {@code offset}: later deliveries in flight no longer count. */
    private void rewind(Cursor c, long offset) {
        c.pending.tailMap(offset, true).clear();
        c.buffered.clear();
        c.fetchPosition = offset;
        c.reading = false;
        c.readSeq++;
        c.waiting.set(false);
    }

    // ---- end ----

    /** Commits what was acknowledged and leaves the group; completes on the bridge context. */
    Future<Void> close(String reason) {
        if (closing != null) {
            return closing;
        }
        closed = true;
        vertx.cancelTimer(timerId);
        LOG.info("Closing subscription {} of group {} (member {}): {}", id, req.group(), memberId, reason);
        epoch++;
        for (Cursor c : cursors.values()) {
            c.revoked = true;
            c.owner.removeAppendListener(c);
        }
        started.tryFail(reason);
        closing = commit().transform(ar -> memberId.isEmpty() ? Future.<Void>succeededFuture()
                : here(groups.leaveGroup(req.group(), List.of(new MemberIdentity().setMemberId(memberId))))
                        .<Void>mapEmpty().otherwiseEmpty()).onComplete(ar -> {
                            cursors.clear();
                            onClosed.accept(this);
                        });
        return closing;
    }

    private void failStart(Throwable cause) {
        if (!started.future().isComplete()) {
            started.tryFail(cause);
            close("joining the group failed: " + cause.getMessage());
        } else {
            LOG.warn("Subscription {}: group operation failed; rejoining", id, cause);
            vertx.setTimer(RETRY_MS, t -> rebalance());
        }
    }

    private <T> Future<T> here(Future<T> f) {
        Promise<T> promise = context.promise();
        f.onComplete(promise);
        return promise.future();
    }

    /** One assigned partition. Its listener runs on the appender's thread and only schedules a pump. */
    private final class Cursor implements Runnable {
        final TopicPartition tp;
        final PartitionOwner owner;
        final ArrayDeque<BridgeRecord> buffered = new ArrayDeque<>();
        /** offset of each delivered, unacknowledged record, to the delivery that carries it */
        final TreeMap<Long, Long> pending = new TreeMap<>();
        final AtomicBoolean waiting = new AtomicBoolean();
        long fetchPosition;
        long committed;
        boolean reading;
        boolean revoked;
        int readSeq;

        Cursor(TopicPartition tp, PartitionOwner owner, long position, long committed) {
            this.tp = tp;
            this.owner = owner;
            this.fetchPosition = position;
            this.committed = committed;
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

        @Override
        public void run() {
            if (waiting.compareAndSet(true, false)) {
                context.runOnContext(v -> pump());
            }
        }
    }
}
