package io.runnel.metadata;

import java.util.List;

import io.runnel.cluster.PartitionState;
import io.runnel.cluster.TopicInfo;

/**
 * What one applied metadata record changed, in the order the broker must act on it: topics deleted
 * first (so a topic re-created under the same name starts from nothing), then topics created or changed,
 * then partition states. A change of dynamic broker configs lists every topic as changed, since each one's
 * effective configs may take a default from them. Immutable.
 */
public record MetadataDelta(List<TopicInfo> deletedTopics, List<TopicInfo> changedTopics,
                            List<PartitionChange> partitions, boolean brokersChanged, long offset) {

    /** The new state of one partition, with the topic it belongs to at that point of the log. */
    public record PartitionChange(TopicInfo topic, int partition, PartitionState state) {
    }

    public boolean isEmpty() {
        return deletedTopics.isEmpty() && changedTopics.isEmpty() && partitions.isEmpty() && !brokersChanged;
    }
}
