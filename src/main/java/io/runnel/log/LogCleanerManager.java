package io.runnel.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which compacted log to clean next, and how far each one is clean, as Kafka's LogCleanerManager.
 *
 * <p>Each log directory has a {@code cleaner-offset-checkpoint} (Kafka's format: a version line
 * {@code 0}, the number of entries, then {@code <topic> <partition> <first dirty offset>} per line): the
 * offset below which a partition's log is clean. A log's dirty section runs from there (or from the log
 * start if the checkpoint is missing, below the log start or past the log end, as after a truncation) to
 * its first uncleanable offset: the smallest of the active segment's base offset, the high watermark and
 * the base of the first segment younger than min.compaction.lag.ms. Its dirty ratio is the dirty bytes
 * over the bytes of both sections; the log with the highest ratio above min.cleanable.dirty.ratio is
 * cleaned next, or any log whose oldest dirty batch is older than max.compaction.lag.ms.
 *
 * <p>Threading: any thread; state is guarded by this object's monitor, except what {@link #stats} reads
 * (volatile fields, the concurrent map of logs), so that metrics and the admin API never wait for a
 * cleaner thread. {@link #register} and
 * {@link #forget} read or write checkpoint files: call them where blocking on the disk is allowed (the
 * partition's owner context).
 */
public final class LogCleanerManager {

    private static final Logger LOG = LoggerFactory.getLogger(LogCleanerManager.class);

    public static final String CHECKPOINT_FILE = "cleaner-offset-checkpoint";

    /** The state of one partition's compaction, for metrics and the admin API. */
    public record PartitionStats(double dirtyRatio, long cleanableBytes, long firstDirtyOffset, long lastCleanMs,
                                 long runs, boolean uncleanable) {
    }

    /** A log's sections as the choice of the next log to clean sees them. */
    record LogToClean(TopicPartition tp, long firstDirtyOffset, long firstUncleanableOffset, long cleanBytes,
                      long cleanableBytes, boolean needCompactionNow) {
        double dirtyRatio() {
            long total = cleanBytes + cleanableBytes;
            return total == 0 ? 0.0 : (double) cleanableBytes / total;
        }
    }

    private static final class Entry {
        final PartitionLog log;
        final Executor owner;
        final LongSupplier highWatermark;
        boolean inProgress;
        volatile boolean aborted;
        volatile boolean removed;
        volatile boolean uncleanable;
        // the checkpointed first dirty offset (-1: none), readable without the manager's monitor
        volatile long checkpointed = -1;
        volatile long lastCleanMs = -1;
        volatile long runs;
        final List<CompletableFuture<Void>> waiters = new ArrayList<>();

        Entry(PartitionLog log, Executor owner, LongSupplier highWatermark) {
            this.log = log;
            this.owner = owner;
            this.highWatermark = highWatermark;
        }

        Path logDir() {
            return log.dir().getParent();
        }
    }

    private final Time time;
    private final Map<TopicPartition, Entry> logs = new ConcurrentHashMap<>();
    private final Map<Path, Map<TopicPartition, Long>> checkpoints = new HashMap<>();

    public LogCleanerManager(Time time) {
        this.time = time;
    }

    /**
     * Makes a log known to the cleaner (whatever its policy: a topic may become compacted later).
     * {@code owner} runs tasks on the partition's owner context; {@code highWatermark} is read from any
     * thread. Reads the log directory's checkpoint the first time.
     */
    public synchronized void register(PartitionLog log, Executor owner, LongSupplier highWatermark) throws IOException {
        Entry entry = new Entry(log, owner, highWatermark);
        Long checkpointed = checkpointOf(entry.logDir()).get(log.topicPartition());
        entry.checkpointed = checkpointed == null ? -1 : checkpointed;
        Entry old = logs.put(log.topicPartition(), entry);
        if (old != null) {
            old.aborted = true;
            old.removed = true;
        }
    }

    /**
     * Stops cleaning a log (closed, deleted or reopened): an ongoing cleaning is aborted, and the future
     * completes once no cleaner thread touches the log any more (at once if none does). Any thread.
     */
    public synchronized CompletableFuture<Void> unregister(TopicPartition tp) {
        Entry entry = logs.get(tp);
        if (entry == null) {
            return CompletableFuture.completedFuture(null);
        }
        entry.aborted = true;
        entry.removed = true;
        if (!entry.inProgress) {
            logs.remove(tp, entry);
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        entry.waiters.add(done);
        return done;
    }

    /** Drops a deleted partition's checkpoint entry from {@code logDir}'s file. Blocks on the disk. */
    public synchronized void forget(TopicPartition tp, Path logDir) throws IOException {
        Map<TopicPartition, Long> cp = checkpointOf(logDir);
        if (cp.remove(tp) != null) {
            ReplicationOffsetCheckpoint.writeFile(logDir.resolve(CHECKPOINT_FILE), cp);
        }
    }

    private Map<TopicPartition, Long> checkpointOf(Path logDir) throws IOException {
        Map<TopicPartition, Long> cp = checkpoints.get(logDir);
        if (cp == null) {
            try {
                cp = new HashMap<>(ReplicationOffsetCheckpoint.readFile(logDir.resolve(CHECKPOINT_FILE)));
            } catch (IOException e) {
                // a damaged checkpoint costs one full cleaning of each log, never data: start over
                LOG.warn("Ignoring unreadable {}: {}", logDir.resolve(CHECKPOINT_FILE), e.getMessage());
                cp = new HashMap<>();
            }
            checkpoints.put(logDir, cp);
        }
        return cp;
    }

    /**
     * The sections of a compacted log now, or null if it is not compacted. With {@code quick} (metrics and
     * the admin API, on an event loop) nothing touches the disk: max.compaction.lag.ms is not looked at
     * and min.compaction.lag.ms uses the timestamps the segments hold in memory.
     */
    private static LogToClean sections(TopicPartition tp, Entry entry, long now, boolean quick) {
        PartitionLog log = entry.log;
        LogConfig config = log.config();
        if (!config.compact()) {
            return null;
        }
        List<LogSegment> segments = log.segmentList();
        long logStart = log.logStartOffset();
        long logEnd = log.logEndOffset();
        long checkpointed = entry.checkpointed;
        long firstDirty = checkpointed < logStart || checkpointed > logEnd ? logStart : checkpointed;
        LogSegment active = segments.get(segments.size() - 1);
        // as Kafka: never past the first unstable offset, so that only closed transactions are cleaned
        long upper = Math.min(active.baseOffset, log.lastStableOffset(entry.highWatermark.getAsLong()));
        CompactionConfig compaction = config.compaction();
        long minLag = compaction.minCompactionLagMs();
        long cleanBytes = 0;
        long cleanableBytes = 0;
        LogSegment firstDirtySegment = null;
        for (int i = 0; i < segments.size() - 1; i++) {
            LogSegment seg = segments.get(i);
            long segEnd = segments.get(i + 1).baseOffset;
            if (segEnd <= firstDirty) {
                cleanBytes += seg.size();
                continue;
            }
            if (minLag > 0 && (quick ? seg.maxTimestampSoFar() : seg.largestTimestamp()) > now - minLag) {
                upper = Math.min(upper, Math.max(seg.baseOffset, firstDirty));
            }
            if (seg.baseOffset >= upper || firstDirty >= upper) {
                break;
            }
            if (firstDirtySegment == null) {
                firstDirtySegment = seg;
            }
            cleanableBytes += seg.size();
        }
        upper = Math.max(upper, firstDirty);
        boolean needNow = false;
        if (!quick && compaction.maxCompactionLagMs() < Long.MAX_VALUE && firstDirtySegment != null
                && cleanableBytes > 0) {
            long ts = firstDirtySegment.firstBatchTimestamp();
            needNow = ts >= 0 && ts < now - compaction.maxCompactionLagMs();
        }
        return new LogToClean(tp, firstDirty, upper, cleanBytes, cleanableBytes, needNow);
    }

    /**
     * Picks the log most worth cleaning and marks it in progress, or returns null. Cleaner threads call
     * it and then {@link #doneCleaning} whatever happens.
     */
    synchronized Cleaner.Task grabFilthiestLog() {
        long now = time.milliseconds();
        LogToClean best = null;
        for (Map.Entry<TopicPartition, Entry> e : logs.entrySet()) {
            Entry entry = e.getValue();
            if (entry.inProgress || entry.removed || entry.uncleanable) {
                continue;
            }
            LogToClean sections;
            try {
                sections = sections(e.getKey(), entry, now, false);
            } catch (RuntimeException ex) {
                LOG.debug("Cannot size the log of {} for cleaning: {}", e.getKey(), ex.toString());
                continue;
            }
            if (sections == null || sections.cleanableBytes() == 0) {
                continue;
            }
            boolean eligible = sections.needCompactionNow()
                    || sections.dirtyRatio() > entry.log.config().compaction().minCleanableDirtyRatio();
            if (eligible && (best == null || sections.dirtyRatio() > best.dirtyRatio()
                    || sections.needCompactionNow() && !best.needCompactionNow())) {
                best = sections;
            }
        }
        if (best == null) {
            return null;
        }
        Entry entry = logs.get(best.tp());
        entry.inProgress = true;
        entry.aborted = false;
        return new Cleaner.Task(entry.log, entry.owner, best.firstDirtyOffset(), best.firstUncleanableOffset(),
                () -> entry.aborted);
    }

    /**
     * Ends a cleaning of {@code tp}: with {@code endOffset} >= 0 it succeeded and the log is clean below
     * that offset (checkpointed); with {@code failure} set the log is left alone until restart, as Kafka
     * marks a log uncleanable after an unexpected error.
     */
    synchronized void doneCleaning(TopicPartition tp, long endOffset, Throwable failure) {
        Entry entry = logs.get(tp);
        if (entry == null) {
            return;
        }
        entry.inProgress = false;
        if (endOffset >= 0 && !entry.removed) {
            entry.runs++;
            entry.lastCleanMs = time.milliseconds();
            Path dir = entry.logDir();
            Map<TopicPartition, Long> cp = checkpoints.computeIfAbsent(dir, d -> new HashMap<>());
            cp.put(tp, endOffset);
            entry.checkpointed = endOffset;
            try {
                ReplicationOffsetCheckpoint.writeFile(dir.resolve(CHECKPOINT_FILE), cp);
            } catch (IOException e) {
                // the next cleaning starts from the older checkpoint: more work, nothing lost
                LOG.warn("Writing {} failed", dir.resolve(CHECKPOINT_FILE), e);
            }
        }
        if (failure != null && !entry.removed) {
            entry.uncleanable = true;
        }
        if (entry.removed) {
            logs.remove(tp, entry);
            entry.waiters.forEach(w -> w.complete(null));
            entry.waiters.clear();
        }
    }

    /**
     * The compaction state of a hosted compacted partition, or null. Any thread, an event loop too: it
     * takes no lock and reads nothing from the disk.
     */
    public PartitionStats stats(TopicPartition tp) {
        Entry entry = logs.get(tp);
        if (entry == null || entry.removed || !entry.log.config().compact()) {
            return null;
        }
        LogToClean s;
        try {
            s = sections(tp, entry, time.milliseconds(), true);
        } catch (RuntimeException e) {
            return null;
        }
        return new PartitionStats(s.dirtyRatio(), s.cleanableBytes(), s.firstDirtyOffset(), entry.lastCleanMs,
                entry.runs, entry.uncleanable);
    }

    /** Partitions known to the cleaner. */
    public List<TopicPartition> partitions() {
        return new ArrayList<>(logs.keySet());
    }
}
