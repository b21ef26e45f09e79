package io.runnel.group;

/**
 * One committed offset of a group for a partition.
 *
 * @param offset          the committed offset
 * @param leaderEpoch     leader epoch the client saw at that offset, or -1
 * @param metadata        client metadata string (never null; "" when absent)
 * @param commitTimestamp broker time of the commit
 * @param expireTimestamp explicit expiry from OffsetCommit v2-v4 retention_time_ms, or -1 for the broker retention
 */
public record CommittedOffset(long offset, int leaderEpoch, String metadata, long commitTimestamp,
                              long expireTimestamp) {
}
