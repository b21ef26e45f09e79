package io.runnel.log;

/**
 * The topic settings the log cleaner applies to a compacted log (Kafka's names and defaults).
 *
 * @param deleteRetentionMs       delete.retention.ms: how long a tombstone stays readable once cleaned,
 *                                so that a consumer reading from the start sees the delete
 * @param minCompactionLagMs      min.compaction.lag.ms: a record stays uncompacted at least this long
 * @param maxCompactionLagMs      max.compaction.lag.ms: a dirty record is compacted within about this
 *                                long whatever the dirty ratio
 * @param minCleanableDirtyRatio  min.cleanable.dirty.ratio: the dirty share of the log that makes it
 *                                worth cleaning
 */
public record CompactionConfig(long deleteRetentionMs, long minCompactionLagMs, long maxCompactionLagMs,
                               double minCleanableDirtyRatio) {

    public static CompactionConfig defaults() {
        return new CompactionConfig(86_400_000L, 0L, Long.MAX_VALUE, 0.5);
    }
}
