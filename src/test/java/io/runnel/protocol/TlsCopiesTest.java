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
