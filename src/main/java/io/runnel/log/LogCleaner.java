package io.runnel.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log cleaner: {@code log.cleaner.threads} threads of its own ({@code runnel-log-cleaner-N}), each
 * with its own {@link Cleaner}, that pick the filthiest compacted log from the {@link LogCleanerManager},
 * clean it, checkpoint how far it is clean, and sleep {@code log.cleaner.backoff.ms} when nothing is worth
 * cleaning. Their I/O together is capped by {@code log.cleaner.io.max.bytes.per.second}. With
 * {@code log.cleaner.enable=false} no thread starts, and the manager still reports dirty ratios.
 *
 * <p>Threading: {@link #register}, {@link #unregister}, {@link #forget}, the statistics and
 * {@link #wakeUp} from any thread ({@link #register} and {@link #forget} block on the disk briefly);
 * {@link #shutdown} blocks until the threads stop: call it off the event loop. Threads are never
 * interrupted: an interrupt would close the segment channels that readers share.
 */
public final class LogCleaner {

    private static final Logger LOG = LoggerFactory.getLogger(LogCleaner.class);

    private final CleanerConfig config;
    private final Time time;
    private final LogCleanerManager manager;
    private final Throttler throttler;
    private final List<Thread> threads = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private volatile boolean running;
    private final AtomicLong runs = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile long lastRunMs = -1;
    private volatile double lastMapUtilization;

    public LogCleaner(CleanerConfig config, Time time) {
        this.config = config;
        this.time = time;
        this.manager = new LogCleanerManager(time);
        this.throttler = new Throttler(config.ioMaxBytesPerSecond(), time);
    }

    public CleanerConfig config() {
        return config;
    }

    public LogCleanerManager manager() {
        return manager;
    }

    /** Starts the threads (none when log.cleaner.enable is false). */
    public synchronized void startup() {
        if (running || !config.enable()) {
            return;
        }
        running = true;
        for (int i = 0; i < config.threads(); i++) {
            Cleaner cleaner = new Cleaner(config.dedupeBytesPerThread(), config.ioBufferSize() / config.threads(),
                    throttler, time);
            Thread t = new Thread(() -> loop(cleaner), "runnel-log-cleaner-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        LOG.info("Log cleaner started with {} thread(s), {} bytes of dedupe buffer", config.threads(),
                config.dedupeBufferSize());
    }

    /** Stops the threads after their current cleaning is aborted; blocks until they are gone. */
    public void shutdown() {
        List<Thread> stopping;
        synchronized (this) {
            running = false;
            stopping = new ArrayList<>(threads);
            threads.clear();
        }
        for (TopicPartition tp : manager.partitions()) {
            manager.unregister(tp);
        }
        wakeUp();
        for (Thread t : stopping) {
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** See {@link LogCleanerManager#register}. */
    public void register(PartitionLog log, Executor owner, LongSupplier highWatermark) throws IOException {
        manager.register(log, owner, highWatermark);
    }

    /** See {@link LogCleanerManager#unregister}. */
    public CompletableFuture<Void> unregister(TopicPartition tp) {
        return manager.unregister(tp);
    }

    /** See {@link LogCleanerManager#forget}. */
    public void forget(TopicPartition tp, Path logDir) throws IOException {
        manager.forget(tp, logDir);
    }

    /** Ends the back-off of idle threads, so they look for work now (tests, config changes). */
    public void wakeUp() {
        lock.lock();
        try {
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void loop(Cleaner cleaner) {
        while (running) {
            boolean cleaned = false;
            try {
                cleaned = cleanFilthiestLog(cleaner);
            } catch (Throwable t) {
                LOG.error("Log cleaner thread failed; carrying on", t);
            }
            if (!cleaned && running) {
                lock.lock();
                try {
                    wake.await(config.backoffMs(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** One cleaning by {@code cleaner} on the calling thread; false when nothing was worth cleaning. */
    boolean cleanFilthiestLog(Cleaner cleaner) {
        Cleaner.Task task = manager.grabFilthiestLog();
        if (task == null) {
            return false;
        }
        TopicPartition tp = task.log().topicPartition();
        long end = -1;
        Throwable failure = null;
        try {
            Cleaner.Result r = cleaner.clean(task);
            end = r.endOffset();
            runs.incrementAndGet();
            bytesRead.addAndGet(r.bytesRead());
            bytesWritten.addAndGet(r.bytesWritten());
            lastRunMs = time.milliseconds();
            lastMapUtilization = r.mapUtilization();
            LOG.info("Cleaned {} up to offset {}: {} segment(s) in {} group(s), {} -> {} bytes, {} -> {} records,"
                            + " {} ms, offset map {}% full", tp, end, r.segmentsCleaned(), r.groups(), r.bytesRead(),
                    r.bytesWritten(), r.recordsRead(), r.recordsWritten(), r.elapsedMs(),
                    Math.round(r.mapUtilization() * 100));
        } catch (Cleaner.CleaningAborted e) {
            LOG.info("Cleaning of {} stopped: {}", tp, e.getMessage());
        } catch (Throwable t) {
            if (task.aborted().getAsBoolean()) {
                // the log was closed or deleted under the cleaner: its channels are gone, nothing is wrong
                LOG.info("Cleaning of {} stopped with the log: {}", tp, t.toString());
            } else {
                failures.incrementAndGet();
                failure = t;
                LOG.error("Cleaning of {} failed; it is not cleaned again until restart", tp, t);
                if (t instanceof IOException || t instanceof java.io.UncheckedIOException) {
                    // as Kafka's cleaner thread: an I/O error takes the log's directory offline
                    task.log().reportDirFailure("cleaning " + tp, t);
                }
            }
        } finally {
            manager.doneCleaning(tp, end, failure);
        }
        return true;
    }

    public long runs() {
        return runs.get();
    }

    public long bytesRead() {
        return bytesRead.get();
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }

    public long failures() {
        return failures.get();
    }

    /** Wall-clock time of the last cleaning that completed, or -1. */
    public long lastRunMs() {
        return lastRunMs;
    }

    public double lastMapUtilization() {
        return lastMapUtilization;
    }
}
