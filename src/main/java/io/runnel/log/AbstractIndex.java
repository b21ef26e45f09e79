package io.runnel.log;

import java.io.Closeable;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A sparse, memory-mapped index file of fixed-size entries whose first key grows strictly, as Kafka's
 * {@code .index} and {@code .timeindex}. The file of the active segment may hold up to
 * {@code segment.index.bytes} (rounded down to whole entries), and is trimmed to its entries on roll and
 * close, so a file of a closed segment holds exactly its entries.
 *
 * <p>Unlike Kafka, the active file is not preallocated to that limit but grows with its entries, from
 * {@link #INITIAL_BYTES} by a factor of {@link #GROWTH}: a page fault in a mapping of a sparse file makes
 * the kernel read ahead (zero-fill) the holes after the page, up to the end of the file. With 10 MiB
 * preallocated, a produce to 1,000 partitions with 16 KiB batches spent a fifth of the broker's CPU in
 * that memset (perf: DirectByteBuffer.putInt/putLong -> filemap_fault -> page_cache_ra_order ->
 * ext4_mpage_readpages -> zero_user_segments) and filled the page cache with zeros; a file no longer
 * than a few times its entries bounds both.
 *
 * <p>Holds no file descriptor: the file is opened, sized, mapped and closed again (a mapping needs no
 * open descriptor), and reopened only for a moment to resize or trim it, as Kafka's AbstractIndex does.
 * So a partition of one segment costs one descriptor (its {@code .log}), not three; flushing is
 * {@link MappedByteBuffer#force()} (msync, which also makes the file's length durable).
 *
 * <p>Threading: one writer (the partition's owner) appends, truncates and resizes; any thread may look
 * up. An entry is written into the mapping before {@link #entries} (volatile) counts it, so a reader
 * never sees a half-written entry. Resizing maps a new buffer and keeps every counted entry inside
 * both the old and the new file length, so a reader holding the old mapping stays within the file.
 */
abstract class AbstractIndex implements Closeable {

    /** The length a new index file starts at (rounded down to whole entries). */
    static final int INITIAL_BYTES = 64 * 1024;
    /** How much longer the file gets each time its mapping is full and the limit is not reached. */
    static final int GROWTH = 8;

    protected final long baseOffset;
    private final int entrySize;
    private Path file;
    // the file's length as last set or read, always the mapping's capacity; the writer's only
    private long length;
    private boolean closed;
    private volatile MappedByteBuffer mmap;
    /**
     * Entries written. Readers read it before {@link #mmap}: the writer publishes a grown mapping before it
     * counts an entry written into it, so a reader's mapping always holds the entries it counted.
     */
    protected volatile int entries;
    // the entries the index may hold (isFull), at most segment.index.bytes; the writer's only
    private int maxEntries;

    protected AbstractIndex(Path file, long baseOffset, int maxIndexSize, int entrySize) throws IOException {
        this.file = file;
        this.baseOffset = baseOffset;
        this.entrySize = entrySize;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            length = channel.size();
            if (length == 0) {
                long limit = roundDown(maxIndexSize);
                setLength(channel, Math.min(limit, roundDown(INITIAL_BYTES)));
                this.entries = 0;
                this.maxEntries = (int) (limit / entrySize);
            } else {
                // a file of a cleanly closed segment is trimmed to its entries; a torn one is caught by sanityCheck
                this.entries = (int) (length / entrySize);
                this.maxEntries = entries;
            }
            this.mmap = channel.map(FileChannel.MapMode.READ_WRITE, 0, length);
        }
    }

    /** The file, opened for a moment; never recreated once closed or deleted. */
    private FileChannel openChannel() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    private long roundDown(long size) {
        return Math.max(entrySize, size / entrySize * entrySize);
    }

    private void setLength(FileChannel channel, long newLength) throws IOException {
        long size = channel.size();
        if (size > newLength) {
            channel.truncate(newLength);
        } else if (size < newLength) {
            channel.write(java.nio.ByteBuffer.allocate(1), newLength - 1);
        }
        length = newLength;
    }

    Path file() {
        return file;
    }

    int entries() {
        return entries;
    }

    boolean isFull() {
        return entries >= maxEntries;
    }

    long sizeInBytes() {
        return (long) entries * entrySize;
    }

    protected MappedByteBuffer mmap() {
        return mmap;
    }

    /**
     * The mapping to write entry number {@link #entries} into: grown first if the file has no room for it
     * (the caller has checked {@link #isFull()}). Writer only.
     */
    protected MappedByteBuffer mmapForAppend() throws IOException {
        long needed = ((long) entries + 1) * entrySize;
        if (needed > length) {
            long limit = (long) maxEntries * entrySize;
            long newLength = Math.min(limit, Math.max(needed, roundDown(Math.max(INITIAL_BYTES, length * GROWTH))));
            // no force: the old and the new mapping share the file's page cache; the old one stays valid for
            // readers holding it (the garbage collector unmaps it), and it holds every entry counted so far
            try (FileChannel channel = openChannel()) {
                setLength(channel, newLength);
                mmap = channel.map(FileChannel.MapMode.READ_WRITE, 0, newLength);
            }
        }
        return mmap;
    }

    protected int relative(long offset) {
        long rel = offset - baseOffset;
        if (rel < 0 || rel > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("offset " + offset + " out of range of index with base " + baseOffset);
        }
        return (int) rel;
    }

    /** Writes one entry at the end; the subclass fills it at {@code entries * entrySize}. */
    protected void publishAppended() {
        entries = entries + 1;
    }

    protected int entrySize() {
        return entrySize;
    }

    /** Index of the largest entry whose key is at or below {@code target}, or -1. */
    protected int floorSlot(MappedByteBuffer buf, int n, long target) {
        return floorSlot(n, target, slot -> keyAt(buf, slot));
    }

    /**
     * Index of the largest of the first {@code n} entries whose value (increasing with the index) is at or
     * below {@code target}, or -1.
     */
    protected static int floorSlot(int n, long target, java.util.function.IntToLongFunction valueAt) {
        int lo = 0;
        int hi = n - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            long key = valueAt.applyAsLong(mid);
            if (key <= target) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** Index of the smallest entry whose offset is at or above {@code offset}, or n. */
    protected int ceilingOffsetSlot(MappedByteBuffer buf, int n, long offset) {
        int lo = 0;
        int hi = n - 1;
        int found = n;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (offsetAt(buf, mid) >= offset) {
                found = mid;
                hi = mid - 1;
            } else {
                lo = mid + 1;
            }
        }
        return found;
    }

    protected abstract long keyAt(MappedByteBuffer buf, int slot);

    protected abstract long offsetAt(MappedByteBuffer buf, int slot);

    /** Removes every entry whose offset is at or above {@code offset}. */
    void truncateTo(long offset) {
        int n = entries;
        entries = ceilingOffsetSlot(mmap, n, offset);
    }

    void reset() {
        entries = 0;
    }

    /**
     * Sets the most the index may hold to {@code newSize} rounded to whole entries (never below the
     * entries), as Kafka's resize; the file is cut to it if longer, and otherwise grows as entries are
     * appended ({@link #mmapForAppend}) rather than at once.
     */
    void resize(int newSize) throws IOException {
        long limit = Math.max(roundDown(newSize), (long) entries * entrySize);
        maxEntries = (int) (limit / entrySize);
        if (length <= limit) {
            return;
        }
        // no force: the old and the new mapping share the file's page cache, so entries written through the
        // old one are in the new one (Kafka's resize does not flush either)
        try (FileChannel channel = openChannel()) {
            setLength(channel, limit);
            mmap = channel.map(FileChannel.MapMode.READ_WRITE, 0, limit);
        }
    }

    /** Trims the file to its entries (roll, close): a closed index holds exactly its entries. */
    void trimToValidSize() throws IOException {
        if (entries > 0) {
            resize(entries * entrySize);
        } else if (length != 0 || mmap.capacity() != 0) {
            // an empty index is an empty file, as Kafka leaves it: one truncation, straight to zero
            try (FileChannel channel = openChannel()) {
                mmap = channel.map(FileChannel.MapMode.READ_WRITE, 0, 0);
                setLength(channel, 0);
            }
            maxEntries = 0;
        }
    }

    /** Makes the entries and the file's length durable (msync: no descriptor needed, as Kafka). */
    void flush() {
        mmap.force();
    }

    /**
     * Checks the file is usable: whole entries, keys and offsets strictly increasing, offsets
     * within the segment and positions (offset index) within {@code logSize}.
     */
    boolean isSane(long logSize, long nextOffset) throws IOException {
        if (length % entrySize != 0) {
            return false;
        }
        int n = entries;
        MappedByteBuffer buf = mmap;
        for (int i = 0; i < n; i++) {
            long off = offsetAt(buf, i);
            if (off < baseOffset || off >= Math.max(nextOffset, baseOffset + 1)) {
                return false;
            }
            if (i > 0 && (keyAt(buf, i) <= keyAt(buf, i - 1) || off < offsetAt(buf, i - 1))) {
                return false;
            }
            if (!entryWithin(buf, i, logSize)) {
                return false;
            }
        }
        return true;
    }

    protected boolean entryWithin(MappedByteBuffer buf, int slot, long logSize) {
        return true;
    }

    void renameTo(Path target) throws IOException {
        Files.move(file, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        file = target;
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            trimToValidSize();
            closed = true;
        }
    }

    /**
     * Closes without trimming (the file is about to be deleted or rebuilt). No descriptor is held; the
     * mapping stays valid for readers still holding it and goes with the garbage collector.
     */
    void closeHandler() {
        closed = true;
    }

    void deleteIfExists() throws IOException {
        closeHandler();
        Files.deleteIfExists(file);
    }
}
