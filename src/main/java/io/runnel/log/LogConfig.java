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
        boolean compact,           // cleanup.policy contains "compact" (compaction itself comes later)
        boolean deleteRetention,   // cleanup.policy contains "delete"
        boolean logAppendTime,     // message.timestamp.type=LogAppendTime
        long messageTimestampBeforeMaxMs, // message.timestamp.before.max.ms
        long messageTimestampAfterMaxMs   // message.timestamp.after.max.ms
) {
    public static LogConfig defaults() {
        return new LogConfig(1 << 30, 7L * 24 * 3600 * 1000, 7L * 24 * 3600 * 1000, -1L, 1048588, 4096,
                10 * 1024 * 1024, Long.MAX_VALUE, Long.MAX_VALUE, 60_000L, false, true, false,
                Long.MAX_VALUE, 3600_000L);
    }
}
