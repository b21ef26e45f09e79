package io.runnel.log;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.utils.Time;

/**
 * The log of one partition: a directory of segments in Kafka's on-disk format.
 *
 * <p>Threading: not thread-safe for writers. {@code append*}, {@code deleteRecordsBefore},
 * {@code deleteExpiredSegments}, {@code flush*}, {@code updateConfig}, {@code close} and
 * {@code delete} are called by the partition's owner only, on a context that may block on the disk.
 * {@code read}, {@code logStartOffset}, {@code logEndOffset}, {@code sizeInBytes} and
 * {@code offsetForTimestamp} may be called from any thread concurrently with the owner and never
 * see a partially appended batch.
 */
public final class PartitionLog implements Closeable {

    private PartitionLog() {
    }

    /**
     * Opens (creating if absent) the log in {@code dir}, recovering it: a torn tail is truncated, CRCs
     * are checked from the recovery point, indexes are rebuilt where missing or corrupt, and producer
     * state is rebuilt.
     */
    public static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time) throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    public TopicPartition topicPartition() {
        throw new UnsupportedOperationException("not yet");
    }

    public Path dir() {
        throw new UnsupportedOperationException("not yet");
    }

    public LogConfig config() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Validates the producer's batches (magic v2 only, CRC, record count, codec, sizes against
     * max.message.bytes, timestamps, idempotent sequence and epoch) and appends them, assigning offsets
     * and the leader epoch in place. On failure nothing is appended and a kafka-clients ApiException
     * says why (CorruptRecordException, InvalidRecordException, RecordTooLargeException,
     * RecordBatchTooLargeException, OutOfOrderSequenceException, InvalidProducerEpochException,
     * UnsupportedForMessageFormatException, UnsupportedCompressionTypeException, InvalidTimestampException,
     * KafkaStorageException for I/O failure).
     */
    public LogAppendResult appendAsLeader(MemoryRecords records, int leaderEpoch) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Appends batches that already carry offsets (a follower's copy of the leader's log; used by
     * replication later). Offsets must start at logEndOffset.
     */
    public LogAppendResult appendAsFollower(MemoryRecords records) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Reads from {@code fetchOffset}, up to {@code maxBytes} but never past {@code maxOffsetExclusive}
     * (the high watermark for consumers, logEndOffset for replicas). With {@code minOneMessage} the first
     * batch is returned whole even if larger than maxBytes.
     *
     * @throws org.apache.kafka.common.errors.OffsetOutOfRangeException when fetchOffset is below the
     *         log start offset or above the log end offset
     */
    public LogReadResult read(long fetchOffset, int maxBytes, long maxOffsetExclusive, boolean minOneMessage) {
        throw new UnsupportedOperationException("not yet");
    }

    public long logStartOffset() {
        throw new UnsupportedOperationException("not yet");
    }

    public long logEndOffset() {
        throw new UnsupportedOperationException("not yet");
    }

    /** Total bytes of all segments. */
    public long sizeInBytes() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * The first record whose timestamp is at or after {@code timestamp}, through the time index
     * (ListOffsets by timestamp); empty if none. {@code ListOffsetsRequest.MAX_TIMESTAMP} (-3) answers
     * the record with the largest timestamp.
     */
    public Optional<TimestampOffset> offsetForTimestamp(long timestamp) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Leader epoch of the batch holding the last record, or -1 when empty (ListOffsets latest). */
    public int latestEpoch() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * The end offset of {@code epoch} per the leader-epoch cache (start offset of the next higher
     * epoch, or logEndOffset for the latest), with the largest known epoch at or below the requested
     * one; for OffsetForLeaderEpoch. Returns (epoch, endOffset), or (-1, -1) when unknown.
     */
    public TimestampOffset endOffsetForEpoch(int epoch) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Truncates the log to {@code offset} (exclusive), for replica truncation. */
    public void truncateTo(long offset) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Moves the log start offset forward to {@code offset} (DeleteRecords), deleting whole segments
     * below it. Returns the new log start offset.
     *
     * @throws org.apache.kafka.common.errors.OffsetOutOfRangeException if offset is above logEndOffset
     */
    public long deleteRecordsBefore(long offset) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Applies retention.ms and retention.bytes (when cleanup.policy has delete), never deleting the
     * active segment unless it is empty of unexpired data and rolling it first. Segments are renamed to
     * .deleted and removed after file.delete.delay.ms. Returns the number of segments deleted.
     */
    public int deleteExpiredSegments() {
        throw new UnsupportedOperationException("not yet");
    }

    /** Flushes when flush.messages or flush.ms say so; returns true if it flushed. */
    public boolean flushIfNeeded() {
        throw new UnsupportedOperationException("not yet");
    }

    /** Forces everything appended so far to disk and advances the recovery point. */
    public void flush() {
        throw new UnsupportedOperationException("not yet");
    }

    public void updateConfig(LogConfig config) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Flushes, writes the producer-state snapshot and clean-shutdown marker, and closes files. */
    @Override
    public void close() throws IOException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Closes and removes the whole partition directory (DeleteTopics). */
    public void delete() throws IOException {
        throw new UnsupportedOperationException("not yet");
    }
}
