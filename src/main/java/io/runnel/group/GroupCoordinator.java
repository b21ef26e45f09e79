package io.runnel.group;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

import io.runnel.log.LogBatch;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DeleteGroupsResponseData.DeletableGroupResult;
import org.apache.kafka.common.message.DeleteGroupsResponseData.DeletableGroupResultCollection;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroupMember;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData.ListedGroup;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classic consumer group coordinator, as Apache Kafka 4.x's classic group coordinator behaves:
 * the membership protocol ({@link GroupMembership}), committed offsets ({@link OffsetManager}) and the
 * admin APIs over groups, over one {@link GroupStore}.
 *
 * <p>Threading: every group lives on ONE event-loop context created for the coordinator. Public methods
 * may be called from any thread; they hop onto that context and return futures completed on it. No
 * thread is ever parked: JoinGroup and SyncGroup answers are promises completed by the rebalance.
 *
 * <p>Persistence: offsets and group snapshots are appended to {@code __consumer_offsets} partition
 * {@code abs(groupId.hashCode()) % offsets.topic.num.partitions} through {@link OffsetsLog}, in the
 * format of {@link GroupRecordCodec}. A group is served by the broker that leads its partition, as in
 * Kafka: {@link #onElected} replays the partition (its groups get COORDINATOR_LOAD_IN_PROGRESS until
 * then), {@link #onResigned} drops its groups, and groups of partitions led elsewhere get
 * NOT_COORDINATOR.
 *
 * <p>Transactions: TxnOffsetCommit appends its offsets as a transactional batch of the producer; they stay
 * pending ({@link PendingTxnOffsets}) until the producer's marker in the same partition, which the
 * partition's leader announces through {@link #onTransactionCompleted} and a replay reads from the log.
 */
public final class GroupCoordinator {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCoordinator.class);
    private static final byte[] EMPTY_BYTES = new byte[0];
    private static final String GROUP_TYPE_CLASSIC = "classic";

    private final Vertx vertx;
    private final Context context;
    private final GroupConfig config;
    private final GroupStore store;
    private final Map<String, ClassicGroup> groups;
    private final GroupMembership membership;
    private final OffsetManager offsets;
    private long retentionTimerId = -1;
    // which load of a partition is current: a replay finishing after an unload (or a newer load) is dropped
    private final Map<Integer, Long> loadTokens = new java.util.HashMap<>();
    // markers written to a partition while it loads, applied after its replay unless the replay read them
    private final Map<Integer, List<ReplayedMarker>> markersDuringLoad = new java.util.HashMap<>();
    private long loadSequence;
    private static final long LOAD_RETRY_MS = 1000;

    /**
     * @param topicExists whether a topic-partition exists (OffsetCommit and OffsetDelete to an unknown one get
     *                    UNKNOWN_TOPIC_OR_PARTITION); called on the coordinator's context, must not block
     */
    public GroupCoordinator(Vertx vertx, GroupConfig config, OffsetsLog log, Predicate<TopicPartition> topicExists,
                            Time time) {
        this.vertx = vertx;
        // an event-loop context of its own: the coordinator must not share (and be stalled by) its creator's
        this.context = ((VertxInternal) vertx).createEventLoopContext();
        this.config = config;
        this.store = new GroupStore(vertx, context, config, log, time);
        this.groups = store.groups;
        this.membership = new GroupMembership(store);
        this.offsets = new OffsetManager(store, membership, topicExists);
    }

    public GroupConfig config() {
        return config;
    }

    /**
     * Where the partition count of {@code __consumer_offsets} comes from (default: the configured
     * {@code offsets.topic.num.partitions}). The broker points it at the existing topic, as Kafka does, so
     * that changing the setting later does not move groups away from their committed offsets. Call before
     * serving; the supplier is called on any thread and must not block.
     */
    public void partitionCountFrom(java.util.function.IntSupplier count) {
        store.partitionCount = count;
    }

    /** The {@code __consumer_offsets} partition holding the group, as Kafka computes it. */
    public int partitionFor(String groupId) {
        return store.partitionFor(groupId);
    }

    /**
     * Serves every offsets partition, as the only broker does: starts the periodic offset expiry and loads
     * them all. Completes on the coordinator's context once every partition is loaded.
     */
    public Future<Void> start() {
        return call(() -> {
            startTimers();
            List<Future<Void>> loads = new ArrayList<>();
            for (int p = 0, n = store.partitionCount.getAsInt(); p < n; p++) {
                loads.add(load(p));
            }
            return Future.all(loads).mapEmpty();
        });
    }

    /**
     * Starts the periodic offset expiry and serves no partition until {@link #onElected} says this broker
     * leads it: a broker whose offsets partitions follow their replicated leaders.
     */
    public Future<Void> startFollowingLeadership() {
        return call(() -> {
            startTimers();
            return Future.succeededFuture();
        });
    }

    /**
     * This broker became the leader of offsets partition {@code partition}: its groups are loaded by
     * replaying the partition (requests for them get COORDINATOR_LOAD_IN_PROGRESS meanwhile). Completes on
     * the coordinator's context once they are served. Any thread.
     */
    public Future<Void> onElected(int partition) {
        return call(() -> load(partition));
    }

    /**
     * This broker no longer leads offsets partition {@code partition}: its groups are dropped from memory,
     * their parked JoinGroup/SyncGroup requests answered NOT_COORDINATOR, so their members find the new
     * coordinator. Any thread.
     */
    public Future<Void> onResigned(int partition) {
        return call(() -> {
            unload(partition);
            return Future.succeededFuture();
        });
    }

    /**
     * A transaction marker of {@code producerId} is written to offsets partition {@code partition} at
     * {@code markerOffset}: on commit the offsets that producer committed in the transaction (TxnOffsetCommit)
     * become the group's committed offsets, on abort they are dropped. Called by the partition's leader once
     * the marker is appended. Any thread.
     */
    public Future<Void> onTransactionCompleted(int partition, long producerId, boolean committed, long markerOffset) {
        return call(() -> {
            GroupStore.PartitionStatus status = store.closed ? null : store.partitions.get(partition);
            if (status == null) {
                // not served here: whoever loads the partition replays the marker from the log
                return Future.succeededFuture();
            }
            if (status == GroupStore.PartitionStatus.LOADING) {
                // the replay may have read the log's end before the marker: applied after it unless it saw it
                markersDuringLoad.computeIfAbsent(partition, p -> new ArrayList<>())
                        .add(new ReplayedMarker(producerId, committed, markerOffset));
                return Future.succeededFuture();
            }
            Long token = loadTokens.get(partition);
            // after the appends already made there (a commit of the transaction being answered), in log order
            return store.appendsDone(partition).map(v -> {
                if (java.util.Objects.equals(token, loadTokens.get(partition))
                        && store.partitions.get(partition) == GroupStore.PartitionStatus.LOADED) {
                    applyMarker(partition, producerId, committed, markerOffset);
                }
                return null;
            });
        });
    }

    /**
     * The producer's transaction ended at {@code markerOffset}: its offsets pending in the partition's groups
     * become committed offsets (COMMIT) where their record is later than the group's current one, as Kafka
     * keeps the latest in log order, or are dropped (ABORT).
     */
    private void applyMarker(int partition, long producerId, boolean committed, long markerOffset) {
        Map<String, Map<TopicPartition, CommittedOffset>> ended = store.pendingTxnOffsets.complete(producerId,
                g -> store.partitionFor(g) == partition, markerOffset);
        if (!committed) {
            return;
        }
        ended.forEach((groupId, offsets) -> {
            ClassicGroup g = groups.get(groupId);
            if (g == null || g.is(GroupState.DEAD)) {
                g = new ClassicGroup(groupId, now());
                groups.put(groupId, g);
            }
            for (Map.Entry<TopicPartition, CommittedOffset> e : offsets.entrySet()) {
                CommittedOffset existing = g.offsets.get(e.getKey());
                if (existing == null || e.getValue().recordOffset() > existing.recordOffset()) {
                    g.offsets.put(e.getKey(), e.getValue());
                }
            }
        });
    }

    /** Whether every partition this coordinator leads is loaded (for readiness). Any thread. */
    public Future<Boolean> loaded() {
        return call(() -> Future.succeededFuture(!store.anyLoading()));
    }

    /**
     * Whether this coordinator serves {@code groupId} now: NONE, COORDINATOR_LOAD_IN_PROGRESS while its
     * offsets partition is being replayed here, else NOT_COORDINATOR (what a request for it would be
     * answered). Lets the event-bus bridge route a group's calls to its coordinator. Any thread.
     */
    public Future<Errors> status(String groupId) {
        return call(() -> {
            if (store.closed) {
                return Future.succeededFuture(Errors.NOT_COORDINATOR);
            }
            GroupStore.PartitionStatus status = store.partitions.get(store.partitionFor(groupId));
            return Future.succeededFuture(status == null ? Errors.NOT_COORDINATOR
                    : status == GroupStore.PartitionStatus.LOADING ? Errors.COORDINATOR_LOAD_IN_PROGRESS : Errors.NONE);
        });
    }

    /** Offsets partitions whose groups this coordinator serves now. Any thread. */
    public Future<Set<Integer>> servedPartitions() {
        return call(() -> {
            Set<Integer> out = new java.util.TreeSet<>();
            store.partitions.forEach((p, status) -> {
                if (status == GroupStore.PartitionStatus.LOADED) {
                    out.add(p);
                }
            });
            return Future.succeededFuture(out);
        });
    }

    private void startTimers() {
        if (retentionTimerId < 0 && !store.closed) {
            retentionTimerId = vertx.setPeriodic(config.offsetsRetentionCheckIntervalMs(),
                    id -> context.runOnContext(v -> offsets.expireOffsets()));
        }
    }

    private Future<Void> load(int partition) {
        if (store.closed || store.partitions.containsKey(partition)) {
            return Future.succeededFuture();
        }
        store.partitions.put(partition, GroupStore.PartitionStatus.LOADING);
        long token = ++loadSequence;
        loadTokens.put(partition, token);
        long started = System.nanoTime();
        return context.executeBlocking(() -> readPartition(partition), true).transform(ar -> {
            if (store.closed || !Long.valueOf(token).equals(loadTokens.get(partition))
                    || store.partitions.get(partition) != GroupStore.PartitionStatus.LOADING) {
                // unloaded (or reloaded) meanwhile: this replay is stale
                return Future.succeededFuture();
            }
            if (ar.failed()) {
                LOG.error("Loading the groups of {}-{} failed; retrying", Topic.GROUP_METADATA_TOPIC_NAME, partition,
                        ar.cause());
                store.partitions.remove(partition);
                loadTokens.remove(partition);
                forgetTransactions(partition);
                vertx.setTimer(LOAD_RETRY_MS, id -> context.runOnContext(v -> load(partition)));
                return Future.succeededFuture();
            }
            Replay replayed = ar.result();
            replayed.items().forEach(item -> replay(partition, item));
            for (ReplayedMarker m : markersDuringLoad.getOrDefault(partition, List.of())) {
                if (m.offset() >= replayed.end()) {
                    applyMarker(partition, m.producerId(), m.commit(), m.offset());
                }
            }
            markersDuringLoad.remove(partition);
            store.partitions.put(partition, GroupStore.PartitionStatus.LOADED);
            int count = 0;
            for (ClassicGroup g : groups.values()) {
                if (store.partitionFor(g.groupId) == partition) {
                    membership.restoreLoadedGroup(g);
                    count++;
                }
            }
            if (store.pendingTxnOffsets.openTransactions() > 0) {
                LOG.debug("{} producers have transactional offsets pending after loading {}-{}",
                        store.pendingTxnOffsets.openTransactions(), Topic.GROUP_METADATA_TOPIC_NAME, partition);
            }
            // one line per partition that held groups: a fresh node leads fifty empty ones
            if (count > 0) {
                // the replay time follows the compacted log's size, not the number of commits ever made
                LOG.info("Loaded {} groups from {}-{} ({} records) in {} ms", count, Topic.GROUP_METADATA_TOPIC_NAME,
                        partition, replayed.items().size(), (System.nanoTime() - started) / 1_000_000);
            } else {
                LOG.debug("No groups in {}-{}", Topic.GROUP_METADATA_TOPIC_NAME, partition);
            }
            return Future.succeededFuture();
        });
    }

    private void unload(int partition) {
        if (store.partitions.remove(partition) == null) {
            return;
        }
        loadTokens.remove(partition);
        forgetTransactions(partition);
        int count = 0;
        for (java.util.Iterator<ClassicGroup> it = groups.values().iterator(); it.hasNext(); ) {
            ClassicGroup g = it.next();
            if (store.partitionFor(g.groupId) == partition) {
                membership.abandon(g);
                it.remove();
                count++;
            }
        }
        if (count > 0) {
            LOG.info("Unloaded {} groups of {}-{}: no longer its leader", count, Topic.GROUP_METADATA_TOPIC_NAME,
                    partition);
        }
    }

    private void forgetTransactions(int partition) {
        store.pendingTxnOffsets.drop(g -> store.partitionFor(g) == partition);
        store.sequences.remove(partition);
        store.lastAppends.remove(partition);
        markersDuringLoad.remove(partition);
    }

    /** Stops timers, answers parked JoinGroup/SyncGroup requests with NOT_COORDINATOR and closes the log. */
    public Future<Void> close() {
        return call(() -> {
            if (store.closed) {
                return Future.succeededFuture();
            }
            store.closed = true;
            if (retentionTimerId >= 0) {
                vertx.cancelTimer(retentionTimerId);
            }
            groups.values().forEach(membership::abandon);
            return context.executeBlocking(() -> {
                store.log.close();
                return null;
            }, true);
        });
    }

    /**
     * JoinGroup. The future completes when the member's join completes: at once for errors and
     * MEMBER_ID_REQUIRED, otherwise when the rebalance's join phase ends.
     */
    public Future<JoinGroupResponseData> joinGroup(JoinGroupRequestData request, short version, String clientId,
                                                   String clientHost) {
        return call(() -> {
            Promise<JoinGroupResponseData> promise = Promise.promise();
            membership.doJoin(request, version, clientId, clientHost, promise);
            return promise.future();
        });
    }

    /** SyncGroup; a follower's future completes when the leader's assignment has been persisted. */
    public Future<SyncGroupResponseData> syncGroup(SyncGroupRequestData request) {
        return call(() -> {
            Promise<SyncGroupResponseData> promise = Promise.promise();
            membership.doSync(request, promise);
            return promise.future();
        });
    }

    public Future<HeartbeatResponseData> heartbeat(HeartbeatRequestData request) {
        return call(() -> Future.succeededFuture(new HeartbeatResponseData()
                .setErrorCode(membership.doHeartbeat(request).code())));
    }

    /**
     * LeaveGroup in its v3+ form (a batch of members); callers of v0-v2 pass one identity and use the
     * member's error as the top-level one.
     */
    public Future<LeaveGroupResponseData> leaveGroup(String groupId, List<MemberIdentity> members) {
        return call(() -> Future.succeededFuture(membership.doLeave(groupId, members)));
    }

    /** OffsetCommit (topics by name); answered once the offsets are in the log. */
    public Future<OffsetCommitResponseData> commitOffsets(OffsetCommitRequestData request, short version) {
        return call(() -> offsets.doCommit(request, version));
    }

    /**
     * TxnOffsetCommit (topics by name); answered once the offsets are in the log, where they stay pending
     * until the transaction's marker.
     */
    public Future<TxnOffsetCommitResponseData> commitTransactionalOffsets(TxnOffsetCommitRequestData request) {
        return call(() -> offsets.doTxnCommit(request));
    }

    /**
     * OffsetFetch for one group (the v8+ per-group form; older versions map onto it). Offsets are visible
     * once appended; with {@code requireStable} the answer also waits for commits still being appended.
     *
     * @param topics null for every committed offset of the group
     */
    public Future<OffsetFetchResponseGroup> fetchOffsets(String groupId, List<OffsetFetchRequestTopics> topics,
                                                        boolean requireStable) {
        return call(() -> offsets.fetch(groupId, topics, requireStable));
    }

    /** OffsetDelete: removes committed offsets of topics the group no longer consumes. */
    public Future<OffsetDeleteResponseData> deleteOffsets(OffsetDeleteRequestData request) {
        return call(() -> offsets.doDeleteOffsets(request));
    }

    /** DescribeGroups; v6+ answers GROUP_ID_NOT_FOUND for an unknown group, older versions a Dead group. */
    public Future<List<DescribedGroup>> describeGroups(List<String> groupIds, short version) {
        return call(() -> {
            List<DescribedGroup> out = new ArrayList<>();
            for (String groupId : groupIds) {
                out.add(describe(groupId, version));
            }
            return Future.succeededFuture(out);
        });
    }

    private DescribedGroup describe(String groupId, short version) {
        DescribedGroup d = new DescribedGroup().setGroupId(groupId);
        Errors pre = store.partitionError(store.partitionFor(groupId == null ? "" : groupId));
        if (pre != Errors.NONE) {
            return d.setErrorCode(pre.code());
        }
        ClassicGroup group = groups.get(groupId);
        if (group == null || group.is(GroupState.DEAD)) {
            if (version >= 6) {
                return d.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code())
                        .setErrorMessage("Group " + groupId + " not found.");
            }
            return d.setGroupState(GroupState.DEAD.kafkaName()).setProtocolType("").setProtocolData("");
        }
        boolean stable = group.is(GroupState.STABLE);
        d.setGroupState(group.state.kafkaName())
                .setProtocolType(group.protocolType == null ? "" : group.protocolType)
                .setProtocolData(stable && group.protocolName != null ? group.protocolName : "");
        for (GroupMember m : group.members.values()) {
            d.members().add(new DescribedGroupMember().setMemberId(m.memberId).setGroupInstanceId(m.groupInstanceId)
                    .setClientId(m.clientId).setClientHost(m.clientHost)
                    .setMemberMetadata(stable ? m.metadata(group.protocolName) : EMPTY_BYTES)
                    .setMemberAssignment(stable ? m.assignment : EMPTY_BYTES));
        }
        return d;
    }

    /**
     * ListGroups.
     *
     * @param states states filter (case-insensitive Kafka names); empty for all
     * @param types  types filter (case-insensitive, "classic" or "consumer"); empty for all
     */
    public Future<ListGroupsResponseData> listGroups(List<String> states, List<String> types) {
        return call(() -> {
            ListGroupsResponseData response = new ListGroupsResponseData();
            if (store.closed || store.anyLoading()) {
                return Future.succeededFuture(response.setErrorCode(
                        (store.closed ? Errors.COORDINATOR_NOT_AVAILABLE : Errors.COORDINATOR_LOAD_IN_PROGRESS).code()));
            }
            Set<String> stateFilter = new java.util.HashSet<>();
            states.forEach(s -> stateFilter.add(s.toLowerCase(Locale.ROOT)));
            Set<String> typeFilter = new java.util.HashSet<>();
            types.forEach(t -> typeFilter.add(t.toLowerCase(Locale.ROOT)));
            if (!typeFilter.isEmpty() && !typeFilter.contains(GROUP_TYPE_CLASSIC)) {
                return Future.succeededFuture(response);
            }
            List<String> ids = new ArrayList<>(groups.keySet());
            ids.sort(null);
            for (String id : ids) {
                ClassicGroup g = groups.get(id);
                if (g.is(GroupState.DEAD) || !store.serves(id)) {
                    continue;
                }
                if (!stateFilter.isEmpty() && !stateFilter.contains(g.state.kafkaName().toLowerCase(Locale.ROOT))) {
                    continue;
                }
                response.groups().add(new ListedGroup().setGroupId(id)
                        .setProtocolType(g.protocolType == null ? "" : g.protocolType)
                        .setGroupState(g.state.kafkaName()).setGroupType(GROUP_TYPE_CLASSIC));
            }
            return Future.succeededFuture(response);
        });
    }

    /** DeleteGroups: only Empty groups; their offsets and metadata are tombstoned. */
    public Future<DeletableGroupResultCollection> deleteGroups(List<String> groupIds) {
        return call(() -> {
            List<Future<DeletableGroupResult>> results = new ArrayList<>();
            for (String groupId : groupIds) {
                results.add(deleteGroup(groupId));
            }
            return Future.all(results).map(cf -> {
                DeletableGroupResultCollection out = new DeletableGroupResultCollection();
                for (Future<DeletableGroupResult> f : results) {
                    DeletableGroupResult r = f.result();
                    if (out.find(r.groupId()) == null) {
                        out.add(r);
                    }
                }
                return out;
            });
        });
    }

    private Future<DeletableGroupResult> deleteGroup(String groupId) {
        DeletableGroupResult result = new DeletableGroupResult().setGroupId(groupId);
        Errors error = store.precheck(groupId);
        ClassicGroup group = groups.get(groupId);
        if (error == Errors.NONE) {
            if (group == null || group.is(GroupState.DEAD)) {
                error = Errors.GROUP_ID_NOT_FOUND;
            } else if (!group.is(GroupState.EMPTY) || !group.pendingMembers.isEmpty()) {
                error = Errors.NON_EMPTY_GROUP;
            }
        }
        if (error != Errors.NONE) {
            return Future.succeededFuture(result.setErrorCode(error.code()));
        }
        List<GroupRecord> records = new ArrayList<>();
        group.offsets.keySet().forEach(tp -> records.add(new GroupRecord.OffsetCommit(groupId, tp, null)));
        // as Kafka: what open transactions committed is tombstoned too (once per partition)
        List<TopicPartition> pendingOnly = new ArrayList<>(store.pendingTxnOffsets.partitions(groupId));
        pendingOnly.removeAll(group.offsets.keySet());
        pendingOnly.forEach(tp -> records.add(new GroupRecord.OffsetCommit(groupId, tp, null)));
        records.add(new GroupRecord.GroupMetadata(groupId, null));
        // Dead at once, so joins racing with the append are refused instead of joining a vanishing group
        group.transitionTo(GroupState.DEAD, now());
        return store.append(store.partitionFor(groupId), records).transform(ar -> {
            if (ar.failed()) {
                group.transitionTo(GroupState.EMPTY, now());
                return Future.succeededFuture(result.setErrorCode(GroupStore.groupAppendError(ar.cause()).code()));
            }
            if (groups.get(groupId) == group) {
                groups.remove(groupId);
            }
            long end = ar.result() + records.size();
            records.forEach(r -> {
                if (r instanceof GroupRecord.OffsetCommit oc) {
                    store.pendingTxnOffsets.remove(groupId, oc.tp(), end);
                }
            });
            return Future.succeededFuture(result.setErrorCode(Errors.NONE.code()));
        });
    }

    /** What a replay read, in log order: offset/group records, transaction markers; and where it ended. */
    private record Replay(List<Object> items, long end) {
    }

    /** A record of the log; {@code producerId} is that of its transactional batch, else -1. */
    private record ReplayedRecord(GroupRecord record, long offset, long producerId) {
    }

    /** An end-transaction marker of the producer at {@code offset}. */
    private record ReplayedMarker(long producerId, boolean commit, long offset) {
    }

    /** A batch of a producer: its epoch and last sequence, and whether it is a marker. */
    private record ReplayedBatch(long producerId, short epoch, int lastSequence, boolean control) {
    }

    private Replay readPartition(int partition) throws IOException {
        List<Object> items = new ArrayList<>();
        long[] end = {0L};
        long[] lastBatch = {-1L};
        store.log.replay(partition, (batch, r) -> {
            end[0] = Math.max(end[0], batch.nextOffset());
            if (batch.baseOffset() != lastBatch[0]) {
                lastBatch[0] = batch.baseOffset();
                if (batch.hasProducerId()) {
                    items.add(new ReplayedBatch(batch.producerId(), batch.producerEpoch(), batch.lastSequence(),
                            batch.isControlBatch()));
                }
            }
            if (batch.isControlBatch()) {
                // a control record's key: int16 version, int16 type (0 ABORT, 1 COMMIT; others are not markers)
                if (batch.isTransactional() && r.hasKey() && r.key().remaining() >= 4) {
                    short type = r.key().getShort(r.key().position() + 2);
                    if (type == 0 || type == 1) {
                        items.add(new ReplayedMarker(batch.producerId(), type == 1, r.offset()));
                    }
                }
                return;
            }
            if (!r.hasKey()) {
                return;
            }
            GroupRecord decoded = GroupRecordCodec.decode(r.key(), r.hasValue() ? r.value() : null);
            if (decoded != null) {
                items.add(new ReplayedRecord(decoded, r.offset(),
                        batch.isTransactional() ? batch.producerId() : LogBatch.NO_PRODUCER_ID));
            }
        });
        return new Replay(items, end[0]);
    }

    private void replay(int partition, Object item) {
        if (item instanceof ReplayedBatch b) {
            store.replayed(partition, b.producerId(), b.epoch(), b.lastSequence(), b.control());
        } else if (item instanceof ReplayedMarker m) {
            applyMarker(partition, m.producerId(), m.commit(), m.offset());
        } else {
            ReplayedRecord rr = (ReplayedRecord) item;
            replay(rr.record(), rr.offset(), rr.producerId());
        }
    }

    private void replay(GroupRecord record, long offset, long producerId) {
        if (record instanceof GroupRecord.OffsetCommit oc) {
            if (oc.value() == null) {
                ClassicGroup g = groups.get(oc.groupId());
                if (g != null) {
                    g.offsets.remove(oc.tp());
                }
                store.pendingTxnOffsets.remove(oc.groupId(), oc.tp(), offset);
            } else {
                ClassicGroup g = groups.computeIfAbsent(oc.groupId(), id -> new ClassicGroup(id, now()));
                if (producerId == LogBatch.NO_PRODUCER_ID) {
                    g.offsets.put(oc.tp(), oc.value().at(offset));
                } else {
                    // in a transaction: the group's offset once (if) the marker commits it
                    store.pendingTxnOffsets.add(producerId, oc.groupId(), oc.tp(), oc.value().at(offset));
                }
            }
            return;
        }
        GroupRecord.GroupMetadata gm = (GroupRecord.GroupMetadata) record;
        if (gm.value() == null) {
            groups.remove(gm.groupId());
            return;
        }
        GroupRecord.GroupMetadataValue v = gm.value();
        ClassicGroup g = groups.computeIfAbsent(gm.groupId(), id -> new ClassicGroup(id, now()));
        g.members.clear();
        g.staticMembers.clear();
        g.protocolType = v.protocolType();
        g.generationId = v.generationId();
        g.protocolName = v.protocolName();
        g.leaderId = null;
        for (GroupRecord.MemberValue m : v.members()) {
            GroupMember member = new GroupMember(m.memberId(), m.groupInstanceId(), m.clientId(), m.clientHost(),
                    m.rebalanceTimeoutMs(), m.sessionTimeoutMs(), v.protocolType(),
                    List.of(new GroupMember.Protocol(v.protocolName(), m.subscription())));
            member.assignment = m.assignment();
            g.add(member);
        }
        g.leaderId = v.leaderId() != null && g.members.containsKey(v.leaderId()) ? v.leaderId() : g.leaderId;
        g.state = g.members.isEmpty() ? GroupState.EMPTY : GroupState.STABLE;
        g.previousState = g.state;
        g.currentStateTimestamp = v.currentStateTimestamp();
        g.subscribedTopics = g.computeSubscribedTopics();
    }

    private <T> Future<T> call(Supplier<Future<T>> op) {
        Promise<T> promise = Promise.promise();
        context.runOnContext(v -> {
            try {
                op.get().onComplete(promise);
            } catch (RuntimeException e) {
                LOG.error("Group coordinator operation failed", e);
                promise.fail(e);
            }
        });
        return promise.future();
    }

    private long now() {
        return store.now();
    }
}
