package io.runnel.log;

import java.util.OptionalLong;

import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.record.TimestampType;

/**
 * One record batch in Kafka's v2 format (KIP-98), in memory or in a segment file: its header fields, its
 * records, and the in-place changes an append makes to a batch still in memory (offsets, leader epoch,
 * timestamp). Offsets and the partition leader epoch are outside the v2 CRC, so setting them keeps the
 * batch valid; {@link #setMaxTimestamp} rewrites the CRC.
 *
 * <p>Implemented by {@link RecordFormat} only, over kafka-clients' record classes (internal API, which
 * moved package in 4.3.0): this interface and {@link LogRecord} are what the rest of Runnel sees.
 * A batch from a segment file is read-only: its setters throw {@link UnsupportedOperationException}.
 * Not thread-safe: a batch is used by the thread that read it.
 */
public interface LogBatch extends Iterable<LogRecord> {

    byte MAGIC_V2 = 2;
    long NO_TIMESTAMP = -1L;
    long NO_PRODUCER_ID = -1L;
    short NO_PRODUCER_EPOCH = -1;
    int NO_SEQUENCE = -1;
    int NO_PARTITION_LEADER_EPOCH = -1;

    byte magic();

    long baseOffset();

    long lastOffset();

    default long nextOffset() {
        return lastOffset() + 1;
    }

    /** Bytes of the whole batch, header included. */
    int sizeInBytes();

    /** The record count in the header; null for the pre-v2 formats that have none. */
    Integer countOrNull();

    long maxTimestamp();

    TimestampType timestampType();

    int partitionLeaderEpoch();

    long producerId();

    short producerEpoch();

    int baseSequence();

    int lastSequence();

    boolean hasProducerId();

    boolean isTransactional();

    boolean isControlBatch();

    /**
     * The end-transaction marker of a control batch (COMMIT or ABORT, and the coordinator epoch that wrote
     * it), or null for a data batch, a control batch of another type, or one the cleaner emptied.
     */
    EndTxnMarker endTxnMarker();

    /** An end-transaction marker: whether it commits, and the epoch of the transaction coordinator. */
    record EndTxnMarker(boolean commit, int coordinatorEpoch) {
    }

    /**
     * The codec's name as Kafka spells it ({@code none}, {@code gzip}, {@code snappy}, {@code lz4},
     * {@code zstd}); IllegalArgumentException for a codec id Kafka does not know.
     */
    String compressionName();

    /** Whether the records are compressed; IllegalArgumentException for a codec id Kafka does not know. */
    default boolean isCompressed() {
        return !"none".equals(compressionName());
    }

    /**
     * When this batch's tombstones (and, with transactions, its markers) may be removed: set by the log
     * cleaner the first time it rewrites the batch (KIP-534, the batch's base timestamp with the
     * delete-horizon attribute bit); empty when not set.
     */
    OptionalLong deleteHorizonMs();

    boolean isValid();

    /** Checks size and CRC; throws CorruptRecordException naming what is wrong. */
    void ensureValid() throws CorruptRecordException;

    /**
     * Walks the records without materialising them, for validation: a compressed batch is decompressed
     * skipping keys and values (their lengths are still read, so hasKey is right), as Kafka's LogValidator does.
     * Malformed data throws a kafka-clients KafkaException, BufferUnderflowException,
     * IllegalArgumentException, IllegalStateException or NoSuchElementException.
     */
    void scanRecords(RecordScanner scanner);

    void setLastOffset(long offset);

    void setPartitionLeaderEpoch(int epoch);

    void setMaxTimestamp(TimestampType type, long maxTimestamp);

    /** Receives each record of {@link #scanRecords}. */
    @FunctionalInterface
    interface RecordScanner {
        void record(long offset, long timestamp, boolean hasKey);
    }
}
