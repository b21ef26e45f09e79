package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.runnel.log.LogSlice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Fetch answer's file slice copied for a TLS connection: exactly the slice's bytes, and the region released. */
@org.junit.jupiter.api.Timeout(value = 60, unit = java.util.concurrent.TimeUnit.SECONDS)
class TlsCopiesTest {

    @TempDir
    Path dir;

    @Test
    void aSliceIsCopiedWholeFromItsPositionAndReleased() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(data);
        Path file = dir.resolve("00000000000000000000.log");
        Files.write(file, data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            int position = 12_345;
            int size = 2 * 1024 * 1024 + 3;
            SliceRegion region = new SliceRegion(new LogSlice(ch, position, size));
            ByteBuf out = TlsCopies.copy(region, PooledByteBufAllocator.DEFAULT);
            try {
                assertThat(out.readableBytes()).isEqualTo(size);
                byte[] copied = new byte[size];
                out.getBytes(0, copied);
                byte[] expected = new byte[size];
                System.arraycopy(data, position, expected, 0, size);
                assertThat(copied).isEqualTo(expected);
                assertThat(region.refCnt()).isZero();
                assertThat(region.transferred()).isEqualTo(size);
            } finally {
                out.release();
            }
        }
    }

    @Test
    void aLargeSliceGoesInChunksOfItsBytesAndIsReleasedWhenClosed() throws Exception {
        byte[] data = new byte[3 * TlsCopies.CHUNK + 999];
        new Random(11).nextBytes(data);
        Path file = dir.resolve("chunks.log");
        Files.write(file, data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            int position = 101;
            int size = 2 * TlsCopies.CHUNK + 500;
            SliceRegion region = new SliceRegion(new LogSlice(ch, position, size));
            Object written = TlsCopies.forTls(region, PooledByteBufAllocator.DEFAULT);
            assertThat(written).isInstanceOf(TlsCopies.SliceChunks.class);
            TlsCopies.SliceChunks chunks = (TlsCopies.SliceChunks) written;
            assertThat(chunks.length()).isEqualTo(size);
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            int count = 0;
            while (!chunks.isEndOfInput()) {
                ByteBuf chunk = chunks.readChunk(PooledByteBufAllocator.DEFAULT);
                assertThat(chunk.readableBytes()).isLessThanOrEqualTo(TlsCopies.CHUNK).isPositive();
                byte[] b = new byte[chunk.readableBytes()];
                chunk.readBytes(b);
                chunk.release();
                all.write(b);
                count++;
            }
            assertThat(count).isEqualTo(3);
            assertThat(chunks.readChunk(PooledByteBufAllocator.DEFAULT)).isNull();
            byte[] expected = new byte[size];
            System.arraycopy(data, position, expected, 0, size);
            assertThat(all.toByteArray()).isEqualTo(expected);
            assertThat(region.refCnt()).isEqualTo(1);
            chunks.close();
            chunks.close();
            assertThat(region.refCnt()).isZero();
        }
        // a small slice is one buffer, as before
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SliceRegion small = new SliceRegion(new LogSlice(ch, 0, 1000));
            Object written = TlsCopies.forTls(small, PooledByteBufAllocator.DEFAULT);
            assertThat(written).isInstanceOf(ByteBuf.class);
            assertThat(((ByteBuf) written).readableBytes()).isEqualTo(1000);
            ((ByteBuf) written).release();
            assertThat(small.refCnt()).isZero();
        }
    }

    @Test
    void aChunkBeyondTheEndOfItsFileFails() throws Exception {
        Path file = dir.resolve("short-chunks.log");
        Files.write(file, new byte[TlsCopies.CHUNK + 10]);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            TlsCopies.SliceChunks chunks = (TlsCopies.SliceChunks) TlsCopies.forTls(
                    new SliceRegion(new LogSlice(ch, 0, 3 * TlsCopies.CHUNK)), PooledByteBufAllocator.DEFAULT);
            chunks.readChunk(PooledByteBufAllocator.DEFAULT).release();
            assertThatThrownBy(() -> chunks.readChunk(PooledByteBufAllocator.DEFAULT))
                    .isInstanceOf(java.io.IOException.class).hasMessageContaining("shrank");
            chunks.close();
        }
    }

    @Test
    void aSliceBeyondTheEndOfItsFileFailsAndReleasesEverything() throws Exception {
        Path file = dir.resolve("short.log");
        Files.write(file, new byte[100]);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            SliceRegion region = new SliceRegion(new LogSlice(ch, 50, 200));
            assertThatThrownBy(() -> TlsCopies.copy(region, PooledByteBufAllocator.DEFAULT))
                    .isInstanceOf(UncheckedIOException.class).hasMessageContaining("shrank");
            assertThat(region.refCnt()).isZero();
        }
    }
}
