package io.runnel;

import io.runnel.cluster.BrokerDirectory;
import io.runnel.cluster.PartitionStateChanger;

/**
 * What a broker needs from the cluster layer to replicate: the controller's compare-and-set for
 * partition states and the live brokers' endpoints. Given to {@link Broker#start(java.util.Map, ClusterHooks)},
 * it turns the node into a cluster member whose partitions wait for states from
 * {@link Broker#partitionManager()}{@code .applyState(...)} instead of leading themselves.
 */
public record ClusterHooks(PartitionStateChanger changer, BrokerDirectory directory) {
}
