package io.runnel.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class OffsetMapTest {

    private static ByteBuffer key(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void shortKeysThatDifferOnlyInLengthOrTrailingZerosStayApart() {
        OffsetMap map = new OffsetMap(1 << 20);
        // stored as their own bytes: a key and the same key padded with zero bytes must not meet
        List<String> keys = List.of("", "\0", "\0\0", "a", "a\0", "ab", "abcdefgh", "abcdefgh\0",
                "abcdefghijklmno", "abcdefghijklmn\0");
        for (int i = 0; i < keys.size(); i++) {
            map.put(key(keys.get(i)), i);
        }
        assertThat(map.size()).isEqualTo(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            assertThat(map.get(key(keys.get(i)))).as("key %d", i).isEqualTo(i);
        }
        assertThat(map.get(key("b"))).isEqualTo(-1);
    }

    @Test
    void keysAtAndPastSixteenBytesAreDigestedAndFoundAgain() {
        OffsetMap map = new OffsetMap(1 << 20);
        map.put(key("abcdefghijklmno"), 1);        // 15 bytes: stored as itself
        map.put(key("abcdefghijklmnop"), 2);       // 16 bytes: digested
        map.put(key("abcdefghijklmnopq".repeat(10)), 3);
        assertThat(map.get(key("abcdefghijklmno"))).isEqualTo(1);
        assertThat(map.get(key("abcdefghijklmnop"))).isEqualTo(2);
        assertThat(map.get(key("abcdefghijklmnopq".repeat(10)))).isEqualTo(3);
        assertThat(map.get(key("abcdefghijklmnoq"))).isEqualTo(-1);
    }

    @Test
    void readsTheKeyFromItsPositionInASharedBufferWithoutMovingIt() {
        OffsetMap map = new OffsetMap(1 << 20);
        ByteBuffer page = ByteBuffer.allocateDirect(64);
        page.put("xxkey-1yykey-1-and-a-long-tail".getBytes(StandardCharsets.US_ASCII));
        ByteBuffer shortKey = page.duplicate().position(2).limit(7).slice();
        ByteBuffer longKey = page.duplicate().position(9).limit(30);
        map.put(shortKey, 5);
        map.put(longKey, 6);
        assertThat(shortKey.position()).isZero();
        assertThat(longKey.position()).isEqualTo(9);
        assertThat(map.get(key("key-1"))).isEqualTo(5);
        assertThat(map.get(key("key-1-and-a-long-tail"))).isEqualTo(6);
    }

    @Test
    void keepsTheLatestOffsetOfEveryKeyAcrossGrowthAndClear() {
        OffsetMap map = new OffsetMap(1L << 24);
        int keys = 50_000;
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < keys; i++) {
                // short keys of similar bytes, and long ones, as compacted topics hold
                String k = i % 2 == 0 ? String.format("key-%08d", i) : String.format("a-longer-key-%020d", i);
                map.put(key(k), (long) round * keys + i);
            }
        }
        assertThat(map.size()).isEqualTo(keys);
        assertThat(map.latestOffset()).isEqualTo(3L * keys - 1);
        for (int i = 0; i < keys; i++) {
            String k = i % 2 == 0 ? String.format("key-%08d", i) : String.format("a-longer-key-%020d", i);
            assertThat(map.get(key(k))).isEqualTo(2L * keys + i);
        }
        map.clear();
        assertThat(map.size()).isZero();
        assertThat(map.get(key("key-00000000"))).isEqualTo(-1);
    }

    @Test
    void refusesANewKeyOnceFull() {
        OffsetMap map = new OffsetMap(1);
        int capacity = map.capacity();
        for (int i = 0; i < capacity; i++) {
            map.put(key("k" + i), i);
        }
        assertThat(map.isFull()).isTrue();
        map.put(key("k0"), capacity); // an existing key still moves forward
        assertThat(map.get(key("k0"))).isEqualTo(capacity);
        assertThatThrownBy(() -> map.put(key("another"), capacity + 1)).isInstanceOf(IllegalStateException.class);
    }
}
