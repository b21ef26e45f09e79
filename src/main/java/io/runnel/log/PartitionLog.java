package io.runnel.log;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.requests.ListOffsetsRequest;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log of one partition: a directory of segments in Kafka's on-disk format.
 *
 * <p>Directory: {@code %020d.log/.index/.timeindex} per segment, {@code %020d.snapshot} producer-state
 * snapshots (see {@link ProducerStateManager}), {@code leader-epoch-checkpoint} (Kafka's format), and
 * {@code clean-shutdown} while the log is cleanly closed. The recovery point and log start offset are kept
 * in the log directory's checkpoints ({@link LogDirCheckpoints}), as Kafka keeps them; logs written before
 * kept them in {@code recovery-point} and {@code log-start-offset} files here (version line {@code 0},
 * then the offset), which are read once and removed. Deleted segments are renamed
 * {@code *.deleted} and removed after {@code file.delete.delay.ms} by {@link #deleteScheduledFiles()};
 * leftovers are removed on open.
 *
 * <p>Threading: not thread-safe for writers. {@code append*}, {@code deleteRecordsBefore},
 * {@code deleteExpiredSegments}, {@code deleteScheduledFiles}, {@code truncateTo}, {@code flush*},
 * {@code updateConfig}, {@code close} and {@code delete} are called by the partition's owner only, on a
 * context that may block on the disk. {@code read}, {@code logStartOffset}, {@code logEndOffset},
 * {@code sizeInBytes}, {@code latestEpoch}, {@code endOffsetForEpoch} and {@code offsetForTimestamp} may
 * be called from any thread concurrently with the owner and never see a partially appended batch: the
 * owner writes the bytes first and then publishes the new end (offset, segment, position) through one
 * volatile field, which bounds every read.
 */
public final class PartitionLog implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);

    static final String RECOVERY_POINT_FILE = "recovery-point";
    static final String LOG_START_OFFSET_FILE = "log-start-offset";
    static final String CLEAN_SHUTDOWN_FILE = "clean-shutdown";

    /** The published end of the log: readers never look past it. */
    private record LogEnd(long offset, LogSegment segment, int position) {
    }

    private record PendingDelete(LogSegment segment, long dueMs) {
    }

    private final TopicPartition tp;
    private final Path dir;
    private final Time time;
    private volatile LogConfig config;
    private final ConcurrentSkipListMap<Long, LogSegment> segments = new ConcurrentSkipListMap<>();
    private volatile LogEnd end;
    private volatile long logStartOffset;
    // volatile: the log directory's checkpoint reads it from its own thread
    private volatile long recoveryPoint;
    private long unflushedMessages;
    private volatile long flushCount;
    private long lastFlushMs;
    private final ProducerStateManager producerState;
    private final LeaderEpochCache epochCache;
    private final LogDirCheckpoints checkpoints;
    // a log opened on its own keeps its checkpoints in its own directory and writes them on close
    private final boolean ownsCheckpoints;
    private final ArrayDeque<PendingDelete> pendingDeletes = new ArrayDeque<>();
    private boolean dirNeedsFsync;
    // segment files changed (append, roll, truncation) since the last flush; a flush without it is a no-op
    private boolean unflushedChanges;
    private volatile boolean failed;
    private boolean closed;
    // counts truncations, so that the cleaner never swaps in segments cleaned from a log cut meanwhile
    private volatile long truncations;

    private PartitionLog(TopicPartition tp, Path dir, LogConfig config, Time time, LogDirCheckpoints checkpoints,
                         boolean ownsCheckpoints) throws IOException {
        this.tp = tp;
        this.checkpoints = checkpoints;
        this.ownsCheckpoints = ownsCheckpoints;
        this.dir = dir;
        this.config = config;
        this.time = time;
        this.producerState = new ProducerStateManager(dir);
        this.epochCache = new LeaderEpochCache(dir);
        this.lastFlushMs = time.milliseconds();
    }

    /**
     * Opens (creating if absent) the log in {@code dir}, recovering it: a torn tail is truncated, CRCs
     * are checked from the recovery point, indexes are rebuilt where missing or corrupt, and producer
     * state is rebuilt. The log keeps its recovery point and log start offset in checkpoint files of its
     * own directory, written when it closes (tests, tools); a broker passes its log directory's
     * {@link LogDirCheckpoints} instead.
     */
    public static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time) throws IOException {
        return open(tp, dir, config, time, new LogDirCheckpoints(dir), true);
    }

    /**
     * As {@link #open(TopicPartition, Path, LogConfig, Time)}, with the recovery point and log start offset
     * kept in {@code checkpoints}, those of {@code dir}'s parent, whose owner writes them.
     */
    public static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time,
                                    LogDirCheckpoints checkpoints) throws IOException {
        return open(tp, dir, config, time, checkpoints, false);
    }

    private static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time,
                                     LogDirCheckpoints checkpoints, boolean owns) throws IOException {
        boolean existed = Files.isDirectory(dir);
        Files.createDirectories(dir);
        PartitionLog log = new PartitionLog(tp, dir, config, time, checkpoints, owns);
        try {
            log.load(existed);
        } catch (IOException | RuntimeException e) {
            log.closeQuietly();
            throw e;
        }
        return log;
    }

    // ------------------------------------------------------------------ loading and recovery

    private void load(boolean existed) throws IOException {
        Path cleanMarker = dir.resolve(CLEAN_SHUTDOWN_FILE);
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
        long persistedStart = checkpointed(checkpoints.logStartOffset(tp), LOG_START_OFFSET_FILE, legacy);
        recoveryPoint = checkpointed(checkpoints.recoveryPoint(tp), RECOVERY_POINT_FILE, legacy);
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
            segments.put(base, LogSegment.open(dir, base, config, time));
        }
        // unclean: scan from the segment holding the recovery point; later segments after a torn one go
        List<LogSegment> all = new ArrayList<>(segments.values());
        Long recoverFrom = null;
        if (!clean) {
            Long floor = segments.floorKey(recoveryPoint);
            recoverFrom = floor == null ? all.get(0).baseOffset : floor;
        }
        boolean dropRest = false;
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
                int truncated = seg.recover(nextOffset, batch -> epochCache(batch));
                if (truncated > 0) {
                    LOG.warn("{}: truncated {} invalid bytes at the end of {}", tp, truncated, seg);
                    dropRest = true;
                }
            }
            nextOffset = seg.readNextOffset();
        }
        LogSegment active = segments.lastEntry().getValue();
        active.resizeIndexes(config.segmentIndexBytes());
        for (LogSegment seg : segments.values()) {
            if (seg != active) {
                seg.onBecomeInactive();
            }
        }
        long leo = nextOffset;
        logStartOffset = Math.max(persistedStart, segments.firstKey());
        if (logStartOffset > leo) {
            logStartOffset = leo;
        }
        // a clean close flushed everything, whatever the checkpoint (written after the close) says
        recoveryPoint = clean ? leo : Math.min(leo, recoveryPoint);
        epochCache.truncateFromEnd(leo);
        epochCache.truncateFromStart(logStartOffset);
        end = new LogEnd(leo, active, active.size());
        rebuildProducerState(leo);
        if (hadMarker) {
            Files.delete(cleanMarker);
            // durable before anything is appended: a marker that came back after a power loss would skip the
            // recovery of what was appended since
            Checkpoints.fsyncDir(dir);
        }
        if (!clean) {
            // what was just scanned is valid now: flushed, so the next crash (once the log directory's
            // checkpoint has this recovery point) does not rescan it
            Long flushFrom = segments.floorKey(recoverFrom);
            flushSegments((flushFrom == null ? segments : segments.tailMap(flushFrom, true)).values());
            recoveryPoint = leo;
        }
        checkpoints.register(this, legacy);
        LOG.debug("{}: opened {} segments, log start {}, log end {}, clean {}", tp, segments.size(),
                logStartOffset, leo, clean);
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

    private void epochCache(LogBatch batch) {
        if (batch.partitionLeaderEpoch() >= 0 && batch.partitionLeaderEpoch() > epochCache.latestEpoch()) {
            try {
                epochCache.assign(batch.partitionLeaderEpoch(), batch.baseOffset());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
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
                for (String suffix : List.of(LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX)) {
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

    /** Newest valid snapshot at or below {@code leo}, then replay of every batch after it. */
    private void rebuildProducerState(long leo) throws IOException {
        producerState.deleteSnapshotsAbove(leo);
        OptionalLong snap = producerState.loadLatestSnapshot(leo, time.milliseconds(),
                ProducerStateManager.DEFAULT_PRODUCER_ID_EXPIRATION_MS);
        long from = snap.isPresent() ? Math.max(snap.getAsLong(), logStartOffset) : logStartOffset;
        if (snap.isEmpty()) {
            producerState.clear(from);
        }
        LogEnd e = end;
        Map.Entry<Long, LogSegment> first = segments.floorEntry(from);
        for (LogSegment seg : (first == null ? segments : segments.tailMap(first.getKey(), true)).values()) {
            int maxPosition = seg == e.segment() ? e.position() : seg.size();
            LogSegment.BatchPosition start = seg.translateOffset(from, maxPosition);
            if (start == null) {
                continue;
            }
            for (LogBatch batch : seg.batchesFrom(start.position(), maxPosition)) {
                if (batch.lastOffset() >= from) {
                    producerState.replay(batch);
                }
            }
        }
        producerState.setMapEndOffset(leo);
    }

    // ------------------------------------------------------------------ accessors

    public TopicPartition topicPartition() {
        return tp;
    }

    public Path dir() {
        return dir;
    }

    public LogConfig config() {
        return config;
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    public long logEndOffset() {
        return end.offset();
    }

    /** Total bytes of all segments. */
    public long sizeInBytes() {
        long total = 0;
        for (LogSegment seg : segments.values()) {
            total += seg.size();
        }
        return total;
    }

    /** Number of segments (tests and metrics). */
    public int numberOfSegments() {
        return segments.size();
    }

    /** Base offsets of the segments, oldest first (tests and admin). */
    public List<Long> segmentBaseOffsets() {
        return new ArrayList<>(segments.keySet());
    }

    /** Offset up to which the log is known flushed (and will not be rescanned after a crash). */
    public long recoveryPoint() {
        return recoveryPoint;
    }

    // ------------------------------------------------------------------ appends

    /**
     * Validates the producer's batches (magic v2 only, CRC, record count, codec, sizes against
     * max.message.bytes, timestamps, idempotent sequence and epoch) and appends them, assigning offsets
     * and the leader epoch in place. On failure nothing is appended and a kafka-clients ApiException
     * says why (CorruptRecordException, InvalidRecordException, RecordTooLargeException,
     * RecordBatchTooLargeException, OutOfOrderSequenceException, InvalidProducerEpochException,
     * UnsupportedForMessageFormatException, UnsupportedCompressionTypeException, InvalidTimestampException,
     * KafkaStorageException for I/O failure).
     */
    public LogAppendResult appendAsLeader(RecordSet records, int leaderEpoch) {
        checkWritable();
        LogConfig cfg = config;
        long now = time.milliseconds();
        LogValidator.Validated v = LogValidator.validateForLeader(records, cfg, now, tp.toString());
        if (v.batches().isEmpty()) {
            return new LogAppendResult(-1L, -1L, -1L, logStartOffset, 0, 0, false);
        }
        if (v.sizeInBytes() > cfg.segmentBytes()) {
            throw new RecordBatchTooLargeException("Message batch size is " + v.sizeInBytes()
                    + " bytes in append to " + tp + " which exceeds the maximum configured segment size of "
                    + cfg.segmentBytes() + ".");
        }
        long firstOffset = end.offset();
        ProducerStateManager.Append producerAppend = producerState.begin();
        long offset = firstOffset;
        for (LogValidator.BatchInfo info : v.batches()) {
            LogBatch batch = info.batch();
            long last = offset + info.count() - 1;
            if (batch.hasProducerId()) {
                ProducerStateManager.BatchMetadata dup = producerAppend.findDuplicate(batch);
                if (dup != null) {
                    return new LogAppendResult(dup.firstOffset(), dup.lastOffset(), -1L, logStartOffset, 0, 0, true);
                }
                long ts = cfg.logAppendTime() ? now : info.maxTimestamp();
                producerAppend.append(batch, offset, last, ts, true);
            }
            offset = last + 1;
        }
        long lastOffset = LogValidator.assignInPlace(v, firstOffset, leaderEpoch, cfg, now);
        write(v, firstOffset, lastOffset, leaderEpoch, cfg.logAppendTime() ? now : v.maxTimestamp(), producerAppend);
        return new LogAppendResult(firstOffset, lastOffset, cfg.logAppendTime() ? now : -1L, logStartOffset,
                v.recordCount(), v.sizeInBytes(), false);
    }

    /**
     * Appends batches that already carry offsets (a follower's copy of the leader's log; used by
     * replication later). Offsets must start at logEndOffset.
     */
    public LogAppendResult appendAsFollower(RecordSet records) {
        checkWritable();
        long firstOffset = end.offset();
        LogValidator.Validated v = LogValidator.validateForFollower(records, firstOffset, tp.toString());
        if (v.batches().isEmpty()) {
            return new LogAppendResult(-1L, -1L, -1L, logStartOffset, 0, 0, false);
        }
        ProducerStateManager.Append producerAppend = producerState.begin();
        long lastOffset = firstOffset - 1;
        for (LogValidator.BatchInfo info : v.batches()) {
            LogBatch batch = info.batch();
            if (batch.hasProducerId()) {
                producerAppend.append(batch, batch.baseOffset(), batch.lastOffset(), batch.maxTimestamp(), false);
            }
            lastOffset = batch.lastOffset();
        }
        write(v, firstOffset, lastOffset, -1, v.maxTimestamp(), producerAppend);
        return new LogAppendResult(firstOffset, lastOffset, -1L, logStartOffset, v.recordCount(), v.sizeInBytes(),
                false);
    }

    /** Rolls if needed, writes, then updates epochs and producer state and publishes the new end. */
    private void write(LogValidator.Validated v, long firstOffset, long lastOffset, int leaderEpoch,
                       long maxTimestamp, ProducerStateManager.Append producerAppend) {
        try {
            LogSegment seg = maybeRoll(v.sizeInBytes(), maxTimestamp, lastOffset);
            seg.append(v.records());
            if (leaderEpoch >= 0) {
                // a stale leader is fenced by the partition layer; never let it rewrite later epochs here
                if (leaderEpoch > epochCache.latestEpoch()) {
                    epochCache.assign(leaderEpoch, firstOffset);
                }
            } else {
                for (LogValidator.BatchInfo info : v.batches()) {
                    epochCache(info.batch());
                }
            }
            producerState.commit(producerAppend, lastOffset + 1);
            end = new LogEnd(lastOffset + 1, seg, seg.size());
        } catch (IOException | UncheckedIOException e) {
            throw fail("appending to " + tp, e);
        }
        // flush.messages is applied by the owner (flushDue, then one flush for a burst of appends)
        unflushedMessages += lastOffset - firstOffset + 1;
        unflushedChanges = true;
    }

    private LogSegment maybeRoll(int messagesSize, long maxTimestamp, long maxOffset) throws IOException {
        LogSegment active = end.segment();
        long now = time.milliseconds();
        if (active.shouldRoll(config, messagesSize, maxTimestamp, maxOffset, now)) {
            return roll();
        }
        return active;
    }

    /** Closes the active segment for appends and starts a new one at the log end. */
    private LogSegment roll() throws IOException {
        LogEnd e = end;
        long newBase = e.offset();
        LogSegment old = e.segment();
        if (old.baseOffset == newBase && old.size() == 0) {
            return old;
        }
        old.onBecomeInactive();
        producerState.takeSnapshot();
        for (String suffix : List.of(LogSegment.LOG_SUFFIX, LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX)) {
            Files.deleteIfExists(dir.resolve(LogSegment.fileName(newBase, suffix)));
        }
        LogSegment seg = LogSegment.open(dir, newBase, config, time);
        segments.put(newBase, seg);
        end = new LogEnd(newBase, seg, 0);
        dirNeedsFsync = true;
        unflushedChanges = true;
        LOG.debug("{}: rolled new segment at {}", tp, newBase);
        return seg;
    }

    /** Rolls the active segment now if it holds data (admin, tests). */
    public void forceRoll() {
        checkWritable();
        try {
            roll();
        } catch (IOException e) {
            throw fail("rolling " + tp, e);
        }
    }

    // ------------------------------------------------------------------ reads

    /**
     * Reads from {@code fetchOffset}, up to {@code maxBytes} but never past {@code maxOffsetExclusive}
     * (the high watermark for consumers, logEndOffset for replicas). With {@code minOneMessage} the first
     * batch is returned whole even if larger than maxBytes.
     *
     * @throws org.apache.kafka.common.errors.OffsetOutOfRangeException when fetchOffset is below the
     *         log start offset or above the log end offset
     */
    public LogReadResult read(long fetchOffset, int maxBytes, long maxOffsetExclusive, boolean minOneMessage) {
        LogEnd e = end;
        long start = logStartOffset;
        if (fetchOffset < start || fetchOffset > e.offset()) {
            throw new OffsetOutOfRangeException("Offset " + fetchOffset + " is out of range for " + tp
                    + ": log start " + start + ", log end " + e.offset());
        }
        long limit = Math.min(maxOffsetExclusive, e.offset());
        if (fetchOffset >= limit) {
            return new LogReadResult(LogSlice.EMPTY, start, e.offset());
        }
        try {
            Map.Entry<Long, LogSegment> entry = segments.floorEntry(fetchOffset);
            while (entry != null && entry.getKey() <= e.segment().baseOffset) {
                LogSegment seg = entry.getValue();
                int maxPosition = seg == e.segment() ? e.position() : seg.size();
                LogSlice slice = seg.read(fetchOffset, maxBytes, limit, maxPosition, minOneMessage);
                if (slice != null) {
                    return new LogReadResult(slice, start, e.offset());
                }
                entry = segments.higherEntry(entry.getKey());
            }
        } catch (java.nio.channels.ClosedChannelException ex) {
            // the segment was deleted (retention, truncation) and its delete delay passed during the read
            throw new OffsetOutOfRangeException("Offset " + fetchOffset + " of " + tp
                    + " was deleted while reading; log start is now " + logStartOffset);
        } catch (IOException ex) {
            throw fail("reading " + tp, ex);
        }
        if (fetchOffset < logStartOffset) {
            throw new OffsetOutOfRangeException("Offset " + fetchOffset + " was deleted from " + tp
                    + " while reading; log start is now " + logStartOffset);
        }
        return new LogReadResult(LogSlice.EMPTY, start, e.offset());
    }

    /**
     * The first record whose timestamp is at or after {@code timestamp}, through the time index
     * (ListOffsets by timestamp); empty if none. {@code ListOffsetsRequest.MAX_TIMESTAMP} (-3) answers
     * the record with the largest timestamp; {@code EARLIEST_TIMESTAMP} (-2) and {@code EARLIEST_LOCAL_TIMESTAMP}
     * (-4) the log start offset and {@code LATEST_TIMESTAMP} (-1) the log end offset, with timestamp -1.
     */
    public Optional<TimestampOffset> offsetForTimestamp(long timestamp) {
        LogEnd e = end;
        long start = logStartOffset;
        if (timestamp == ListOffsetsRequest.EARLIEST_TIMESTAMP || timestamp == ListOffsetsRequest.EARLIEST_LOCAL_TIMESTAMP) {
            return Optional.of(new TimestampOffset(-1L, start, epochCache.epochForOffset(start)));
        }
        if (timestamp == ListOffsetsRequest.LATEST_TIMESTAMP) {
            return Optional.of(new TimestampOffset(-1L, e.offset(), epochCache.latestEpoch()));
        }
        try {
            if (timestamp == ListOffsetsRequest.MAX_TIMESTAMP) {
                LogSegment best = null;
                for (LogSegment seg : segments.headMap(e.segment().baseOffset, true).values()) {
                    if (seg.maxTimestampSoFar() >= 0 && (best == null || seg.maxTimestampSoFar() > best.maxTimestampSoFar())) {
                        best = seg;
                    }
                }
                if (best == null) {
                    return Optional.empty();
                }
                return Optional.ofNullable(best.maxTimestampRecord(best == e.segment() ? e.position() : best.size()));
            }
            if (timestamp < 0) {
                return Optional.empty();
            }
            for (LogSegment seg : segments.headMap(e.segment().baseOffset, true).values()) {
                if (seg.maxTimestampSoFar() >= timestamp) {
                    int maxPosition = seg == e.segment() ? e.position() : seg.size();
                    TimestampOffset found = seg.findOffsetByTimestamp(timestamp, start, maxPosition);
                    if (found != null) {
                        return Optional.of(found);
                    }
                }
            }
            return Optional.empty();
        } catch (IOException ex) {
            throw fail("searching " + tp + " by timestamp", ex);
        }
    }

    /** Leader epoch of the batch holding the last record, or -1 when empty (ListOffsets latest). */
    public int latestEpoch() {
        return epochCache.latestEpoch();
    }

    /**
     * The end offset of {@code epoch} per the leader-epoch cache (start offset of the next higher
     * epoch, or logEndOffset for the latest), with the largest known epoch at or below the requested
     * one; for OffsetForLeaderEpoch. Returns (epoch, endOffset), or (-1, -1) when unknown.
     */
    public TimestampOffset endOffsetForEpoch(int epoch) {
        return epochCache.endOffsetFor(epoch, end.offset());
    }

    /**
     * Records that {@code epoch} starts at {@code startOffset} (a leader does so at its log end when it
     * takes over, as Kafka's makeLeader, so that followers of an older epoch find where it ended even
     * before the new leader appends). Ignored unless newer than every known epoch.
     */
    public void assignEpochStartOffset(int epoch, long startOffset) {
        checkWritable();
        if (epoch <= epochCache.latestEpoch()) {
            return;
        }
        try {
            epochCache.assign(epoch, startOffset);
        } catch (IOException e) {
            throw fail("recording leader epoch " + epoch + " of " + tp, e);
        }
    }

    // ------------------------------------------------------------------ truncation and retention

    /** Truncates the log to {@code offset} (exclusive), for replica truncation. */
    public void truncateTo(long offset) {
        checkWritable();
        LogEnd e = end;
        try {
            if (offset >= e.offset()) {
                // nothing to cut from the log, but an epoch this replica started at its log end while it
                // led (and wrote nothing in) is not the leader's: keep it and the follower's next fetch
                // reports that epoch again, diverges again, and truncates to here forever (Kafka does the same)
                epochCache.truncateFromEnd(offset);
                return;
            }
            if (offset < logStartOffset || offset <= segments.firstKey()) {
                truncateFullyAndStartAtInternal(offset);
                return;
            }
            truncations++;
            unflushedChanges = true;
            List<LogSegment> doomed = new ArrayList<>(segments.tailMap(offset, false).values());
            LogSegment keep = segments.floorEntry(offset).getValue();
            // readers bounded by the old end could still scan the truncated tail: publish the cut first
            long now = time.milliseconds();
            for (LogSegment seg : doomed) {
                segments.remove(seg.baseOffset);
                scheduleDelete(seg, now);
            }
            end = new LogEnd(keep.baseOffset, keep, 0);
            keep.truncateTo(offset);
            keep.resizeIndexes(config.segmentIndexBytes());
            long newEnd = keep.readNextOffset();
            end = new LogEnd(newEnd, keep, keep.size());
            afterTruncation(newEnd);
        } catch (IOException ex) {
            throw fail("truncating " + tp, ex);
        }
    }

    /**
     * Drops every segment and starts an empty log at {@code offset}: a follower whose log ends below the
     * leader's log start offset (Kafka's truncateFullyAndStartAt).
     */
    public void truncateFullyAndStartAt(long offset) {
        checkWritable();
        try {
            truncateFullyAndStartAtInternal(offset);
        } catch (IOException ex) {
            throw fail("truncating " + tp, ex);
        }
    }

    private void truncateFullyAndStartAtInternal(long offset) throws IOException {
        truncations++;
        unflushedChanges = true;
        long now = time.milliseconds();
        List<LogSegment> doomed = new ArrayList<>(segments.values());
        LogSegment seg = null;
        for (LogSegment old : doomed) {
            segments.remove(old.baseOffset);
            scheduleDelete(old, now);
        }
        seg = LogSegment.open(dir, offset, config, time);
        segments.put(offset, seg);
        // the log start is the new segment's base: its file keeps it, no checkpoint needed
        logStartOffset = offset;
        end = new LogEnd(offset, seg, 0);
        epochCache.truncateFromStart(offset);
        afterTruncation(offset);
    }

    private void afterTruncation(long offset) throws IOException {
        epochCache.truncateFromEnd(offset);
        if (offset < recoveryPoint) {
            recoveryPoint = offset;
            // at once, as Kafka's LogManager.truncateTo: a checkpointed recovery point above the cut would let
            // a crash skip the scan of what is appended after it
            checkpoints.writeRecoveryPoints();
        }
        rebuildProducerState(offset);
    }

    /**
     * Moves the log start offset forward to {@code offset} (DeleteRecords), deleting whole segments
     * below it. Returns the new log start offset.
     *
     * @throws org.apache.kafka.common.errors.OffsetOutOfRangeException if offset is above logEndOffset
     */
    public long deleteRecordsBefore(long offset) {
        checkWritable();
        if (offset > end.offset()) {
            throw new OffsetOutOfRangeException("Cannot delete records of " + tp + " before " + offset
                    + ": above log end offset " + end.offset());
        }
        if (offset <= logStartOffset) {
            return logStartOffset;
        }
        try {
            // checkpointed with the log directory's (periodically, at shutdown, and soon after by the broker)
            logStartOffset = offset;
            epochCache.truncateFromStart(offset);
            deleteSegments(nextBaseAtOrBelow(offset));
        } catch (IOException ex) {
            throw fail("deleting records of " + tp, ex);
        }
        return logStartOffset;
    }

    /** Segments that end at or below {@code offset} (their successor starts at or below it). */
    private List<LogSegment> nextBaseAtOrBelow(long offset) {
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

    /**
     * Applies retention.ms and retention.bytes (when cleanup.policy has delete), never deleting the
     * active segment unless it is empty of unexpired data and rolling it first. Segments are renamed to
     * .deleted and removed after file.delete.delay.ms. Returns the number of segments deleted.
     */
    public int deleteExpiredSegments() {
        return deleteExpiredSegments(end.offset());
    }

    /**
     * As {@link #deleteExpiredSegments()}, deleting only segments wholly below {@code highWatermark}, as
     * Kafka never lets retention remove data not yet replicated. Also removes files whose delete delay
     * has passed and expires idle producers (producer.id.expiration.ms).
     */
    public int deleteExpiredSegments(long highWatermark) {
        checkWritable();
        deleteScheduledFiles();
        LogConfig cfg = config;
        long now = time.milliseconds();
        producerState.removeExpiredProducers(now, ProducerStateManager.DEFAULT_PRODUCER_ID_EXPIRATION_MS);
        List<LogSegment> doomed = new ArrayList<>();
        List<LogSegment> all = new ArrayList<>(segments.values());
        long leo = end.offset();
        long bytesOverLimit = cfg.retentionBytes() < 0 ? 0 : sizeInBytes() - cfg.retentionBytes();
        for (int i = 0; i < all.size(); i++) {
            LogSegment seg = all.get(i);
            long upperBound = i + 1 < all.size() ? all.get(i + 1).baseOffset : leo;
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
        if (doomed.isEmpty()) {
            return 0;
        }
        try {
            if (doomed.size() == segments.size()) {
                // always keep one segment: the new active one starts at the log end
                roll();
            }
            deleteSegments(doomed);
        } catch (IOException ex) {
            throw fail("applying retention to " + tp, ex);
        }
        return doomed.size();
    }

    private void deleteSegments(List<LogSegment> doomed) throws IOException {
        if (doomed.isEmpty()) {
            return;
        }
        long now = time.milliseconds();
        for (LogSegment seg : doomed) {
            segments.remove(seg.baseOffset);
        }
        long newStart = Math.max(logStartOffset, segments.firstKey());
        if (newStart != logStartOffset) {
            // the first segment's base: its file keeps it
            logStartOffset = newStart;
            epochCache.truncateFromStart(newStart);
        }
        for (LogSegment seg : doomed) {
            scheduleDelete(seg, now);
        }
        producerState.deleteSnapshotsBelow(segments.firstKey());
    }

    private void scheduleDelete(LogSegment seg, long now) throws IOException {
        seg.renameToDeleted();
        pendingDeletes.add(new PendingDelete(seg, now + config.fileDeleteDelayMs()));
    }

    /**
     * Closes and removes the files of deleted segments whose file.delete.delay.ms has passed. The owner
     * calls it periodically (deleteExpiredSegments calls it too). Returns how many segments were removed.
     */
    public int deleteScheduledFiles() {
        long now = time.milliseconds();
        int n = 0;
        try {
            while (!pendingDeletes.isEmpty() && pendingDeletes.peekFirst().dueMs() <= now) {
                pendingDeletes.pollFirst().segment().closeAndDelete();
                n++;
            }
        } catch (IOException e) {
            throw fail("removing deleted segments of " + tp, e);
        }
        return n;
    }

    // ------------------------------------------------------------------ cleaning (see Cleaner)

    /** The segments, oldest first, the active one last; any thread (the cleaner manager sizes them). */
    List<LogSegment> segmentList() {
        return new ArrayList<>(segments.values());
    }

    /** What a cleaning starts from, taken on the owner's context. */
    record CleaningSnapshot(List<LogSegment> segments, long truncations, long logStartOffset,
                            Map<Long, Long> producerLastOffsets) {

        LogSegment active() {
            return segments.get(segments.size() - 1);
        }
    }

    /**
     * The segments (oldest first, the active one last), the truncation count and the last data offset of
     * each producer id, as the cleaner needs them. Owner only.
     */
    CleaningSnapshot cleaningSnapshot() {
        checkWritable();
        return new CleaningSnapshot(new ArrayList<>(segments.values()), truncations, logStartOffset,
                producerState.lastOffsets());
    }

    /**
     * Swaps {@code cleaned} (files named {@code .cleaned}, complete and flushed) in for {@code old}, as
     * Kafka's replaceSegments: the cleaned files are renamed {@code .swap}, the segment map takes the new
     * segment, the old segments are renamed {@code .deleted} (their handles stay open for readers until
     * file.delete.delay.ms), and the {@code .swap} suffix is removed. A crash at any step leaves either the
     * old segments or a {@code .swap} that {@link CleanerRecovery} completes. Refused (false, nothing
     * changed) when the log was truncated since {@code snapshot} or an old segment is no longer in the
     * log as it was (retention, DeleteRecords). Owner only.
     */
    boolean replaceSegments(CleaningSnapshot snapshot, List<LogSegment> old, List<Integer> oldSizes,
                            LogSegment cleaned) {
        checkWritable();
        if (truncations != snapshot.truncations()) {
            return false;
        }
        LogSegment active = end.segment();
        for (int i = 0; i < old.size(); i++) {
            LogSegment seg = old.get(i);
            if (segments.get(seg.baseOffset) != seg || seg == active || seg.size() != oldSizes.get(i)) {
                return false;
            }
        }
        try {
            cleaned.renameFiles(CleanerRecovery.SWAP_SUFFIX);
            segments.put(cleaned.baseOffset, cleaned);
            long now = time.milliseconds();
            for (LogSegment seg : old) {
                if (seg.baseOffset != cleaned.baseOffset) {
                    segments.remove(seg.baseOffset);
                }
                scheduleDelete(seg, now);
            }
            cleaned.renameFiles("");
            Checkpoints.fsyncDir(dir);
        } catch (IOException | UncheckedIOException e) {
            throw fail("swapping cleaned segment " + cleaned.baseOffset + " into " + tp, e);
        }
        return true;
    }

    // ------------------------------------------------------------------ flush, config, close

    /** Flushes when flush.messages or flush.ms say so; returns true if it flushed. */
    public boolean flushIfNeeded() {
        if (flushDue()) {
            flush();
            return true;
        }
        return false;
    }

    /** Whether flush.messages or flush.ms call for a flush now (the owner may batch several appends first). */
    public boolean flushDue() {
        LogConfig cfg = config;
        boolean byCount = unflushedMessages >= cfg.flushMessages();
        boolean byTime = unflushedMessages > 0 && cfg.flushMs() != Long.MAX_VALUE
                && time.milliseconds() - lastFlushMs >= cfg.flushMs();
        return byCount || byTime;
    }

    /** How many times {@link #flush()} ran (for metrics and group-commit tests). */
    public long flushCount() {
        return flushCount;
    }

    /** Forces everything appended so far to disk and advances the recovery point. */
    public void flush() {
        checkWritable();
        LogEnd e = end;
        if (!unflushedChanges && !dirNeedsFsync && e.offset() <= recoveryPoint) {
            // nothing written since the last flush (a close of an idle log fsyncs nothing)
            unflushedMessages = 0;
            lastFlushMs = time.milliseconds();
            return;
        }
        flushCount++;
        try {
            Long from = segments.floorKey(recoveryPoint);
            flushSegments((from == null ? segments : segments.tailMap(from, true)).values());
            if (dirNeedsFsync) {
                // new segment files must survive a power loss along with their data
                Checkpoints.fsyncDir(dir);
                dirNeedsFsync = false;
            }
            if (e.offset() > recoveryPoint) {
                // checkpointed with the log directory's; until then a crash rescans from the older one
                recoveryPoint = e.offset();
            }
        } catch (IOException ex) {
            throw fail("flushing " + tp, ex);
        }
        unflushedChanges = false;
        unflushedMessages = 0;
        lastFlushMs = time.milliseconds();
    }

    private static void flushSegments(Iterable<LogSegment> segs) throws IOException {
        for (LogSegment seg : segs) {
            seg.flush();
        }
    }

    public void updateConfig(LogConfig config) {
        this.config = config;
    }

    /** Flushes, writes the producer-state snapshot and clean-shutdown marker, and closes files. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            if (!failed) {
                flush();
                if (end.offset() > logStartOffset) {
                    // an empty log has no producer to remember (Kafka snapshots only a new map end either)
                    producerState.takeSnapshot();
                }
            }
            for (PendingDelete p : pendingDeletes) {
                p.segment().closeAndDelete();
            }
            pendingDeletes.clear();
            for (LogSegment seg : segments.values()) {
                seg.close();
            }
            closed = true;
            checkpoints.closed(this, recoveryPoint, logStartOffset);
            if (ownsCheckpoints) {
                checkpoints.writeAll();
            }
            if (!failed) {
                // no fsync: everything was forced before it exists, and a marker lost to a power loss only
                // means a recovery scan
                Files.write(dir.resolve(CLEAN_SHUTDOWN_FILE), new byte[] {'0', '\n'});
            }
        } catch (IOException | UncheckedIOException e) {
            throw fail("closing " + tp, e);
        }
    }

    /**
     * Drops the file handles as a killed process would: no flush, no snapshot, no clean-shutdown marker
     * (what reaches the page cache stays). For crash-recovery tests.
     */
    void closeWithoutShutdown() {
        closeQuietly();
    }

    private void closeQuietly() {
        for (LogSegment seg : segments.values()) {
            try {
                seg.closeHandlersOnly();
            } catch (IOException e) {
                LOG.debug("{}: closing {} after a failed open", tp, seg, e);
            }
        }
        closed = true;
    }

    /** Closes and removes the whole partition directory (DeleteTopics). */
    public void delete() throws IOException {
        closed = true;
        checkpoints.forget(tp);
        for (LogSegment seg : segments.values()) {
            seg.closeHandlersOnly();
        }
        for (PendingDelete p : pendingDeletes) {
            p.segment().closeHandlersOnly();
        }
        segments.clear();
        pendingDeletes.clear();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    // ------------------------------------------------------------------ failure

    private void checkWritable() {
        if (failed) {
            throw new KafkaStorageException("Log of " + tp + " in " + dir + " is offline after an I/O error");
        }
        if (closed) {
            throw new KafkaStorageException("Log of " + tp + " is closed");
        }
    }

    private KafkaStorageException fail(String what, Throwable cause) {
        if (cause instanceof ApiException api && !(cause instanceof KafkaStorageException)) {
            throw api;
        }
        failed = true;
        return StorageErrors.failed(dir, what, cause);
    }
}
