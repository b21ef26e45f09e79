package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RequestMemoryTest {

    /** A reader with a fixed progress rate that records its eviction. */
    private static final class Reader implements RequestMemory.Holder {
        final double rate;
        int evictions;

        Reader(double rate) {
            this.rate = rate;
        }

        long startNanos = System.nanoTime() - 10_000_000_000L;

        @Override
        public double progressRate(long nowNanos) {
            return rate;
        }

        @Override
        public long frameStartNanos() {
            return startNanos;
        }

        @Override
        public void evict() {
            evictions++;
        }
    }

    /** A waiter that records the memory each wake-up granted it. */
    private static final class Waiter implements RequestMemory.Waiter {
        final List<Waiter> woken;
        long granted;

        Waiter(List<Waiter> woken) {
            this.woken = woken;
        }

        @Override
        public void wake(long granted) {
            woken.add(this);
            this.granted += granted;
        }
    }

    @Test
    void reservesWithinTheLimitAndReleasesExactly() {
        RequestMemory m = new RequestMemory(100, 0);
        assertThat(m.tryReserve(60)).isTrue();
        assertThat(m.tryReserve(41)).isFalse();
        assertThat(m.used()).isEqualTo(60);
        // bytes a read already brought in are placed past the limit
        m.forceReserve(41);
        assertThat(m.used()).isEqualTo(101);
        assertThat(m.incomplete()).isEqualTo(101);
        m.completed(60);
        assertThat(m.incomplete()).isEqualTo(41);
        m.release(60);
        m.releaseIncomplete(41);
        assertThat(m.used()).isZero();
        assertThat(m.incomplete()).isZero();
    }

    @Test
    void evictsTheReaderWithTheLeastProgressWhenReadersHoldMostOfTheLimit() {
        RequestMemory m = new RequestMemory(100, 0);
        Reader fast = new Reader(1e9);
        Reader trickler = new Reader(10);
        Reader middling = new Reader(1e5);
        m.holding(fast);
        m.holding(trickler);
        m.holding(middling);
        assertThat(m.tryReserve(90)).isTrue();
        assertThat(m.tryReserve(20)).isFalse();
        assertThat(trickler.evictions).isEqualTo(1);
        assertThat(m.evictions()).isEqualTo(1);
        // one eviction at a time: the next refusal waits for the first to free its memory
        assertThat(m.tryReserve(20)).isFalse();
        assertThat(middling.evictions).isZero();
        m.evicted();
        assertThat(m.tryReserve(20)).isFalse();
        assertThat(middling.evictions).isEqualTo(1);
        assertThat(fast.evictions).isZero();
        assertThat(trickler.evictions).isEqualTo(1);
    }

    @Test
    void waitsForAnsweredRequestsInsteadOfEvictingWhenTheyHoldTheMemory() {
        RequestMemory m = new RequestMemory(100, 0);
        Reader reader = new Reader(10);
        m.holding(reader);
        assertThat(m.tryReserve(30)).isTrue();
        assertThat(m.tryReserve(60)).isTrue();
        m.completed(60); // read whole: its handler will release it
        List<Waiter> woken = new ArrayList<>();
        Waiter w = new Waiter(woken);
        assertThat(m.tryReserve(20)).isFalse();
        m.await(w, 20);
        assertThat(reader.evictions).isZero();
        assertThat(woken).isEmpty();
        m.release(60);
        // woken with what it was refused reserved for it
        assertThat(woken).containsExactly(w);
        assertThat(w.granted).isEqualTo(20);
        assertThat(m.used()).isEqualTo(50);
        assertThat(m.incomplete()).isEqualTo(50);
    }

    @Test
    void evictsWhenWaitingForAnsweredRequestsCannotMakeRoom() {
        RequestMemory m = new RequestMemory(100, 0);
        Reader reader = new Reader(10);
        m.holding(reader);
        assertThat(m.tryReserve(40)).isTrue();
        assertThat(m.tryReserve(10)).isTrue();
        m.completed(10);
        // 40 held by a reader is not more than half, but freeing the 10 answered bytes cannot fit 80 more
        assertThat(m.tryReserve(80)).isFalse();
        assertThat(reader.evictions).isEqualTo(1);
    }

    @Test
    void aReleaseWakesWaitersInOrderWhileTheirNeedsFit() {
        RequestMemory m = new RequestMemory(100, 0);
        m.forceReserve(120);
        List<Waiter> woken = new ArrayList<>();
        Waiter a = new Waiter(woken);
        Waiter b = new Waiter(woken);
        Waiter c = new Waiter(woken);
        m.await(a, 10);
        m.await(b, 10);
        m.await(c, 50);
        assertThat(woken).isEmpty();
        m.releaseIncomplete(10); // still at the limit: no one
        assertThat(woken).isEmpty();
        m.releaseIncomplete(50);
        assertThat(woken).containsExactly(a, b);
        assertThat(m.used()).isEqualTo(80);
        assertThat(m.waiting()).isEqualTo(1);
        m.releaseIncomplete(40);
        assertThat(woken).containsExactly(a, b, c);
        assertThat(m.used()).isEqualTo(90);
    }

    @Test
    void stillEvictsWhenNobodyReadsToBeRefused() {
        // every reader is paused waiting: the release of an evicted reader's memory must lead to the next eviction
        RequestMemory m = new RequestMemory(100, 0);
        Reader slow = new Reader(1);
        Reader slower = new Reader(0.5);
        m.holding(slow);
        m.holding(slower);
        m.forceReserve(100);
        List<Waiter> woken = new ArrayList<>();
        Waiter big = new Waiter(woken);
        m.await(big, 60);
        assertThat(slower.evictions).isEqualTo(1);
        m.releaseIncomplete(30); // the evicted reader's memory
        m.evicted();
        assertThat(slow.evictions).isEqualTo(1);
        m.releaseIncomplete(70);
        m.evicted();
        assertThat(woken).containsExactly(big);
    }

    @Test
    void sparesFramesYoungerThanTheGracePeriodUntilARecheckFindsThemOlder() {
        RequestMemory m = new RequestMemory(100, 1_000_000_000L);
        Reader young = new Reader(1);
        young.startNanos = System.nanoTime();
        m.holding(young);
        m.forceReserve(100);
        List<Waiter> woken = new ArrayList<>();
        Waiter w = new Waiter(woken);
        m.await(w, 10);
        assertThat(young.evictions).isZero();
        m.recheck();
        assertThat(young.evictions).isZero();
        young.startNanos -= 2_000_000_000L; // a second later, and still nobody read
        m.recheck();
        assertThat(young.evictions).isEqualTo(1);
    }

    @Test
    void aWaiterQueuedAfterTheReleaseIsStillWoken() {
        RequestMemory m = new RequestMemory(100, 0);
        List<Waiter> woken = new ArrayList<>();
        Waiter w = new Waiter(woken);
        // refused, then memory freed before the connection queued itself
        m.await(w, 10);
        assertThat(woken).containsExactly(w);
        assertThat(m.used()).isEqualTo(10);
    }

    @Test
    void aClosedWaiterIsForgotten() {
        RequestMemory m = new RequestMemory(100, 0);
        m.forceReserve(100);
        List<Waiter> woken = new ArrayList<>();
        Waiter w = new Waiter(woken);
        m.await(w, 10);
        m.cancel(w);
        m.releaseIncomplete(100);
        assertThat(woken).isEmpty();
        assertThat(m.used()).isZero();
    }
}
