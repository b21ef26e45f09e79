package io.runnel.group;

/**
 * One committed offset of a group for a partition.
 *
 * @param offset          the committed offset
 * @param leaderEpoch     leader epoch the client saw at that offset, or -1
 * @param metadata        client metadata string (never null; "" when absent)
 * @param commitTimestamp broker time of the commit
 * @param expireTimestamp explicit expiry from OffsetCommit v2-v4 retention_time_ms, or -1 for the broker retention
 * @param recordOffset    offset in {@code __consumer_offsets} of the record that committed it, or -1 while not
 *                        known (not persisted: it is where the record is). When a transaction commits, its
 *                        offsets replace the group's only where their record is the later one, as Kafka does, so
 *                        that the order of the log, not of the markers, decides (and compaction cannot change it).
 */
public record CommittedOffset(long offset, int leaderEpoch, String metadata, long commitTimestamp,
                              long expireTimestamp, long recordOffset) {

    public CommittedOffset(long offset, int leaderEpoch, String metadata, long commitTimestamp, long expireTimestamp) {
        this(offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp, -1L);
    }

    /** The same offset, committed by the record at {@code at} of the offsets partition. */
    public CommittedOffset at(long at) {
        return new CommittedOffset(offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp, at);
    }
}
