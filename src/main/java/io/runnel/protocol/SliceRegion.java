package io.runnel.protocol;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;

import io.runnel.log.LogSlice;
import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;

/**
 * Zero-copy transfer of a {@link LogSlice} to a socket ({@code sendfile(2)} through
 * {@code FileChannel.transferTo}). Unlike Netty's DefaultFileRegion it never closes the channel: the
 * segment owns it.
 */
final class SliceRegion extends AbstractReferenceCounted implements FileRegion {

    private final LogSlice slice;
    private long transferred;

    SliceRegion(LogSlice slice) {
        this.slice = slice;
    }

    @Override
    public long position() {
        return slice.position();
    }

    @Override
    @Deprecated
    public long transfered() {
        return transferred;
    }

    @Override
    public long transferred() {
        return transferred;
    }

    @Override
    public long count() {
        return slice.size();
    }

    @Override
    public long transferTo(WritableByteChannel target, long position) throws IOException {
        long remaining = slice.size() - position;
        if (remaining <= 0) {
            return 0;
        }
        long n = slice.channel().transferTo(slice.position() + position, remaining, target);
        if (n > 0) {
            transferred += n;
        } else if (n == 0 && slice.channel().size() < slice.position() + slice.size()) {
            throw new IOException("segment shrank below the slice being sent");
        }
        return n;
    }

    /**
     * Reads the whole slice into {@code dst} with positional reads straight from the segment's channel (for a TLS
     * connection, which must encrypt buffers): one {@code pread} per call into the destination, where
     * {@code transferTo} into a channel that is no file or socket goes through an 8 KiB heap buffer.
     */
    void readFully(java.nio.ByteBuffer dst) throws IOException {
        readAt(0, dst);
        transferred = slice.size();
    }

    /** Fills {@code dst} from {@code offset} bytes into the slice, with positional reads (a TLS chunk). */
    void readAt(long offset, java.nio.ByteBuffer dst) throws IOException {
        long position = slice.position() + offset;
        long end = position + dst.remaining();
        while (dst.hasRemaining()) {
            int n = slice.channel().read(dst, position);
            if (n < 0 || (n == 0 && position >= slice.channel().size())) {
                throw new IOException("segment shrank below the slice being sent (" + (end - position) + " bytes short)");
            }
            position += n;
        }
    }

    @Override
    public FileRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public FileRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public FileRegion touch() {
        return this;
    }

    @Override
    public FileRegion touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        // the channel belongs to the segment: let it be closed again once nothing sends from it
        slice.release();
    }
}
