package io.runnel.cluster;

import java.util.Map;

import org.apache.kafka.common.Uuid;

/** A topic as the metadata image knows it. Immutable; changes replace the record. */
public record TopicInfo(String name, Uuid id, int partitions, short replicationFactor, Map<String, String> configs) {

    public TopicInfo withPartitions(int n) {
        return new TopicInfo(name, id, n, replicationFactor, configs);
    }

    public TopicInfo withConfigs(Map<String, String> c) {
        return new TopicInfo(name, id, partitions, replicationFactor, Map.copyOf(c));
    }
}
