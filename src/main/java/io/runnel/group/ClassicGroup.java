package io.runnel.group;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.vertx.core.Future;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.TopicPartition;

/**
 * State of one classic group: its members, generation, selected protocol and committed offsets.
 *
 * <p>Invariants: the leader is a member whenever there are members; {@code staticMembers} maps each
 * static member's group.instance.id to its current member id; pending members (given an id by a
 * MEMBER_ID_REQUIRED answer) are not members until they rejoin with that id.
 *
 * <p>Threading: confined to the coordinator's context.
 */
final class ClassicGroup {

    static final String CONSUMER_PROTOCOL_TYPE = "consumer";

    final String groupId;
    GroupState state = GroupState.EMPTY;
    GroupState previousState = GroupState.EMPTY;
    long currentStateTimestamp;
    int generationId;
    String protocolType;
    String protocolName;
    String leaderId;
    final LinkedHashMap<String, GroupMember> members = new LinkedHashMap<>();
    final Map<String, Long> pendingMembers = new HashMap<>();
    final Map<String, String> staticMembers = new HashMap<>();
    final Set<String> pendingSyncMembers = new HashSet<>();
    boolean newMemberAdded;
    long joinTimerId = -1;
    long syncTimerId = -1;
    /** Topics the members subscribe to per their consumer-protocol metadata; null when unknown (all). */
    Set<String> subscribedTopics = Set.of();

    final Map<TopicPartition, CommittedOffset> offsets = new HashMap<>();
    /** Offset commits being appended to the log, not yet applied, per partition. */
    final Map<TopicPartition, Integer> pendingOffsetCommits = new HashMap<>();
    /** Completes once the latest offset commit of this group has been appended and applied. */
    Future<Void> lastOffsetAppend = Future.succeededFuture();

    ClassicGroup(String groupId, long now) {
        this.groupId = groupId;
        this.currentStateTimestamp = now;
    }

    void transitionTo(GroupState target, long now) {
        previousState = state;
        state = target;
        currentStateTimestamp = now;
    }

    boolean is(GroupState s) {
        return state == s;
    }

    boolean canRebalance() {
        return state == GroupState.STABLE || state == GroupState.COMPLETING_REBALANCE || state == GroupState.EMPTY;
    }

    int numAwaitingJoin() {
        int n = 0;
        for (GroupMember m : members.values()) {
            if (m.isAwaitingJoin()) {
                n++;
            }
        }
        return n;
    }

    boolean hasAllMembersJoined() {
        return numAwaitingJoin() == members.size() && pendingMembers.isEmpty();
    }

    /** The largest rebalance timeout of the members (how long a rebalance waits for them). */
    int rebalanceTimeoutMs() {
        int max = 0;
        for (GroupMember m : members.values()) {
            max = Math.max(max, m.rebalanceTimeoutMs);
        }
        return max;
    }

    void add(GroupMember member) {
        if (members.isEmpty()) {
            protocolType = member.protocolType;
        }
        members.put(member.memberId, member);
        if (member.isStatic()) {
            staticMembers.put(member.groupInstanceId, member.memberId);
        }
        if (leaderId == null) {
            leaderId = member.memberId;
        }
    }

    /** Removes the member from the member maps and re-elects a leader; timers are the caller's. */
    void remove(String memberId) {
        GroupMember removed = members.remove(memberId);
        if (removed != null && removed.isStatic()) {
            staticMembers.remove(removed.groupInstanceId, memberId);
        }
        pendingSyncMembers.remove(memberId);
        if (memberId.equals(leaderId)) {
            leaderId = members.isEmpty() ? null : members.keySet().iterator().next();
        }
    }

    /**
     * Whether a member with these protocols can join: an empty group accepts any non-empty protocol type
     * and list; otherwise the type must match and at least one protocol must be supported by every member.
     */
    boolean supportsProtocols(String memberProtocolType, List<GroupMember.Protocol> protocols) {
        if (members.isEmpty()) {
            return memberProtocolType != null && !memberProtocolType.isEmpty() && !protocols.isEmpty();
        }
        if (!memberProtocolType.equals(protocolType)) {
            return false;
        }
        for (GroupMember.Protocol p : protocols) {
            boolean all = true;
            for (GroupMember m : members.values()) {
                if (!m.supports(p.name())) {
                    all = false;
                    break;
                }
            }
            if (all) {
                return true;
            }
        }
        return false;
    }

    /** The protocol every member supports that most members prefer (Kafka's vote). */
    String selectProtocol() {
        Set<String> candidates = new LinkedHashSet<>();
        GroupMember first = members.values().iterator().next();
        for (GroupMember.Protocol p : first.protocols) {
            if (members.values().stream().allMatch(m -> m.supports(p.name()))) {
                candidates.add(p.name());
            }
        }
        Map<String, Integer> votes = new LinkedHashMap<>();
        for (String c : candidates) {
            votes.put(c, 0);
        }
        for (GroupMember m : members.values()) {
            votes.merge(m.vote(candidates), 1, Integer::sum);
        }
        String best = null;
        int bestVotes = -1;
        for (Map.Entry<String, Integer> e : votes.entrySet()) {
            if (e.getValue() > bestVotes) {
                best = e.getKey();
                bestVotes = e.getValue();
            }
        }
        return best;
    }

    /** If the leader has not rejoined, picks a member that has; false if no member has rejoined. */
    boolean maybeElectNewJoinedLeader() {
        if (leaderId == null) {
            return false;
        }
        GroupMember leader = members.get(leaderId);
        if (leader != null && leader.isAwaitingJoin()) {
            return true;
        }
        for (GroupMember m : members.values()) {
            if (m.isAwaitingJoin()) {
                leaderId = m.memberId;
                return true;
            }
        }
        return false;
    }

    void initNextGeneration(long now) {
        generationId++;
        pendingSyncMembers.clear();
        if (!members.isEmpty()) {
            protocolName = selectProtocol();
            subscribedTopics = computeSubscribedTopics();
            transitionTo(GroupState.COMPLETING_REBALANCE, now);
        } else {
            protocolName = null;
            subscribedTopics = Set.of();
            transitionTo(GroupState.EMPTY, now);
        }
    }

    /** Decodes the members' consumer-protocol subscriptions; null (all topics) when they cannot be read. */
    Set<String> computeSubscribedTopics() {
        if (!CONSUMER_PROTOCOL_TYPE.equals(protocolType) || protocolName == null) {
            return members.isEmpty() ? Set.of() : null;
        }
        Set<String> topics = new HashSet<>();
        for (GroupMember m : members.values()) {
            try {
                topics.addAll(ConsumerProtocol.deserializeSubscription(ByteBuffer.wrap(m.metadata(protocolName)))
                        .topics());
            } catch (RuntimeException e) {
                return null;
            }
        }
        return topics;
    }

    boolean isSubscribedToTopic(String topic) {
        if (state == GroupState.EMPTY) {
            return false;
        }
        return subscribedTopics == null || subscribedTopics.contains(topic);
    }

    boolean hasPendingOffsetCommit(TopicPartition tp) {
        return pendingOffsetCommits.getOrDefault(tp, 0) > 0;
    }

    /** A group that holds nothing worth keeping (a JoinGroup that created it failed). */
    boolean isUnused() {
        return state == GroupState.EMPTY && members.isEmpty() && pendingMembers.isEmpty() && offsets.isEmpty()
                && pendingOffsetCommits.isEmpty() && generationId == 0 && protocolType == null;
    }

    GroupRecord.GroupMetadataValue snapshot() {
        List<GroupRecord.MemberValue> values = new ArrayList<>(members.size());
        for (GroupMember m : members.values()) {
            values.add(new GroupRecord.MemberValue(m.memberId, m.groupInstanceId, m.clientId, m.clientHost,
                    m.rebalanceTimeoutMs, m.sessionTimeoutMs, protocolName == null ? new byte[0] : m.metadata(protocolName),
                    m.assignment));
        }
        return new GroupRecord.GroupMetadataValue(protocolType, generationId, protocolName, leaderId,
                currentStateTimestamp, values);
    }
}
