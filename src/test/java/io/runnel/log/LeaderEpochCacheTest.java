package io.runnel.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader-epoch cache: Kafka's checkpoint format, and readers (event loops answering Fetch,
 * OffsetForLeaderEpoch and ListOffsets) that never wait for a checkpoint write. A writer held inside its
 * checkpoint write stands for an fsync on a slow disk.
 */
@Timeout(30)
class LeaderEpochCacheTest {

    @TempDir
    Path dir;

    private final ExecutorService pool = Executors.newFixedThreadPool(3);
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stop() {
        release.countDown();
        pool.shutdownNow();
    }

    /** A checkpoint writer that signals {@code entered} and then holds the write until {@link #release}. */
    private LeaderEpochCache.CheckpointWriter held(CountDownLatch entered, AtomicInteger writes) {
        return (file, content) -> {
            writes.incrementAndGet();
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
            Checkpoints.write(file, content);
        };
    }

    @Test
    void readersAreNotBlockedWhileACheckpointIsBeingWritten() throws Exception {
        LeaderEpochCache seeded = new LeaderEpochCache(dir);
        seeded.assign(1, 0);
        CountDownLatch entered = new CountDownLatch(1);
        AtomicInteger writes = new AtomicInteger();
        LeaderEpochCache cache = new LeaderEpochCache(dir, held(entered, writes));

        CompletableFuture<Void> assign = CompletableFuture.runAsync(() -> {
            try {
                cache.assign(3, 100);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, pool);
        assertThat(entered.await(10, TimeUnit.SECONDS)).as("the writer is inside its checkpoint write").isTrue();

        // with the write held, every reader still answers (before, they waited on the cache's monitor)
        CompletableFuture<int[]> read = CompletableFuture.supplyAsync(() -> new int[] {
            cache.latestEpoch(), cache.epochForOffset(150), cache.epochForOffset(50),
            (int) cache.endOffsetFor(1, 200).offset(), (int) cache.endOffsetFor(3, 200).offset()}, pool);
        assertThat(read.get(10, TimeUnit.SECONDS)).containsExactly(3, 3, 1, 100, 200);
        assertThat(assign).isNotDone();

        release.countDown();
        assign.get(10, TimeUnit.SECONDS);
        assertThat(Files.readAllLines(dir.resolve(LeaderEpochCache.FILE_NAME))).containsExactly("0", "2", "1 0", "3 100");
    }

    @Test
    void checkpointWritesAreSerializedInTheOrderOfTheChanges() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        AtomicInteger writes = new AtomicInteger();
        LeaderEpochCache cache = new LeaderEpochCache(dir, held(entered, writes));

        CompletableFuture<Void> first = CompletableFuture.runAsync(() -> {
            try {
                cache.assign(1, 0);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, pool);
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        Thread[] second = new Thread[1];
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Void> truncate = CompletableFuture.runAsync(() -> {
            second[0] = Thread.currentThread();
            started.countDown();
            try {
                cache.assign(2, 10);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, pool);
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        // the second change waits for the first write to finish; no fixed sleep, only its thread's state
        while (second[0].getState() != Thread.State.WAITING && !truncate.isDone()) {
            Thread.onSpinWait();
        }
        assertThat(writes.get()).as("one checkpoint write at a time").isEqualTo(1);

        release.countDown();
        first.get(10, TimeUnit.SECONDS);
        truncate.get(10, TimeUnit.SECONDS);
        assertThat(writes.get()).isEqualTo(2);
        assertThat(Files.readAllLines(dir.resolve(LeaderEpochCache.FILE_NAME)))
                .as("the newest change is the one on disk").containsExactly("0", "2", "1 0", "2 10");
    }

    @Test
    void everyChangeIsOnDiskWhenItReturnsInKafkasFormat() throws Exception {
        Path file = dir.resolve(LeaderEpochCache.FILE_NAME);
        LeaderEpochCache cache = new LeaderEpochCache(dir);
        cache.assign(0, 0);
        cache.assign(2, 5);
        cache.assign(4, 9);
        assertThat(Files.readAllLines(file)).containsExactly("0", "3", "0 0", "2 5", "4 9");

        cache.truncateFromEnd(9);
        assertThat(Files.readAllLines(file)).containsExactly("0", "2", "0 0", "2 5");
        cache.truncateFromStart(7);
        assertThat(Files.readAllLines(file)).containsExactly("0", "1", "2 7");

        LeaderEpochCache reopened = new LeaderEpochCache(dir);
        assertThat(reopened.latestEpoch()).isEqualTo(2);
        assertThat(reopened.epochForOffset(6)).isEqualTo(-1);
        assertThat(reopened.epochForOffset(7)).isEqualTo(2);
    }

    @Test
    void assignRemovesEntriesItContradicts() throws Exception {
        LeaderEpochCache cache = new LeaderEpochCache(dir);
        cache.assign(1, 0);
        cache.assign(3, 10);
        cache.assign(5, 20);
        cache.assign(4, 15);
        assertThat(cache.latestEpoch()).isEqualTo(4);
        assertThat(cache.endOffsetFor(3, 30).offset()).isEqualTo(15);
        assertThat(cache.endOffsetFor(2, 30)).isEqualTo(new TimestampOffset(1, 10, 1));
        assertThat(cache.endOffsetFor(4, 30).offset()).isEqualTo(30);
        cache.assign(4, 17);
        assertThat(cache.endOffsetFor(3, 30).offset()).as("a later start of the latest epoch changes nothing")
                .isEqualTo(15);
    }
}
