package io.runnel.group;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.DeleteGroupsResponseData.DeletableGroupResult;
import org.apache.kafka.common.message.DeleteGroupsResponseData.DeletableGroupResultCollection;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroupMember;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.JoinGroupResponseData.JoinGroupResponseMember;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupResponseData.MemberResponse;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData.ListedGroup;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestTopic;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponsePartition;
import org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponseTopic;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestPartition;
import org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestTopic;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetDeleteResponseData.OffsetDeleteResponsePartition;
import org.apache.kafka.common.message.OffsetDeleteResponseData.OffsetDeleteResponsePartitionCollection;
import org.apache.kafka.common.message.OffsetDeleteResponseData.OffsetDeleteResponseTopic;
import org.apache.kafka.common.message.OffsetDeleteResponseData.OffsetDeleteResponseTopicCollection;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseTopics;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData.SyncGroupRequestAssignment;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classic consumer group coordinator, as Apache Kafka 4.x's classic group protocol behaves: JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, static membership, committed offsets and their retention, and the
 * admin APIs over groups.
 *
 * <p>Threading: every group lives on ONE event-loop context created for the coordinator. Public methods
 * may be called from any thread; they hop onto that context and return futures completed on it.
 * JoinGroup and SyncGroup answers are promises completed when the rebalance completes; timers
 * (initial rebalance delay, rebalance timeout, session timeouts, pending-sync timeout, offset retention)
 * are Vert.x timers on the same context, so no state is ever shared across threads.
 *
 * <p>Persistence: offsets and group snapshots are appended to {@code __consumer_offsets} partition
 * {@code abs(groupId.hashCode()) % offsets.topic.num.partitions} through {@link OffsetsLog}, in the format of
 * {@link GroupRecordCodec}, from an ordered executeBlocking of the coordinator's context: appends reach
 * the log in the order they were made. An offset commit is answered, and becomes visible to OffsetFetch,
 * only once appended; offset and group deletions likewise, so the in-memory state is always what a replay
 * of the log rebuilds. Until {@link #start()} has replayed every partition, requests get
 * COORDINATOR_LOAD_IN_PROGRESS.
 */
public final class GroupCoordinator {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCoordinator.class);

    /** Kafka's group.classic.new.member.join.timeout: how long a brand-new member may await its first join. */
    static final int NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
    private static final byte[] EMPTY_BYTES = new byte[0];
    private static final String GROUP_TYPE_CLASSIC = "classic";

    private final Vertx vertx;
    private final Context context;
    private final GroupConfig config;
    private final OffsetsLog log;
    private final Predicate<TopicPartition> topicExists;
    private final Time time;

    private final Map<String, ClassicGroup> groups = new HashMap<>();
    private boolean loading = true;
    private boolean closed;
    private long retentionTimerId = -1;

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
        this.log = log;
        this.topicExists = topicExists;
        this.time = time;
    }

    public GroupConfig config() {
        return config;
    }

    /** The {@code __consumer_offsets} partition holding the group, as Kafka computes it. */
    public int partitionFor(String groupId) {
        return Utils.abs(groupId.hashCode()) % config.offsetsTopicNumPartitions();
    }

    /**
     * Replays every offsets partition, then starts serving and the periodic offset expiry. Completes on the
     * coordinator's context once loaded; fails (and the coordinator keeps answering
     * COORDINATOR_LOAD_IN_PROGRESS) if a partition cannot be read.
     */
    public Future<Void> start() {
        return call(() -> {
            Future<Void> chain = Future.succeededFuture();
            for (int p = 0; p < config.offsetsTopicNumPartitions(); p++) {
                int partition = p;
                chain = chain.compose(v -> context.executeBlocking(() -> readPartition(partition), true))
                        .map(records -> {
                            records.forEach(this::replay);
                            return null;
                        });
            }
            return chain.map(v -> {
                finishLoading();
                return null;
            });
        });
    }

    /** Stops timers, answers parked JoinGroup/SyncGroup requests with NOT_COORDINATOR and closes the log. */
    public Future<Void> close() {
        return call(() -> {
            if (closed) {
                return Future.succeededFuture();
            }
            closed = true;
            if (retentionTimerId >= 0) {
                vertx.cancelTimer(retentionTimerId);
            }
            for (ClassicGroup group : groups.values()) {
                cancelGroupTimers(group);
                for (GroupMember m : group.members.values()) {
                    cancelHeartbeat(m);
                    completeJoin(m, joinError(m.memberId, Errors.NOT_COORDINATOR));
                    completeSync(m, new SyncGroupResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()));
                }
                group.pendingMembers.values().forEach(vertx::cancelTimer);
            }
            return context.executeBlocking(() -> {
                log.close();
                return null;
            }, true);
        });
    }

    // ---------------------------------------------------------------- JoinGroup

    /**
     * JoinGroup. The future completes when the member's join completes: at once for errors and
     * MEMBER_ID_REQUIRED, otherwise when the rebalance's join phase ends.
     */
    public Future<JoinGroupResponseData> joinGroup(JoinGroupRequestData request, short version, String clientId,
                                                   String clientHost) {
        return call(() -> {
            Promise<JoinGroupResponseData> promise = Promise.promise();
            doJoin(request, version, clientId, clientHost, promise);
            return promise.future();
        });
    }

    private void doJoin(JoinGroupRequestData request, short version, String clientId, String clientHost,
                        Promise<JoinGroupResponseData> promise) {
        String groupId = request.groupId();
        String memberId = request.memberId() == null ? "" : request.memberId();
        Errors pre = precheck(groupId);
        if (pre != Errors.NONE) {
            promise.complete(joinError(memberId, pre));
            return;
        }
        if (request.sessionTimeoutMs() < config.groupMinSessionTimeoutMs()
                || request.sessionTimeoutMs() > config.groupMaxSessionTimeoutMs()) {
            promise.complete(joinError(memberId, Errors.INVALID_SESSION_TIMEOUT));
            return;
        }
        boolean unknownMember = memberId.isEmpty();
        ClassicGroup group = groups.get(groupId);
        boolean created = false;
        if (group == null) {
            if (!unknownMember) {
                promise.complete(joinError(memberId, Errors.UNKNOWN_MEMBER_ID));
                return;
            }
            group = new ClassicGroup(groupId, now());
            groups.put(groupId, group);
            created = true;
        }
        List<GroupMember.Protocol> protocols = new ArrayList<>();
        for (JoinGroupRequestProtocol p : request.protocols()) {
            protocols.add(new GroupMember.Protocol(p.name(), p.metadata()));
        }
        if (!acceptJoiningMember(group, memberId)) {
            GroupMember existing = group.members.get(memberId);
            if (existing != null) {
                removeMemberQuietly(group, existing);
            }
            removePending(group, memberId);
            promise.complete(joinError("", Errors.GROUP_MAX_SIZE_REACHED));
        } else if (unknownMember) {
            joinNewMember(group, request, version, protocols, clientId, clientHost, promise);
        } else {
            joinExistingMember(group, request, memberId, protocols, clientId, clientHost, promise);
        }
        if (created && group.isUnused()) {
            groups.remove(groupId);
        }
    }

    private boolean acceptJoiningMember(ClassicGroup group, String memberId) {
        GroupMember member = group.members.get(memberId);
        return switch (group.state) {
            case EMPTY, DEAD -> true;
            case PREPARING_REBALANCE -> (member != null && member.isAwaitingJoin())
                    || group.numAwaitingJoin() < config.groupMaxSize();
            case COMPLETING_REBALANCE, STABLE -> member != null || group.members.size() < config.groupMaxSize();
        };
    }

    private void joinNewMember(ClassicGroup group, JoinGroupRequestData request, short version,
                               List<GroupMember.Protocol> protocols, String clientId, String clientHost,
                               Promise<JoinGroupResponseData> promise) {
        if (group.is(GroupState.DEAD)) {
            promise.complete(joinError("", Errors.COORDINATOR_NOT_AVAILABLE));
            return;
        }
        if (!group.supportsProtocols(request.protocolType(), protocols)) {
            promise.complete(joinError("", Errors.INCONSISTENT_GROUP_PROTOCOL));
            return;
        }
        String newMemberId = clientId + "-" + UUID.randomUUID();
        String instanceId = request.groupInstanceId();
        if (instanceId != null) {
            if (group.staticMembers.containsKey(instanceId)) {
                updateStaticMemberThenRebalanceOrCompleteJoin(group, request, version, newMemberId, protocols, promise);
            } else {
                addMemberAndRebalance(group, request, newMemberId, protocols, clientId, clientHost, promise);
            }
        } else if (version >= 4) {
            // KIP-394: the member must come back with the id we give it, so a client that retries a join
            // after a timeout cannot leave a ghost member behind
            addPendingMember(group, newMemberId, request.sessionTimeoutMs());
            promise.complete(new JoinGroupResponseData().setMemberId(newMemberId)
                    .setErrorCode(Errors.MEMBER_ID_REQUIRED.code()));
        } else {
            addMemberAndRebalance(group, request, newMemberId, protocols, clientId, clientHost, promise);
        }
    }

    private void joinExistingMember(ClassicGroup group, JoinGroupRequestData request, String memberId,
                                    List<GroupMember.Protocol> protocols, String clientId, String clientHost,
                                    Promise<JoinGroupResponseData> promise) {
        if (group.is(GroupState.DEAD)) {
            promise.complete(joinError(memberId, Errors.COORDINATOR_NOT_AVAILABLE));
            return;
        }
        if (!group.supportsProtocols(request.protocolType(), protocols)) {
            promise.complete(joinError(memberId, Errors.INCONSISTENT_GROUP_PROTOCOL));
            return;
        }
        if (group.pendingMembers.containsKey(memberId)) {
            if (request.groupInstanceId() != null) {
                // a static member never gets MEMBER_ID_REQUIRED, so it cannot be pending
                promise.complete(joinError(memberId, Errors.UNKNOWN_SERVER_ERROR));
                return;
            }
            removePending(group, memberId);
            addMemberAndRebalance(group, request, memberId, protocols, clientId, clientHost, promise);
            return;
        }
        Errors invalid = validateMember(group, memberId, request.groupInstanceId());
        if (invalid != Errors.NONE) {
            promise.complete(joinError(memberId, invalid));
            return;
        }
        GroupMember member = group.members.get(memberId);
        switch (group.state) {
            case PREPARING_REBALANCE ->
                    updateMemberThenRebalanceOrCompleteJoin(group, member, request, protocols, promise);
            case COMPLETING_REBALANCE -> {
                if (member.matches(protocols)) {
                    // the member missed the join response: answer it again
                    promise.complete(currentGenerationResponse(group, memberId, memberId.equals(group.leaderId)));
                } else {
                    updateMemberThenRebalanceOrCompleteJoin(group, member, request, protocols, promise);
                }
            }
            case STABLE -> {
                if (memberId.equals(group.leaderId) || !member.matches(protocols)) {
                    // a leader's join (or changed metadata) asks for a new assignment
                    updateMemberThenRebalanceOrCompleteJoin(group, member, request, protocols, promise);
                } else {
                    promise.complete(currentGenerationResponse(group, memberId, false));
                }
            }
            default -> promise.complete(joinError(memberId, Errors.UNKNOWN_MEMBER_ID));
        }
    }

    private void updateStaticMemberThenRebalanceOrCompleteJoin(ClassicGroup group, JoinGroupRequestData request,
                                                               short version, String newMemberId,
                                                               List<GroupMember.Protocol> protocols,
                                                               Promise<JoinGroupResponseData> promise) {
        String instanceId = request.groupInstanceId();
        String oldMemberId = group.staticMembers.get(instanceId);
        GroupMember member = group.members.get(oldMemberId);
        String currentLeader = group.leaderId;
        List<GroupMember.Protocol> oldProtocols = member.protocols;
        int oldRebalanceTimeout = member.rebalanceTimeoutMs;
        int oldSessionTimeout = member.sessionTimeoutMs;
        replaceStaticMember(group, instanceId, oldMemberId, newMemberId);
        switch (group.state) {
            case STABLE -> {
                member.protocols = protocols;
                member.rebalanceTimeoutMs = request.rebalanceTimeoutMs();
                member.sessionTimeoutMs = request.sessionTimeoutMs();
                if (group.selectProtocol().equals(group.protocolName)) {
                    // the restarted instance takes its old assignment back without a rebalance (KIP-345);
                    // the new member id is persisted first so a coordinator restart keeps fencing the old one
                    scheduleHeartbeat(group, member, member.sessionTimeoutMs);
                    int generation = group.generationId;
                    appendGroupSnapshot(group).onComplete(ar -> {
                        if (ar.failed()) {
                            if (group.members.get(newMemberId) == member && group.generationId == generation) {
                                member.protocols = oldProtocols;
                                member.rebalanceTimeoutMs = oldRebalanceTimeout;
                                member.sessionTimeoutMs = oldSessionTimeout;
                                replaceStaticMember(group, instanceId, newMemberId, oldMemberId);
                            }
                            promise.complete(joinError("", groupAppendError(ar.cause())));
                        } else {
                            boolean isLeader = newMemberId.equals(group.leaderId);
                            boolean skipAssignment = version >= 9 && isLeader;
                            promise.complete(new JoinGroupResponseData()
                                    .setMembers(skipAssignment ? currentMemberMetadata(group) : new ArrayList<>())
                                    .setMemberId(newMemberId)
                                    .setGenerationId(group.generationId)
                                    .setProtocolType(group.protocolType)
                                    .setProtocolName(group.protocolName)
                                    // before v9 the old leader id tells a rejoined leader not to reassign
                                    .setLeader(version >= 9 ? group.leaderId : currentLeader)
                                    .setSkipAssignment(skipAssignment));
                        }
                    });
                } else {
                    updateMemberThenRebalanceOrCompleteJoin(group, member, request, protocols, promise);
                }
            }
            case COMPLETING_REBALANCE, PREPARING_REBALANCE ->
                    updateMemberThenRebalanceOrCompleteJoin(group, member, request, protocols, promise);
            default -> promise.complete(joinError(newMemberId, Errors.UNKNOWN_SERVER_ERROR));
        }
    }

    /** Gives a static member a new member id; the old incarnation's parked requests are fenced. */
    private void replaceStaticMember(ClassicGroup group, String instanceId, String oldMemberId, String newMemberId) {
        GroupMember member = group.members.remove(oldMemberId);
        completeJoin(member, joinError(oldMemberId, Errors.FENCED_INSTANCE_ID));
        completeSync(member, new SyncGroupResponseData().setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
        member.memberId = newMemberId;
        group.members.put(newMemberId, member);
        group.staticMembers.put(instanceId, newMemberId);
        if (oldMemberId.equals(group.leaderId)) {
            group.leaderId = newMemberId;
        }
        if (group.pendingSyncMembers.remove(oldMemberId)) {
            group.pendingSyncMembers.add(newMemberId);
        }
    }

    private void addMemberAndRebalance(ClassicGroup group, JoinGroupRequestData request, String memberId,
                                       List<GroupMember.Protocol> protocols, String clientId, String clientHost,
                                       Promise<JoinGroupResponseData> promise) {
        GroupMember member = new GroupMember(memberId, request.groupInstanceId(), clientId, clientHost,
                request.rebalanceTimeoutMs(), request.sessionTimeoutMs(), request.protocolType(), protocols);
        member.isNew = true;
        member.awaitingJoin = promise;
        if (group.is(GroupState.PREPARING_REBALANCE) && group.previousState == GroupState.EMPTY) {
            // lets the initial delayed join wait once more for further members
            group.newMemberAdded = true;
        }
        group.add(member);
        scheduleHeartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
        maybePrepareRebalanceOrCompleteJoin(group);
    }

    private void updateMemberThenRebalanceOrCompleteJoin(ClassicGroup group, GroupMember member,
                                                         JoinGroupRequestData request,
                                                         List<GroupMember.Protocol> protocols,
                                                         Promise<JoinGroupResponseData> promise) {
        // a join that replaces an earlier one of the same member: the earlier request is abandoned
        completeJoin(member, joinError(member.memberId, Errors.REBALANCE_IN_PROGRESS));
        member.protocols = protocols;
        member.rebalanceTimeoutMs = request.rebalanceTimeoutMs();
        member.sessionTimeoutMs = request.sessionTimeoutMs();
        member.awaitingJoin = promise;
        maybePrepareRebalanceOrCompleteJoin(group);
    }

    private void addPendingMember(ClassicGroup group, String memberId, int sessionTimeoutMs) {
        long[] timer = new long[1];
        timer[0] = vertx.setTimer(Math.max(1, sessionTimeoutMs), id -> {
            Long current = group.pendingMembers.get(memberId);
            if (current != null && current == id) {
                group.pendingMembers.remove(memberId);
                if (group.is(GroupState.PREPARING_REBALANCE)) {
                    maybeCompleteJoinPhase(group);
                }
            }
        });
        group.pendingMembers.put(memberId, timer[0]);
    }

    private void removePending(ClassicGroup group, String memberId) {
        Long timer = group.pendingMembers.remove(memberId);
        if (timer != null) {
            vertx.cancelTimer(timer);
        }
    }

    // ---------------------------------------------------------------- rebalance

    private void maybePrepareRebalanceOrCompleteJoin(ClassicGroup group) {
        if (group.canRebalance()) {
            prepareRebalance(group);
        } else {
            maybeCompleteJoinPhase(group);
        }
    }

    private void prepareRebalance(ClassicGroup group) {
        if (group.is(GroupState.COMPLETING_REBALANCE)) {
            resetAndPropagateAssignmentWithError(group, Errors.REBALANCE_IN_PROGRESS);
        }
        cancelSyncTimer(group);
        group.pendingSyncMembers.clear();
        cancelJoinTimer(group);
        boolean initial = group.is(GroupState.EMPTY);
        if (initial) {
            int delay = config.groupInitialRebalanceDelayMs();
            scheduleInitialJoin(group, delay, Math.max(group.rebalanceTimeoutMs() - delay, 0));
        } else {
            scheduleJoinTimeout(group, group.rebalanceTimeoutMs());
        }
        group.transitionTo(GroupState.PREPARING_REBALANCE, now());
        LOG.info("Preparing to rebalance group {} (generation {})", group.groupId, group.generationId);
        if (!initial) {
            maybeCompleteJoinPhase(group);
        }
    }

    private void scheduleInitialJoin(ClassicGroup group, int delayMs, int remainingMs) {
        group.joinTimerId = vertx.setTimer(Math.max(1, delayMs), id -> {
            if (group.joinTimerId != id) {
                return;
            }
            group.joinTimerId = -1;
            if (group.newMemberAdded && remainingMs != 0) {
                group.newMemberAdded = false;
                scheduleInitialJoin(group, Math.min(delayMs, remainingMs), Math.max(remainingMs - delayMs, 0));
            } else {
                completeJoinPhase(group);
            }
        });
    }

    private void scheduleJoinTimeout(ClassicGroup group, int timeoutMs) {
        group.joinTimerId = vertx.setTimer(Math.max(1, timeoutMs), id -> {
            if (group.joinTimerId == id) {
                group.joinTimerId = -1;
                completeJoinPhase(group);
            }
        });
    }

    private void maybeCompleteJoinPhase(ClassicGroup group) {
        if (group.is(GroupState.PREPARING_REBALANCE) && group.hasAllMembersJoined()
                && group.previousState != GroupState.EMPTY) {
            completeJoinPhase(group);
        }
    }

    private void completeJoinPhase(ClassicGroup group) {
        cancelJoinTimer(group);
        if (!group.is(GroupState.PREPARING_REBALANCE) || groups.get(group.groupId) != group) {
            return;
        }
        // dynamic members that did not rejoin within the rebalance timeout are out; static ones stay
        // until their session expires
        for (GroupMember m : new ArrayList<>(group.members.values())) {
            if (!m.isAwaitingJoin() && !m.isStatic()) {
                removeMemberQuietly(group, m);
            }
        }
        if (!group.maybeElectNewJoinedLeader() && !group.members.isEmpty()) {
            // nobody rejoined: wait again; session timeouts will remove the silent members
            LOG.warn("Group {} could not complete rebalance because no members rejoined", group.groupId);
            scheduleJoinTimeout(group, group.rebalanceTimeoutMs());
            return;
        }
        group.initNextGeneration(now());
        if (group.is(GroupState.EMPTY)) {
            appendGroupSnapshot(group).onFailure(t ->
                    LOG.warn("Failed to write the empty metadata of group {}", group.groupId, t));
            return;
        }
        LOG.info("Stabilized group {} generation {} with {} members", group.groupId, group.generationId,
                group.members.size());
        List<JoinGroupResponseMember> all = currentMemberMetadata(group);
        for (GroupMember m : new ArrayList<>(group.members.values())) {
            group.pendingSyncMembers.add(m.memberId);
            m.isNew = false;
            scheduleHeartbeat(group, m, m.sessionTimeoutMs);
            boolean leader = m.memberId.equals(group.leaderId);
            completeJoin(m, new JoinGroupResponseData()
                    .setMembers(leader ? all : new ArrayList<>())
                    .setMemberId(m.memberId)
                    .setGenerationId(group.generationId)
                    .setProtocolType(group.protocolType)
                    .setProtocolName(group.protocolName)
                    .setLeader(group.leaderId)
                    .setSkipAssignment(false));
        }
        scheduleSyncTimeout(group);
    }

    private void scheduleSyncTimeout(ClassicGroup group) {
        cancelSyncTimer(group);
        int generation = group.generationId;
        group.syncTimerId = vertx.setTimer(Math.max(1, group.rebalanceTimeoutMs()), id -> {
            if (group.syncTimerId != id) {
                return;
            }
            group.syncTimerId = -1;
            if ((group.is(GroupState.COMPLETING_REBALANCE) || group.is(GroupState.STABLE))
                    && group.generationId == generation && !group.pendingSyncMembers.isEmpty()) {
                LOG.info("Removing members {} of group {}: no SyncGroup within the rebalance timeout",
                        group.pendingSyncMembers, group.groupId);
                for (String memberId : new ArrayList<>(group.pendingSyncMembers)) {
                    GroupMember m = group.members.get(memberId);
                    if (m != null) {
                        removeMemberQuietly(group, m);
                    }
                }
                prepareRebalance(group);
            }
        });
    }

    private void removePendingSyncMember(ClassicGroup group, String memberId) {
        group.pendingSyncMembers.remove(memberId);
        if (group.pendingSyncMembers.isEmpty()) {
            cancelSyncTimer(group);
        }
    }

    /** Removes a member without triggering a rebalance; its parked requests get UNKNOWN_MEMBER_ID. */
    private void removeMemberQuietly(ClassicGroup group, GroupMember member) {
        cancelHeartbeat(member);
        completeJoin(member, joinError(member.memberId, Errors.UNKNOWN_MEMBER_ID));
        completeSync(member, new SyncGroupResponseData().setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
        group.remove(member.memberId);
    }

    private void removeMemberAndUpdateGroup(ClassicGroup group, GroupMember member) {
        removeMemberQuietly(group, member);
        updateGroupAfterRemoval(group);
    }

    private void updateGroupAfterRemoval(ClassicGroup group) {
        switch (group.state) {
            case STABLE, COMPLETING_REBALANCE -> maybePrepareRebalanceOrCompleteJoin(group);
            case PREPARING_REBALANCE -> maybeCompleteJoinPhase(group);
            default -> {
            }
        }
    }

    private void scheduleHeartbeat(ClassicGroup group, GroupMember member, int timeoutMs) {
        cancelHeartbeat(member);
        member.heartbeatTimerId = vertx.setTimer(Math.max(1, timeoutMs), id -> {
            if (member.heartbeatTimerId != id || group.members.get(member.memberId) != member
                    || groups.get(group.groupId) != group) {
                return;
            }
            member.heartbeatTimerId = -1;
            if (!member.hasSatisfiedHeartbeat()) {
                LOG.info("Member {} of group {} expired: no heartbeat within its session timeout", member.memberId,
                        group.groupId);
                removeMemberAndUpdateGroup(group, member);
            }
        });
    }

    private void cancelHeartbeat(GroupMember member) {
        if (member.heartbeatTimerId >= 0) {
            vertx.cancelTimer(member.heartbeatTimerId);
            member.heartbeatTimerId = -1;
        }
    }

    private void cancelJoinTimer(ClassicGroup group) {
        if (group.joinTimerId >= 0) {
            vertx.cancelTimer(group.joinTimerId);
            group.joinTimerId = -1;
        }
    }

    private void cancelSyncTimer(ClassicGroup group) {
        if (group.syncTimerId >= 0) {
            vertx.cancelTimer(group.syncTimerId);
            group.syncTimerId = -1;
        }
    }

    private void cancelGroupTimers(ClassicGroup group) {
        cancelJoinTimer(group);
        cancelSyncTimer(group);
    }

    // ---------------------------------------------------------------- SyncGroup

    /** SyncGroup; a follower's future completes when the leader's assignment has been persisted. */
    public Future<SyncGroupResponseData> syncGroup(SyncGroupRequestData request) {
        return call(() -> {
            Promise<SyncGroupResponseData> promise = Promise.promise();
            doSync(request, promise);
            return promise.future();
        });
    }

    private void doSync(SyncGroupRequestData request, Promise<SyncGroupResponseData> promise) {
        String groupId = request.groupId();
        String memberId = request.memberId();
        Errors error = precheck(groupId);
        ClassicGroup group = groups.get(groupId);
        if (error == Errors.NONE) {
            if (group == null) {
                error = Errors.UNKNOWN_MEMBER_ID;
            } else if (group.is(GroupState.DEAD)) {
                error = Errors.COORDINATOR_NOT_AVAILABLE;
            } else {
                error = validateMember(group, memberId, request.groupInstanceId());
                if (error == Errors.NONE && request.generationId() != group.generationId) {
                    error = Errors.ILLEGAL_GENERATION;
                } else if (error == Errors.NONE && ((request.protocolType() != null
                        && !request.protocolType().equals(group.protocolType))
                        || (request.protocolName() != null && !request.protocolName().equals(group.protocolName)))) {
                    error = Errors.INCONSISTENT_GROUP_PROTOCOL;
                }
            }
        }
        if (error != Errors.NONE) {
            promise.complete(new SyncGroupResponseData().setErrorCode(error.code()));
            return;
        }
        GroupMember member = group.members.get(memberId);
        switch (group.state) {
            case EMPTY -> promise.complete(new SyncGroupResponseData().setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
            case PREPARING_REBALANCE ->
                    promise.complete(new SyncGroupResponseData().setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
            case COMPLETING_REBALANCE -> {
                completeSync(member, new SyncGroupResponseData().setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
                member.awaitingSync = promise;
                removePendingSyncMember(group, memberId);
                if (memberId.equals(group.leaderId)) {
                    storeLeaderAssignment(group, request);
                }
            }
            case STABLE -> {
                removePendingSyncMember(group, memberId);
                promise.complete(new SyncGroupResponseData().setProtocolType(group.protocolType)
                        .setProtocolName(group.protocolName).setAssignment(member.assignment));
            }
            default -> promise.complete(new SyncGroupResponseData()
                    .setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code()));
        }
    }

    private void storeLeaderAssignment(ClassicGroup group, SyncGroupRequestData request) {
        Map<String, byte[]> assignment = new HashMap<>();
        for (SyncGroupRequestAssignment a : request.assignments()) {
            assignment.put(a.memberId(), a.assignment());
        }
        for (String memberId : group.members.keySet()) {
            assignment.putIfAbsent(memberId, EMPTY_BYTES);
        }
        int generation = group.generationId;
        GroupRecord.GroupMetadataValue snapshot = group.snapshot();
        List<GroupRecord.MemberValue> withAssignment = new ArrayList<>();
        for (GroupRecord.MemberValue m : snapshot.members()) {
            withAssignment.add(new GroupRecord.MemberValue(m.memberId(), m.groupInstanceId(), m.clientId(),
                    m.clientHost(), m.rebalanceTimeoutMs(), m.sessionTimeoutMs(), m.subscription(),
                    assignment.get(m.memberId())));
        }
        GroupRecord record = new GroupRecord.GroupMetadata(group.groupId, new GroupRecord.GroupMetadataValue(
                snapshot.protocolType(), snapshot.generationId(), snapshot.protocolName(), snapshot.leaderId(),
                snapshot.currentStateTimestamp(), withAssignment));
        append(partitionFor(group.groupId), List.of(record)).onComplete(ar -> {
            // a member may have joined meanwhile: only the same generation, still syncing, takes the result
            if (!group.is(GroupState.COMPLETING_REBALANCE) || group.generationId != generation
                    || groups.get(group.groupId) != group) {
                return;
            }
            if (ar.failed()) {
                Errors error = groupAppendError(ar.cause());
                LOG.warn("Failed to persist the assignment of group {} generation {}", group.groupId, generation,
                        ar.cause());
                resetAndPropagateAssignmentWithError(group, error);
                maybePrepareRebalanceOrCompleteJoin(group);
            } else {
                for (GroupMember m : group.members.values()) {
                    m.assignment = assignment.getOrDefault(m.memberId, EMPTY_BYTES);
                }
                propagateAssignment(group, Errors.NONE);
                group.transitionTo(GroupState.STABLE, now());
            }
        });
    }

    private void resetAndPropagateAssignmentWithError(ClassicGroup group, Errors error) {
        for (GroupMember m : group.members.values()) {
            m.assignment = EMPTY_BYTES;
        }
        propagateAssignment(group, error);
    }

    private void propagateAssignment(ClassicGroup group, Errors error) {
        for (GroupMember m : group.members.values()) {
            if (m.isAwaitingSync()) {
                SyncGroupResponseData response = new SyncGroupResponseData().setErrorCode(error.code());
                if (error == Errors.NONE) {
                    response.setProtocolType(group.protocolType).setProtocolName(group.protocolName)
                            .setAssignment(m.assignment);
                }
                completeSync(m, response);
                scheduleHeartbeat(group, m, m.sessionTimeoutMs);
            }
        }
    }

    // ---------------------------------------------------------------- Heartbeat, LeaveGroup

    public Future<HeartbeatResponseData> heartbeat(HeartbeatRequestData request) {
        return call(() -> Future.succeededFuture(new HeartbeatResponseData().setErrorCode(doHeartbeat(request).code())));
    }

    private Errors doHeartbeat(HeartbeatRequestData request) {
        Errors pre = precheck(request.groupId());
        if (pre != Errors.NONE) {
            return pre;
        }
        ClassicGroup group = groups.get(request.groupId());
        if (group == null) {
            return Errors.UNKNOWN_MEMBER_ID;
        }
        if (group.is(GroupState.DEAD)) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        Errors invalid = validateMember(group, request.memberId(), request.groupInstanceId());
        if (invalid != Errors.NONE) {
            return invalid;
        }
        if (request.generationId() != group.generationId) {
            return Errors.ILLEGAL_GENERATION;
        }
        GroupMember member = group.members.get(request.memberId());
        switch (group.state) {
            case PREPARING_REBALANCE:
                scheduleHeartbeat(group, member, member.sessionTimeoutMs);
                return Errors.REBALANCE_IN_PROGRESS;
            case COMPLETING_REBALANCE:
            case STABLE:
                // members may heartbeat between their join and sync responses: they are alive
                scheduleHeartbeat(group, member, member.sessionTimeoutMs);
                return Errors.NONE;
            default:
                return Errors.UNKNOWN_MEMBER_ID;
        }
    }

    /**
     * LeaveGroup in its v3+ form (a batch of members); callers of v0-v2 pass one identity and use the
     * member's error as the top-level one.
     */
    public Future<LeaveGroupResponseData> leaveGroup(String groupId, List<MemberIdentity> members) {
        return call(() -> Future.succeededFuture(doLeave(groupId, members)));
    }

    private LeaveGroupResponseData doLeave(String groupId, List<MemberIdentity> identities) {
        Errors pre = precheck(groupId);
        if (pre != Errors.NONE) {
            return new LeaveGroupResponseData().setErrorCode(pre.code());
        }
        ClassicGroup group = groups.get(groupId);
        if (group == null) {
            return new LeaveGroupResponseData().setErrorCode(Errors.UNKNOWN_MEMBER_ID.code());
        }
        if (group.is(GroupState.DEAD)) {
            return new LeaveGroupResponseData().setErrorCode(Errors.COORDINATOR_NOT_AVAILABLE.code());
        }
        List<MemberResponse> responses = new ArrayList<>();
        List<GroupMember> leaving = new ArrayList<>();
        boolean pendingRemoved = false;
        for (MemberIdentity identity : identities) {
            String memberId = identity.memberId() == null ? "" : identity.memberId();
            String instanceId = identity.groupInstanceId();
            Errors error = Errors.NONE;
            if (instanceId != null) {
                String existing = group.staticMembers.get(instanceId);
                if (existing == null) {
                    error = Errors.UNKNOWN_MEMBER_ID;
                } else if (!memberId.isEmpty() && !memberId.equals(existing)) {
                    error = Errors.FENCED_INSTANCE_ID;
                } else {
                    leaving.add(group.members.get(existing));
                }
            } else if (group.pendingMembers.containsKey(memberId)) {
                removePending(group, memberId);
                pendingRemoved = true;
            } else if (group.members.containsKey(memberId)) {
                leaving.add(group.members.get(memberId));
            } else {
                error = Errors.UNKNOWN_MEMBER_ID;
            }
            responses.add(new MemberResponse().setMemberId(memberId).setGroupInstanceId(instanceId)
                    .setErrorCode(error.code()));
        }
        for (GroupMember m : leaving) {
            if (group.members.get(m.memberId) == m) {
                LOG.info("Member {} leaves group {}", m.memberId, group.groupId);
                removeMemberQuietly(group, m);
            }
        }
        if (!leaving.isEmpty() || pendingRemoved) {
            updateGroupAfterRemoval(group);
        }
        return new LeaveGroupResponseData().setMembers(responses);
    }

    // ---------------------------------------------------------------- offsets

    /** OffsetCommit (topics by name); answered once the offsets are in the log. */
    public Future<OffsetCommitResponseData> commitOffsets(OffsetCommitRequestData request, short version) {
        return call(() -> doCommit(request, version));
    }

    private Future<OffsetCommitResponseData> doCommit(OffsetCommitRequestData request, short version) {
        String groupId = request.groupId();
        Errors error = precheck(groupId);
        ClassicGroup group = groups.get(groupId);
        boolean created = false;
        if (error == Errors.NONE) {
            if (group == null || group.is(GroupState.DEAD)) {
                if (request.generationIdOrMemberEpoch() < 0) {
                    // a simple consumer or the admin client: the group exists only to hold offsets
                    group = new ClassicGroup(groupId, now());
                    groups.put(groupId, group);
                    created = true;
                } else {
                    error = version >= 9 ? Errors.GROUP_ID_NOT_FOUND : Errors.ILLEGAL_GENERATION;
                }
            } else {
                error = validateOffsetCommit(group, request);
            }
        }
        OffsetCommitResponseData response = new OffsetCommitResponseData();
        Map<TopicPartition, CommittedOffset> valid = new LinkedHashMap<>();
        Map<TopicPartition, OffsetCommitResponsePartition> results = new HashMap<>();
        long now = now();
        long expireTimestamp = version >= 2 && version <= 4 && request.retentionTimeMs() >= 0
                ? now + request.retentionTimeMs() : -1L;
        for (OffsetCommitRequestTopic topic : request.topics()) {
            OffsetCommitResponseTopic rt = new OffsetCommitResponseTopic().setName(topic.name())
                    .setTopicId(topic.topicId());
            response.topics().add(rt);
            for (OffsetCommitRequestPartition p : topic.partitions()) {
                TopicPartition tp = new TopicPartition(topic.name(), p.partitionIndex());
                Errors partitionError = error;
                String metadata = p.committedMetadata() == null ? "" : p.committedMetadata();
                if (partitionError == Errors.NONE) {
                    if (!topicExists.test(tp)) {
                        partitionError = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                    } else if (metadata.length() > config.offsetMetadataMaxBytes()) {
                        partitionError = Errors.OFFSET_METADATA_TOO_LARGE;
                    } else {
                        valid.put(tp, new CommittedOffset(p.committedOffset(), p.committedLeaderEpoch(), metadata, now,
                                expireTimestamp));
                    }
                }
                OffsetCommitResponsePartition rp = new OffsetCommitResponsePartition()
                        .setPartitionIndex(p.partitionIndex()).setErrorCode(partitionError.code());
                rt.partitions().add(rp);
                results.put(tp, rp);
            }
        }
        if (error == Errors.NONE && request.generationIdOrMemberEpoch() >= 0) {
            GroupMember member = group.members.get(request.memberId());
            if (member != null) {
                scheduleHeartbeat(group, member, member.sessionTimeoutMs);
            }
        }
        if (valid.isEmpty()) {
            if (created) {
                groups.remove(groupId);
            }
            return Future.succeededFuture(response);
        }
        ClassicGroup target = group;
        valid.keySet().forEach(tp -> target.pendingOffsetCommits.merge(tp, 1, Integer::sum));
        List<GroupRecord> records = new ArrayList<>();
        valid.forEach((tp, co) -> records.add(new GroupRecord.OffsetCommit(groupId, tp, co)));
        Future<OffsetCommitResponseData> result = append(partitionFor(groupId), records).transform(ar -> {
            valid.keySet().forEach(tp -> target.pendingOffsetCommits.computeIfPresent(tp, (k, n) -> n > 1 ? n - 1 : null));
            if (ar.succeeded()) {
                // the group may have been deleted meanwhile; the log holds these offsets after its
                // tombstones, so a replay would recreate it: do the same
                ClassicGroup g = groups.computeIfAbsent(groupId, id -> target.is(GroupState.DEAD)
                        ? new ClassicGroup(id, now()) : target);
                g.offsets.putAll(valid);
            } else {
                Errors appendError = offsetAppendError(ar.cause());
                LOG.warn("Failed to append offsets of group {}", groupId, ar.cause());
                valid.keySet().forEach(tp -> results.get(tp).setErrorCode(appendError.code()));
                if (target.isUnused() && groups.get(groupId) == target) {
                    groups.remove(groupId);
                }
            }
            return Future.succeededFuture(response);
        });
        // appends complete in order, so waiting for the latest one waits for all earlier ones
        target.lastOffsetAppend = result.mapEmpty();
        return result;
    }

    private Errors validateOffsetCommit(ClassicGroup group, OffsetCommitRequestData request) {
        int generation = request.generationIdOrMemberEpoch();
        String memberId = request.memberId() == null ? "" : request.memberId();
        if (generation < 0 && group.is(GroupState.EMPTY)) {
            return Errors.NONE;
        }
        if (generation >= 0 || !memberId.isEmpty() || request.groupInstanceId() != null) {
            Errors invalid = validateMember(group, memberId, request.groupInstanceId());
            if (invalid != Errors.NONE) {
                return invalid;
            }
            if (generation != group.generationId) {
                return Errors.ILLEGAL_GENERATION;
            }
        } else if (!group.is(GroupState.EMPTY)) {
            // offsets without member id and generation are only accepted while nobody consumes
            return Errors.UNKNOWN_MEMBER_ID;
        }
        if (group.is(GroupState.COMPLETING_REBALANCE)) {
            return Errors.REBALANCE_IN_PROGRESS;
        }
        return Errors.NONE;
    }

    /**
     * OffsetFetch for one group (the v8+ per-group form; older versions map onto it). Offsets are visible
     * once appended; with {@code requireStable} the answer also waits for commits still being appended.
     *
     * @param topics null for every committed offset of the group
     */
    public Future<OffsetFetchResponseGroup> fetchOffsets(String groupId, List<OffsetFetchRequestTopics> topics,
                                                        boolean requireStable) {
        return call(() -> {
            ClassicGroup group = groups.get(groupId);
            if (requireStable && !loading && group != null && !group.pendingOffsetCommits.isEmpty()) {
                // as Kafka 4.x: a stable read sees the latest commits, once they are written
                return group.lastOffsetAppend.transform(ar -> Future.succeededFuture(doFetch(groupId, topics)));
            }
            return Future.succeededFuture(doFetch(groupId, topics));
        });
    }

    private OffsetFetchResponseGroup doFetch(String groupId, List<OffsetFetchRequestTopics> topics) {
        OffsetFetchResponseGroup response = new OffsetFetchResponseGroup().setGroupId(groupId);
        Errors pre = closed ? Errors.NOT_COORDINATOR : loading ? Errors.COORDINATOR_LOAD_IN_PROGRESS : Errors.NONE;
        if (pre != Errors.NONE) {
            return response.setErrorCode(pre.code());
        }
        ClassicGroup group = groups.get(groupId);
        if (group != null && group.is(GroupState.DEAD)) {
            group = null;
        }
        Map<String, OffsetFetchResponseTopics> byTopic = new LinkedHashMap<>();
        if (topics == null) {
            if (group != null) {
                List<TopicPartition> all = new ArrayList<>(group.offsets.keySet());
                all.sort((a, b) -> a.topic().equals(b.topic()) ? Integer.compare(a.partition(), b.partition())
                        : a.topic().compareTo(b.topic()));
                for (TopicPartition tp : all) {
                    addFetchedPartition(byTopic, group, tp);
                }
            }
        } else {
            for (OffsetFetchRequestTopics t : topics) {
                byTopic.computeIfAbsent(t.name(), n -> new OffsetFetchResponseTopics().setName(n)
                        .setTopicId(t.topicId()));
                for (int partition : t.partitionIndexes()) {
                    addFetchedPartition(byTopic, group, new TopicPartition(t.name(), partition));
                }
            }
        }
        response.topics().addAll(byTopic.values());
        return response;
    }

    private void addFetchedPartition(Map<String, OffsetFetchResponseTopics> byTopic, ClassicGroup group,
                                     TopicPartition tp) {
        OffsetFetchResponsePartitions p = new OffsetFetchResponsePartitions().setPartitionIndex(tp.partition())
                .setCommittedOffset(-1L).setCommittedLeaderEpoch(-1).setMetadata("");
        // UNSTABLE_OFFSET_COMMIT is for pending transactional offsets, which come with transactions
        CommittedOffset co = group == null ? null : group.offsets.get(tp);
        if (co != null) {
            p.setCommittedOffset(co.offset()).setCommittedLeaderEpoch(co.leaderEpoch()).setMetadata(co.metadata());
        }
        byTopic.computeIfAbsent(tp.topic(), n -> new OffsetFetchResponseTopics().setName(n)).partitions().add(p);
    }

    /** OffsetDelete: removes committed offsets of topics the group no longer consumes. */
    public Future<OffsetDeleteResponseData> deleteOffsets(OffsetDeleteRequestData request) {
        return call(() -> doDeleteOffsets(request));
    }

    private Future<OffsetDeleteResponseData> doDeleteOffsets(OffsetDeleteRequestData request) {
        String groupId = request.groupId();
        Errors error = precheck(groupId);
        ClassicGroup group = groups.get(groupId);
        if (error == Errors.NONE) {
            if (group == null || group.is(GroupState.DEAD)) {
                error = Errors.GROUP_ID_NOT_FOUND;
            } else if (!group.is(GroupState.EMPTY)
                    && !ClassicGroup.CONSUMER_PROTOCOL_TYPE.equals(group.protocolType)) {
                error = Errors.NON_EMPTY_GROUP;
            }
        }
        if (error != Errors.NONE) {
            return Future.succeededFuture(new OffsetDeleteResponseData().setErrorCode(error.code()));
        }
        OffsetDeleteResponseTopicCollection topics = new OffsetDeleteResponseTopicCollection();
        List<TopicPartition> deleted = new ArrayList<>();
        for (OffsetDeleteRequestTopic t : request.topics()) {
            OffsetDeleteResponsePartitionCollection partitions = new OffsetDeleteResponsePartitionCollection();
            for (OffsetDeleteRequestPartition p : t.partitions()) {
                TopicPartition tp = new TopicPartition(t.name(), p.partitionIndex());
                Errors pe = Errors.NONE;
                if (!topicExists.test(tp)) {
                    pe = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                } else if (group.isSubscribedToTopic(t.name())) {
                    pe = Errors.GROUP_SUBSCRIBED_TO_TOPIC;
                } else if (group.offsets.containsKey(tp)) {
                    deleted.add(tp);
                }
                partitions.add(new OffsetDeleteResponsePartition().setPartitionIndex(p.partitionIndex())
                        .setErrorCode(pe.code()));
            }
            topics.add(new OffsetDeleteResponseTopic().setName(t.name()).setPartitions(partitions));
        }
        OffsetDeleteResponseData response = new OffsetDeleteResponseData().setTopics(topics);
        if (deleted.isEmpty()) {
            return Future.succeededFuture(response);
        }
        List<GroupRecord> records = new ArrayList<>();
        deleted.forEach(tp -> records.add(new GroupRecord.OffsetCommit(groupId, tp, null)));
        return append(partitionFor(groupId), records).transform(ar -> {
            if (ar.failed()) {
                return Future.succeededFuture(new OffsetDeleteResponseData()
                        .setErrorCode(groupAppendError(ar.cause()).code()));
            }
            deleted.forEach(group.offsets::remove);
            return Future.succeededFuture(response);
        });
    }

    // ---------------------------------------------------------------- admin: describe, list, delete

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
        if (closed || loading) {
            return d.setErrorCode((closed ? Errors.NOT_COORDINATOR : Errors.COORDINATOR_LOAD_IN_PROGRESS).code());
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
            if (closed || loading) {
                return Future.succeededFuture(response.setErrorCode(
                        (closed ? Errors.NOT_COORDINATOR : Errors.COORDINATOR_LOAD_IN_PROGRESS).code()));
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
                if (g.is(GroupState.DEAD)) {
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
        Errors error = precheck(groupId);
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
        records.add(new GroupRecord.GroupMetadata(groupId, null));
        // Dead at once, so joins racing with the append are refused instead of joining a vanishing group
        group.transitionTo(GroupState.DEAD, now());
        return append(partitionFor(groupId), records).transform(ar -> {
            if (ar.failed()) {
                group.transitionTo(GroupState.EMPTY, now());
                return Future.succeededFuture(result.setErrorCode(groupAppendError(ar.cause()).code()));
            }
            if (groups.get(groupId) == group) {
                groups.remove(groupId);
            }
            return Future.succeededFuture(result.setErrorCode(Errors.NONE.code()));
        });
    }

    // ---------------------------------------------------------------- offset retention

    private void scheduleRetentionCheck() {
        retentionTimerId = vertx.setPeriodic(config.offsetsRetentionCheckIntervalMs(), id -> expireOffsets());
    }

    /** Kafka's cleanupGroupMetadata: expires offsets per the group's expiration condition. */
    void expireOffsets() {
        if (closed || loading) {
            return;
        }
        long now = now();
        for (ClassicGroup group : new ArrayList<>(groups.values())) {
            if (group.is(GroupState.DEAD)) {
                continue;
            }
            if (group.isUnused()) {
                // created by a join that never got anywhere; nothing was persisted
                groups.remove(group.groupId);
                continue;
            }
            ToLongFunction<CommittedOffset> base = expirationBase(group);
            Map<TopicPartition, CommittedOffset> expired = new HashMap<>();
            if (base != null) {
                boolean onlyUnsubscribed = !group.is(GroupState.EMPTY) && group.protocolType != null;
                group.offsets.forEach((tp, co) -> {
                    if (group.hasPendingOffsetCommit(tp) || (onlyUnsubscribed && group.subscribedTopics.contains(tp.topic()))) {
                        return;
                    }
                    boolean isExpired = co.expireTimestamp() >= 0 ? now >= co.expireTimestamp()
                            : now - base.applyAsLong(co) >= config.offsetsRetentionMs();
                    if (isExpired) {
                        expired.put(tp, co);
                    }
                });
            }
            boolean groupGone = group.is(GroupState.EMPTY) && group.members.isEmpty()
                    && group.pendingMembers.isEmpty() && group.pendingOffsetCommits.isEmpty()
                    && expired.size() == group.offsets.size();
            if (expired.isEmpty() && !groupGone) {
                continue;
            }
            List<GroupRecord> records = new ArrayList<>();
            expired.keySet().forEach(tp -> records.add(new GroupRecord.OffsetCommit(group.groupId, tp, null)));
            if (groupGone) {
                records.add(new GroupRecord.GroupMetadata(group.groupId, null));
                group.transitionTo(GroupState.DEAD, now);
            }
            append(partitionFor(group.groupId), records).onComplete(ar -> {
                if (ar.failed()) {
                    LOG.warn("Failed to expire offsets of group {}", group.groupId, ar.cause());
                    if (groupGone) {
                        group.transitionTo(GroupState.EMPTY, now());
                    }
                    return;
                }
                expired.forEach((tp, co) -> group.offsets.remove(tp, co));
                if (groupGone && groups.get(group.groupId) == group) {
                    groups.remove(group.groupId);
                }
                LOG.info("Expired {} offsets of group {}{}", expired.size(), group.groupId,
                        groupGone ? " and removed the group" : "");
            });
        }
    }

    /** From when an offset's retention counts, or null when the group's offsets do not expire now. */
    private static ToLongFunction<CommittedOffset> expirationBase(ClassicGroup group) {
        if (group.protocolType == null) {
            // a simple consumer's offsets: retention counts from each commit
            return CommittedOffset::commitTimestamp;
        }
        if (group.is(GroupState.EMPTY)) {
            long since = group.currentStateTimestamp;
            return co -> since >= 0 ? since : co.commitTimestamp();
        }
        if (ClassicGroup.CONSUMER_PROTOCOL_TYPE.equals(group.protocolType) && group.is(GroupState.STABLE)
                && group.subscribedTopics != null) {
            return CommittedOffset::commitTimestamp;
        }
        return null;
    }

    // ---------------------------------------------------------------- loading

    private List<GroupRecord> readPartition(int partition) throws IOException {
        List<GroupRecord> records = new ArrayList<>();
        log.replay(partition, r -> {
            if (!r.hasKey()) {
                return;
            }
            GroupRecord decoded = GroupRecordCodec.decode(r.key(), r.hasValue() ? r.value() : null);
            if (decoded != null) {
                records.add(decoded);
            }
        });
        return records;
    }

    private void replay(GroupRecord record) {
        if (record instanceof GroupRecord.OffsetCommit oc) {
            if (oc.value() == null) {
                ClassicGroup g = groups.get(oc.groupId());
                if (g != null) {
                    g.offsets.remove(oc.tp());
                }
            } else {
                groups.computeIfAbsent(oc.groupId(), id -> new ClassicGroup(id, now())).offsets.put(oc.tp(), oc.value());
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

    private void finishLoading() {
        loading = false;
        for (ClassicGroup g : groups.values()) {
            // members restored from the log must heartbeat again within their session, as after a
            // coordinator failover in Kafka
            for (GroupMember m : g.members.values()) {
                scheduleHeartbeat(g, m, m.sessionTimeoutMs);
            }
            if (g.members.size() > config.groupMaxSize()) {
                prepareRebalance(g);
            }
        }
        scheduleRetentionCheck();
        LOG.info("Loaded {} groups from {} offsets partitions", groups.size(), config.offsetsTopicNumPartitions());
    }

    // ---------------------------------------------------------------- helpers

    private Future<Void> appendGroupSnapshot(ClassicGroup group) {
        return append(partitionFor(group.groupId), List.of(new GroupRecord.GroupMetadata(group.groupId,
                group.snapshot())));
    }

    /** Appends on the ordered worker of the coordinator's context; completes on the context. */
    private Future<Void> append(int partition, List<GroupRecord> records) {
        long now = now();
        SimpleRecord[] simple = new SimpleRecord[records.size()];
        for (int i = 0; i < simple.length; i++) {
            GroupRecord r = records.get(i);
            simple[i] = new SimpleRecord(now, GroupRecordCodec.key(r), GroupRecordCodec.value(r));
        }
        MemoryRecords batch = MemoryRecords.withRecords(Compression.NONE, simple);
        return context.executeBlocking(() -> {
            log.append(partition, batch);
            return null;
        }, true);
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

    private Errors precheck(String groupId) {
        if (closed) {
            return Errors.NOT_COORDINATOR;
        }
        if (loading) {
            return Errors.COORDINATOR_LOAD_IN_PROGRESS;
        }
        if (groupId == null || groupId.isEmpty()) {
            return Errors.INVALID_GROUP_ID;
        }
        return Errors.NONE;
    }

    private static Errors validateMember(ClassicGroup group, String memberId, String groupInstanceId) {
        if (groupInstanceId != null) {
            String existing = group.staticMembers.get(groupInstanceId);
            if (existing == null) {
                return Errors.UNKNOWN_MEMBER_ID;
            }
            return existing.equals(memberId) ? Errors.NONE : Errors.FENCED_INSTANCE_ID;
        }
        return group.members.containsKey(memberId) ? Errors.NONE : Errors.UNKNOWN_MEMBER_ID;
    }

    private static JoinGroupResponseData joinError(String memberId, Errors error) {
        return new JoinGroupResponseData().setMemberId(memberId).setErrorCode(error.code());
    }

    private static JoinGroupResponseData currentGenerationResponse(ClassicGroup group, String memberId,
                                                                   boolean withMembers) {
        return new JoinGroupResponseData()
                .setMembers(withMembers ? currentMemberMetadata(group) : new ArrayList<>())
                .setMemberId(memberId)
                .setGenerationId(group.generationId)
                .setProtocolType(group.protocolType)
                .setProtocolName(group.protocolName)
                .setLeader(group.leaderId)
                .setSkipAssignment(false);
    }

    private static List<JoinGroupResponseMember> currentMemberMetadata(ClassicGroup group) {
        List<JoinGroupResponseMember> out = new ArrayList<>();
        for (GroupMember m : group.members.values()) {
            out.add(new JoinGroupResponseMember().setMemberId(m.memberId).setGroupInstanceId(m.groupInstanceId)
                    .setMetadata(m.metadata(group.protocolName)));
        }
        return out;
    }

    private static void completeJoin(GroupMember member, JoinGroupResponseData response) {
        Promise<JoinGroupResponseData> p = member.awaitingJoin;
        if (p != null) {
            member.awaitingJoin = null;
            p.tryComplete(response);
        }
    }

    private static void completeSync(GroupMember member, SyncGroupResponseData response) {
        Promise<SyncGroupResponseData> p = member.awaitingSync;
        if (p != null) {
            member.awaitingSync = null;
            p.tryComplete(response);
        }
    }

    /** Kafka's mapping of a failed group-metadata append to the error the client sees. */
    private static Errors groupAppendError(Throwable t) {
        Errors e = appendErrors(t);
        return switch (e) {
            case UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                 REQUEST_TIMED_OUT -> Errors.COORDINATOR_NOT_AVAILABLE;
            case NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR -> Errors.NOT_COORDINATOR;
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE -> Errors.UNKNOWN_SERVER_ERROR;
            default -> e;
        };
    }

    /** Kafka's mapping of a failed offset append. */
    private static Errors offsetAppendError(Throwable t) {
        Errors e = appendErrors(t);
        return switch (e) {
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE -> Errors.INVALID_COMMIT_OFFSET_SIZE;
            default -> groupAppendError(t);
        };
    }

    private static Errors appendErrors(Throwable t) {
        if (t instanceof IOException || t instanceof UncheckedIOException) {
            return Errors.KAFKA_STORAGE_ERROR;
        }
        return Errors.forException(t);
    }

    private long now() {
        return time.milliseconds();
    }
}
