package io.runnel.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.FileRegion;
import io.netty.handler.stream.ChunkedInput;

/**
 * Copies a zero-copy {@link FileRegion} (a Fetch answer's records) into a buffer for a TLS connection, whose
 * SslHandler encrypts buffers only: records are read from the page cache once, as Kafka reads them for its SSL
 * channels. Runs on the connection's event loop, like Kafka's network thread does that read. Runnel's own
 * {@link SliceRegion} is read with positional reads straight into the (direct) destination; other regions go
 * through {@code transferTo}.
 *
 * <p>A slice larger than one chunk goes as a {@link ChunkedInput} ({@link #forTls}) that the connection's
 * ChunkedWriteHandler (ahead of the SslHandler in Vert.x's pipeline) reads {@value #CHUNK} bytes at a time while
 * the channel is writable: each chunk is encrypted and on the wire while the next is read, so the client starts
 * decrypting a megabyte response before the broker has copied all of it, and the chunks come from the
 * allocator's pooled size classes instead of one fresh megabyte-sized buffer per partition.
 */
final class TlsCopies {

    /** Bytes of a slice read per chunk: four full TLS records. */
    static final int CHUNK = 64 * 1024;

    private TlsCopies() {
    }

    /**
     * What to write for {@code region} on a TLS connection: a {@link ChunkedInput} of direct buffers for a
     * {@link SliceRegion} larger than {@link #CHUNK} (it releases the region when it is closed, at its end or on
     * failure), else one copied buffer ({@link #copy}).
     */
    static Object forTls(FileRegion region, ByteBufAllocator alloc) {
        if (region instanceof SliceRegion slice && slice.count() > CHUNK) {
            return new SliceChunks(slice);
        }
        return copy(region, alloc);
    }

    /** A slice read chunk by chunk with positional reads; on the connection's event loop only. */
    static final class SliceChunks implements ChunkedInput<ByteBuf> {
        private final SliceRegion slice;
        private final long size;
        private long offset;
        private boolean closed;

        SliceChunks(SliceRegion slice) {
            this.slice = slice;
            this.size = slice.count();
        }

        @Override
        public boolean isEndOfInput() {
            return offset >= size;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                slice.release();
            }
        }

        @Deprecated
        @Override
        public ByteBuf readChunk(ChannelHandlerContext ctx) throws Exception {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator alloc) throws Exception {
            if (offset >= size) {
                return null;
            }
            int n = (int) Math.min(CHUNK, size - offset);
            ByteBuf out = alloc.directBuffer(n, n);
            try {
                slice.readAt(offset, out.internalNioBuffer(0, n));
            } catch (IOException e) {
                out.release();
                throw e;
            }
            offset += n;
            return out.writerIndex(n);
        }

        @Override
        public long length() {
            return size;
        }

        @Override
        public long progress() {
            return offset;
        }
    }

    static ByteBuf copy(FileRegion region, ByteBufAllocator alloc) {
        int size = (int) region.count();
        ByteBuf out = alloc.directBuffer(size, size);
        if (region instanceof SliceRegion slice) {
            try {
                slice.readFully(out.internalNioBuffer(0, size));
                return out.writerIndex(size);
            } catch (IOException e) {
                out.release();
                throw new UncheckedIOException(e);
            } finally {
                region.release();
            }
        }
        WritableByteChannel into = new WritableByteChannel() {
            @Override
            public int write(ByteBuffer src) {
                int n = src.remaining();
                out.writeBytes(src);
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        try {
            long done = 0;
            while (done < size) {
                long n = region.transferTo(into, done);
                if (n <= 0) {
                    throw new IOException("file region ended after " + done + " of " + size + " bytes");
                }
                done += n;
            }
            return out;
        } catch (IOException e) {
            out.release();
            throw new UncheckedIOException(e);
        } finally {
            region.release();
        }
    }
}
