package io.runnel.log;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * The log of one partition: a directory of segments in Kafka's on-disk format. It keeps append (with
 * roll), read and truncation itself and hands the rest to one class per concern, as Kafka's storage
 * module does: {@link LogLoader} (loading and crash recovery), {@link LogSegments} (the segment set),
 * {@link LogRetention} (log start offset, retention, delayed file deletion), {@link LogFlusher}
 * (flush.messages/flush.ms, the flush of rolled segments, the recovery point) and, for compaction,
 * {@link LogCleaner} with {@link #replaceSegments}.
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
 * <p>Invariants: the segment set is never empty and its last segment is the one the published end
 * points into; {@code logStartOffset <= logEndOffset}; {@code recoveryPoint <= logEndOffset}. Any
 * {@link IOException} from this class or its helpers passes through one place ({@code fail}), which
 * takes the log offline for writes.
 *
 * <p>Threading: not thread-safe for writers. {@code append*}, {@code deleteRecordsBefore},
 * {@code deleteExpiredSegments}, {@code deleteScheduledFiles}, {@code truncateTo}, {@code flush*},
 * {@code updateConfig}, {@code close} and {@code delete} are called by the partition's owner only, on a
 * context that may block on the disk; so are the helpers' mutating methods, which only this class calls.
 * {@code read}, {@code logStartOffset}, {@code logEndOffset}, {@code recoveryPoint}, {@code sizeInBytes},
 * {@code latestEpoch}, {@code endOffsetForEpoch} and {@code offsetForTimestamp} may be called from any
 * thread concurrently with the owner and never see a partially appended batch: the owner writes the bytes
 * first and then publishes the new end (offset, segment, position) through one volatile field, which bounds
 * every read.
 */
public final class PartitionLog implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);

    // the old layout's per-partition files, read once on open (upgrade) and removed: see LogDirCheckpoints
    static final String RECOVERY_POINT_FILE = "recovery-point";
    static final String LOG_START_OFFSET_FILE = "log-start-offset";
    static final String CLEAN_SHUTDOWN_FILE = "clean-shutdown";

    /** The published end of the log: readers never look past it. */
    private record LogEnd(long offset, LogSegment segment, int position) {
    }

    private final TopicPartition tp;
    private final Path dir;
    private final Time time;
    private volatile LogConfig config;
    private final LogSegments segments;
    private volatile LogEnd end;
    private final ProducerStateManager producerState;
    private final LeaderEpochCache epochCache;
    private final LogRetention retention;
    private final LogFlusher flusher;
    private final LogDirCheckpoints checkpoints;
    // a log opened on its own keeps its checkpoints in its own directory and writes them on close
    private final boolean ownsCheckpoints;
    private volatile boolean failed;
    // told when an I/O error takes this log (and with it its log directory) offline
    private volatile LogDirFailureChannel failureChannel;
    private boolean closed;
    // counts truncations, so that the cleaner never swaps in segments cleaned from a log cut meanwhile
    private volatile long truncations;
    // the producer state's first unstable offset (-1: none), published for readers on any thread; it may lag
    // behind a high-watermark advance (then it is lower: safe), never behind an append
    private volatile long firstUnstableOffset = -1L;
    // what the open scanned for recovery
    private int segmentsRecoveredOnOpen;
    private long bytesRecoveredOnOpen;

    private PartitionLog(TopicPartition tp, Path dir, LogConfig config, Time time, LogSegments segments,
                         ProducerStateManager producerState, LeaderEpochCache epochCache, LogLoader.LoadedLog loaded,
                         long openedMs, LogDirCheckpoints checkpoints, boolean ownsCheckpoints) {
        this.tp = tp;
        this.dir = dir;
        this.config = config;
        this.time = time;
        this.segments = segments;
        this.producerState = producerState;
        this.epochCache = epochCache;
        this.checkpoints = checkpoints;
        this.ownsCheckpoints = ownsCheckpoints;
        this.retention = new LogRetention(tp, time, this::config, segments, epochCache, producerState,
                loaded.logStartOffset());
        this.flusher = new LogFlusher(dir, time, this::config, segments, loaded.recoveryPoint(), openedMs);
        LogSegment active = segments.lastSegment();
        this.end = new LogEnd(loaded.logEndOffset(), active, active.size());
        this.firstUnstableOffset = producerState.firstUnstableOffset();
    }

    /**
     * Opens (creating if absent) the log in {@code dir}, recovering it ({@link LogLoader}): a torn tail is
     * truncated, CRCs are checked from the recovery point, indexes are rebuilt where missing or corrupt, and
     * producer state is rebuilt. The log keeps its recovery point and log start offset in checkpoint files of
     * its own directory, written when it closes (tests, tools); a broker passes its log directory's
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

    /** As {@link #open(TopicPartition, Path, LogConfig, Time)}, its segment files kept open in {@code channels} (tests). */
    static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time, SegmentChannels channels)
            throws IOException {
        return open(tp, dir, config, time, new LogDirCheckpoints(dir), true, channels);
    }

    private static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time,
                                     LogDirCheckpoints checkpoints, boolean owns) throws IOException {
        return open(tp, dir, config, time, checkpoints, owns, SegmentChannels.shared());
    }

    private static PartitionLog open(TopicPartition tp, Path dir, LogConfig config, Time time,
                                     LogDirCheckpoints checkpoints, boolean owns, SegmentChannels channels)
            throws IOException {
        boolean existed = Files.isDirectory(dir);
        Files.createDirectories(dir);
        long openedMs = time.milliseconds();
        ProducerStateManager producerState = new ProducerStateManager(dir);
        LeaderEpochCache epochCache = new LeaderEpochCache(dir);
        LogSegments segments = new LogSegments(channels);
        LogLoader.LoadedLog loaded;
        LogLoader loader = new LogLoader(tp, dir, config, time, segments, epochCache, producerState, checkpoints);
        try {
            loaded = loader.load(existed);
        } catch (IOException | RuntimeException e) {
            closeHandlersQuietly(tp, segments);
            throw e;
        }
        PartitionLog log = new PartitionLog(tp, dir, config, time, segments, producerState, epochCache, loaded,
                openedMs, checkpoints, owns);
        log.segmentsRecoveredOnOpen = loader.segmentsRecovered();
        log.bytesRecoveredOnOpen = loader.bytesRecovered();
        // from here on the log directory's checkpoints are written with this log's values
        checkpoints.register(log, loaded.legacyFiles());
        return log;
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
        return retention.logStartOffset();
    }

    public long logEndOffset() {
        return end.offset();
    }

    /** Total bytes of all segments. */
    public long sizeInBytes() {
        return segments.sizeInBytes();
    }

    /** Number of segments (tests and metrics). */
    public int numberOfSegments() {
        return segments.numberOfSegments();
    }

    /** Base offsets of the segments, oldest first (tests and admin). */
    public List<Long> segmentBaseOffsets() {
        return segments.baseOffsets();
    }

    /** How many segments the open scanned to recover (from the recovery point, or for bad indexes). */
    int segmentsRecoveredOnOpen() {
        return segmentsRecoveredOnOpen;
    }

    /** The bytes of the segments the open scanned to recover. */
    long bytesRecoveredOnOpen() {
        return bytesRecoveredOnOpen;
    }

    /** Offset up to which the log is known flushed (and will not be rescanned after a crash). */
    public long recoveryPoint() {
        return flusher.recoveryPoint();
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
        return appendAsLeader(records, leaderEpoch, AppendOrigin.CLIENT);
    }

    /**
     * As {@link #appendAsLeader(RecordSet, int)}, with the checks of {@code origin}: a coordinator may write
     * transaction markers (control batches), checked against the producer's epoch
     * (InvalidProducerEpochException) and the last coordinator epoch (TransactionCoordinatorFencedException);
     * a client's transactional batch opens a transaction and a plain one during it is InvalidTxnStateException.
     */
    public LogAppendResult appendAsLeader(RecordSet records, int leaderEpoch, AppendOrigin origin) {
        return appendAsLeader(records, leaderEpoch, origin, (short) 0);
    }

    /**
     * As {@link #appendAsLeader(RecordSet, int, AppendOrigin)} at {@code transactionVersion}: a coordinator's
     * marker under version 2 must be above the producer's epoch (the coordinator bumped it for the marker), unless
     * it repeats one already written; a client's batch with 2 was added to its transaction by this leader (KIP-890
     * part 2), so the transaction it opens must start at sequence 0 (OutOfOrderSequenceException).
     */
    public LogAppendResult appendAsLeader(RecordSet records, int leaderEpoch, AppendOrigin origin,
                                          short transactionVersion) {
        checkWritable();
        LogConfig cfg = config;
        long now = time.milliseconds();
        LogValidator.Validated v = LogValidator.validateForLeader(records, cfg, now, tp.toString(), origin);
        if (v.batches().isEmpty()) {
            return new LogAppendResult(-1L, -1L, -1L, logStartOffset(), 0, 0, false);
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
                if (origin == AppendOrigin.CLIENT) {
                    ProducerStateManager.BatchMetadata dup = producerAppend.findDuplicate(batch);
                    if (dup != null) {
                        return new LogAppendResult(dup.firstOffset(), dup.lastOffset(), -1L, logStartOffset(), 0, 0,
                                true);
                    }
                }
                long ts = cfg.logAppendTime() ? now : info.maxTimestamp();
                producerAppend.append(batch, offset, last, ts, origin, transactionVersion);
            }
            offset = last + 1;
        }
        long lastOffset = LogValidator.assignInPlace(v, firstOffset, leaderEpoch, cfg, now);
        write(v, firstOffset, lastOffset, leaderEpoch, cfg.logAppendTime() ? now : v.maxTimestamp(), producerAppend);
        return new LogAppendResult(firstOffset, lastOffset, cfg.logAppendTime() ? now : -1L, logStartOffset(),
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
            return new LogAppendResult(-1L, -1L, -1L, logStartOffset(), 0, 0, false);
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
        return new LogAppendResult(firstOffset, lastOffset, -1L, logStartOffset(), v.recordCount(), v.sizeInBytes(),
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
                    epochCache.assignIfNewer(info.batch());
                }
            }
            TransactionIndex txnIndex = seg.txnIndex();
            producerState.commit(producerAppend, lastOffset + 1, txnIndex::append);
            firstUnstableOffset = producerState.firstUnstableOffset();
            end = new LogEnd(lastOffset + 1, seg, seg.size());
        } catch (IOException | UncheckedIOException e) {
            throw fail("appending to " + tp, e);
        }
        // flush.messages is applied by the owner (flushDue, then one flush for a burst of appends)
        flusher.appended(lastOffset - firstOffset + 1);
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
        for (String suffix : List.of(LogSegment.LOG_SUFFIX, LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX,
                TransactionIndex.SUFFIX)) {
            Files.deleteIfExists(dir.resolve(LogSegment.fileName(newBase, suffix)));
        }
        LogSegment seg = LogSegment.open(dir, newBase, config, time, segments.channels());
        segments.add(seg);
        end = new LogEnd(newBase, seg, 0);
        // the segments below are flushed by flushRolledSegments, which the owner runs after this append
        flusher.rolled(newBase);
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
        return read(fetchOffset, maxBytes, maxOffsetExclusive, minOneMessage, false);
    }

    /**
     * As {@link #read(long, int, long, boolean)}; with {@code collectAborted} (a read_committed fetch, whose
     * {@code maxOffsetExclusive} is the last stable offset) the result also carries the aborted transactions
     * overlapping what may be read, up to the base of the segment after the one read or the log end, as Kafka
     * bounds them.
     */
    public LogReadResult read(long fetchOffset, int maxBytes, long maxOffsetExclusive, boolean minOneMessage,
                              boolean collectAborted) {
        return read(fetchOffset, maxBytes, maxOffsetExclusive, minOneMessage, collectAborted, true);
    }

    /**
     * As {@link #read(long, int, long, boolean, boolean)}; without {@code mayOpen} (a reader on an event loop,
     * which must not {@code open(2)}) a segment file that {@link SegmentChannels} closed to bound the open
     * descriptors throws {@link SegmentClosedException} instead of being reopened, and the caller reads again
     * off the event loop.
     */
    public LogReadResult read(long fetchOffset, int maxBytes, long maxOffsetExclusive, boolean minOneMessage,
                              boolean collectAborted, boolean mayOpen) {
        LogEnd e = end;
        long start = logStartOffset();
        if (fetchOffset < start || fetchOffset > e.offset()) {
            throw new OffsetOutOfRangeException("Offset " + fetchOffset + " is out of range for " + tp
                    + ": log start " + start + ", log end " + e.offset());
        }
        long limit = Math.min(maxOffsetExclusive, e.offset());
        if (fetchOffset >= limit) {
            return new LogReadResult(LogSlice.EMPTY, start, e.offset());
        }
        try {
            LogSegment seg = segments.floorSegment(fetchOffset);
            while (seg != null && seg.baseOffset <= e.segment().baseOffset) {
                int maxPosition = seg == e.segment() ? e.position() : seg.size();
                LogSlice slice = seg.read(fetchOffset, maxBytes, limit, maxPosition, minOneMessage, mayOpen);
                if (slice != null) {
                    List<AbortedTxn> aborted = null;
                    if (collectAborted) {
                        LogSegment next = segments.higherSegment(seg.baseOffset);
                        long upper = Math.min(limit, next == null || seg == e.segment() ? e.offset() : next.baseOffset);
                        aborted = collectAbortedTransactions(fetchOffset, upper);
                    }
                    return new LogReadResult(slice, start, e.offset(), aborted);
                }
                seg = segments.higherSegment(seg.baseOffset);
            }
        } catch (java.nio.channels.ClosedChannelException ex) {
            // the segment was deleted (retention, truncation) and its delete delay passed during the read
            throw new OffsetOutOfRangeException("Offset " + fetchOffset + " of " + tp
                    + " was deleted while reading; log start is now " + logStartOffset());
        } catch (IOException ex) {
            throw fail("reading " + tp, ex);
        }
        if (fetchOffset < logStartOffset()) {
            throw new OffsetOutOfRangeException("Offset " + fetchOffset + " was deleted from " + tp
                    + " while reading; log start is now " + logStartOffset());
        }
        return new LogReadResult(LogSlice.EMPTY, start, e.offset());
    }

    /**
     * The aborted transactions with a marker at or after {@code fetchOffset} and a first offset below
     * {@code upperBoundOffset}, from the transaction indexes of the segment holding {@code fetchOffset} and
     * the later ones until an entry's last stable offset shows no transaction open before the bound is left
     * (Kafka's collectAbortedTransactions). Any thread.
     */
    public List<AbortedTxn> collectAbortedTransactions(long fetchOffset, long upperBoundOffset) {
        List<AbortedTxn> out = new ArrayList<>();
        LogSegment seg = segments.floorSegment(fetchOffset);
        if (seg == null) {
            seg = segments.higherSegment(fetchOffset);
        }
        while (seg != null) {
            TransactionIndex.Collected c = seg.txnIndex().collect(fetchOffset, upperBoundOffset);
            out.addAll(c.txns());
            if (c.complete()) {
                break;
            }
            seg = segments.higherSegment(seg.baseOffset);
        }
        return out;
    }

    /**
     * The last stable offset for a high watermark: the first offset of the oldest transaction still open (or
     * closed by a marker the high watermark has not passed), bounded by {@code highWatermark}. Any thread.
     */
    public long lastStableOffset(long highWatermark) {
        long first = firstUnstableOffset;
        return first >= 0 ? Math.min(first, highWatermark) : highWatermark;
    }

    /** Forgets transactions whose marker the high watermark passed, which may raise the last stable offset. Owner only. */
    public void onHighWatermarkUpdated(long highWatermark) {
        producerState.onHighWatermarkUpdated(highWatermark);
        firstUnstableOffset = producerState.firstUnstableOffset();
    }

    /** A producer's state as DescribeProducers shows it. */
    public record ProducerStateView(long producerId, short producerEpoch, int lastSequence, long lastTimestamp,
                                    int coordinatorEpoch, long currentTxnStartOffset) {
    }

    /**
     * Whether the producer has a transaction open here at {@code epoch} (Kafka's UnifiedLog.hasOngoingTransaction):
     * then its next transactional batch needs no check with the transaction coordinator. Owner only.
     */
    public boolean hasOngoingTransaction(long producerId, short epoch) {
        ProducerStateManager.ProducerEntry e = producerState.entry(producerId);
        return e != null && e.currentTxnFirstOffset >= 0 && e.epoch == epoch;
    }

    /** The producers this partition knows (DescribeProducers). Owner only. */
    public List<ProducerStateView> activeProducers() {
        List<ProducerStateView> out = new ArrayList<>();
        for (ProducerStateManager.ProducerEntry e : producerState.entries().values()) {
            out.add(new ProducerStateView(e.producerId, e.epoch, e.lastSeq(), e.lastTimestamp, e.coordinatorEpoch,
                    e.currentTxnFirstOffset));
        }
        return out;
    }

    /**
     * The first record whose timestamp is at or after {@code timestamp}, through the time index
     * (ListOffsets by timestamp); empty if none. {@code ListOffsetsRequest.MAX_TIMESTAMP} (-3) answers
     * the record with the largest timestamp; {@code EARLIEST_TIMESTAMP} (-2) and {@code EARLIEST_LOCAL_TIMESTAMP}
     * (-4) the log start offset and {@code LATEST_TIMESTAMP} (-1) the log end offset, with timestamp -1.
     */
    public Optional<TimestampOffset> offsetForTimestamp(long timestamp) {
        LogEnd e = end;
        long start = logStartOffset();
        if (timestamp == ListOffsetsRequest.EARLIEST_TIMESTAMP || timestamp == ListOffsetsRequest.EARLIEST_LOCAL_TIMESTAMP) {
            return Optional.of(new TimestampOffset(-1L, start, epochCache.epochForOffset(start)));
        }
        if (timestamp == ListOffsetsRequest.LATEST_TIMESTAMP) {
            return Optional.of(new TimestampOffset(-1L, e.offset(), epochCache.latestEpoch()));
        }
        try {
            if (timestamp == ListOffsetsRequest.MAX_TIMESTAMP) {
                LogSegment best = null;
                for (LogSegment seg : segments.valuesUpTo(e.segment().baseOffset)) {
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
            for (LogSegment seg : segments.valuesUpTo(e.segment().baseOffset)) {
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

    // ------------------------------------------------------------------ truncation

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
            if (offset < logStartOffset() || offset <= segments.firstBaseOffset()) {
                truncateFullyAndStartAtInternal(offset);
                return;
            }
            truncations++;
            List<LogSegment> doomed = new ArrayList<>(segments.valuesAbove(offset));
            LogSegment keep = segments.floorSegment(offset);
            // readers bounded by the old end could still scan the truncated tail: publish the cut first
            long now = time.milliseconds();
            for (LogSegment seg : doomed) {
                segments.remove(seg.baseOffset);
                retention.scheduleDelete(seg, now);
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
        long now = time.milliseconds();
        List<LogSegment> doomed = segments.toList();
        for (LogSegment old : doomed) {
            segments.remove(old.baseOffset);
            retention.scheduleDelete(old, now);
        }
        LogSegment seg = LogSegment.open(dir, offset, config, time, segments.channels());
        segments.add(seg);
        // its files are new: the next flush makes their names durable too
        flusher.segmentCreated();
        retention.resetLogStartOffset(offset);
        end = new LogEnd(offset, seg, 0);
        epochCache.truncateFromStart(offset);
        afterTruncation(offset);
        // at once, as Kafka's LogManager.truncateFullyAndStartAt: the start may have moved down, and a
        // checkpointed start above it would hide the records appended from here after a crash
        checkpoints.writeLogStartOffsets();
    }

    private void afterTruncation(long offset) throws IOException {
        epochCache.truncateFromEnd(offset);
        if (flusher.truncatedTo(offset)) {
            // at once, as Kafka's LogManager.truncateTo: a checkpointed recovery point above the cut would let
            // a crash skip the scan of what is appended after it
            checkpoints.writeRecoveryPoints();
        }
        LogLoader.rebuildProducerState(producerState, segments, logStartOffset(), offset, time);
        firstUnstableOffset = producerState.firstUnstableOffset();
    }

    // ------------------------------------------------------------------ retention (see LogRetention)

    /**
     * Moves the log start offset forward to {@code offset} (DeleteRecords), deleting whole segments
     * below it. Returns the new log start offset.
     *
     * @throws org.apache.kafka.common.errors.OffsetOutOfRangeException if offset is above logEndOffset
     */
    public long deleteRecordsBefore(long offset) {
        checkWritable();
        try {
            return retention.deleteRecordsBefore(offset, end.offset());
        } catch (IOException ex) {
            throw fail("deleting records of " + tp, ex);
        }
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
        long now = time.milliseconds();
        producerState.removeExpiredProducers(now, ProducerStateManager.DEFAULT_PRODUCER_ID_EXPIRATION_MS);
        List<LogSegment> doomed = retention.expiredSegments(end.offset(), highWatermark, now);
        if (doomed.isEmpty()) {
            return 0;
        }
        try {
            if (doomed.size() == segments.numberOfSegments()) {
                // always keep one segment: the new active one starts at the log end
                roll();
            }
            retention.deleteSegments(doomed);
        } catch (IOException ex) {
            throw fail("applying retention to " + tp, ex);
        }
        return doomed.size();
    }

    /**
     * Closes and removes the files of deleted segments whose file.delete.delay.ms has passed. The owner
     * calls it periodically (deleteExpiredSegments calls it too). Returns how many segments were removed.
     */
    public int deleteScheduledFiles() {
        try {
            return retention.deleteScheduledFiles();
        } catch (IOException e) {
            throw fail("removing deleted segments of " + tp, e);
        }
    }

    // ------------------------------------------------------------------ cleaning (see Cleaner)

    /** The segments, oldest first, the active one last; any thread (the cleaner manager sizes them). */
    List<LogSegment> segmentList() {
        return segments.toList();
    }

    /** What a cleaning starts from, taken on the owner's context. */
    record CleaningSnapshot(List<LogSegment> segments, long truncations, long logStartOffset,
                            Map<Long, ProducerStateManager.LastRecord> producerLastRecords) {

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
        return new CleaningSnapshot(segments.toList(), truncations, logStartOffset(),
                producerState.lastRecords());
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
            segments.add(cleaned);
            long now = time.milliseconds();
            for (LogSegment seg : old) {
                if (seg.baseOffset != cleaned.baseOffset) {
                    segments.remove(seg.baseOffset);
                }
                retention.scheduleDelete(seg, now);
            }
            cleaned.renameFiles("");
            Checkpoints.fsyncDir(dir);
        } catch (IOException | UncheckedIOException e) {
            throw fail("swapping cleaned segment " + cleaned.baseOffset + " into " + tp, e);
        }
        return true;
    }

    // ------------------------------------------------------------------ flush (see LogFlusher), config, close

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
        return flusher.flushDue();
    }

    /** How many times {@link #flush()} ran (for metrics and group-commit tests). */
    public long flushCount() {
        return flusher.flushCount();
    }

    /**
     * Whether a roll left the segments below the new active one unflushed: the owner then runs
     * {@link #flushRolledSegments} (Kafka schedules the same flush from {@code roll}).
     */
    public boolean rollFlushDue() {
        return flusher.rollFlushDue();
    }

    /**
     * Forces the segments below the newest segment rolled since the last flush and moves the recovery point
     * to its base offset (Kafka's {@code flushUptoOffsetExclusive(newSegment.baseOffset)}), so that a crash
     * rescans only the active segment. Owner only, on a context that may block on the disk.
     */
    public void flushRolledSegments() {
        checkWritable();
        try {
            flusher.flushUpTo(flusher.rolledTo(), end.offset());
        } catch (IOException ex) {
            throw fail("flushing rolled segments of " + tp, ex);
        }
    }

    /** Forces everything appended so far to disk and advances the recovery point ({@link LogFlusher}). */
    public void flush() {
        checkWritable();
        try {
            flusher.flush(end.offset());
        } catch (IOException ex) {
            throw fail("flushing " + tp, ex);
        }
    }

    public void updateConfig(LogConfig config) {
        this.config = config;
    }

    /**
     * Flushes what changed, writes the producer-state snapshot (none for an empty log) and the clean-shutdown
     * marker, closes files, and leaves its recovery point and log start offset with the log directory's
     * checkpoints (writing them itself when opened on its own).
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            if (!failed) {
                flush();
                if (end.offset() > logStartOffset()) {
                    // an empty log has no producer to remember (Kafka snapshots only a new map end either)
                    producerState.takeSnapshot();
                }
            }
            retention.deleteAllScheduledFiles();
            for (LogSegment seg : segments.values()) {
                seg.close();
            }
            closed = true;
            checkpoints.closed(this, recoveryPoint(), logStartOffset());
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
        closeHandlersQuietly(tp, segments);
        closed = true;
    }

    /**
     * Closes the file handles after this log's directory went offline, as Kafka's closeHandlers: no flush,
     * snapshot, checkpoint or clean-shutdown marker (the directory takes no more writes); the log refuses
     * everything after. Owner only.
     */
    public void closeHandlersAfterFailure() {
        failed = true;
        closeHandlersQuietly(tp, segments);
        closed = true;
    }

    private static void closeHandlersQuietly(TopicPartition tp, LogSegments segments) {
        for (LogSegment seg : segments.values()) {
            try {
                seg.closeHandlersOnly();
            } catch (IOException e) {
                LOG.debug("{}: closing {} after a failed open", tp, seg, e);
            }
        }
    }

    /** Closes and removes the whole partition directory (DeleteTopics). */
    public void delete() throws IOException {
        closed = true;
        checkpoints.forget(tp);
        for (LogSegment seg : segments.values()) {
            seg.closeHandlersOnly();
        }
        retention.dropScheduledFiles();
        segments.clear();
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
        KafkaStorageException e = StorageErrors.failed(dir, what, cause);
        reportDirFailure(what, e.getCause());
        return e;
    }

    /** Where an I/O error of this log is reported: it takes the whole log directory offline (Kafka's JBOD). */
    public void failureChannel(LogDirFailureChannel channel) {
        this.failureChannel = channel;
    }

    /**
     * Reports an I/O error met on this log's files outside its own methods (the cleaner's): its log
     * directory goes offline. Any thread.
     */
    void reportDirFailure(String what, Throwable cause) {
        LogDirFailureChannel c = failureChannel;
        if (c != null && dir.getParent() != null) {
            c.maybeAddOfflineLogDir(dir.getParent(), what, cause);
        }
    }

    /** Whether an I/O error took this log offline. */
    public boolean isFailed() {
        return failed;
    }
}
