package io.runnel.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.common.errors.InvalidReplicationFactorException;

/**
 * Spreads partition replicas over brokers the way Apache Kafka does without racks: the first replica
 * of consecutive partitions walks the broker list from a start index, and the followers are placed at
 * a shift that grows every full round, so leaders and followers are both balanced and no two replicas of
 * a partition share a broker.
 */
public final class ReplicaAssigner {

    private ReplicaAssigner() {
    }

    /**
     * @param brokers          the brokers to use, sorted by id
     * @param startIndex       where the first partition's leader starts in {@code brokers} (Kafka picks it
     *                         at random; passing it keeps tests deterministic)
     * @param replicaShift     the initial follower shift (random in Kafka too)
     * @param firstPartition   id of the first partition to assign (non-zero when adding partitions)
     */
    public static Map<Integer, List<Integer>> assign(List<Integer> brokers, int partitions, int replicationFactor,
                                                     int startIndex, int replicaShift, int firstPartition) {
        int n = brokers.size();
        if (replicationFactor <= 0) {
            throw new InvalidReplicationFactorException("Replication factor must be larger than 0.");
        }
        if (replicationFactor > n) {
            throw new InvalidReplicationFactorException("Unable to replicate the partition " + replicationFactor
                    + " time(s): The target replication factor of " + replicationFactor
                    + " cannot be reached because only " + n + " broker(s) are registered.");
        }
        Map<Integer, List<Integer>> out = new TreeMap<>();
        int start = Math.floorMod(startIndex, n);
        int shift = Math.floorMod(replicaShift, n);
        int current = Math.max(0, firstPartition);
        for (int i = 0; i < partitions; i++) {
            if (current > 0 && current % n == 0) {
                shift += 1;
            }
            int first = (current + start) % n;
            List<Integer> replicas = new ArrayList<>(replicationFactor);
            replicas.add(brokers.get(first));
            for (int j = 0; j < replicationFactor - 1; j++) {
                replicas.add(brokers.get(replicaIndex(first, shift, j, n)));
            }
            out.put(current, List.copyOf(replicas));
            current++;
        }
        return out;
    }

    private static int replicaIndex(int first, int secondReplicaShift, int replicaIndex, int n) {
        int shift = 1 + (secondReplicaShift + replicaIndex) % (n - 1);
        return (first + shift) % n;
    }
}
