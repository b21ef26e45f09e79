package io.runnel.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The active index file grows with its entries instead of being preallocated to segment.index.bytes (a page
 * fault in a sparse mapping zero-fills ahead up to the end of the file), and behaves as before otherwise.
 */
@Timeout(30)
class IndexGrowthTest {

    private static final int LIMIT = 10 * 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void newOffsetIndexStartsSmallAndGrowsToItsLimit() throws Exception {
        Path file = dir.resolve("00000000000000000100.index");
        // a limit of 2,000 entries: 64 KiB (8,192 entries) would be more than allowed, so the file starts there
        try (OffsetIndex index = new OffsetIndex(file, 100, 2000 * OffsetIndex.ENTRY_SIZE)) {
            assertThat(Files.size(file)).isEqualTo(2000L * OffsetIndex.ENTRY_SIZE);
        }
        Files.delete(file);
        try (OffsetIndex index = new OffsetIndex(file, 100, LIMIT)) {
            assertThat(Files.size(file)).isEqualTo(AbstractIndex.INITIAL_BYTES);
            int perFile = AbstractIndex.INITIAL_BYTES / OffsetIndex.ENTRY_SIZE;
            // a reader holding the first mapping while the writer grows past it
            OffsetIndex.Entry before = null;
            for (int i = 0; i < perFile * 3; i++) {
                index.append(100 + 2L * i, 10 * i);
                if (i == perFile - 1) {
                    before = index.lookup(100 + 2L * i + 1);
                }
            }
            assertThat(before).isEqualTo(new OffsetIndex.Entry(100 + 2L * (perFile - 1), 10 * (perFile - 1)));
            assertThat(Files.size(file)).isEqualTo((long) AbstractIndex.INITIAL_BYTES * AbstractIndex.GROWTH);
            // every entry survived the remapping
            for (int i = 0; i < perFile * 3; i += 97) {
                assertThat(index.lookup(100 + 2L * i)).isEqualTo(new OffsetIndex.Entry(100 + 2L * i, 10 * i));
            }
            assertThat(index.floorPosition(10 * perFile + 5)).isEqualTo(10 * perFile);
            assertThat(index.isFull()).isFalse();
        }
        // closed: trimmed to exactly its entries, as Kafka leaves a closed index
        assertThat(Files.size(file)).isEqualTo(3L * AbstractIndex.INITIAL_BYTES);
    }

    @Test
    void growthStopsAtTheLimitAndTheIndexIsFullThere() throws Exception {
        Path file = dir.resolve("00000000000000000000.timeindex");
        int limitEntries = 10_000; // 120,000 bytes: one growth step from 65,532 reaches it, capped
        try (TimeIndex index = new TimeIndex(file, 0, limitEntries * TimeIndex.ENTRY_SIZE)) {
            assertThat(Files.size(file)).isEqualTo(AbstractIndex.INITIAL_BYTES / TimeIndex.ENTRY_SIZE
                    * TimeIndex.ENTRY_SIZE);
            for (int i = 0; i < limitEntries; i++) {
                assertThat(index.maybeAppend(1_000 + i, i, false)).isTrue();
            }
            assertThat(Files.size(file)).isEqualTo((long) limitEntries * TimeIndex.ENTRY_SIZE);
            assertThat(index.isFull()).isTrue();
            assertThatThrownBy(() -> index.maybeAppend(999_999, limitEntries, false))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("is full");
            assertThat(index.maybeAppend(999_999, limitEntries, true)).isFalse();
            assertThat(index.lookup(1_000 + 4_321)).isEqualTo(new TimestampOffset(1_000 + 4_321, 4_321, -1));
        }
    }

    @Test
    void reopenedActiveIndexGrowsFromItsTrimmedLength() throws Exception {
        Path file = dir.resolve("00000000000000000000.index");
        try (OffsetIndex index = new OffsetIndex(file, 0, LIMIT)) {
            for (int i = 0; i < 5; i++) {
                index.append(i, 100 * i);
            }
        }
        assertThat(Files.size(file)).isEqualTo(5L * OffsetIndex.ENTRY_SIZE);
        try (OffsetIndex index = new OffsetIndex(file, 0, LIMIT)) {
            // as a loaded active segment: full until resized to the limit, which no longer preallocates
            assertThat(index.isFull()).isTrue();
            index.resize(LIMIT);
            assertThat(Files.size(file)).isEqualTo(5L * OffsetIndex.ENTRY_SIZE);
            assertThat(index.isFull()).isFalse();
            index.append(5, 500);
            assertThat(Files.size(file)).isEqualTo(AbstractIndex.INITIAL_BYTES);
            assertThat(index.lookup(4)).isEqualTo(new OffsetIndex.Entry(4, 400));
            assertThat(index.lookup(7)).isEqualTo(new OffsetIndex.Entry(5, 500));
            // a smaller limit than the file cuts it, never below the entries
            index.resize(OffsetIndex.ENTRY_SIZE);
            assertThat(Files.size(file)).isEqualTo(6L * OffsetIndex.ENTRY_SIZE);
            assertThat(index.isFull()).isTrue();
        }
    }

    @Test
    void anEmptyIndexIsAnEmptyFileOnceClosed() throws Exception {
        Path file = dir.resolve("00000000000000000000.index");
        new OffsetIndex(file, 0, LIMIT).close();
        assertThat(Files.size(file)).isZero();
        try (OffsetIndex index = new OffsetIndex(file, 0, LIMIT)) {
            index.resize(LIMIT);
            index.append(3, 0);
            assertThat(Files.size(file)).isEqualTo(AbstractIndex.INITIAL_BYTES);
            assertThat(index.lastOffset()).isEqualTo(3);
        }
    }
}
