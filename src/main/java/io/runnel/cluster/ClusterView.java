package io.runnel.cluster;

import org.apache.kafka.common.TopicPartition;

/** What the request path reads of the cluster: live brokers, the controller, every partition's state. */
public interface ClusterView extends BrokerDirectory {

    /** Node id of the controller, or -1 while there is no majority. */
    int controllerId();

    /** The newest state this broker has seen for the partition, or null. */
    PartitionState state(TopicPartition tp);

    /** Whether broker {@code brokerId}'s replica of {@code tp} is in a log directory it reported offline. */
    default boolean replicaOffline(TopicPartition tp, int brokerId) {
        return false;
    }
}
