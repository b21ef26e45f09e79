package io.runnel.group;

import java.util.Map;

/**
 * Group coordinator settings, named as Kafka's broker properties.
 *
 * @param groupInitialRebalanceDelayMs  group.initial.rebalance.delay.ms: how long the first rebalance of an
 *                                      Empty group waits for more members
 * @param groupMinSessionTimeoutMs      group.min.session.timeout.ms
 * @param groupMaxSessionTimeoutMs      group.max.session.timeout.ms
 * @param groupMaxSize                  group.max.size
 * @param offsetsRetentionMs            offsets.retention.ms: offsets of an Empty group expire this long after it
 *                                      became Empty (or after their commit for simple consumers)
 * @param offsetsRetentionCheckIntervalMs offsets.retention.check.interval.ms
 * @param offsetsTopicNumPartitions     offsets.topic.num.partitions
 * @param offsetMetadataMaxBytes        offset.metadata.max.bytes
 */
public record GroupConfig(int groupInitialRebalanceDelayMs, int groupMinSessionTimeoutMs, int groupMaxSessionTimeoutMs,
                          int groupMaxSize, long offsetsRetentionMs, long offsetsRetentionCheckIntervalMs,
                          int offsetsTopicNumPartitions, int offsetMetadataMaxBytes) {

    public GroupConfig {
        if (groupMinSessionTimeoutMs > groupMaxSessionTimeoutMs) {
            throw new IllegalArgumentException("group.min.session.timeout.ms (" + groupMinSessionTimeoutMs
                    + ") must not exceed group.max.session.timeout.ms (" + groupMaxSessionTimeoutMs + ")");
        }
        if (groupMaxSize < 1 || offsetsTopicNumPartitions < 1 || offsetsRetentionMs < 1
                || offsetsRetentionCheckIntervalMs < 1 || groupInitialRebalanceDelayMs < 0) {
            throw new IllegalArgumentException("group.max.size, offsets.topic.num.partitions, offsets.retention.ms and "
                    + "offsets.retention.check.interval.ms must be positive, group.initial.rebalance.delay.ms >= 0");
        }
    }

    /** Apache Kafka's defaults. */
    public static GroupConfig defaults() {
        return new GroupConfig(3000, 6000, 1_800_000, Integer.MAX_VALUE, 7L * 24 * 3600 * 1000, 600_000L, 50, 4096);
    }

    /**
     * Reads the settings from Kafka's property names, with Kafka's defaults for those absent.
     *
     * @throws IllegalArgumentException naming the property when a value is not a number or out of range
     */
    public static GroupConfig fromProperties(Map<String, String> props) {
        GroupConfig d = defaults();
        return new GroupConfig(
                intProp(props, "group.initial.rebalance.delay.ms", d.groupInitialRebalanceDelayMs()),
                intProp(props, "group.min.session.timeout.ms", d.groupMinSessionTimeoutMs()),
                intProp(props, "group.max.session.timeout.ms", d.groupMaxSessionTimeoutMs()),
                intProp(props, "group.max.size", d.groupMaxSize()),
                longProp(props, "offsets.retention.ms", d.offsetsRetentionMs()),
                longProp(props, "offsets.retention.check.interval.ms", d.offsetsRetentionCheckIntervalMs()),
                intProp(props, "offsets.topic.num.partitions", d.offsetsTopicNumPartitions()),
                intProp(props, "offset.metadata.max.bytes", d.offsetMetadataMaxBytes()));
    }

    private static int intProp(Map<String, String> props, String name, int dflt) {
        long v = longProp(props, name, dflt);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + " must fit in an int, got " + v);
        }
        return (int) v;
    }

    private static long longProp(Map<String, String> props, String name, long dflt) {
        String v = props.get(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, got '" + v + "'", e);
        }
    }

    public GroupConfig withInitialRebalanceDelayMs(int ms) {
        return new GroupConfig(ms, groupMinSessionTimeoutMs, groupMaxSessionTimeoutMs, groupMaxSize,
                offsetsRetentionMs, offsetsRetentionCheckIntervalMs, offsetsTopicNumPartitions, offsetMetadataMaxBytes);
    }
}
