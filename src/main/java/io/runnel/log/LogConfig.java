package io.runnel.log;

/**
 * Per-partition log settings, resolved from broker defaults and topic overrides by the config layer.
 * Names follow Kafka's topic configs (segment.bytes, retention.ms, ...).
 */
public record LogConfig(
        int segmentBytes,          // segment.bytes
        long segmentMs,            // segment.ms
        long retentionMs,          // retention.ms (-1: unlimited)
        long retentionBytes,       // retention.bytes (-1: unlimited)
        int maxMessageBytes,       // max.message.bytes (largest record batch accepted)
        int indexIntervalBytes,    // index.interval.bytes
        int segmentIndexBytes,     // segment.index.bytes (max size of one .index/.timeindex file)
        long flushMessages,        // flush.messages (Long.MAX_VALUE: leave it to the OS)
        long flushMs,              // flush.ms (Long.MAX_VALUE: leave it to the OS)
        long fileDeleteDelayMs,    // file.delete.delay.ms
        boolean compact,           // cleanup.policy contains "compact"
        boolean deleteRetention,   // cleanup.policy contains "delete"
        boolean logAppendTime,     // message.timestamp.type=LogAppendTime
        long messageTimestampBeforeMaxMs, // message.timestamp.before.max.ms
        long messageTimestampAfterMaxMs,  // message.timestamp.after.max.ms
        CompactionConfig compaction       // the log cleaner's settings (used when compact)
) {
    /** Without compaction settings of its own: Kafka's defaults. */
    public LogConfig(int segmentBytes, long segmentMs, long retentionMs, long retentionBytes, int maxMessageBytes,
                     int indexIntervalBytes, int segmentIndexBytes, long flushMessages, long flushMs,
                     long fileDeleteDelayMs, boolean compact, boolean deleteRetention, boolean logAppendTime,
                     long messageTimestampBeforeMaxMs, long messageTimestampAfterMaxMs) {
        this(segmentBytes, segmentMs, retentionMs, retentionBytes, maxMessageBytes, indexIntervalBytes,
                segmentIndexBytes, flushMessages, flushMs, fileDeleteDelayMs, compact, deleteRetention, logAppendTime,
                messageTimestampBeforeMaxMs, messageTimestampAfterMaxMs, CompactionConfig.defaults());
    }

    /** The same settings with other compaction settings (tests, topic configs). */
    public LogConfig withCompaction(boolean compact, boolean deleteRetention, CompactionConfig compaction) {
        return new LogConfig(segmentBytes, segmentMs, retentionMs, retentionBytes, maxMessageBytes, indexIntervalBytes,
                segmentIndexBytes, flushMessages, flushMs, fileDeleteDelayMs, compact, deleteRetention, logAppendTime,
                messageTimestampBeforeMaxMs, messageTimestampAfterMaxMs, compaction);
    }

    /**
     * segment.ms as the roll rule applies it: on a compacted log at most max.compaction.lag.ms, so that
     * the active segment, which is never cleaned, rolls in time for the lag to be met (as Kafka's
     * LogConfig.maxSegmentMs).
     */
    public long rollMs() {
        return compact ? Math.min(segmentMs, compaction.maxCompactionLagMs()) : segmentMs;
    }

    public static LogConfig defaults() {
        return new LogConfig(1 << 30, 7L * 24 * 3600 * 1000, 7L * 24 * 3600 * 1000, -1L, 1048588, 4096,
                10 * 1024 * 1024, Long.MAX_VALUE, Long.MAX_VALUE, 60_000L, false, true, false,
                Long.MAX_VALUE, 3600_000L);
    }
}
