package io.runnel.log;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The segments of one partition log, keyed by base offset (Kafka's {@code LogSegments}): a sorted set in
 * which segment {@code i} holds the offsets {@code [base(i), base(i + 1))} and the last one is the active
 * segment that appends go to.
 *
 * <p>Invariants: base offsets are unique and ascending; a loaded log holds at least one segment (an
 * empty log is one empty segment at the log start), so {@link #firstBaseOffset()} and
 * {@link #lastSegment()} are defined everywhere but inside {@link LogLoader} and
 * {@link PartitionLog#delete()}. A segment removed from the set keeps its file handles until its delayed
 * delete ({@link LogRetention#scheduleDelete}) has passed, so a reader that found it before it went can
 * finish.
 *
 * <p>Threading: {@link #add}, {@link #remove} and {@link #clear} are called by the partition's owner only
 * (and by {@link LogLoader} before the log is published). Every other method may be called from any
 * thread at the same time: the map is a {@link ConcurrentSkipListMap}, so lookups never block and see
 * each add or remove whole; views are weakly consistent, and a reader bounds what it reads by the log's
 * published end rather than by what the set holds.
 */
final class LogSegments {

    private final ConcurrentSkipListMap<Long, LogSegment> segments = new ConcurrentSkipListMap<>();
    // where the segments' .log files are kept open: the process's set, or a test's own
    private final SegmentChannels channels;

    LogSegments() {
        this(SegmentChannels.shared());
    }

    LogSegments(SegmentChannels channels) {
        this.channels = channels;
    }

    /** The set of open segment files that this log's segments are opened in. */
    SegmentChannels channels() {
        return channels;
    }

    /** Adds {@code segment}, replacing any segment of the same base offset. Owner only. */
    void add(LogSegment segment) {
        segments.put(segment.baseOffset, segment);
    }

    /** Removes the segment of {@code baseOffset} from the set (its files are the caller's). Owner only. */
    void remove(long baseOffset) {
        segments.remove(baseOffset);
    }

    /** Forgets every segment (their files are the caller's). Owner only. */
    void clear() {
        segments.clear();
    }

    /** The segment of exactly {@code baseOffset}, or null. */
    LogSegment get(long baseOffset) {
        return segments.get(baseOffset);
    }

    boolean isEmpty() {
        return segments.isEmpty();
    }

    int numberOfSegments() {
        return segments.size();
    }

    long firstBaseOffset() {
        return segments.firstKey();
    }

    /** The active segment, or null when empty. */
    LogSegment lastSegment() {
        Map.Entry<Long, LogSegment> last = segments.lastEntry();
        return last == null ? null : last.getValue();
    }

    /** The segment that would hold {@code offset}: the one of the largest base offset at or below it, or null. */
    LogSegment floorSegment(long offset) {
        Map.Entry<Long, LogSegment> floor = segments.floorEntry(offset);
        return floor == null ? null : floor.getValue();
    }

    /** The segment after the one of {@code baseOffset}, or null when that is the last. */
    LogSegment higherSegment(long baseOffset) {
        Map.Entry<Long, LogSegment> higher = segments.higherEntry(baseOffset);
        return higher == null ? null : higher.getValue();
    }

    /** Every segment, oldest first (a live, weakly consistent view). */
    Collection<LogSegment> values() {
        return segments.values();
    }

    /**
     * The segment holding {@code offset} and every later one, oldest first; every segment when
     * {@code offset} lies below the first (a live view).
     */
    Collection<LogSegment> valuesFrom(long offset) {
        Long from = segments.floorKey(offset);
        return (from == null ? segments : segments.tailMap(from, true)).values();
    }

    /** The segments whose base offset is at or below {@code baseOffset}, oldest first (a live view). */
    Collection<LogSegment> valuesUpTo(long baseOffset) {
        return segments.headMap(baseOffset, true).values();
    }

    /** The segments whose base offset is above {@code offset}, oldest first (a live view). */
    Collection<LogSegment> valuesAbove(long offset) {
        return segments.tailMap(offset, false).values();
    }

    /**
     * The leading segments that lie wholly below {@code offset}: those whose successor starts at or below
     * it. The active segment is never among them.
     */
    List<LogSegment> endingAtOrBelow(long offset) {
        List<LogSegment> out = new ArrayList<>();
        for (Map.Entry<Long, LogSegment> entry : segments.entrySet()) {
            Long next = segments.higherKey(entry.getKey());
            if (next != null && next <= offset) {
                out.add(entry.getValue());
            } else {
                break;
            }
        }
        return out;
    }

    /** Base offsets, oldest first (a copy). */
    List<Long> baseOffsets() {
        return new ArrayList<>(segments.keySet());
    }

    /** The segments, oldest first, the active one last (a copy). */
    List<LogSegment> toList() {
        return new ArrayList<>(segments.values());
    }

    /** Total bytes of all segments. */
    long sizeInBytes() {
        long total = 0;
        for (LogSegment seg : segments.values()) {
            total += seg.size();
        }
        return total;
    }
}
