package io.runnel.log;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The {@code .index} file of a segment, Kafka's format: 8-byte entries of (4-byte offset relative to
 * the segment's base offset, 4-byte physical position in the {@code .log} file), big-endian. An entry
 * maps the last offset of a batch to the position where that batch starts; entries are sparse (one per
 * {@code index.interval.bytes} of appended data) and strictly increasing in both fields.
 *
 * <p>Threading: see {@link AbstractIndex}.
 */
final class OffsetIndex extends AbstractIndex {

    static final int ENTRY_SIZE = 8;

    /** An (offset, position) entry. */
    record Entry(long offset, int position) {
    }

    OffsetIndex(Path file, long baseOffset, int maxIndexSize) throws IOException {
        super(file, baseOffset, maxIndexSize, ENTRY_SIZE);
    }

    void append(long offset, int position) throws IOException {
        int n = entries;
        if (n > 0 && offset <= offsetAt(mmap(), n - 1)) {
            throw new IllegalStateException("index entry " + offset + " not above last " + lastOffset());
        }
        if (isFull()) {
            throw new IllegalStateException("offset index " + file() + " is full");
        }
        MappedByteBuffer buf = mmapForAppend();
        buf.putInt(n * ENTRY_SIZE, relative(offset));
        buf.putInt(n * ENTRY_SIZE + 4, position);
        publishAppended();
    }

    /** The largest entry with offset at or below {@code target}; (baseOffset, 0) if none. */
    Entry lookup(long target) {
        int n = entries;
        MappedByteBuffer buf = mmap();
        int slot = floorSlot(buf, n, target);
        if (slot < 0) {
            return new Entry(baseOffset, 0);
        }
        return new Entry(offsetAt(buf, slot), buf.getInt(slot * ENTRY_SIZE + 4));
    }

    /**
     * The largest indexed batch start at or below {@code position}, or 0 if none: positions increase with
     * offsets, so this is a binary search over the second field.
     */
    int floorPosition(int position) {
        int n = entries;
        MappedByteBuffer buf = mmap();
        int slot = floorSlot(n, position, i -> buf.getInt(i * ENTRY_SIZE + 4));
        return slot < 0 ? 0 : buf.getInt(slot * ENTRY_SIZE + 4);
    }

    long lastOffset() {
        int n = entries;
        return n == 0 ? baseOffset : offsetAt(mmap(), n - 1);
    }

    @Override
    protected long keyAt(MappedByteBuffer buf, int slot) {
        return offsetAt(buf, slot);
    }

    @Override
    protected long offsetAt(MappedByteBuffer buf, int slot) {
        return baseOffset + buf.getInt(slot * ENTRY_SIZE);
    }

    @Override
    protected boolean entryWithin(MappedByteBuffer buf, int slot, long logSize) {
        int pos = buf.getInt(slot * ENTRY_SIZE + 4);
        if (slot > 0 && pos <= buf.getInt((slot - 1) * ENTRY_SIZE + 4)) {
            return false;
        }
        return pos >= 0 && pos < logSize;
    }
}
