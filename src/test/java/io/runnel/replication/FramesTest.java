package io.runnel.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

class FramesTest {

    private static byte[] stream(byte[]... frames) {
        int total = 0;
        for (byte[] f : frames) {
            total += 4 + f.length;
        }
        ByteBuffer b = ByteBuffer.allocate(total);
        for (byte[] f : frames) {
            b.putInt(f.length).put(f);
        }
        return b.array();
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    @Test
    void framesComeOutWholeWhereverTheChunksAreCut() {
        byte[] a = bytes(300, 1);
        byte[] empty = new byte[0];
        byte[] c = bytes(70_000, 7);
        byte[] all = stream(a, empty, c);
        // every cut point of two chunks, the size prefixes included, and then one byte at a time
        for (int cut = 0; cut <= all.length; cut += cut < 400 ? 1 : 997) {
            List<byte[]> out = new ArrayList<>();
            ReplicaFetcher.Frames frames = new ReplicaFetcher.Frames(out::add, why -> {
                throw new AssertionError(why);
            });
            frames.handle(Buffer.buffer(Arrays.copyOfRange(all, 0, cut)));
            frames.handle(Buffer.buffer(Arrays.copyOfRange(all, cut, all.length)));
            assertThat(out).as("cut at %d", cut).hasSize(3);
            assertThat(out.get(0)).isEqualTo(a);
            assertThat(out.get(1)).isEmpty();
            assertThat(out.get(2)).isEqualTo(c);
        }
        List<byte[]> out = new ArrayList<>();
        ReplicaFetcher.Frames frames = new ReplicaFetcher.Frames(out::add, why -> {
            throw new AssertionError(why);
        });
        for (byte x : stream(a, c)) {
            frames.handle(Buffer.buffer(new byte[] {x}));
        }
        assertThat(out).hasSize(2);
        assertThat(out.get(1)).isEqualTo(c);
    }

    @Test
    void aNegativeSizeBreaksTheConnectionOnceAndReadsNoFurther() {
        List<String> errors = new ArrayList<>();
        List<byte[]> out = new ArrayList<>();
        ReplicaFetcher.Frames frames = new ReplicaFetcher.Frames(out::add, errors::add);
        frames.handle(Buffer.buffer(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe, 1, 2, 3}));
        frames.handle(Buffer.buffer(stream(bytes(10, 3))));
        assertThat(errors).hasSize(1);
        assertThat(errors.get(0)).contains("bad fetch response").contains("-2 bytes");
        assertThat(out).isEmpty();
    }
}
