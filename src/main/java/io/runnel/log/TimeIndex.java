package io.runnel.log;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The {@code .timeindex} file of a segment, Kafka's format: 12-byte entries of (8-byte timestamp,
 * 4-byte offset relative to the segment's base offset), big-endian. An entry (t, o) says the largest
 * timestamp of the segment up to and including the batch whose last offset is o is t, and that batch is
 * the first to reach t; timestamps strictly increase, offsets never decrease. Sparse like the offset
 * index; on roll and close the segment's largest timestamp is always written as the last entry.
 *
 * <p>Threading: see {@link AbstractIndex}.
 */
final class TimeIndex extends AbstractIndex {

    static final int ENTRY_SIZE = 12;

    TimeIndex(Path file, long baseOffset, int maxIndexSize) throws IOException {
        super(file, baseOffset, maxIndexSize, ENTRY_SIZE);
    }

    /** Appends (timestamp, offset) if timestamp is above the last entry's; returns true if it did. */
    boolean maybeAppend(long timestamp, long offset, boolean skipFullCheck) throws IOException {
        int n = entries;
        MappedByteBuffer buf = mmap();
        if (n == 0 && timestamp < 0) {
            // as Kafka, whose empty index's last entry is (NO_TIMESTAMP, base): a segment without timestamps
            // (an empty one closing) writes nothing, which spares a page fault and a write per idle log
            return false;
        }
        if (n > 0) {
            if (timestamp <= keyAt(buf, n - 1)) {
                return false;
            }
            if (offset < offsetAt(buf, n - 1)) {
                throw new IllegalStateException("time index offset " + offset + " below last entry's");
            }
        }
        if (isFull()) {
            if (skipFullCheck) {
                return false;
            }
            throw new IllegalStateException("time index " + file() + " is full");
        }
        buf = mmapForAppend();
        buf.putLong(n * ENTRY_SIZE, timestamp);
        buf.putInt(n * ENTRY_SIZE + 8, relative(offset));
        publishAppended();
        return true;
    }

    /** The largest entry with timestamp at or below {@code timestamp}, or (-1, baseOffset) if none. */
    TimestampOffset lookup(long timestamp) {
        int n = entries;
        MappedByteBuffer buf = mmap();
        int slot = floorSlot(buf, n, timestamp);
        if (slot < 0) {
            return new TimestampOffset(-1L, baseOffset, -1);
        }
        return new TimestampOffset(keyAt(buf, slot), offsetAt(buf, slot), -1);
    }

    /** The last entry, or (-1, baseOffset) when empty. */
    TimestampOffset lastEntry() {
        int n = entries;
        MappedByteBuffer buf = mmap();
        if (n == 0) {
            return new TimestampOffset(-1L, baseOffset, -1);
        }
        return new TimestampOffset(keyAt(buf, n - 1), offsetAt(buf, n - 1), -1);
    }

    @Override
    protected long keyAt(MappedByteBuffer buf, int slot) {
        return buf.getLong(slot * ENTRY_SIZE);
    }

    @Override
    protected long offsetAt(MappedByteBuffer buf, int slot) {
        return baseOffset + buf.getInt(slot * ENTRY_SIZE + 8);
    }
}
