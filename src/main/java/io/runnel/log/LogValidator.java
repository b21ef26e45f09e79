package io.runnel.log;

import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.UnsupportedCompressionTypeException;
import org.apache.kafka.common.record.TimestampType;

/**
 * Validates the batches of one produce (leader) or replication (follower) append without changing them,
 * as Kafka's {@code UnifiedLog.analyzeAndValidateRecords} and {@code LogValidator} do for magic v2:
 * structure and CRC, batch size against max.message.bytes, the count against the offset range and the
 * records actually present, consecutive record offsets, the codec, keys on compacted topics, and
 * CreateTime timestamps against message.timestamp.before/after.max.ms. Compressed batches are iterated
 * with the key/value-skipping decompressor: they are checked, never re-encoded. A failure throws the
 * kafka-clients {@link ApiException} Kafka answers with; nothing is mutated, so the caller appends nothing.
 *
 * <p>Stateless; safe on any thread.
 */
final class LogValidator {

    /** What one validated batch holds: enough to assign offsets and update producer state. */
    record BatchInfo(LogBatch batch, int count, long maxTimestamp) {
    }

    /** The validated batches, trimmed of trailing partial bytes. */
    record Validated(RecordSet records, List<BatchInfo> batches, int sizeInBytes, int recordCount,
                     long maxTimestamp) {
    }

    private LogValidator() {
    }

    static Validated validateForLeader(RecordSet records, LogConfig config, long now, String tp) {
        return validateForLeader(records, config, now, tp, AppendOrigin.CLIENT);
    }

    /**
     * As a client's append, except that a coordinator ({@link AppendOrigin#COORDINATOR}) may write control
     * batches (transaction markers), which carry no sequence.
     */
    static Validated validateForLeader(RecordSet records, LogConfig config, long now, String tp, AppendOrigin origin) {
        List<BatchInfo> infos = new ArrayList<>();
        int validBytes = 0;
        int recordCount = 0;
        long maxTimestamp = LogBatch.NO_TIMESTAMP;
        for (LogBatch batch : batches(records)) {
            if (batch.magic() != LogBatch.MAGIC_V2) {
                // what Kafka answers for produce v3+ (the only versions served)
                throw new InvalidRecordException("Produce requests to " + tp
                        + " are only allowed to contain record batches with magic version 2, got " + batch.magic());
            }
            if (batch.baseOffset() != 0) {
                throw new InvalidRecordException("The baseOffset of the record batch in the append to " + tp
                        + " should be 0, but it is " + batch.baseOffset());
            }
            int size = batch.sizeInBytes();
            if (size > config.maxMessageBytes()) {
                throw new RecordTooLargeException("The record batch size in the append to " + tp + " is " + size
                        + " bytes which exceeds the maximum configured value of " + config.maxMessageBytes() + ".");
            }
            ensureValid(batch, tp);
            checkCodec(batch, tp);
            long countFromOffsets = batch.lastOffset() - batch.baseOffset() + 1;
            if (countFromOffsets <= 0) {
                throw new InvalidRecordException("Batch has an invalid offset range: [" + batch.baseOffset() + ", "
                        + batch.lastOffset() + "] in topic partition " + tp);
            }
            Integer count = batch.countOrNull();
            if (count == null || count <= 0) {
                throw new InvalidRecordException("Invalid reported count for record batch: " + count
                        + " in topic partition " + tp);
            }
            if (countFromOffsets != count) {
                throw new InvalidRecordException("Inconsistent batch offset range [" + batch.baseOffset() + ", "
                        + batch.lastOffset() + "] and count of records " + count + " in topic partition " + tp);
            }
            if (batch.isControlBatch() && origin == AppendOrigin.CLIENT) {
                throw new InvalidRecordException("Clients are not allowed to write control records in topic partition "
                        + tp);
            }
            if (origin == AppendOrigin.CLIENT && batch.hasProducerId() && batch.baseSequence() < 0) {
                throw new InvalidRecordException("Invalid sequence number " + batch.baseSequence()
                        + " in record batch with producerId " + batch.producerId() + " in topic partition " + tp);
            }
            long batchMax = validateRecords(batch, count, config, now, tp);
            infos.add(new BatchInfo(batch, count, batchMax));
            validBytes += size;
            recordCount += count;
            maxTimestamp = Math.max(maxTimestamp, batchMax);
        }
        return new Validated(trim(records, validBytes), infos, validBytes, recordCount, maxTimestamp);
    }

    /** Follower appends: structure, CRC and contiguous offsets from {@code nextOffset}; nothing about producers. */
    static Validated validateForFollower(RecordSet records, long nextOffset, String tp) {
        List<BatchInfo> infos = new ArrayList<>();
        int validBytes = 0;
        int recordCount = 0;
        long maxTimestamp = LogBatch.NO_TIMESTAMP;
        long expected = nextOffset;
        for (LogBatch batch : batches(records)) {
            if (batch.magic() != LogBatch.MAGIC_V2) {
                throw new InvalidRecordException("Only magic v2 batches are stored, got " + batch.magic() + " for " + tp);
            }
            ensureValidReplica(batch, tp);
            // a gap is normal: the leader's compacted log has holes where the cleaner removed records
            if (batch.baseOffset() < expected || batch.lastOffset() < batch.baseOffset()) {
                throw new InvalidRecordException("Out of order offsets in replicated append to " + tp + ": batch ["
                        + batch.baseOffset() + ", " + batch.lastOffset() + "], expected base " + expected);
            }
            int count = (int) (batch.lastOffset() - batch.baseOffset() + 1);
            infos.add(new BatchInfo(batch, count, batch.maxTimestamp()));
            validBytes += batch.sizeInBytes();
            recordCount += count;
            maxTimestamp = Math.max(maxTimestamp, batch.maxTimestamp());
            expected = batch.lastOffset() + 1;
        }
        return new Validated(trim(records, validBytes), infos, validBytes, recordCount, maxTimestamp);
    }

    private static Iterable<LogBatch> batches(RecordSet records) {
        Iterable<LogBatch> batches = records.batches();
        if (batches instanceof List<LogBatch> parsed) {
            return parsed; // read through once already
        }
        // materialise first: a size field below the minimum throws CorruptRecordException here
        List<LogBatch> list = new ArrayList<>();
        for (LogBatch b : batches) {
            list.add(b);
        }
        return list;
    }

    private static void ensureValid(LogBatch batch, String tp) {
        try {
            batch.ensureValid();
        } catch (CorruptRecordException e) {
            throw new CorruptRecordException("Record batch in " + tp + " is corrupt: " + e.getMessage());
        }
    }

    /**
     * As {@link #ensureValid}, for a batch copied from the leader, naming its offset: the follower logs it and
     * fetches again after a back-off, so the operator can find the batch in the leader's log.
     */
    private static void ensureValidReplica(LogBatch batch, String tp) {
        try {
            batch.ensureValid();
        } catch (CorruptRecordException e) {
            throw new CorruptRecordException("Record batch at offsets " + batch.baseOffset() + ".." + batch.lastOffset()
                    + " replicated from the leader of " + tp + " is corrupt and was not appended: " + e.getMessage());
        }
    }

    private static void checkCodec(LogBatch batch, String tp) {
        try {
            batch.isCompressed();
        } catch (IllegalArgumentException e) {
            throw new UnsupportedCompressionTypeException("Record batch in " + tp + " uses an unknown codec: "
                    + e.getMessage());
        }
    }

    /** Iterates the records: count, consecutive offsets, keys, timestamps. Returns the largest timestamp. */
    private static long validateRecords(LogBatch batch, int count, LogConfig config,
                                        long now, String tp) {
        // a compacted topic needs to know that each record has a key, not the key: a compressed batch is
        // read skipping keys and values, compacted or not
        boolean needKeys = config.compact();
        RecordCheck check = new RecordCheck(batch.baseOffset(), count, needKeys, config, now, tp);
        try {
            batch.scanRecords(check);
        } catch (ApiException e) {
            throw e;
        } catch (KafkaException | java.nio.BufferUnderflowException | IllegalArgumentException
                 | IllegalStateException | java.util.NoSuchElementException e) {
            throw new CorruptRecordException("Record batch in " + tp + " cannot be read: " + e.getMessage());
        }
        if (check.seen != count) {
            throw new InvalidRecordException("Batch in " + tp + " declares " + count + " records but holds " + check.seen);
        }
        return check.maxTimestamp;
    }

    /** The per-record checks of one batch, fed by {@link LogBatch#scanRecords} without materialising records. */
    private static final class RecordCheck implements LogBatch.RecordScanner {
        private final int count;
        private final boolean needKeys;
        private final LogConfig config;
        private final long now;
        private final String tp;
        private long expectedOffset;
        private long maxTimestamp = LogBatch.NO_TIMESTAMP;
        private int seen;

        RecordCheck(long baseOffset, int count, boolean needKeys, LogConfig config, long now, String tp) {
            this.expectedOffset = baseOffset;
            this.count = count;
            this.needKeys = needKeys;
            this.config = config;
            this.now = now;
            this.tp = tp;
        }

        @Override
        public void record(long offset, long timestamp, boolean hasKey) {
            seen++;
            if (seen > count) {
                throw new InvalidRecordException("Batch in " + tp + " holds more records than its count " + count);
            }
            if (offset != expectedOffset) {
                throw new InvalidRecordException("Invalid record offset " + offset + " (expected "
                        + expectedOffset + ") in record batch of " + tp);
            }
            expectedOffset++;
            if (needKeys && !hasKey) {
                throw new InvalidRecordException("Compacted topic cannot accept message without key in topic partition "
                        + tp + ".");
            }
            if (!config.logAppendTime()) {
                validateTimestamp(timestamp, config, now, tp);
            }
            maxTimestamp = Math.max(maxTimestamp, timestamp);
        }
    }

    private static void validateTimestamp(long timestamp, LogConfig config, long now, String tp) {
        if (timestamp == LogBatch.NO_TIMESTAMP) {
            return;
        }
        if (config.messageTimestampBeforeMaxMs() != Long.MAX_VALUE && timestamp < now - config.messageTimestampBeforeMaxMs()) {
            throw new InvalidTimestampException("Timestamp " + timestamp + " of message in " + tp
                    + " is before the time allowed by message.timestamp.before.max.ms");
        }
        if (config.messageTimestampAfterMaxMs() != Long.MAX_VALUE && timestamp > now + config.messageTimestampAfterMaxMs()) {
            throw new InvalidTimestampException("Timestamp " + timestamp + " of message in " + tp
                    + " is after the time allowed by message.timestamp.after.max.ms");
        }
    }

    private static RecordSet trim(RecordSet records, int validBytes) {
        if (validBytes == records.sizeInBytes()) {
            return records;
        }
        return RecordSet.wrap(records.buffer().limit(validBytes));
    }

    /**
     * Assigns offsets from {@code firstOffset} and the leader epoch in place, and stamps timestamps: the
     * broker time for LogAppendTime topics, else the batch's true largest CreateTime (both rewrite the CRC,
     * as Kafka does; offsets and epoch are outside the v2 CRC).
     */
    static long assignInPlace(Validated v, long firstOffset, int leaderEpoch, LogConfig config, long now) {
        long offset = firstOffset;
        for (BatchInfo info : v.batches()) {
            LogBatch batch = info.batch();
            offset += info.count();
            batch.setLastOffset(offset - 1);
            batch.setPartitionLeaderEpoch(leaderEpoch);
            if (config.logAppendTime()) {
                batch.setMaxTimestamp(TimestampType.LOG_APPEND_TIME, now);
            } else if (batch.timestampType() != TimestampType.CREATE_TIME || batch.maxTimestamp() != info.maxTimestamp()) {
                batch.setMaxTimestamp(TimestampType.CREATE_TIME, info.maxTimestamp());
            }
        }
        return offset - 1;
    }
}
