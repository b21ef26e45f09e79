package io.runnel.protocol;

import io.runnel.log.LogSlice;
import io.runnel.log.RecordSet;
import org.apache.kafka.common.record.internal.BaseRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordsSend;

/**
 * The records fields of kafka-clients' generated messages (Produce requests, Fetch responses) to and
 * from the storage side's types. The field's type, {@code BaseRecords}, is kafka-clients internal API
 * (it moved to {@code org.apache.kafka.common.record.internal} in 4.3.0): with {@link ResponseEncoder},
 * this is the only protocol code that names it, as {@code io.runnel.log.RecordFormat} is on the storage side.
 *
 * <p>Stateless; safe on any thread.
 */
public final class WireRecords {

    /** An empty records field, for partitions answered without data. */
    public static final BaseRecords EMPTY = MemoryRecords.EMPTY;

    private WireRecords() {
    }

    /**
     * The batches of a parsed records field, without copying; null when the field is null or not held in
     * memory (a request parsed by kafka-clients always is).
     */
    public static RecordSet toRecordSet(BaseRecords records) {
        return records instanceof MemoryRecords m ? RecordSet.wrap(m.buffer()) : null;
    }

    /** A records field holding {@code records}, sharing their bytes. */
    public static BaseRecords of(RecordSet records) {
        return MemoryRecords.readableRecords(records.buffer());
    }

    /** A records field that the encoder sends from the segment file by zero copy. */
    public static BaseRecords of(LogSlice slice) {
        if (slice.size() == 0) {
            return EMPTY;
        }
        return slice.inMemory() ? of(slice.toRecordSet()) : new SliceRecords(slice);
    }

    /**
     * Lets go of the segment file that a records field made by {@link #of(LogSlice)} holds open: for an answer
     * that is dropped instead of sent (a delayed fetch reading again). Anything else is left alone.
     */
    public static void release(BaseRecords records) {
        LogSlice slice = sliceOf(records);
        if (slice != null) {
            slice.release();
        }
    }

    /**
     * The batches of a records field in memory: a file slice made by {@link #of(LogSlice)} is copied and
     * released; blocking on the disk for a slice, so never on an event loop (tests, tools).
     */
    public static RecordSet copyAndRelease(BaseRecords records) {
        LogSlice slice = sliceOf(records);
        if (slice != null) {
            return slice.copyAndRelease();
        }
        RecordSet inMemory = toRecordSet(records);
        return inMemory != null ? inMemory : RecordSet.EMPTY;
    }

    /** The slice behind a records field made by {@link #of(LogSlice)}, or null. */
    static LogSlice sliceOf(BaseRecords records) {
        return records instanceof SliceRecords s ? s.slice() : null;
    }

    /** A file slice as a records field; the encoder recognises it and never calls {@link #toSend}. */
    private record SliceRecords(LogSlice slice) implements BaseRecords {

        @Override
        public int sizeInBytes() {
            return slice.size();
        }

        @Override
        public RecordsSend<? extends BaseRecords> toSend() {
            return MemoryRecords.readableRecords(slice.toRecordSet().buffer()).toSend();
        }
    }
}
