package io.runnel.group;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.JoinGroupResponseData.JoinGroupResponseMember;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupResponseData.MemberResponse;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData.SyncGroupRequestAssignment;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classic group membership protocol, as Apache Kafka 4.x's classic group coordinator behaves:
 * JoinGroup (member ids, MEMBER_ID_REQUIRED, protocol vote, initial rebalance delay, rebalance timeout),
 * SyncGroup (the leader's assignment, persisted before it is handed out), Heartbeat and session expiry,
 * LeaveGroup, static membership (KIP-345) and group.max.size.
 *
 * <p>Threading: confined to the coordinator's context. JoinGroup and SyncGroup answers are promises
 * completed when the rebalance gets there; timers (initial delay, join and sync timeouts, sessions)
 * are Vert.x timers on the same context.
 */
final class GroupMembership {

    private static final Logger LOG = LoggerFactory.getLogger(GroupMembership.class);

    /** Kafka's group.classic.new.member.join.timeout: how long a brand-new member may await its first join. */
    static final int NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
    private static final byte[] EMPTY_BYTES = new byte[0];

    private final GroupStore store;
    private final Vertx vertx;
    private final GroupConfig config;
    private final Map<String, ClassicGroup> groups;

    GroupMembership(GroupStore store) {
        this.store = store;
        this.vertx = store.vertx;
        this.config = store.config;
        this.groups = store.groups;
    }

    void doJoin(JoinGroupRequestData request, short version, String clientId, String clientHost,
                Promise<JoinGroupResponseData> promise) {
        String groupId = request.groupId();
        String memberId = request.memberId() == null ? "" : request.memberId();
        Errors pre = store.precheck(groupId);
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
        Errors invalid = GroupStore.validateMember(group, memberId, request.groupInstanceId());
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
                    store.appendGroupSnapshot(group).onComplete(ar -> {
                        if (ar.failed()) {
                            if (group.members.get(newMemberId) == member && group.generationId == generation) {
                                member.protocols = oldProtocols;
                                member.rebalanceTimeoutMs = oldRebalanceTimeout;
                                member.sessionTimeoutMs = oldSessionTimeout;
                                replaceStaticMember(group, instanceId, newMemberId, oldMemberId);
                            }
                            promise.complete(joinError("", GroupStore.groupAppendError(ar.cause())));
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
            store.appendGroupSnapshot(group).onFailure(t ->
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

    void scheduleHeartbeat(ClassicGroup group, GroupMember member, int timeoutMs) {
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

    void doSync(SyncGroupRequestData request, Promise<SyncGroupResponseData> promise) {
        String groupId = request.groupId();
        String memberId = request.memberId();
        Errors error = store.precheck(groupId);
        ClassicGroup group = groups.get(groupId);
        if (error == Errors.NONE) {
            if (group == null) {
                error = Errors.UNKNOWN_MEMBER_ID;
            } else if (group.is(GroupState.DEAD)) {
                error = Errors.COORDINATOR_NOT_AVAILABLE;
            } else {
                error = GroupStore.validateMember(group, memberId, request.groupInstanceId());
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
        store.append(store.partitionFor(group.groupId), List.of(record)).onComplete(ar -> {
            // a member may have joined meanwhile: only the same generation, still syncing, takes the result
            if (!group.is(GroupState.COMPLETING_REBALANCE) || group.generationId != generation
                    || groups.get(group.groupId) != group) {
                return;
            }
            if (ar.failed()) {
                Errors error = GroupStore.groupAppendError(ar.cause());
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

    Errors doHeartbeat(HeartbeatRequestData request) {
        Errors pre = store.precheck(request.groupId());
        if (pre == Errors.COORDINATOR_LOAD_IN_PROGRESS) {
            // as Kafka: the member cannot be checked yet, and failing it would only cause a rebalance
            return Errors.NONE;
        }
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
        Errors invalid = GroupStore.validateMember(group, request.memberId(), request.groupInstanceId());
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

    LeaveGroupResponseData doLeave(String groupId, List<MemberIdentity> identities) {
        Errors pre = store.precheck(groupId);
        if (pre != Errors.NONE) {
            return new LeaveGroupResponseData().setErrorCode(pre.code());
        }
        ClassicGroup group = groups.get(groupId);
        if (group == null) {
            // as Kafka 4.x: every member of an unknown group is unknown
            List<MemberResponse> unknown = new ArrayList<>();
            for (MemberIdentity identity : identities) {
                unknown.add(new MemberResponse().setMemberId(identity.memberId())
                        .setGroupInstanceId(identity.groupInstanceId())
                        .setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
            }
            return new LeaveGroupResponseData().setMembers(unknown);
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

    /** Members restored from the log must heartbeat within their session, as after a Kafka failover. */
    void restoreLoadedGroup(ClassicGroup group) {
        for (GroupMember m : group.members.values()) {
            scheduleHeartbeat(group, m, m.sessionTimeoutMs);
        }
        if (group.members.size() > config.groupMaxSize()) {
            prepareRebalance(group);
        }
    }

    /**
     * Stops the group's timers and answers its parked JoinGroup/SyncGroup requests with NOT_COORDINATOR:
     * the coordinator is closing or no longer leads the group's partition.
     */
    void abandon(ClassicGroup group) {
        cancelGroupTimers(group);
        for (GroupMember m : group.members.values()) {
            cancelHeartbeat(m);
            completeJoin(m, joinError(m.memberId, Errors.NOT_COORDINATOR));
            completeSync(m, new SyncGroupResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()));
        }
        group.pendingMembers.values().forEach(vertx::cancelTimer);
    }

    private long now() {
        return store.now();
    }

    static JoinGroupResponseData joinError(String memberId, Errors error) {
        return new JoinGroupResponseData().setMemberId(memberId).setErrorCode(error.code());
    }

    static JoinGroupResponseData currentGenerationResponse(ClassicGroup group, String memberId,
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

    static List<JoinGroupResponseMember> currentMemberMetadata(ClassicGroup group) {
        List<JoinGroupResponseMember> out = new ArrayList<>();
        for (GroupMember m : group.members.values()) {
            out.add(new JoinGroupResponseMember().setMemberId(m.memberId).setGroupInstanceId(m.groupInstanceId)
                    .setMetadata(m.metadata(group.protocolName)));
        }
        return out;
    }

    static void completeJoin(GroupMember member, JoinGroupResponseData response) {
        Promise<JoinGroupResponseData> p = member.awaitingJoin;
        if (p != null) {
            member.awaitingJoin = null;
            p.tryComplete(response);
        }
    }

    static void completeSync(GroupMember member, SyncGroupResponseData response) {
        Promise<SyncGroupResponseData> p = member.awaitingSync;
        if (p != null) {
            member.awaitingSync = null;
            p.tryComplete(response);
        }
    }
}
