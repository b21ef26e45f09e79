package io.runnel.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

import org.apache.kafka.common.utils.Time;

/**
 * When and how far a partition log is forced to disk: Kafka's {@code flush.messages} / {@code flush.ms}
 * decision and its recovery point.
 *
 * <p>The recovery point is the offset below which every byte has been fsynced, persisted in the
 * directory's {@code recovery-point} file (version line {@code 0}, then the offset); after a crash the
 * {@link LogLoader} rescans only from the segment holding it. A flush forces every segment from the one
 * holding the recovery point to the active one, then the directory itself when a roll created segment
 * files since the last flush, and only then moves the recovery point to the log end it was given.
 *
 * <p>Invariants: {@code recoveryPoint <= logEndOffset} (a truncation lowers it first);
 * {@code unflushedMessages} counts offsets appended since the last flush and is reset only by a flush
 * that succeeded.
 *
 * <p>Threading: every method but {@link #flushCount()} is called by the partition's owner, the mutating
 * ones on a context that may block on the disk; {@link #flushCount()} may be read from any thread
 * (metrics). An {@link IOException} leaves the counters untouched; the log turns it into its offline state.
 */
final class LogFlusher {

    private final Path dir;
    private final Time time;
    private final Supplier<LogConfig> config;
    private final LogSegments segments;
    private long recoveryPoint;
    private long unflushedMessages;
    private volatile long flushCount;
    private long lastFlushMs;
    private boolean dirNeedsFsync;

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
    }

    /** A roll created segment files: the next flush fsyncs the directory too. */
    void segmentCreated() {
        dirNeedsFsync = true;
    }

    /** Whether flush.messages or flush.ms call for a flush now. */
    boolean flushDue() {
        LogConfig cfg = config.get();
        boolean byCount = unflushedMessages >= cfg.flushMessages();
        boolean byTime = unflushedMessages > 0 && cfg.flushMs() != Long.MAX_VALUE
                && time.milliseconds() - lastFlushMs >= cfg.flushMs();
        return byCount || byTime;
    }

    /** Forces every segment from the recovery point, then moves the recovery point to {@code logEndOffset}. */
    void flush(long logEndOffset) throws IOException {
        flushCount++;
        flushSegments(segments.valuesFrom(recoveryPoint));
        if (dirNeedsFsync) {
            // new segment files must survive a power loss along with their data
            Checkpoints.fsyncDir(dir);
            dirNeedsFsync = false;
        }
        if (logEndOffset > recoveryPoint) {
            recoveryPoint = logEndOffset;
            Checkpoints.writeOffset(dir.resolve(PartitionLog.RECOVERY_POINT_FILE), recoveryPoint);
        }
        unflushedMessages = 0;
        lastFlushMs = time.milliseconds();
    }

    /** The log was cut to end at {@code offset}: nothing above it is flushed any more. */
    void truncatedTo(long offset) throws IOException {
        recoveryPoint = Math.min(recoveryPoint, offset);
        Checkpoints.writeOffset(dir.resolve(PartitionLog.RECOVERY_POINT_FILE), recoveryPoint);
    }

    static void flushSegments(Iterable<LogSegment> segs) throws IOException {
        for (LogSegment seg : segs) {
            seg.flush();
        }
    }
}
