package io.runnel.group;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import org.apache.kafka.common.TopicPartition;

/**
 * Offsets committed inside transactions (TxnOffsetCommit) whose transaction has not ended: they are in the
 * log, in transactional batches of their producer, but not the group's committed offsets until the
 * producer's COMMIT marker is applied (an ABORT drops them), as Kafka's group coordinator keeps them.
 *
 * <p>Invariants: {@code openByGroup} holds a producer for a group from its first pending offset for that
 * group until the producer's marker, even when tombstones (OffsetDelete, DeleteGroups) have removed the
 * offsets themselves since, so that the group is not expired while the transaction is open. Each pending
 * offset carries the offset of its record in {@code __consumer_offsets}.
 *
 * <p>Threading: confined to the coordinator's context.
 */
final class PendingTxnOffsets {

    /** Producer id, group, partition: the pending offset (the latest the producer committed). */
    private final Map<Long, Map<String, Map<TopicPartition, CommittedOffset>>> byProducer = new HashMap<>();
    private final Map<String, Set<Long>> openByGroup = new HashMap<>();

    void add(long producerId, String groupId, TopicPartition tp, CommittedOffset offset) {
        byProducer.computeIfAbsent(producerId, p -> new HashMap<>()).computeIfAbsent(groupId, g -> new HashMap<>())
                .put(tp, offset);
        openByGroup.computeIfAbsent(groupId, g -> new HashSet<>()).add(producerId);
    }

    /** Whether an open transaction has an offset for the group's partition (OffsetFetch answers UNSTABLE). */
    boolean has(String groupId, TopicPartition tp) {
        Set<Long> open = openByGroup.get(groupId);
        if (open == null) {
            return false;
        }
        for (long producerId : open) {
            Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
            Map<TopicPartition, CommittedOffset> offsets = groups == null ? null : groups.get(groupId);
            if (offsets != null && offsets.containsKey(tp)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a transaction that committed offsets for the group is still open. */
    boolean hasOpenTransaction(String groupId) {
        return openByGroup.containsKey(groupId);
    }

    /** The partitions of the group with an offset pending in some open transaction. */
    Set<TopicPartition> partitions(String groupId) {
        Set<TopicPartition> out = new HashSet<>();
        for (long producerId : openByGroup.getOrDefault(groupId, Set.of())) {
            Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
            if (groups != null && groups.containsKey(groupId)) {
                out.addAll(groups.get(groupId).keySet());
            }
        }
        return out;
    }

    /**
     * A tombstone at {@code tombstoneOffset} for the group's partition: the offsets open transactions committed
     * for it before are gone (the transactions stay open).
     */
    void remove(String groupId, TopicPartition tp, long tombstoneOffset) {
        for (long producerId : openByGroup.getOrDefault(groupId, Set.of())) {
            Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
            Map<TopicPartition, CommittedOffset> offsets = groups == null ? null : groups.get(groupId);
            CommittedOffset pending = offsets == null ? null : offsets.get(tp);
            if (pending != null && pending.recordOffset() < tombstoneOffset) {
                offsets.remove(tp);
            }
        }
    }

    /**
     * The producer's transaction ended with a marker at {@code markerOffset} in the offsets partition holding
     * the groups {@code inPartition} accepts: removes and returns its pending offsets for those groups whose
     * record is before the marker (group, partition, offset). A later record of the producer (a commit that
     * reached the log after the marker) stays pending, as a replay of the log would leave it.
     */
    Map<String, Map<TopicPartition, CommittedOffset>> complete(long producerId, Predicate<String> inPartition,
                                                               long markerOffset) {
        Map<String, Map<TopicPartition, CommittedOffset>> out = new HashMap<>();
        Map<String, Map<TopicPartition, CommittedOffset>> groups = byProducer.get(producerId);
        if (groups == null) {
            return out;
        }
        for (Iterator<Map.Entry<String, Map<TopicPartition, CommittedOffset>>> it = groups.entrySet().iterator();
             it.hasNext(); ) {
            Map.Entry<String, Map<TopicPartition, CommittedOffset>> e = it.next();
            String groupId = e.getKey();
            if (!inPartition.test(groupId)) {
                continue;
            }
            Map<TopicPartition, CommittedOffset> ended = new HashMap<>();
            e.getValue().entrySet().removeIf(o -> {
                if (o.getValue().recordOffset() < markerOffset) {
                    ended.put(o.getKey(), o.getValue());
                    return true;
                }
                return false;
            });
            if (!ended.isEmpty()) {
                out.put(groupId, ended);
            }
            if (e.getValue().isEmpty()) {
                it.remove();
                Set<Long> open = openByGroup.get(groupId);
                if (open != null && open.remove(producerId) && open.isEmpty()) {
                    openByGroup.remove(groupId);
                }
            }
        }
        if (groups.isEmpty()) {
            byProducer.remove(producerId);
        }
        return out;
    }

    /** Forgets the transactions of the groups {@code inPartition} accepts (the partition was unloaded). */
    void drop(Predicate<String> inPartition) {
        for (Iterator<Map<String, Map<TopicPartition, CommittedOffset>>> it = byProducer.values().iterator();
             it.hasNext(); ) {
            Map<String, Map<TopicPartition, CommittedOffset>> groups = it.next();
            groups.keySet().removeIf(inPartition);
            if (groups.isEmpty()) {
                it.remove();
            }
        }
        openByGroup.keySet().removeIf(inPartition);
    }

    /** How many producers have a transaction open with pending offsets (for logs and tests). */
    int openTransactions() {
        return byProducer.size();
    }
}
