package io.runnel.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.apache.kafka.common.utils.Time;

/**
 * When and how far a partition log is forced to disk: Kafka's {@code flush.messages} / {@code flush.ms}
 * decision and its recovery point.
 *
 * <p>The recovery point is the offset below which every byte has been fsynced. It is persisted, as in
 * Kafka, in the log directory's {@code recovery-point-offset-checkpoint} ({@link LogDirCheckpoints}),
 * written periodically and at shutdown from {@link #recoveryPoint()}, not by a flush; after a crash the
 * {@link LogLoader} rescans only from the segment holding the checkpointed one, which may be older than
 * the truth (a longer rescan, never a skipped one). A flush forces every segment from the one holding the
 * recovery point to the active one, then the directory itself when a roll created segment files since the
 * last flush, and only then moves the recovery point to the log end it was given. A flush with nothing
 * appended, rolled or truncated since the last one forces nothing, so closing an idle log fsyncs nothing.
 *
 * <p>Invariants: {@code recoveryPoint <= logEndOffset} (a truncation lowers it first, and
 * {@link #truncatedTo} reports it, so that the log writes the checkpoint at once: a checkpointed recovery
 * point above the cut could let a crash skip the scan of what is appended after it);
 * {@code unflushedMessages} counts offsets appended since the last flush and is reset only by a flush
 * that succeeded or found nothing to force.
 *
 * <p>Threading: every method but {@link #flushCount()} and {@link #recoveryPoint()} is called by the
 * partition's owner, the mutating ones on a context that may block on the disk; those two are volatile
 * and may be read from any thread (metrics, the log directory's checkpoint writer). An {@link IOException}
 * leaves the counters untouched; the log turns it into its offline state.
 */
final class LogFlusher {

    private final Path dir;
    private final Time time;
    private final Supplier<LogConfig> config;
    private final LogSegments segments;
    // volatile: the log directory's checkpoint reads it from its own thread
    private volatile long recoveryPoint;
    private long unflushedMessages;
    private volatile long flushCount;
    private long lastFlushMs;
    private boolean dirNeedsFsync;
    // segment files changed (append, roll, truncation) since the last flush; a flush without it is a no-op
    private boolean unflushedChanges;
    // the base offset of the newest segment a roll started since the last flush, -1 for none
    private long rolledTo = -1;

    LogFlusher(Path dir, Time time, Supplier<LogConfig> config, LogSegments segments, long recoveryPoint,
               long lastFlushMs) {
        this.dir = dir;
        this.time = time;
        this.config = config;
        this.segments = segments;
        this.recoveryPoint = recoveryPoint;
        this.lastFlushMs = lastFlushMs;
    }

    long recoveryPoint() {
        return recoveryPoint;
    }

    long flushCount() {
        return flushCount;
    }

    /** {@code messages} offsets were appended (flush.messages counts them). */
    void appended(long messages) {
        unflushedMessages += messages;
        unflushedChanges = true;
    }

    /** Segment files were created: the next flush fsyncs the directory too. */
    void segmentCreated() {
        dirNeedsFsync = true;
        unflushedChanges = true;
    }

    /** A roll started a new segment at {@code newBase}: the segments below it are to be flushed. */
    void rolled(long newBase) {
        segmentCreated();
        rolledTo = Math.max(rolledTo, newBase);
    }

    /** Whether a roll left segments below the new one unflushed ({@link #flushUpTo} with {@link #rolledTo}). */
    boolean rollFlushDue() {
        return rolledTo > recoveryPoint;
    }

    /** The base offset of the newest segment rolled since the last flush, or -1. */
    long rolledTo() {
        return rolledTo;
    }

    /** Whether flush.messages or flush.ms call for a flush now. */
    boolean flushDue() {
        LogConfig cfg = config.get();
        boolean byCount = unflushedMessages >= cfg.flushMessages();
        boolean byTime = unflushedMessages > 0 && cfg.flushMs() != Long.MAX_VALUE
                && time.milliseconds() - lastFlushMs >= cfg.flushMs();
        return byCount || byTime;
    }

    /**
     * Forces every segment from the recovery point, then moves the recovery point to {@code logEndOffset};
     * nothing (not counted as a flush) when no segment file changed since the last flush.
     */
    void flush(long logEndOffset) throws IOException {
        if (!unflushedChanges && !dirNeedsFsync && logEndOffset <= recoveryPoint) {
            // nothing written since the last flush (a close of an idle log fsyncs nothing)
            unflushedMessages = 0;
            lastFlushMs = time.milliseconds();
            return;
        }
        flushCount++;
        flushSegments(segments.valuesFrom(recoveryPoint));
        if (dirNeedsFsync) {
            // new segment files must survive a power loss along with their data
            Checkpoints.fsyncDir(dir);
            dirNeedsFsync = false;
        }
        if (logEndOffset > recoveryPoint) {
            // checkpointed with the log directory's; until then a crash rescans from the older one
            recoveryPoint = logEndOffset;
        }
        unflushedChanges = false;
        unflushedMessages = 0;
        rolledTo = -1;
        lastFlushMs = time.milliseconds();
    }

    /**
     * Kafka's {@code flushUptoOffsetExclusive}: forces the segments from the one holding the recovery point
     * up to (not including) the one starting at {@code offset}, a segment boundary, and the directory when
     * segment files were created since the last flush, then moves the recovery point to {@code offset}.
     * What was appended at or above it stays counted for flush.messages and flush.ms. Nothing when the
     * recovery point is already there.
     */
    void flushUpTo(long offset, long logEndOffset) throws IOException {
        if (offset <= recoveryPoint || offset > logEndOffset) {
            if (rolledTo <= recoveryPoint) {
                rolledTo = -1;
            }
            return;
        }
        flushCount++;
        List<LogSegment> below = new ArrayList<>();
        for (LogSegment seg : segments.valuesFrom(recoveryPoint)) {
            if (seg.baseOffset >= offset) {
                break;
            }
            below.add(seg);
        }
        flushSegments(below);
        if (dirNeedsFsync) {
            // the new segments' files (the active one's too) must survive a power loss
            Checkpoints.fsyncDir(dir);
            dirNeedsFsync = false;
        }
        recoveryPoint = offset;
        if (rolledTo <= offset) {
            rolledTo = -1;
        }
        long stillUnflushed = logEndOffset - offset;
        unflushedMessages = Math.min(unflushedMessages, stillUnflushed);
        if (stillUnflushed == 0) {
            // only then: what was appended since the roll keeps its flush.ms deadline from the last flush
            unflushedChanges = false;
            lastFlushMs = time.milliseconds();
        }
    }

    /**
     * The log was cut to end at {@code offset}: nothing above it is flushed any more, and the cut segment
     * files are to be forced by the next flush. Returns whether the recovery point moved down, in which case
     * the caller writes the log directory's recovery-point checkpoint at once.
     */
    boolean truncatedTo(long offset) {
        unflushedChanges = true;
        if (rolledTo > offset) {
            // the rolled segment is gone; the next flush forces what is left
            rolledTo = -1;
        }
        if (offset < recoveryPoint) {
            recoveryPoint = offset;
            return true;
        }
        return false;
    }

    static void flushSegments(Iterable<LogSegment> segs) throws IOException {
        for (LogSegment seg : segs) {
            seg.flush();
        }
    }
}
