package io.runnel.group;

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

    public GroupConfig withInitialRebalanceDelayMs(int ms) {
        return new GroupConfig(ms, groupMinSessionTimeoutMs, groupMaxSessionTimeoutMs, groupMaxSize,
                offsetsRetentionMs, offsetsRetentionCheckIntervalMs, offsetsTopicNumPartitions, offsetMetadataMaxBytes);
    }
}
