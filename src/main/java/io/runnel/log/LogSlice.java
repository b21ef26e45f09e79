package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A byte range of one segment file holding whole record batches, returned by a read. It holds the
 * segment's file open ({@link SegmentChannels} never closes a held file) until {@link #release}, so the
 * slice can be sent with zero copy ({@code FileChannel.transferTo}, positional, safe while the owner
 * appends) even after the segment was deleted. Never close the channel.
 *
 * <p>Whoever ends up with the slice releases it once: the zero-copy region when the connection is done
 * with it, or the reader that copied it ({@link #toRecordSet}). A slice dropped without a release (a
 * response discarded with its connection) is released when it is garbage-collected, so a forgotten
 * release keeps a descriptor open for a while but never for good. Releasing is idempotent.
 */
public final class LogSlice {

    public static final LogSlice EMPTY = new LogSlice(null, 0, 0);

    private static final Cleaner CLEANER = Cleaner.create();

    private final FileChannel channel;
    private final long position;
    private final int size;
    private final Cleaner.Cleanable hold;
    // the bytes themselves, for a slice copied into memory (no channel)
    private final ByteBuffer copy;

    /** A slice of a channel that the caller keeps open for as long as the slice is used (tests, copies). */
    public LogSlice(FileChannel channel, long position, int size) {
        this.channel = channel;
        this.position = position;
        this.size = size;
        this.hold = null;
        this.copy = null;
    }

    private LogSlice(ByteBuffer copy) {
        this.channel = null;
        this.position = 0;
        this.size = copy.remaining();
        this.hold = null;
        this.copy = copy;
    }

    /** A slice of bytes already read into memory (whole batches), holding no file. */
    static LogSlice copyOf(ByteBuffer bytes) {
        return new LogSlice(bytes);
    }

    /** A slice that holds {@code file} (already acquired for it) until released. */
    LogSlice(RecordFormat.SegmentFile file, FileChannel channel, long position, int size) {
        this.channel = channel;
        this.position = position;
        this.size = size;
        this.hold = CLEANER.register(this, new Release(file));
        this.copy = null;
    }

    /** The segment's channel; null for a slice copied into memory ({@link #inMemory}). */
    public FileChannel channel() {
        return channel;
    }

    /** Whether the bytes were copied into memory (no zero copy; {@link #toRecordSet} shares them). */
    public boolean inMemory() {
        return copy != null;
    }

    public long position() {
        return position;
    }

    public int size() {
        return size;
    }

    public int sizeInBytes() {
        return size;
    }

    /** Lets the segment's file be closed again (once; later calls do nothing). */
    public void release() {
        if (hold != null) {
            hold.clean();
        }
    }

    /** Copies the slice into memory (the admin API, the event-bus bridge, replays); blocking on the disk. */
    public RecordSet toRecordSet() {
        if (size == 0) {
            return RecordSet.EMPTY;
        }
        if (copy != null) {
            return RecordSet.wrap(copy.duplicate());
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        try {
            long pos = position;
            while (buf.hasRemaining()) {
                int n = channel.read(buf, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        buf.flip();
        return RecordSet.wrap(buf);
    }

    /** Copies the slice into memory and releases it. */
    public RecordSet copyAndRelease() {
        try {
            return toRecordSet();
        } finally {
            release();
        }
    }

    @Override
    public String toString() {
        return "LogSlice(position=" + position + ", size=" + size + ")";
    }

    // holds no reference to the slice, so that the slice can become unreachable
    private record Release(RecordFormat.SegmentFile file) implements Runnable {
        @Override
        public void run() {
            file.release();
        }
    }
}
