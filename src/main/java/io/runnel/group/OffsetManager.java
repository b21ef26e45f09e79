package io.runnel.group;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
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
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData.TxnOffsetCommitResponsePartition;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData.TxnOffsetCommitResponseTopic;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Committed offsets: OffsetCommit (generation and member checks for group commits; simple commits
 * while the group is Empty), TxnOffsetCommit (offsets pending until their transaction's marker, see
 * {@link PendingTxnOffsets}), OffsetFetch, OffsetDelete and the periodic expiry of offsets.retention.ms.
 * A commit is answered, and becomes visible, once appended to {@code __consumer_offsets}; deletions and
 * expiries likewise, so memory always equals a replay of the log.
 *
 * <p>Threading: confined to the coordinator's context.
 */
final class OffsetManager {

    private static final Logger LOG = LoggerFactory.getLogger(OffsetManager.class);

    private final GroupStore store;
    private final GroupMembership membership;
    private final Predicate<TopicPartition> topicExists;
    private final GroupConfig config;
    private final Map<String, ClassicGroup> groups;

    OffsetManager(GroupStore store, GroupMembership membership, Predicate<TopicPartition> topicExists) {
        this.store = store;
        this.membership = membership;
        this.topicExists = topicExists;
        this.config = store.config;
        this.groups = store.groups;
    }

    Future<OffsetCommitResponseData> doCommit(OffsetCommitRequestData request, short version) {
        String groupId = request.groupId();
        CommitTarget to = commitTarget(groupId, request.generationIdOrMemberEpoch(), request.memberId(),
                request.groupInstanceId(), version >= 9 ? Errors.GROUP_ID_NOT_FOUND : Errors.ILLEGAL_GENERATION, true);
        ClassicGroup group = to.group();
        Errors error = to.error();
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
                String metadata = p.committedMetadata() == null ? "" : p.committedMetadata();
                Errors partitionError = error == Errors.NONE ? partitionError(tp, metadata) : error;
                if (partitionError == Errors.NONE) {
                    valid.put(tp, new CommittedOffset(p.committedOffset(), p.committedLeaderEpoch(), metadata, now,
                            expireTimestamp));
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
                membership.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
            }
        }
        if (valid.isEmpty()) {
            if (to.created()) {
                groups.remove(groupId);
            }
            return Future.succeededFuture(response);
        }
        ClassicGroup target = group;
        valid.keySet().forEach(tp -> target.pendingOffsetCommits.merge(tp, 1, Integer::sum));
        List<GroupRecord> records = new ArrayList<>();
        valid.forEach((tp, co) -> records.add(new GroupRecord.OffsetCommit(groupId, tp, co)));
        Future<OffsetCommitResponseData> result = store.append(store.partitionFor(groupId), records).transform(ar -> {
            valid.keySet().forEach(tp -> target.pendingOffsetCommits.computeIfPresent(tp, (k, n) -> n > 1 ? n - 1 : null));
            if (ar.succeeded() && !store.serves(groupId)) {
                // the partition was unloaded meanwhile: its next leader replays these offsets from the log
                return Future.succeededFuture(response);
            }
            if (ar.succeeded()) {
                // the group may have been deleted meanwhile; the log holds these offsets after its
                // tombstones, so a replay would recreate it: do the same
                ClassicGroup g = groups.computeIfAbsent(groupId, id -> target.is(GroupState.DEAD)
                        ? new ClassicGroup(id, now()) : target);
                long at = ar.result();
                for (Map.Entry<TopicPartition, CommittedOffset> e : valid.entrySet()) {
                    g.offsets.put(e.getKey(), e.getValue().at(at++));
                }
            } else {
                Errors appendError = GroupStore.offsetAppendError(ar.cause());
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

    /**
     * TxnOffsetCommit: the offsets are appended as a transactional batch of the producer (its id and epoch,
     * which the partition's producer state checks as for a produce) and stay pending, invisible to OffsetFetch
     * (UNSTABLE_OFFSET_COMMIT when it requires stable offsets), until the transaction's marker
     * ({@link GroupCoordinator#onTransactionCompleted}). Group checks as Kafka's for a transactional commit:
     * member and generation when given, no state requirement (a transaction may span a rebalance).
     */
    Future<TxnOffsetCommitResponseData> doTxnCommit(TxnOffsetCommitRequestData request) {
        String groupId = request.groupId();
        CommitTarget to = commitTarget(groupId, request.generationIdOrMemberEpoch(), request.memberId(),
                request.groupInstanceId(), Errors.ILLEGAL_GENERATION, false);
        ClassicGroup group = to.group();
        Errors error = to.error();
        TxnOffsetCommitResponseData response = new TxnOffsetCommitResponseData();
        Map<TopicPartition, CommittedOffset> valid = new LinkedHashMap<>();
        Map<TopicPartition, TxnOffsetCommitResponsePartition> results = new HashMap<>();
        long now = now();
        for (TxnOffsetCommitRequestTopic topic : request.topics()) {
            TxnOffsetCommitResponseTopic rt = new TxnOffsetCommitResponseTopic().setName(topic.name());
            response.topics().add(rt);
            for (TxnOffsetCommitRequestPartition p : topic.partitions()) {
                TopicPartition tp = new TopicPartition(topic.name(), p.partitionIndex());
                String metadata = p.committedMetadata() == null ? "" : p.committedMetadata();
                Errors partitionError = error == Errors.NONE ? partitionError(tp, metadata) : error;
                if (partitionError == Errors.NONE) {
                    valid.put(tp, new CommittedOffset(p.committedOffset(), p.committedLeaderEpoch(), metadata, now,
                            -1L));
                }
                TxnOffsetCommitResponsePartition rp = new TxnOffsetCommitResponsePartition()
                        .setPartitionIndex(p.partitionIndex()).setErrorCode(partitionError.code());
                rt.partitions().add(rp);
                results.put(tp, rp);
            }
        }
        if (valid.isEmpty()) {
            if (to.created()) {
                groups.remove(groupId);
            }
            return Future.succeededFuture(response);
        }
        ClassicGroup target = group;
        long producerId = request.producerId();
        valid.keySet().forEach(tp -> target.pendingOffsetCommits.merge(tp, 1, Integer::sum));
        List<GroupRecord> records = new ArrayList<>();
        valid.forEach((tp, co) -> records.add(new GroupRecord.OffsetCommit(groupId, tp, co)));
        int partition = store.partitionFor(groupId);
        Future<TxnOffsetCommitResponseData> result = store.appendTransactional(partition, records, producerId,
                request.producerEpoch()).transform(ar -> {
            valid.keySet().forEach(tp -> target.pendingOffsetCommits.computeIfPresent(tp, (k, n) -> n > 1 ? n - 1 : null));
            if (!store.serves(groupId)) {
                // unloaded meanwhile: the next leader replays the batch (and its marker) from the log
                if (ar.failed()) {
                    valid.keySet().forEach(tp -> results.get(tp).setErrorCode(Errors.NOT_COORDINATOR.code()));
                }
                return Future.succeededFuture(response);
            }
            if (ar.succeeded()) {
                // as a replay would: the group exists from its first offset record on
                groups.computeIfAbsent(groupId, id -> target.is(GroupState.DEAD) ? new ClassicGroup(id, now()) : target);
                long at = ar.result();
                for (Map.Entry<TopicPartition, CommittedOffset> e : valid.entrySet()) {
                    store.pendingTxnOffsets.add(producerId, groupId, e.getKey(), e.getValue().at(at++));
                }
            } else {
                Errors appendError = GroupStore.groupAppendError(ar.cause());
                LOG.warn("Failed to append the transactional offsets of group {} (producer {})", groupId, producerId,
                        ar.cause());
                valid.keySet().forEach(tp -> results.get(tp).setErrorCode(appendError.code()));
                if (target.isUnused() && groups.get(groupId) == target
                        && !store.pendingTxnOffsets.hasOpenTransaction(groupId)) {
                    groups.remove(groupId);
                }
            }
            return Future.succeededFuture(response);
        });
        target.lastOffsetAppend = result.mapEmpty();
        return result;
    }

    /** The group a commit goes to; {@code created} when the commit made it; the error refusing the whole commit. */
    private record CommitTarget(ClassicGroup group, boolean created, Errors error) {
    }

    /**
     * The group a commit goes to: an existing one that accepts it ({@link #validateCommit}), or, for a commit with no
     * generation (a simple consumer, the admin client, a transactional producer without a member), a new group that
     * exists only to hold offsets; {@code unknownGroup} answers a generation given for a group that does not exist.
     */
    private CommitTarget commitTarget(String groupId, int generation, String memberId, String groupInstanceId,
                                      Errors unknownGroup, boolean enforceState) {
        Errors error = store.precheck(groupId);
        ClassicGroup group = groups.get(groupId);
        if (error != Errors.NONE) {
            return new CommitTarget(group, false, error);
        }
        if (group != null && !group.is(GroupState.DEAD)) {
            return new CommitTarget(group, false,
                    validateCommit(group, generation, memberId, groupInstanceId, enforceState));
        }
        if (generation >= 0) {
            return new CommitTarget(group, false, unknownGroup);
        }
        ClassicGroup created = new ClassicGroup(groupId, now());
        groups.put(groupId, created);
        return new CommitTarget(created, true, Errors.NONE);
    }

    /** The error of one partition of a commit its group accepts: its topic must exist and its metadata fit. */
    private Errors partitionError(TopicPartition tp, String metadata) {
        if (!topicExists.test(tp)) {
            return Errors.UNKNOWN_TOPIC_OR_PARTITION;
        }
        if (metadata.length() > config.offsetMetadataMaxBytes()) {
            return Errors.OFFSET_METADATA_TOO_LARGE;
        }
        return Errors.NONE;
    }

    /**
     * The group checks of a commit into an existing group, as Kafka's: member and generation when the request names
     * a member or a generation. {@code enforceState} is OffsetCommit's: member-less offsets only while the group is
     * Empty, none while it completes a rebalance; TxnOffsetCommit enforces no state (v0-v2 carry no member, and a
     * transaction may span a rebalance).
     */
    private static Errors validateCommit(ClassicGroup group, int generation, String memberId, String groupInstanceId,
                                         boolean enforceState) {
        String member = memberId == null ? "" : memberId;
        if (generation < 0 && group.is(GroupState.EMPTY)) {
            return Errors.NONE;
        }
        if (generation >= 0 || !member.isEmpty() || groupInstanceId != null) {
            Errors invalid = GroupStore.validateMember(group, member, groupInstanceId);
            if (invalid != Errors.NONE) {
                return invalid;
            }
            if (generation != group.generationId) {
                return Errors.ILLEGAL_GENERATION;
            }
        } else if (enforceState && !group.is(GroupState.EMPTY)) {
            // offsets without member id and generation are only accepted while nobody consumes
            return Errors.UNKNOWN_MEMBER_ID;
        }
        if (enforceState && group.is(GroupState.COMPLETING_REBALANCE)) {
            return Errors.REBALANCE_IN_PROGRESS;
        }
        return Errors.NONE;
    }

    /**
     * OffsetFetch; a stable read (requireStable, which read_committed consumers send) also waits for the
     * group's commits still being appended, and answers UNSTABLE_OFFSET_COMMIT for a partition an open
     * transaction has committed an offset for, as Kafka 4.x.
     */
    Future<OffsetFetchResponseGroup> fetch(String groupId, List<OffsetFetchRequestTopics> topics,
                                           boolean requireStable) {
        ClassicGroup group = groups.get(groupId);
        if (requireStable && store.serves(groupId) && group != null && !group.pendingOffsetCommits.isEmpty()) {
            return group.lastOffsetAppend.transform(ar -> Future.succeededFuture(doFetch(groupId, topics, true)));
        }
        return Future.succeededFuture(doFetch(groupId, topics, requireStable));
    }

    private OffsetFetchResponseGroup doFetch(String groupId, List<OffsetFetchRequestTopics> topics,
                                             boolean requireStable) {
        OffsetFetchResponseGroup response = new OffsetFetchResponseGroup().setGroupId(groupId);
        Errors pre = store.partitionError(store.partitionFor(groupId == null ? "" : groupId));
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
                    addFetchedPartition(byTopic, groupId, group, tp, requireStable);
                }
            }
        } else {
            for (OffsetFetchRequestTopics t : topics) {
                byTopic.computeIfAbsent(t.name(), n -> new OffsetFetchResponseTopics().setName(n)
                        .setTopicId(t.topicId()));
                for (int partition : t.partitionIndexes()) {
                    addFetchedPartition(byTopic, groupId, group, new TopicPartition(t.name(), partition),
                            requireStable);
                }
            }
        }
        response.topics().addAll(byTopic.values());
        return response;
    }

    private void addFetchedPartition(Map<String, OffsetFetchResponseTopics> byTopic, String groupId,
                                     ClassicGroup group, TopicPartition tp, boolean requireStable) {
        OffsetFetchResponsePartitions p = new OffsetFetchResponsePartitions().setPartitionIndex(tp.partition())
                .setCommittedOffset(-1L).setCommittedLeaderEpoch(-1).setMetadata("");
        if (requireStable && store.pendingTxnOffsets.has(groupId, tp)) {
            // a transaction that committed an offset here is still open: the consumer retries later
            byTopic.computeIfAbsent(tp.topic(), n -> new OffsetFetchResponseTopics().setName(n)).partitions()
                    .add(p.setErrorCode(Errors.UNSTABLE_OFFSET_COMMIT.code()));
            return;
        }
        CommittedOffset co = group == null ? null : group.offsets.get(tp);
        if (co != null) {
            p.setCommittedOffset(co.offset()).setCommittedLeaderEpoch(co.leaderEpoch()).setMetadata(co.metadata());
        }
        byTopic.computeIfAbsent(tp.topic(), n -> new OffsetFetchResponseTopics().setName(n)).partitions().add(p);
    }

    Future<OffsetDeleteResponseData> doDeleteOffsets(OffsetDeleteRequestData request) {
        String groupId = request.groupId();
        Errors error = store.precheck(groupId);
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
                } else if (group.offsets.containsKey(tp) || store.pendingTxnOffsets.has(groupId, tp)) {
                    // as Kafka: the tombstone also drops what open transactions committed there
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
        return store.append(store.partitionFor(groupId), records).transform(ar -> {
            if (ar.failed()) {
                return Future.succeededFuture(new OffsetDeleteResponseData()
                        .setErrorCode(GroupStore.groupAppendError(ar.cause()).code()));
            }
            deleted.forEach(group.offsets::remove);
            long at = ar.result();
            for (TopicPartition tp : deleted) {
                store.pendingTxnOffsets.remove(groupId, tp, at++);
            }
            return Future.succeededFuture(response);
        });
    }

    /** Kafka's cleanupGroupMetadata: expires offsets per the group's expiration condition. */
    void expireOffsets() {
        if (store.closed) {
            return;
        }
        long now = now();
        for (ClassicGroup group : new ArrayList<>(groups.values())) {
            if (group.is(GroupState.DEAD) || !store.serves(group.groupId)) {
                continue;
            }
            if (group.isUnused() && !store.pendingTxnOffsets.hasOpenTransaction(group.groupId)) {
                // created by a join that never got anywhere; nothing was persisted
                groups.remove(group.groupId);
                continue;
            }
            ToLongFunction<CommittedOffset> base = expirationBase(group);
            Map<TopicPartition, CommittedOffset> expired = new HashMap<>();
            if (base != null) {
                boolean onlyUnsubscribed = !group.is(GroupState.EMPTY) && group.protocolType != null;
                group.offsets.forEach((tp, co) -> {
                    // not while an open transaction has committed an offset for it (Kafka's rule)
                    if (group.hasPendingOffsetCommit(tp) || store.pendingTxnOffsets.has(group.groupId, tp)
                            || (onlyUnsubscribed && group.subscribedTopics.contains(tp.topic()))) {
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
                    && !store.pendingTxnOffsets.hasOpenTransaction(group.groupId)
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
            store.append(store.partitionFor(group.groupId), records).onComplete(ar -> {
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

    private long now() {
        return store.now();
    }
}
