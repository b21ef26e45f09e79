package io.runnel.cluster;

import java.util.List;

/**
 * The replicated state of one partition, as the controller decides it and every broker applies it.
 * Changes only by compare-and-set through the controller: each change bumps {@code partitionEpoch};
 * a leader change also bumps {@code leaderEpoch}. Brokers persist the highest epochs they have seen.
 *
 * @param leader          node id of the leader, or -1 when none is eligible
 * @param leaderEpoch     fences stale leaders and followers on the data path
 * @param replicas        assigned replicas, preferred leader first
 * @param isr             in-sync replicas (always a subset of replicas, leader included)
 * @param partitionEpoch  version of this record, for compare-and-set
 */
public record PartitionState(int leader, int leaderEpoch, List<Integer> replicas, List<Integer> isr,
                             int partitionEpoch) {

    public PartitionState {
        replicas = List.copyOf(replicas);
        isr = List.copyOf(isr);
    }

    /** A single-replica partition led by {@code node}, as a standalone node hosts every partition. */
    public static PartitionState standalone(int node) {
        return new PartitionState(node, 0, List.of(node), List.of(node), 0);
    }

    public PartitionState withIsr(List<Integer> newIsr) {
        return new PartitionState(leader, leaderEpoch, replicas, newIsr, partitionEpoch + 1);
    }

    public PartitionState withLeader(int newLeader, List<Integer> newIsr) {
        return new PartitionState(newLeader, leaderEpoch + 1, replicas, newIsr, partitionEpoch + 1);
    }
}
