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
}
