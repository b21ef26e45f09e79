package io.runnel.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.FencedLeaderEpochException;
import org.apache.kafka.common.errors.IneligibleReplicaException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.InvalidUpdateVersionException;

/**
 * The controller's decisions on partition state, as pure functions of the current states and the live
 * brokers (Kafka's PartitionChangeBuilder rules without ELR): who leads after a broker fails or returns,
 * and whether a leader's ISR change may be applied. Every change bumps the partition epoch; a leader
 * change bumps the leader epoch. Only in-sync replicas are elected unless the topic allows unclean
 * election.
 */
public final class Elections {

    public static final int NO_LEADER = -1;

    private Elections() {
    }

    /** Initial state of a new partition: every replica in sync, the first live one leads. */
    public static PartitionState initial(List<Integer> replicas, Set<Integer> live) {
        int leader = replicas.stream().filter(live::contains).findFirst().orElse(NO_LEADER);
        return new PartitionState(leader, 0, replicas, replicas, 0);
    }

    /**
     * A broker failed (or was fenced): it leaves every ISR it is in, unless it is the last member, which
     * stays so that only it can be elected cleanly when it comes back; partitions it led elect another
     * in-sync live replica, or none.
     *
     * @param uncleanAllowed per topic, whether an out-of-sync live replica may be elected when no in-sync
     *                       one is live
     * @return the partitions whose state changes, with their new states
     */
    public static Map<TopicPartition, PartitionState> brokerFailed(int node, Map<TopicPartition, PartitionState> current,
                                                                   Set<Integer> live,
                                                                   Predicate<String> uncleanAllowed) {
        return brokerFailed(node, current, tp -> live, uncleanAllowed);
    }

    /**
     * As {@link #brokerFailed(int, Map, Set, Predicate)}, with the replicas that may lead or join the ISR
     * given per partition: a live broker whose replica of a partition sits in an offline log directory is
     * not live for that partition (Kafka's KIP-858). With {@code current} limited to the partitions of
     * {@code node}'s failed directory, this is what the controller does when a broker reports one.
     */
    public static Map<TopicPartition, PartitionState> brokerFailed(int node, Map<TopicPartition, PartitionState> current,
                                                                   Function<TopicPartition, Set<Integer>> liveFor,
                                                                   Predicate<String> uncleanAllowed) {
        Map<TopicPartition, PartitionState> changes = new LinkedHashMap<>();
        current.forEach((tp, s) -> {
            if (!s.isr().contains(node) && s.leader() != node) {
                return;
            }
            List<Integer> isr = new ArrayList<>(s.isr());
            if (isr.size() > 1) {
                isr.remove(Integer.valueOf(node));
            }
            if (s.leader() == node || s.leader() == NO_LEADER) {
                changes.put(tp, elect(s, isr, liveFor.apply(tp), uncleanAllowed.test(tp.topic())));
            } else if (!isr.equals(s.isr())) {
                changes.put(tp, s.withIsr(isr));
            }
        });
        return changes;
    }

    /**
     * A broker joined: leaderless partitions that it can lead (it is in their ISR, or unclean election
     * is allowed and it is a replica) elect it.
     */
    public static Map<TopicPartition, PartitionState> brokerJoined(int node, Map<TopicPartition, PartitionState> current,
                                                                   Set<Integer> live,
                                                                   Predicate<String> uncleanAllowed) {
        return brokerJoined(node, current, tp -> live, uncleanAllowed);
    }

    /** As {@link #brokerJoined(int, Map, Set, Predicate)}, with the replicas that may lead given per partition. */
    public static Map<TopicPartition, PartitionState> brokerJoined(int node, Map<TopicPartition, PartitionState> current,
                                                                   Function<TopicPartition, Set<Integer>> liveFor,
                                                                   Predicate<String> uncleanAllowed) {
        Map<TopicPartition, PartitionState> changes = new LinkedHashMap<>();
        current.forEach((tp, s) -> {
            Set<Integer> live = liveFor.apply(tp);
            if (s.leader() == NO_LEADER && s.replicas().contains(node) && live.contains(node)) {
                PartitionState next = elect(s, s.isr(), live, uncleanAllowed.test(tp.topic()));
                if (next.leader() != NO_LEADER) {
                    changes.put(tp, next);
                }
            }
        });
        return changes;
    }

    private static PartitionState elect(PartitionState s, List<Integer> isr, Set<Integer> live, boolean unclean) {
        for (int r : s.replicas()) {
            if (isr.contains(r) && live.contains(r)) {
                return s.withLeader(r, isr);
            }
        }
        if (unclean) {
            for (int r : s.replicas()) {
                if (live.contains(r)) {
                    return s.withLeader(r, List.of(r));
                }
            }
        }
        if (s.leader() == NO_LEADER && isr.equals(s.isr())) {
            return s;
        }
        return new PartitionState(NO_LEADER, s.leaderEpoch() + 1, s.replicas(), isr, s.partitionEpoch() + 1);
    }

    /**
     * A leader's ISR change (AlterPartition), applied by compare-and-set on the partition epoch.
     *
     * @throws InvalidUpdateVersionException when {@code expected} is not the current state any more
     * @throws FencedLeaderEpochException    when the proposer is not the current leader at its epoch
     * @throws IneligibleReplicaException    when the ISR would gain a replica that is not live
     */
    public static PartitionState alterIsr(PartitionState current, PartitionState expected, List<Integer> proposedIsr,
                                          Set<Integer> live) {
        if (current.leader() != expected.leader() || current.leaderEpoch() != expected.leaderEpoch()) {
            throw new FencedLeaderEpochException("Leader " + expected.leader() + " at epoch " + expected.leaderEpoch()
                    + " is not the current leader (" + current.leader() + " at epoch " + current.leaderEpoch() + ")");
        }
        if (current.partitionEpoch() != expected.partitionEpoch()) {
            throw new InvalidUpdateVersionException("Partition epoch " + expected.partitionEpoch()
                    + " is stale; the current one is " + current.partitionEpoch());
        }
        if (!proposedIsr.contains(current.leader())) {
            throw new InvalidRequestException("The ISR must contain the leader " + current.leader());
        }
        for (int r : proposedIsr) {
            if (!current.replicas().contains(r)) {
                throw new InvalidRequestException("Replica " + r + " is not assigned to this partition");
            }
            if (!current.isr().contains(r) && !live.contains(r)) {
                throw new IneligibleReplicaException("Replica " + r + " cannot join the ISR: it is not live");
            }
        }
        return current.withIsr(proposedIsr);
    }
}
