package io.runnel.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.FileRegion;

/**
 * Copies a zero-copy {@link FileRegion} (a Fetch answer's records) into a buffer for a TLS connection, whose
 * SslHandler encrypts buffers only: records are read from the page cache once, as Kafka reads them for its SSL
 * channels. Runs on the connection's event loop, like Kafka's network thread does that read. Runnel's own
 * {@link SliceRegion} is read with positional reads straight into the (direct) destination; other regions go
 * through {@code transferTo}.
 */
final class TlsCopies {

    private TlsCopies() {
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
