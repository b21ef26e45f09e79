package io.runnel.cluster;

import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;

/**
 * How a partition leader asks the controller to change its partition's state (ISR shrink and expand,
 * like Kafka's AlterPartition). The controller applies {@code proposed} only if the current state's
 * partition epoch still equals {@code expected.partitionEpoch()} (compare-and-set) and answers the
 * state that now holds; a stale proposal fails with a kafka-clients ApiException
 * (INVALID_UPDATE_VERSION / FENCED_LEADER_EPOCH / NOT_CONTROLLER).
 */
public interface PartitionStateChanger {

    Future<PartitionState> alterPartition(TopicPartition tp, PartitionState expected, PartitionState proposed);

    /**
     * Whether {@code brokerId} may join an ISR now, as far as this broker can tell without asking anyone
     * (Kafka's leader checks that a follower is not fenced before proposing it): a follower that fetches
     * again before the cluster has taken it back would otherwise have every fetch turned into a proposal
     * the controller refuses. Any thread, never blocks.
     */
    default boolean eligibleForIsr(int brokerId) {
        return true;
    }

    /**
     * As {@link #eligibleForIsr(int)}, for {@code brokerId}'s replica of {@code tp}: one in a log directory
     * that broker reported offline may not join (KIP-858). Any thread, never blocks.
     */
    default boolean eligibleForIsr(TopicPartition tp, int brokerId) {
        return eligibleForIsr(brokerId);
    }
}
