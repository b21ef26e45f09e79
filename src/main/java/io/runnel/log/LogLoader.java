package io.runnel.log;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a partition directory into a {@link LogSegments} and recovers it, as Kafka's {@code LogLoader}:
 * <ol>
 * <li>{@code *.deleted} and {@code *.tmp} files are removed, then {@link CleanerRecovery} completes or
 *     discards what an interrupted cleaning left ({@code .swap}, {@code .cleaned});</li>
 * <li>every {@code <base>.log} is opened; index files without a log are removed; a directory without
 *     segments (a new log, or one whose creation a crash cut short) gets one empty segment at the
 *     checkpointed log start offset and has nothing to recover;</li>
 * <li>the recovery point and log start offset come from the log directory's checkpoints
 *     ({@link LogDirCheckpoints}); a log of the old layout without an entry there reads its own
 *     {@code recovery-point} and {@code log-start-offset} files (version line {@code 0}, then the offset),
 *     which are returned in {@link LoadedLog#legacyFiles} to be removed once the checkpoints hold the log.
 *     A new directory drops entries a deleted partition of the same name left;</li>
 * <li>after an unclean shutdown (no {@code clean-shutdown} marker) every segment from the one holding the
 *     recovery point is scanned: CRCs checked, indexes and leader epochs rebuilt, a torn or corrupt
 *     tail truncated and every later segment deleted. A segment below the recovery point is scanned only
 *     when its indexes are missing or fail their sanity check (a non-empty segment with an empty time
 *     index fails it: its largest timestamp would be lost), and its batch headers are read for their
 *     leader epochs when the {@code leader-epoch-checkpoint} is missing or could not be read;</li>
 * <li>the leader-epoch cache is cut to the recovered log, producer state is reloaded from the newest
 *     snapshot and the batches after it ({@link #rebuildProducerState}), and the scanned segments are
 *     flushed so the next crash (once the log directory's checkpoint has the new recovery point) need not
 *     rescan them.</li>
 * </ol>
 *
 * <p>Invariants on return: the segment set is not empty, its last segment is the active one (indexes at
 * full size, the others trimmed), {@code logStartOffset <= logEndOffset} and
 * {@code recoveryPoint <= logEndOffset} (equal after a clean shutdown, which flushed everything whatever
 * the checkpoint, written after the close, says); the {@code clean-shutdown} marker is gone and its removal
 * fsynced, so a crash from here on is recovered as unclean: a marker that came back after a power loss
 * would skip the recovery of what is appended next.
 *
 * <p>Threading: blocking file I/O, run once by {@link PartitionLog#open} before the log exists for any
 * other thread; not thread-safe. {@link #rebuildProducerState} is also called by the owner after a
 * truncation.
 */
final class LogLoader {

    private static final Logger LOG = LoggerFactory.getLogger(LogLoader.class);

    /**
     * Where the loaded log starts, is known flushed to, and ends; {@code legacyFiles} are its per-partition
     * files of the old layout, for {@link LogDirCheckpoints#register} to remove once replaced.
     */
    record LoadedLog(long logStartOffset, long recoveryPoint, long logEndOffset, List<Path> legacyFiles) {
    }

    private final TopicPartition tp;
    private final Path dir;
    private final LogConfig config;
    private final Time time;
    private final LogSegments segments;
    private final LeaderEpochCache epochCache;
    private final ProducerStateManager producerState;
    private final LogDirCheckpoints checkpoints;
    // what the last load scanned (CRCs checked, indexes rebuilt): how much a crash cost, for logs and tests
    private int segmentsRecovered;
    private long bytesRecovered;

    LogLoader(TopicPartition tp, Path dir, LogConfig config, Time time, LogSegments segments,
              LeaderEpochCache epochCache, ProducerStateManager producerState, LogDirCheckpoints checkpoints) {
        this.tp = tp;
        this.dir = dir;
        this.config = config;
        this.time = time;
        this.segments = segments;
        this.epochCache = epochCache;
        this.producerState = producerState;
        this.checkpoints = checkpoints;
    }

    /**
     * Fills the (empty) segment set from the directory and recovers it; see the class comment.
     * {@code existed}: whether the directory was there before the log's open created it.
     */
    LoadedLog load(boolean existed) throws IOException {
        Path cleanMarker = dir.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE);
        boolean hadMarker = Files.exists(cleanMarker);
        removeTempAndDeletedFiles();
        CleanerRecovery.recover(dir, tp);
        TreeSet<Long> bases = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + LogSegment.LOG_SUFFIX)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                try {
                    bases.add(Long.parseLong(name.substring(0, name.length() - LogSegment.LOG_SUFFIX.length())));
                } catch (NumberFormatException e) {
                    LOG.warn("Ignoring unexpected file {}", p);
                }
            }
        }
        deleteOrphanIndexes(bases);
        if (!existed) {
            // a new directory: entries left by a deleted partition of the same name are not this log's
            checkpoints.forget(tp);
        }
        List<Path> legacy = new ArrayList<>();
        long persistedStart = checkpointed(checkpoints.logStartOffset(tp), PartitionLog.LOG_START_OFFSET_FILE, legacy);
        long recoveryPoint = checkpointed(checkpoints.recoveryPoint(tp), PartitionLog.RECOVERY_POINT_FILE, legacy);
        long recoveryPointBefore = recoveryPoint;
        // no segment at all (a new log, or one whose creation a crash cut short): nothing to recover
        boolean fresh = bases.isEmpty();
        boolean clean = hadMarker || fresh;
        if (fresh) {
            bases.add(persistedStart);
        }
        long nextOffset = bases.first();
        Set<Long> missingIndexes = new HashSet<>();
        for (long base : bases) {
            if (!fresh && (!Files.exists(dir.resolve(LogSegment.fileName(base, LogSegment.INDEX_SUFFIX)))
                    || !Files.exists(dir.resolve(LogSegment.fileName(base, LogSegment.TIME_INDEX_SUFFIX))))) {
                missingIndexes.add(base);
            }
            segments.add(LogSegment.open(dir, base, config, time, segments.channels()));
        }
        // unclean: scan from the segment holding the recovery point; later segments after a torn one go
        List<LogSegment> all = segments.toList();
        Long recoverFrom = null;
        if (!clean) {
            LogSegment floor = segments.floorSegment(recoveryPoint);
            recoverFrom = floor == null ? all.get(0).baseOffset : floor.baseOffset;
        }
        boolean dropRest = false;
        // the first segment scanned: its transaction index and those after it are rebuilt by the replay below
        long reindexFrom = Long.MAX_VALUE;
        // a damaged or missing leader-epoch-checkpoint: the segments not scanned below give their epochs from
        // their batch headers (for a log with data and no epoch at all, as the file holds an entry per epoch)
        boolean epochsLost = !fresh && epochCache.latestEpoch() < 0;
        if (epochsLost && epochCache.loadedMalformed()) {
            LOG.warn("{}: rebuilding the leader-epoch cache from the batches of every segment", tp);
        }
        for (LogSegment seg : all) {
            if (dropRest) {
                LOG.warn("{}: deleting segment {} after a truncated one", tp, seg);
                segments.remove(seg.baseOffset);
                seg.closeAndDelete();
                continue;
            }
            boolean scan = recoverFrom != null && seg.baseOffset >= recoverFrom;
            if (!scan && (missingIndexes.contains(seg.baseOffset) || !seg.indexesSane())) {
                LOG.warn("{}: rebuilding corrupt or missing index of {}", tp, seg);
                scan = true;
            }
            if (scan) {
                reindexFrom = Math.min(reindexFrom, seg.baseOffset);
                segmentsRecovered++;
                bytesRecovered += seg.size();
                int truncated = seg.recover(nextOffset, epochCache::assignIfNewer);
                if (truncated > 0) {
                    LOG.warn("{}: truncated {} invalid bytes at the end of {}", tp, truncated, seg);
                    dropRest = true;
                }
            } else if (epochsLost) {
                try (var pin = seg.pin()) {
                    for (LogBatch batch : seg.batchesFrom(0, seg.size())) {
                        epochCache.assignIfNewer(batch);
                    }
                }
            }
            nextOffset = seg.readNextOffset();
        }
        LogSegment active = segments.lastSegment();
        active.resizeIndexes(config.segmentIndexBytes());
        for (LogSegment seg : segments.values()) {
            if (seg != active) {
                seg.onBecomeInactive();
            }
        }
        long leo = nextOffset;
        long logStartOffset = Math.max(persistedStart, segments.firstBaseOffset());
        if (logStartOffset > leo) {
            logStartOffset = leo;
        }
        // a clean close flushed everything, whatever the checkpoint (written after the close) says
        recoveryPoint = clean ? leo : Math.min(leo, recoveryPoint);
        epochCache.truncateFromEnd(leo);
        epochCache.truncateFromStart(logStartOffset);
        if (reindexFrom != Long.MAX_VALUE) {
            // a segment scanned for its indexes below the recovery point leaves the ones after it to rebuild too
            for (LogSegment seg : segments.valuesFrom(reindexFrom)) {
                seg.txnIndex().reset();
            }
        }
        rebuildProducerState(producerState, segments, logStartOffset, leo, time, reindexFrom);
        if (hadMarker) {
            Files.delete(cleanMarker);
            // durable before anything is appended: a marker that came back after a power loss would skip the
            // recovery of what was appended since
            Checkpoints.fsyncDir(dir);
        }
        if (!clean) {
            // what was just scanned is valid now: flushed, so the next crash (once the log directory's
            // checkpoint has this recovery point) does not rescan it
            LogFlusher.flushSegments(segments.valuesFrom(recoverFrom));
            recoveryPoint = leo;
        }
        // every segment is on disk now: below the recovery point it was synced before, above it just now, and a
        // clean shutdown synced everything; so closing an idle log opens no evicted segment file to sync it
        for (LogSegment seg : segments.values()) {
            seg.markSynced();
        }
        if (segmentsRecovered > 0) {
            LOG.info("{}: recovered {} segment(s), {} bytes, from recovery point {} (clean shutdown: {})", tp,
                    segmentsRecovered, bytesRecovered, recoverFrom == null ? "-" : recoveryPointBefore, clean);
        }
        LOG.debug("{}: opened {} segments, log start {}, log end {}, clean {}", tp, segments.numberOfSegments(),
                logStartOffset, leo, clean);
        return new LoadedLog(logStartOffset, recoveryPoint, leo, List.copyOf(legacy));
    }

    /** How many segments the last {@link #load} scanned (unflushed after a crash, or with bad indexes). */
    int segmentsRecovered() {
        return segmentsRecovered;
    }

    /** The bytes of the segments the last {@link #load} scanned. */
    long bytesRecovered() {
        return bytesRecovered;
    }

    /**
     * {@code fromCheckpoint} if the log directory's checkpoint has it (not -1), else the value of the old
     * layout's per-partition file {@code legacyName} (added to {@code legacy} to be removed), else 0.
     */
    private long checkpointed(long fromCheckpoint, String legacyName, List<Path> legacy) throws IOException {
        Path file = dir.resolve(legacyName);
        if (!Files.exists(file)) {
            return Math.max(fromCheckpoint, 0L);
        }
        legacy.add(file);
        return fromCheckpoint >= 0 ? fromCheckpoint : Checkpoints.readOffset(file, 0L);
    }

    private void removeTempAndDeletedFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(LogSegment.DELETED_SUFFIX) || name.endsWith(".tmp")) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private void deleteOrphanIndexes(TreeSet<Long> bases) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                for (String suffix : List.of(LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX, TransactionIndex.SUFFIX)) {
                    if (name.endsWith(suffix)) {
                        try {
                            long base = Long.parseLong(name.substring(0, name.length() - suffix.length()));
                            if (!bases.contains(base)) {
                                Files.deleteIfExists(p);
                            }
                        } catch (NumberFormatException e) {
                            // not ours
                        }
                    }
                }
            }
        }
    }

    /**
     * Producer state for a log ending at {@code leo}: the newest valid snapshot at or below it, then a
     * replay of every batch after it (from {@code logStartOffset} when there is no snapshot). Owner only,
     * with nothing appended since the log end was last published, so each segment's size is its end.
     */
    static void rebuildProducerState(ProducerStateManager producerState, LogSegments segments, long logStartOffset,
                                     long leo, Time time) throws IOException {
        rebuildProducerState(producerState, segments, logStartOffset, leo, time, Long.MAX_VALUE);
    }

    /**
     * As {@link #rebuildProducerState(ProducerStateManager, LogSegments, long, long, Time)}, also rebuilding the
     * transaction indexes (emptied by the segments' recovery) of the segments from {@code reindexFrom} on: the
     * replay then starts at a snapshot at or below it, so every transaction open there is known with its first
     * offset, and each abort closed in those segments goes to its segment's index as the append wrote it.
     */
    static void rebuildProducerState(ProducerStateManager producerState, LogSegments segments, long logStartOffset,
                                     long leo, Time time, long reindexFrom) throws IOException {
        producerState.deleteSnapshotsAbove(leo);
        if (reindexFrom < leo) {
            // the replay starts at or below the first rescanned segment, so the snapshots above it are rebuilt by
            // it: left on disk they would describe a state the rebuilt transaction indexes no longer match
            producerState.discardSnapshotsAbove(reindexFrom);
        }
        OptionalLong snap = producerState.loadLatestSnapshot(Math.min(leo, reindexFrom), time.milliseconds(),
                ProducerStateManager.DEFAULT_PRODUCER_ID_EXPIRATION_MS);
        long from = snap.isPresent() ? Math.max(snap.getAsLong(), logStartOffset) : logStartOffset;
        if (snap.isEmpty()) {
            producerState.clear(from);
        }
        for (LogSegment seg : segments.valuesFrom(from)) {
            int maxPosition = seg.size();
            LogSegment.BatchPosition start = seg.translateOffset(from, maxPosition);
            if (start == null) {
                continue;
            }
            ProducerStateManager.AbortedTxnSink sink = seg.baseOffset >= reindexFrom ? seg.txnIndex()::append : null;
            try (var pin = seg.pin()) {
                for (LogBatch batch : seg.batchesFrom(start.position(), maxPosition)) {
                    if (batch.lastOffset() >= from) {
                        producerState.replay(batch, sink);
                    }
                }
            }
        }
        producerState.setMapEndOffset(leo);
    }
}
