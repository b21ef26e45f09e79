package io.runnel.log;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;

/**
 * Record batches held in memory back to back, exactly as they travel on the wire and lie in a segment
 * (what kafka-clients calls {@code MemoryRecords}): the records of one produce or replication append,
 * or a read copied off the disk. Wraps a buffer without copying it; batches iterated from it are views
 * into that buffer, so an append's in-place offset assignment is seen by whoever writes the buffer.
 *
 * <p>Not thread-safe: the bytes may be changed in place by the append that owns them.
 */
public final class RecordSet {

    public static final RecordSet EMPTY = new RecordSet(ByteBuffer.allocate(0));

    private final ByteBuffer buffer;
    // the batch views once an iteration has gone through all of them: an append walks its batches four times
    // (request checks, validation, segment append, indexing), and each walk parsed every header again (a
    // MemoryRecords, a buffer duplicate, an input stream and a view per batch, per walk)
    private List<LogBatch> parsed;

    private RecordSet(ByteBuffer buffer) {
        this.buffer = buffer;
    }

    /** The batches in {@code buffer} from its position to its limit; the buffer is not copied. */
    public static RecordSet wrap(ByteBuffer buffer) {
        return new RecordSet(buffer.slice());
    }

    /** One uncompressed batch of {@code records}, offsets from 0, no producer id. */
    public static RecordSet of(NewRecord... records) {
        return builder().addAll(List.of(records)).build();
    }

    /** One uncompressed batch of {@code records}, offsets from 0, no producer id. */
    public static RecordSet of(List<NewRecord> records) {
        return builder().addAll(records).build();
    }

    /**
     * An end-transaction marker at {@code baseOffset}: a control batch of one COMMIT (or ABORT) record that
     * closes the transaction of {@code producerId}.
     */
    public static RecordSet endTransactionMarker(long baseOffset, long timestamp, int partitionLeaderEpoch,
                                                 long producerId, short producerEpoch, boolean commit,
                                                 int coordinatorEpoch) {
        return new RecordSet(RecordFormat.endTransactionMarker(baseOffset, timestamp, partitionLeaderEpoch,
                producerId, producerEpoch, commit, coordinatorEpoch));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A view of the bytes (position 0 to the size); changing its position does not change this set. */
    public ByteBuffer buffer() {
        return buffer.duplicate();
    }

    public int sizeInBytes() {
        return buffer.remaining();
    }

    /**
     * The batches, read lazily; a size field below the minimum batch size throws CorruptRecordException
     * when reached, and a trailing partial batch is not returned.
     */
    public Iterable<LogBatch> batches() {
        List<LogBatch> done = parsed;
        if (done != null) {
            return done;
        }
        return () -> new Iterator<>() {
            private final Iterator<LogBatch> it = RecordFormat.batches(buffer).iterator();
            private final List<LogBatch> seen = new ArrayList<>(1);

            @Override
            public boolean hasNext() {
                if (it.hasNext()) {
                    return true;
                }
                // every batch read without a failure: later walks reuse the views, which read through to the
                // buffer, so offsets assigned in place are seen by them
                if (parsed == null) {
                    parsed = List.copyOf(seen);
                }
                return false;
            }

            @Override
            public LogBatch next() {
                LogBatch b = it.next();
                seen.add(b);
                return b;
            }
        };
    }

    /** A record to write: a null key or value is absent; the timestamp is CreateTime. */
    public record NewRecord(long timestamp, byte[] key, byte[] value, Header... headers) {

        public NewRecord(long timestamp, byte[] key, byte[] value) {
            this(timestamp, key, value, new Header[0]);
        }
    }

    /** Builds one batch; the defaults are those of a plain producer (v2, no compression, no producer id). */
    public static final class Builder {
        private final List<NewRecord> records = new ArrayList<>();
        Compression compression = Compression.NONE;
        byte magic = LogBatch.MAGIC_V2;
        long baseOffset;
        long producerId = LogBatch.NO_PRODUCER_ID;
        short producerEpoch = LogBatch.NO_PRODUCER_EPOCH;
        int baseSequence = LogBatch.NO_SEQUENCE;
        boolean transactional;

        private Builder() {
        }

        public Builder compression(Compression compression) {
            this.compression = compression;
            return this;
        }

        /** A pre-v2 format (0 or 1), which only tests of refusals need. */
        public Builder magic(byte magic) {
            this.magic = magic;
            return this;
        }

        public Builder baseOffset(long baseOffset) {
            this.baseOffset = baseOffset;
            return this;
        }

        public Builder idempotent(long producerId, short producerEpoch, int baseSequence) {
            this.producerId = producerId;
            this.producerEpoch = producerEpoch;
            this.baseSequence = baseSequence;
            return this;
        }

        public Builder transactional(long producerId, short producerEpoch, int baseSequence) {
            idempotent(producerId, producerEpoch, baseSequence);
            this.transactional = true;
            return this;
        }

        public Builder add(NewRecord record) {
            records.add(record);
            return this;
        }

        public Builder add(long timestamp, byte[] key, byte[] value, Header... headers) {
            return add(new NewRecord(timestamp, key, value, headers));
        }

        public Builder addAll(List<NewRecord> more) {
            records.addAll(more);
            return this;
        }

        public RecordSet build() {
            return new RecordSet(RecordFormat.build(this, records));
        }
    }
}
