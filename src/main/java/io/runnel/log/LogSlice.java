package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A byte range of one segment file holding whole record batches, returned by a read. The channel is
 * the segment's own and stays open at least {@code file.delete.delay.ms} after the segment is
 * deleted, so the slice can be sent with zero copy ({@code FileChannel.transferTo}, positional, safe
 * while the owner appends). Never close the channel.
 */
public record LogSlice(FileChannel channel, long position, int size) {

    public static final LogSlice EMPTY = new LogSlice(null, 0, 0);

    public int sizeInBytes() {
        return size;
    }

    /** Copies the slice into memory (tests, the event-bus bridge, TLS); blocking on the disk. */
    public RecordSet toRecordSet() {
        if (size == 0) {
            return RecordSet.EMPTY;
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
}
