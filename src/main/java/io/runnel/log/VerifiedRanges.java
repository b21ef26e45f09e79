package io.runnel.log;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which byte ranges of one segment file are known to hold batches whose CRC was checked: what the
 * process appended (validated on append, leader or follower), what recovery scanned, and what a read
 * checked the first time it served it. A segment opened below the recovery point (flushed before the
 * last stop, so not rescanned) starts with nothing verified, and {@link LogSegment#read} checks the
 * CRCs of a range the first time it is read, so that a batch damaged on disk while the node was down is
 * never served; Kafka sends such a batch to the consumer, whose own CRC check fails. Once verified, a
 * range is read with zero copy and no further check, so the steady fetch path (consumers and followers
 * near the log end, which read what this process appended) pays one atomic read per segment read.
 *
 * <p>State: a verified prefix {@code [0, prefix)} and islands {@code start -> end} of verified ranges
 * above it (reads that started in the middle of a segment, appends to a segment whose start is not yet
 * verified). Every range ever recorded was verified; races between readers may drop an island or leave
 * two overlapping ones, which only costs a second check, never a claim that unchecked bytes are good.
 * Nothing here detects damage that happens after a range was verified (a later bit flip on disk).
 *
 * <p>Threading: lock-free; {@link #covers} and {@link #add} from any thread (readers verify),
 * {@link #truncateTo} and {@link #reset} by the owner only.
 */
final class VerifiedRanges {

    private final AtomicInteger prefix = new AtomicInteger();
    private final ConcurrentSkipListMap<Integer, Integer> islands = new ConcurrentSkipListMap<>();

    /** Whether every byte of {@code [start, end)} is verified. */
    boolean covers(int start, int end) {
        if (end <= prefix.get()) {
            return true;
        }
        Map.Entry<Integer, Integer> island = islands.floorEntry(start);
        return island != null && island.getValue() >= end;
    }

    /** The verified prefix: every byte below it was checked. */
    int prefix() {
        return prefix.get();
    }

    /** Records that {@code [start, end)} was verified (checked by a read, appended after validation). */
    void add(int start, int end) {
        if (end <= start) {
            return;
        }
        if (start <= prefix.get()) {
            raisePrefix(end);
        } else {
            Map.Entry<Integer, Integer> before = islands.floorEntry(start);
            if (before != null && before.getValue() >= start) {
                // contiguous with (or inside) the island before it: grow that island
                islands.merge(before.getKey(), end, Math::max);
            } else {
                islands.merge(start, end, Math::max);
            }
        }
        absorbIslands();
    }

    private void raisePrefix(int end) {
        prefix.accumulateAndGet(end, Math::max);
    }

    /** Islands that now touch the prefix become part of it. */
    private void absorbIslands() {
        Map.Entry<Integer, Integer> first;
        while ((first = islands.firstEntry()) != null && first.getKey() <= prefix.get()) {
            raisePrefix(first.getValue());
            islands.remove(first.getKey(), first.getValue());
        }
    }

    /** The file was cut to {@code size} bytes: nothing above it is verified any more. Owner only. */
    void truncateTo(int size) {
        prefix.accumulateAndGet(size, Math::min);
        islands.tailMap(size, true).clear();
        Map.Entry<Integer, Integer> last = islands.lastEntry();
        if (last != null && last.getValue() > size) {
            islands.put(last.getKey(), size);
        }
    }

    /** Everything up to {@code size} is verified (recovery scanned it), nothing above. Owner only. */
    void reset(int size) {
        islands.clear();
        prefix.set(size);
    }

    @Override
    public String toString() {
        return "VerifiedRanges(prefix=" + prefix.get() + ", islands=" + islands + ")";
    }
}
