package io.runnel.log;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.utils.Time;

/**
 * The lower end of a partition log: its log start offset and the removal of segments below it, as
 * Kafka's {@code deleteOldSegments} (retention.ms, retention.bytes, log start offset) and
 * {@code deleteSegmentFiles}.
 *
 * <p>The log start offset is persisted, as in Kafka, in the log directory's
 * {@code log-start-offset-checkpoint} ({@link LogDirCheckpoints}), written periodically, at shutdown and
 * (by the broker) soon after a DeleteRecords from {@link #logStartOffset()}, not here. A crash before that
 * write reads back an older start, which can bring back records of the last DeleteRecords, as in Kafka, but
 * never those of deleted segments: the loader never starts the log below its first segment, whose file
 * keeps the start that retention, deleteSegments and a full truncation move it to. A removed segment
 * leaves the {@link LogSegments} at once, is renamed {@code *.deleted}, and keeps its open handles until
 * {@code file.delete.delay.ms} has passed ({@link #deleteScheduledFiles}), so a read that found it first
 * still completes; {@link LogLoader} removes {@code *.deleted} leftovers on open.
 *
 * <p>Invariants: {@code logStartOffset} only moves forward, except when the log is restarted at an
 * offset ({@link #resetLogStartOffset}); it is never below the first segment's base offset once a
 * segment below it has been deleted; retention never deletes the active segment unless it is empty of
 * unexpired data (the log rolls first, so a segment always remains), nor a segment reaching above the
 * high watermark. Pending deletes are due in the order they were scheduled.
 *
 * <p>Threading: every method but {@link #logStartOffset()} is called by the partition's owner on a
 * context that may block on the disk; {@link #logStartOffset()} is volatile and read from any thread.
 * {@link #expiredSegments} only decides and may be called anywhere the owner could.
 */
final class LogRetention {

    private record PendingDelete(LogSegment segment, long dueMs) {
    }

    private final TopicPartition tp;
    private final Time time;
    private final Supplier<LogConfig> config;
    private final LogSegments segments;
    private final LeaderEpochCache epochCache;
    private final ProducerStateManager producerState;
    private final ArrayDeque<PendingDelete> pendingDeletes = new ArrayDeque<>();
    private volatile long logStartOffset;

    LogRetention(TopicPartition tp, Time time, Supplier<LogConfig> config, LogSegments segments,
                 LeaderEpochCache epochCache, ProducerStateManager producerState, long logStartOffset) {
        this.tp = tp;
        this.time = time;
        this.config = config;
        this.segments = segments;
        this.epochCache = epochCache;
        this.producerState = producerState;
        this.logStartOffset = logStartOffset;
    }

    long logStartOffset() {
        return logStartOffset;
    }

    /**
     * The leading segments that retention removes now, oldest first: each lies wholly below
     * {@code highWatermark} (never data not yet replicated), and is below the log start offset, or older
     * than retention.ms by its newest timestamp, or would leave the log within retention.bytes without it
     * (time and size only when cleanup.policy has delete). The first segment kept stops the walk; an empty
     * active segment is never returned.
     */
    List<LogSegment> expiredSegments(long logEndOffset, long highWatermark, long now) {
        LogConfig cfg = config.get();
        List<LogSegment> doomed = new ArrayList<>();
        List<LogSegment> all = segments.toList();
        long bytesOverLimit = cfg.retentionBytes() < 0 ? 0 : segments.sizeInBytes() - cfg.retentionBytes();
        for (int i = 0; i < all.size(); i++) {
            LogSegment seg = all.get(i);
            long upperBound = i + 1 < all.size() ? all.get(i + 1).baseOffset : logEndOffset;
            boolean lastAndEmpty = i + 1 == all.size() && seg.size() == 0;
            if (lastAndEmpty || upperBound > highWatermark) {
                break;
            }
            boolean byStart = i + 1 < all.size() && all.get(i + 1).baseOffset <= logStartOffset;
            boolean byTime = cfg.deleteRetention() && cfg.retentionMs() >= 0
                    && now - seg.largestTimestamp() > cfg.retentionMs();
            boolean bySize = cfg.deleteRetention() && cfg.retentionBytes() >= 0 && bytesOverLimit - seg.size() >= 0;
            if (!(byStart || byTime || bySize)) {
                break;
            }
            bytesOverLimit -= seg.size();
            doomed.add(seg);
        }
        return doomed;
    }

    /**
     * Moves the log start offset forward to {@code offset} (DeleteRecords) and deletes the segments wholly
     * below it. Returns the new log start offset.
     *
     * @throws OffsetOutOfRangeException if offset is above {@code logEndOffset}
     */
    long deleteRecordsBefore(long offset, long logEndOffset) throws IOException {
        if (offset > logEndOffset) {
            throw new OffsetOutOfRangeException("Cannot delete records of " + tp + " before " + offset
                    + ": above log end offset " + logEndOffset);
        }
        if (offset <= logStartOffset) {
            return logStartOffset;
        }
        // checkpointed with the log directory's (periodically, at shutdown, and soon after by the broker)
        logStartOffset = offset;
        epochCache.truncateFromStart(offset);
        deleteSegments(segments.endingAtOrBelow(offset));
        return logStartOffset;
    }

    /** Restarts the log at {@code offset} (a truncation of the whole log); the segments are the caller's. */
    void resetLogStartOffset(long offset) {
        // the log start is the new segment's base: its file keeps it, no checkpoint needed
        logStartOffset = offset;
    }

    /**
     * Removes {@code doomed} (leading segments, never all of them) from the segment set, moves the log
     * start offset up to the first segment left, and schedules the files' deletion.
     */
    void deleteSegments(List<LogSegment> doomed) throws IOException {
        if (doomed.isEmpty()) {
            return;
        }
        long now = time.milliseconds();
        for (LogSegment seg : doomed) {
            segments.remove(seg.baseOffset);
        }
        long newStart = Math.max(logStartOffset, segments.firstBaseOffset());
        if (newStart != logStartOffset) {
            // the first segment's base: its file keeps it
            logStartOffset = newStart;
            epochCache.truncateFromStart(newStart);
        }
        for (LogSegment seg : doomed) {
            scheduleDelete(seg, now);
        }
        producerState.deleteSnapshotsBelow(segments.firstBaseOffset());
    }

    /**
     * Renames a segment already removed from the set to {@code *.deleted}; its files go after
     * file.delete.delay.ms from {@code now}.
     */
    void scheduleDelete(LogSegment seg, long now) throws IOException {
        seg.renameToDeleted();
        pendingDeletes.add(new PendingDelete(seg, now + config.get().fileDeleteDelayMs()));
    }

    /** Closes and removes the files whose delete delay has passed; returns how many segments went. */
    int deleteScheduledFiles() throws IOException {
        long now = time.milliseconds();
        int n = 0;
        while (!pendingDeletes.isEmpty() && pendingDeletes.peekFirst().dueMs() <= now) {
            pendingDeletes.pollFirst().segment().closeAndDelete();
            n++;
        }
        return n;
    }

    /** Closes and removes every pending segment now, delay or not (close). */
    void deleteAllScheduledFiles() throws IOException {
        for (PendingDelete p : pendingDeletes) {
            p.segment().closeAndDelete();
        }
        pendingDeletes.clear();
    }

    /** Closes the handles of every pending segment and forgets them; their files go with the directory. */
    void dropScheduledFiles() throws IOException {
        for (PendingDelete p : pendingDeletes) {
            p.segment().closeHandlersOnly();
        }
        pendingDeletes.clear();
    }
}
