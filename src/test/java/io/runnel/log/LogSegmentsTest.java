package io.runnel.log;

import static io.runnel.log.LogTestSupport.T0;
import static io.runnel.log.LogTestSupport.config;
import static io.runnel.log.LogTestSupport.records;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class LogSegmentsTest {

    @TempDir
    Path dir;

    @TempDir
    Path otherDir;

    private final LogTestSupport.ManualTime time = new LogTestSupport.ManualTime(T0);
    private final LogSegments segments = new LogSegments();

    /** Segments at 10, 20 and 30; 10 and 20 hold one batch each, 30 (the active one) is empty. */
    @BeforeEach
    void threeSegments() throws Exception {
        for (long base : new long[] {10, 20, 30}) {
            LogSegment seg = LogSegment.open(dir, base, config(), time);
            if (base < 30) {
                seg.append(RecordSet.builder().baseOffset(base).addAll(records(T0, "a", "b")).build());
            }
            segments.add(seg);
        }
    }

    @AfterEach
    void close() throws Exception {
        LogTestSupport.closeAll(segments);
    }

    private static List<Long> bases(Collection<LogSegment> segs) {
        return segs.stream().map(s -> s.baseOffset).toList();
    }

    @Test
    void floorSegmentIsTheOneThatWouldHoldTheOffset() {
        assertThat(segments.floorSegment(9)).isNull();
        assertThat(segments.floorSegment(10).baseOffset).isEqualTo(10);
        assertThat(segments.floorSegment(19).baseOffset).isEqualTo(10);
        assertThat(segments.floorSegment(20).baseOffset).isEqualTo(20);
        assertThat(segments.floorSegment(Long.MAX_VALUE).baseOffset).isEqualTo(30);
    }

    @Test
    void higherAndLastSegmentWalkTowardsTheActiveOne() {
        assertThat(segments.higherSegment(10).baseOffset).isEqualTo(20);
        assertThat(segments.higherSegment(25).baseOffset).isEqualTo(30);
        assertThat(segments.higherSegment(30)).isNull();
        assertThat(segments.lastSegment().baseOffset).isEqualTo(30);
        assertThat(segments.firstBaseOffset()).isEqualTo(10);
        assertThat(new LogSegments().lastSegment()).isNull();
    }

    @Test
    void valuesFromStartAtTheSegmentHoldingTheOffsetOrAtTheFirst() {
        assertThat(bases(segments.valuesFrom(0))).containsExactly(10L, 20L, 30L);
        assertThat(bases(segments.valuesFrom(25))).containsExactly(20L, 30L);
        assertThat(bases(segments.valuesFrom(30))).containsExactly(30L);
        assertThat(bases(segments.valuesUpTo(20))).containsExactly(10L, 20L);
        assertThat(bases(segments.valuesAbove(20))).containsExactly(30L);
        assertThat(bases(segments.valuesAbove(19))).containsExactly(20L, 30L);
    }

    @Test
    void endingAtOrBelowNeverIncludesTheActiveSegment() {
        assertThat(segments.endingAtOrBelow(19)).isEmpty();
        assertThat(bases(segments.endingAtOrBelow(20))).containsExactly(10L);
        assertThat(bases(segments.endingAtOrBelow(29))).containsExactly(10L);
        assertThat(bases(segments.endingAtOrBelow(30))).containsExactly(10L, 20L);
        assertThat(bases(segments.endingAtOrBelow(Long.MAX_VALUE))).containsExactly(10L, 20L);
    }

    @Test
    void sizeAndCountFollowAddAndRemove() throws Exception {
        int batch = segments.get(10).size();
        assertThat(batch).isPositive();
        assertThat(segments.sizeInBytes()).isEqualTo(2L * batch);
        assertThat(segments.numberOfSegments()).isEqualTo(3);

        LogSegment first = segments.get(10);
        segments.remove(10);
        assertThat(segments.baseOffsets()).containsExactly(20L, 30L);
        assertThat(segments.sizeInBytes()).isEqualTo(batch);
        assertThat(segments.floorSegment(15)).isNull();
        first.close();

        // a segment of the same base offset (as a cleaned one swapped in), from elsewhere so no file is shared
        LogSegment replacement = LogSegment.open(otherDir, 20, config(), time);
        LogSegment replaced = segments.get(20);
        segments.add(replacement);
        assertThat(segments.get(20)).isSameAs(replacement);
        assertThat(segments.numberOfSegments()).isEqualTo(2);
        replaced.close();
    }

    @Test
    void viewsSeeLaterChangesAndCopiesDoNot() throws Exception {
        Collection<LogSegment> view = segments.values();
        List<LogSegment> copy = segments.toList();
        LogSegment last = segments.lastSegment();
        segments.remove(30);
        assertThat(bases(view)).containsExactly(10L, 20L);
        assertThat(bases(copy)).containsExactly(10L, 20L, 30L);
        last.close();
    }
}
