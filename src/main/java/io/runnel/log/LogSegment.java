package io.runnel.log;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One segment of a partition log: {@code <base offset %020d>.log} holding v2 record batches back to
 * back exactly as Kafka stores them, with its sparse {@link OffsetIndex} ({@code .index}) and
 * {@link TimeIndex} ({@code .timeindex}). Offsets inside the segment are below
 * {@code baseOffset + Integer.MAX_VALUE} so they fit the indexes' 4-byte relative offsets.
 *
 * <p>Threading: appends, truncation, recovery, roll and close come from the partition's owner only.
 * Reads ({@link #read}, {@link #translateOffset}, {@link #findOffsetByTimestamp}) may run on any thread;
 * they read the file positionally and never look beyond the position the caller passes (the published
 * end of the log), so they never see a batch being written.
 *
 * <p>CRCs: a batch is checked when appended (by the caller's validation) and when recovery scans it; a
 * segment opened below the recovery point is trusted for its indexes but not for its bytes, so
 * {@link #read} checks the CRC of each range the first time it serves it ({@link VerifiedRanges}) and
 * refuses a damaged batch with a CorruptRecordException instead of sending it.
 */
final class LogSegment implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(LogSegment.class);

    static final String LOG_SUFFIX = ".log";
    static final String INDEX_SUFFIX = ".index";
    static final String TIME_INDEX_SUFFIX = ".timeindex";
    static final String DELETED_SUFFIX = ".deleted";

    /** How much a first read verifies per positional read (whole batches; a larger batch is read whole). */
    private static final int VERIFY_CHUNK_BYTES = 1 << 20;

    /** Bytes of a v2 batch header up to and including lastOffsetDelta. */
    private static final int HEADER_PREFIX = RecordFormat.LAST_OFFSET_DELTA_OFFSET + 4;

    final long baseOffset;
    private final RecordFormat.SegmentFile log;
    private final OffsetIndex offsetIndex;
    private final TimeIndex timeIndex;
    private final TransactionIndex txnIndex;
    private final int indexIntervalBytes;
    private final int maxIndexSize;
    private final long created;
    private int bytesSinceLastIndexEntry;
    private volatile long maxTimestampSoFar = LogBatch.NO_TIMESTAMP;
    private volatile long offsetOfMaxTimestampSoFar;
    private long rollingBasedTimestamp = LogBatch.NO_TIMESTAMP;
    // byte ranges whose CRCs were checked (appended, recovered, or read once); a segment opened below the
    // recovery point starts with none, and its first reads check what they serve
    private final VerifiedRanges verified = new VerifiedRanges();
    // the position of the last corrupt batch reported, so that a client retrying it is not logged every time
    private volatile int reportedCorruptPosition = -1;

    private LogSegment(long baseOffset, RecordFormat.SegmentFile log, OffsetIndex offsetIndex, TimeIndex timeIndex,
                       TransactionIndex txnIndex, int indexIntervalBytes, int maxIndexSize, long created) {
        this.txnIndex = txnIndex;
        this.baseOffset = baseOffset;
        this.log = log;
        this.offsetIndex = offsetIndex;
        this.timeIndex = timeIndex;
        this.indexIntervalBytes = indexIntervalBytes;
        this.maxIndexSize = maxIndexSize;
        this.created = created;
        this.offsetOfMaxTimestampSoFar = baseOffset;
    }

    static String fileName(long offset, String suffix) {
        return String.format("%020d%s", offset, suffix);
    }

    /** Opens (creating if absent) the segment files in {@code dir}. Indexes are sanity-checked by the caller. */
    static LogSegment open(Path dir, long baseOffset, LogConfig config, Time time) throws IOException {
        return open(dir, baseOffset, config, time, SegmentChannels.shared());
    }

    /** As {@link #open(Path, long, LogConfig, Time)}, the {@code .log} kept open in {@code channels}. */
    static LogSegment open(Path dir, long baseOffset, LogConfig config, Time time, SegmentChannels channels)
            throws IOException {
        return open(dir, baseOffset, config, time, "", config.segmentIndexBytes(), channels);
    }

    /**
     * Opens the segment files named with {@code fileSuffix} after the usual name ({@code .cleaned} for
     * the cleaner's output), with indexes of {@code indexBytes}.
     */
    static LogSegment open(Path dir, long baseOffset, LogConfig config, Time time, String fileSuffix, int indexBytes,
                           SegmentChannels channels) throws IOException {
        File logFile = dir.resolve(fileName(baseOffset, LOG_SUFFIX) + fileSuffix).toFile();
        RecordFormat.SegmentFile records = RecordFormat.SegmentFile.open(logFile, channels);
        OffsetIndex oi = new OffsetIndex(dir.resolve(fileName(baseOffset, INDEX_SUFFIX) + fileSuffix), baseOffset,
                indexBytes);
        TimeIndex ti = new TimeIndex(dir.resolve(fileName(baseOffset, TIME_INDEX_SUFFIX) + fileSuffix), baseOffset,
                indexBytes);
        TransactionIndex txi = new TransactionIndex(dir.resolve(fileName(baseOffset, TransactionIndex.SUFFIX) + fileSuffix));
        LogSegment segment = new LogSegment(baseOffset, records, oi, ti, txi, config.indexIntervalBytes(),
                config.segmentIndexBytes(), time.milliseconds());
        TimestampOffset last = ti.lastEntry();
        if (last.timestamp() >= 0) {
            segment.maxTimestampSoFar = last.timestamp();
            segment.offsetOfMaxTimestampSoFar = last.offset();
        }
        return segment;
    }

    int size() {
        return log.sizeInBytes();
    }

    /**
     * Holds the segment's {@code .log} open (reopening it if {@link SegmentChannels} closed it) until the pin
     * is closed: for scans through {@link #batchesFrom}. Any thread.
     */
    RecordFormat.SegmentFile.Pin pin() throws IOException {
        return log.pin();
    }

    /** One positional read of the {@code .log} into {@code dst} (any thread): bytes read, or -1 at its end. */
    int readAt(ByteBuffer dst, long position) throws IOException {
        FileChannel ch = log.acquire().channel();
        try {
            return ch.read(dst, position);
        } finally {
            log.release();
        }
    }

    /** The set of open segment files this segment's {@code .log} is kept in. */
    SegmentChannels channels() {
        return log.channels();
    }

    /** Whether the {@code .log} has a descriptor open now (tests). */
    boolean isLogOpen() {
        return log.isOpen();
    }

    Path logFile() {
        return log.file().toPath();
    }

    OffsetIndex offsetIndex() {
        return offsetIndex;
    }

    TimeIndex timeIndex() {
        return timeIndex;
    }

    /** The aborted transactions whose marker is in this segment ({@code .txnindex}). */
    TransactionIndex txnIndex() {
        return txnIndex;
    }

    long maxTimestampSoFar() {
        return maxTimestampSoFar;
    }

    long offsetOfMaxTimestampSoFar() {
        return offsetOfMaxTimestampSoFar;
    }

    /** The segment's largest timestamp for retention: from its batches, else its file's mtime (as Kafka). */
    long largestTimestamp() {
        long ts = maxTimestampSoFar;
        return ts >= 0 ? ts : log.file().lastModified();
    }

    boolean canConvertToRelativeOffset(long offset) {
        long rel = offset - baseOffset;
        return rel >= 0 && rel <= Integer.MAX_VALUE;
    }

    /**
     * Kafka's roll rule for the batches about to be appended: the segment would exceed segment.bytes,
     * segment.ms has passed since its first batch's timestamp (or its creation when it has none), an
     * index is full, or the last offset would not fit a relative offset.
     */
    boolean shouldRoll(LogConfig config, int messagesSize, long maxTimestampInMessages, long maxOffsetInMessages,
                       long now) {
        int size = size();
        boolean reachedRollMs = size > 0 && timeWaitedForRoll(now, maxTimestampInMessages) > config.rollMs();
        return size > config.segmentBytes() - messagesSize || reachedRollMs || offsetIndex.isFull()
                || timeIndex.isFull() || !canConvertToRelativeOffset(maxOffsetInMessages);
    }

    private long timeWaitedForRoll(long now, long messageTimestamp) {
        if (rollingBasedTimestamp == LogBatch.NO_TIMESTAMP && size() > 0) {
            try (var pin = log.pin()) {
                var it = log.batches().iterator();
                if (it.hasNext()) {
                    rollingBasedTimestamp = it.next().maxTimestamp();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        if (rollingBasedTimestamp >= 0) {
            return messageTimestamp - rollingBasedTimestamp;
        }
        return now - created;
    }

    /** Appends validated batches that already carry their offsets, indexing them per index.interval.bytes. */
    void append(RecordSet records) throws IOException {
        int physicalPosition = log.sizeInBytes();
        if (physicalPosition == 0 && rollingBasedTimestamp == LogBatch.NO_TIMESTAMP) {
            for (LogBatch b : records.batches()) {
                rollingBasedTimestamp = b.maxTimestamp();
                break;
            }
        }
        log.append(records);
        // every caller validated the batches (CRC included) before appending them
        verified.add(physicalPosition, log.sizeInBytes());
        for (LogBatch batch : records.batches()) {
            indexBatch(batch, physicalPosition);
            physicalPosition += batch.sizeInBytes();
        }
    }

    private void indexBatch(LogBatch batch, int physicalPosition) throws IOException {
        if (batch.maxTimestamp() > maxTimestampSoFar) {
            maxTimestampSoFar = batch.maxTimestamp();
            offsetOfMaxTimestampSoFar = batch.lastOffset();
        }
        if (bytesSinceLastIndexEntry > indexIntervalBytes) {
            offsetIndex.append(batch.lastOffset(), physicalPosition);
            timeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar, false);
            bytesSinceLastIndexEntry = 0;
        }
        bytesSinceLastIndexEntry += batch.sizeInBytes();
    }

    /** Position and size of the first batch at or after {@code startPosition} whose last offset is >= target. */
    record BatchPosition(long baseOffset, long lastOffset, int position, int size) {
    }

    /**
     * Scans batch headers from the index position for {@code offset} up to {@code maxPosition}; returns the
     * batch holding {@code offset} (or the first one after it), or null if none below maxPosition.
     */
    BatchPosition translateOffset(long offset, int maxPosition) throws IOException {
        try (var pin = log.pin()) {
            int pos = offsetIndex.lookup(offset).position();
            ByteBuffer header = ByteBuffer.allocate(HEADER_PREFIX);
            while (true) {
                BatchPosition b = readHeader(pos, maxPosition, header);
                if (b == null) {
                    return null;
                }
                if (b.lastOffset >= offset) {
                    return b;
                }
                pos += b.size;
            }
        }
    }

    private BatchPosition readHeader(int pos, int maxPosition, ByteBuffer header) throws IOException {
        if (pos + HEADER_PREFIX > maxPosition) {
            return null;
        }
        header.clear();
        FileChannel ch = log.channel();
        while (header.hasRemaining()) {
            if (ch.read(header, pos + header.position()) < 0) {
                return null;
            }
        }
        long base = header.getLong(0);
        int size = header.getInt(8) + 12;
        int delta = header.getInt(RecordFormat.LAST_OFFSET_DELTA_OFFSET);
        if (size < RecordFormat.RECORD_BATCH_OVERHEAD || pos + (long) size > maxPosition) {
            return null;
        }
        return new BatchPosition(base, base + delta, pos, size);
    }

    /**
     * Whole batches from the one holding {@code startOffset}: at most {@code maxBytes} (at least one batch
     * with {@code minOneMessage}), none whose last offset reaches {@code maxOffsetExclusive}, none past
     * {@code maxPosition}. Returns null when the offset is not in this segment below maxPosition.
     *
     * <p>Reads a handful of batch headers whatever the size: where the start and the end bound (the batch
     * holding {@code maxOffsetExclusive}) are, through the offset index, and then the last whole batch
     * below {@code start + maxBytes}, searching the index by position. Walking every header of a 1 MB
     * answer instead took some 60 reads per partition on the fetch path.
     *
     * <p>Without {@code mayOpen} (a reader on an event loop) a {@code .log} that {@link SegmentChannels} closed
     * is not reopened: {@link SegmentClosedException}.
     */
    LogSlice read(long startOffset, int maxBytes, long maxOffsetExclusive, int maxPosition, boolean minOneMessage,
                  boolean mayOpen) throws IOException {
        FileChannel ch = (mayOpen ? log.acquire() : log.acquireOpen()).channel();
        boolean handedOver = false;
        try {
            Range range = locate(startOffset, maxBytes, maxOffsetExclusive, maxPosition, minOneMessage);
            if (range == null) {
                return null;
            }
            if (range.size == 0) {
                return LogSlice.EMPTY;
            }
            int start = range.position;
            // the batches before a damaged one are served; the next read starts at it and fails
            int good = verifiedEnd(start, start + range.size);
            if (log.setOverLimit()) {
                // every other open file is held by a reader (a fetch of more partitions than the bound): holding
                // this one too would take descriptors past the bound, so the answer gets a copy instead
                return LogSlice.copyOf(readAt(start, good - start, ByteBuffer.allocate(good - start)));
            }
            // the slice holds the file open until it is released (sent, copied or collected)
            LogSlice slice = new LogSlice(log, ch, start, good - start);
            handedOver = true;
            return slice;
        } finally {
            if (!handedOver) {
                log.release();
            }
        }
    }

    private record Range(int position, int size) {
    }

    private Range locate(long startOffset, int maxBytes, long maxOffsetExclusive, int maxPosition,
                        boolean minOneMessage) throws IOException {
        BatchPosition first = translateOffset(startOffset, maxPosition);
        if (first == null) {
            return null;
        }
        if (first.lastOffset >= maxOffsetExclusive) {
            return new Range(0, 0);
        }
        // every batch before this position ends below maxOffsetExclusive, as offsets grow with positions
        BatchPosition bounding = translateOffset(maxOffsetExclusive, maxPosition);
        int bound = bounding == null ? maxPosition : bounding.position;
        long wanted = Math.min((long) first.position + Math.max(maxBytes, 0), bound);
        int firstEnd = first.position + first.size;
        if (wanted < firstEnd) {
            return minOneMessage ? new Range(first.position, first.size) : new Range(0, 0);
        }
        // the last batch boundary at or below wanted: from the closest indexed batch start, a few headers on
        int end = Math.max(firstEnd, offsetIndex.floorPosition((int) wanted));
        ByteBuffer header = ByteBuffer.allocate(HEADER_PREFIX);
        BatchPosition b;
        while ((b = readHeader(end, bound, header)) != null && (long) end + b.size <= wanted) {
            end += b.size;
        }
        return new Range(first.position, end - first.position);
    }

    /**
     * Checks the CRC of every batch in {@code [start, end)} (whole batches) unless that range was verified
     * before ({@link VerifiedRanges}): a range read for the first time since the segment was opened below
     * the recovery point. Returns {@code end}, or the position of the first batch that fails, which is
     * never served: when it is the first one the read fails with a CorruptRecordException naming the file,
     * position and offset, logged once per batch.
     */
    private int verifiedEnd(int start, int end) throws IOException {
        if (verified.covers(start, end)) {
            return end;
        }
        long previousLast = -1;
        int pos = start;
        long badOffset = -1;
        // one positional read per chunk of whole batches (a batch larger than a chunk is read whole): reading
        // each batch on its own cost about ten times the CRC itself
        ByteBuffer chunk = null;
        scan:
        while (pos < end) {
            int want = Math.min(end - pos, VERIFY_CHUNK_BYTES);
            if (want >= RecordFormat.RECORD_BATCH_OVERHEAD) {
                ByteBuffer header = readAt(pos, 12, ByteBuffer.allocate(12));
                int batchSize = header.getInt(8) + 12;
                if (batchSize < RecordFormat.RECORD_BATCH_OVERHEAD || pos + (long) batchSize > end) {
                    break;
                }
                want = Math.max(want, batchSize);
            } else {
                break;
            }
            if (chunk == null || chunk.capacity() < want) {
                chunk = ByteBuffer.allocate(want);
            }
            chunk.clear().limit(want);
            readAt(pos, want, chunk);
            int scanned = 0;
            try {
                for (LogBatch batch : RecordSet.wrap(chunk.duplicate()).batches()) {
                    // the CRC covers neither the base offset nor the length: offsets must also grow batch to batch
                    if (!batch.isValid() || batch.baseOffset() <= previousLast
                            || batch.lastOffset() < batch.baseOffset()) {
                        badOffset = batch.baseOffset();
                        pos += scanned;
                        break scan;
                    }
                    previousLast = batch.lastOffset();
                    scanned += batch.sizeInBytes();
                }
            } catch (CorruptRecordException e) {
                // a size field below the minimum
                pos += scanned;
                break;
            }
            if (scanned == 0) {
                break;
            }
            pos += scanned;
        }
        if (pos > start) {
            verified.add(start, pos);
        }
        if (pos == end) {
            return end;
        }
        CorruptRecordException corrupt = corrupt(pos, badOffset >= 0 ? badOffset : previousLast + 1);
        if (pos == start) {
            throw corrupt;
        }
        return pos;
    }

    /** Reads {@code length} bytes at {@code position} into {@code buf} (from its position), flipped for reading. */
    private ByteBuffer readAt(int position, int length, ByteBuffer buf) throws IOException {
        FileChannel ch = log.channel();
        int start = buf.position();
        buf.limit(start + length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + (long) (buf.position() - start)) < 0) {
                break;
            }
        }
        buf.flip();
        buf.position(start);
        return buf;
    }

    private CorruptRecordException corrupt(int position, long offset) {
        String what = "Corrupt record batch at position " + position + " (offset " + offset + ") of " + log.file()
                + ": its CRC, size or offsets do not check; it is not served";
        if (reportedCorruptPosition != position) {
            reportedCorruptPosition = position;
            LOG.error("{}. The segment was written before this process started and was damaged on disk since; "
                    + "a replica with an intact copy still has it", what);
        }
        return new CorruptRecordException(what);
    }

    /** The CRC-checked byte ranges of this segment (tests). */
    VerifiedRanges verifiedRanges() {
        return verified;
    }

    /** The offset after the last batch of the segment (its base offset when empty). */
    long readNextOffset() throws IOException {
        try (var pin = log.pin()) {
            return readNextOffsetPinned();
        }
    }

    private long readNextOffsetPinned() throws IOException {
        int maxPosition = size();
        ByteBuffer header = ByteBuffer.allocate(HEADER_PREFIX);
        int pos = offsetIndex.lookup(Long.MAX_VALUE).position();
        long next = baseOffset;
        BatchPosition b;
        while ((b = readHeader(pos, maxPosition, header)) != null) {
            next = b.lastOffset + 1;
            pos += b.size;
        }
        return next;
    }

    /**
     * The first record at or after {@code timestamp} with offset at or above {@code startingOffset}, using
     * the time index to skip batches whose timestamps are all below it.
     */
    TimestampOffset findOffsetByTimestamp(long timestamp, long startingOffset, int maxPosition) throws IOException {
        try (var pin = log.pin()) {
            return findOffsetByTimestampPinned(timestamp, startingOffset, maxPosition);
        }
    }

    private TimestampOffset findOffsetByTimestampPinned(long timestamp, long startingOffset, int maxPosition) {
        TimestampOffset hint = timeIndex.lookup(timestamp);
        int pos = offsetIndex.lookup(Math.max(hint.offset(), startingOffset)).position();
        for (LogBatch batch : log.batchesFrom(pos, maxPosition)) {
            if (batch.maxTimestamp() >= timestamp && batch.lastOffset() >= startingOffset) {
                for (LogRecord record : batch) {
                    if (record.timestamp() >= timestamp && record.offset() >= startingOffset) {
                        return new TimestampOffset(record.timestamp(), record.offset(), batch.partitionLeaderEpoch());
                    }
                }
            }
        }
        return null;
    }

    /** The record with this segment's largest timestamp (ListOffsets MAX_TIMESTAMP), or null. */
    TimestampOffset maxTimestampRecord(int maxPosition) throws IOException {
        try (var pin = log.pin()) {
            return maxTimestampRecordPinned(maxPosition);
        }
    }

    private TimestampOffset maxTimestampRecordPinned(int maxPosition) {
        long ts = maxTimestampSoFar;
        if (ts < 0) {
            return null;
        }
        int pos = offsetIndex.lookup(offsetOfMaxTimestampSoFar).position();
        for (LogBatch batch : log.batchesFrom(pos, maxPosition)) {
            if (batch.maxTimestamp() == ts) {
                for (LogRecord record : batch) {
                    if (record.timestamp() == ts) {
                        return new TimestampOffset(ts, record.offset(), batch.partitionLeaderEpoch());
                    }
                }
                // LogAppendTime batches stamp only the batch header
                return new TimestampOffset(ts, batch.lastOffset(), batch.partitionLeaderEpoch());
            }
        }
        return null;
    }

    /**
     * Rebuilds both indexes and the timestamps by scanning every batch, stopping at the first one that is
     * torn, not v2, out of order or fails its CRC, and truncating the file there. Each valid batch is
     * handed to {@code onBatch} (producer state, leader epochs). Returns the number of bytes truncated.
     */
    int recover(long expectedFirstOffset, Consumer<LogBatch> onBatch) throws IOException {
        offsetIndex.reset();
        timeIndex.reset();
        // rebuilt by the loader's replay of producer state, which knows where each transaction started
        txnIndex.reset();
        // a trimmed index of a closed segment has no room to be rebuilt in; the caller trims it again
        resizeIndexes(maxIndexSize);
        maxTimestampSoFar = LogBatch.NO_TIMESTAMP;
        offsetOfMaxTimestampSoFar = baseOffset;
        bytesSinceLastIndexEntry = 0;
        int validBytes = 0;
        long nextOffset = Math.max(expectedFirstOffset, baseOffset);
        try (var pin = log.pin()) {
            for (LogBatch batch : log.batches()) {
                if (batch.magic() != LogBatch.MAGIC_V2 || batch.baseOffset() < nextOffset
                        || !canConvertToRelativeOffset(batch.lastOffset()) || !batch.isValid()) {
                    break;
                }
                indexBatch(batch, validBytes);
                onBatch.accept(batch);
                validBytes += batch.sizeInBytes();
                nextOffset = batch.nextOffset();
            }
        } catch (CorruptRecordException e) {
            // a size field below the minimum: the rest of the file is garbage
        }
        int truncated = log.sizeInBytes() - validBytes;
        if (truncated > 0) {
            log.truncateTo(validBytes);
        }
        verified.reset(validBytes);
        timeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar, true);
        return truncated;
    }

    /** Truncates to {@code offset} (exclusive); returns the bytes removed. */
    int truncateTo(long offset) throws IOException {
        BatchPosition b = translateOffset(offset, size());
        if (b == null) {
            return 0;
        }
        // an offset inside a batch drops that whole batch, as Kafka's LogSegment.truncateTo does
        offsetIndex.truncateTo(b.baseOffset);
        timeIndex.truncateTo(b.baseOffset);
        txnIndex.truncateTo(b.baseOffset);
        int before = size();
        log.truncateTo(b.position);
        verified.truncateTo(b.position);
        // the largest timestamp may have been cut off: recompute from the remaining batches
        maxTimestampSoFar = LogBatch.NO_TIMESTAMP;
        offsetOfMaxTimestampSoFar = baseOffset;
        try (var pin = log.pin()) {
            for (LogBatch batch : log.batches()) {
                if (batch.maxTimestamp() > maxTimestampSoFar) {
                    maxTimestampSoFar = batch.maxTimestamp();
                    offsetOfMaxTimestampSoFar = batch.lastOffset();
                }
            }
        }
        bytesSinceLastIndexEntry = 0;
        if (size() == 0) {
            rollingBasedTimestamp = LogBatch.NO_TIMESTAMP;
        }
        return before - size();
    }

    /** The segment stops being active: write its final time-index entry and trim the indexes. */
    void onBecomeInactive() throws IOException {
        timeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar, true);
        offsetIndex.trimToValidSize();
        timeIndex.trimToValidSize();
        log.trim();
    }

    void resizeIndexes(int size) throws IOException {
        offsetIndex.resize(size);
        timeIndex.resize(size);
    }

    /** The {@code .log} is known to be on disk (the loader, after recovery): a flush or close need not sync it. */
    void markSynced() {
        log.markSynced();
    }

    void flush() throws IOException {
        log.flush();
        offsetIndex.flush();
        timeIndex.flush();
        txnIndex.flush();
    }

    /** Renames the three files with the {@code .deleted} suffix; handles stay open for in-flight reads. */
    void renameToDeleted() throws IOException {
        log.renameTo(new File(log.file().getPath() + DELETED_SUFFIX));
        offsetIndex.renameTo(Path.of(offsetIndex.file() + DELETED_SUFFIX));
        timeIndex.renameTo(Path.of(timeIndex.file() + DELETED_SUFFIX));
        txnIndex.renameTo(Path.of(txnIndex.file() + DELETED_SUFFIX));
    }

    /**
     * Renames the three files to their usual names followed by {@code suffix} ("" for the usual names;
     * the cleaner's {@code .cleaned} and {@code .swap}); handles stay open. The log file goes last, so a
     * crash in between leaves index files that recovery removes or rebuilds, never a log under a new
     * name with stale indexes under the old one.
     */
    void renameFiles(String suffix) throws IOException {
        Path dir = log.file().toPath().getParent();
        offsetIndex.renameTo(dir.resolve(fileName(baseOffset, INDEX_SUFFIX) + suffix));
        timeIndex.renameTo(dir.resolve(fileName(baseOffset, TIME_INDEX_SUFFIX) + suffix));
        txnIndex.renameTo(dir.resolve(fileName(baseOffset, TransactionIndex.SUFFIX) + suffix));
        log.renameTo(dir.resolve(fileName(baseOffset, LOG_SUFFIX) + suffix).toFile());
    }

    long lastModified() {
        return log.file().lastModified();
    }

    void setLastModified(long ms) {
        if (!log.file().setLastModified(ms)) {
            throw new java.io.UncheckedIOException(new IOException("cannot set the modification time of " + log.file()));
        }
    }

    /** The timestamp of the first batch (max.compaction.lag.ms), or -1 when empty or unknown. */
    long firstBatchTimestamp() {
        try (var pin = log.pin()) {
            for (LogBatch b : log.batches()) {
                return b.maxTimestamp();
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return LogBatch.NO_TIMESTAMP;
    }

    /** The batches from {@code position} that end at or below {@code maxPosition}; iterate them under {@link #pin}. */
    Iterable<LogBatch> batchesFrom(int position, int maxPosition) {
        return log.batchesFrom(position, maxPosition);
    }

    /**
     * Sanity check of untrusted indexes (Kafka's, plus one header read): whole entries, increasing,
     * within the file, and the last offset-index entry pointing at the start of the batch it names.
     */
    boolean indexesSane() throws IOException {
        try (var pin = log.pin()) {
            return indexesSanePinned();
        }
    }

    private boolean indexesSanePinned() throws IOException {
        if (!txnIndex.isSane()) {
            return false;
        }
        int logSize = size();
        if (!offsetIndex.isSane(logSize, Long.MAX_VALUE)) {
            return false;
        }
        int lastIndexed = 0;
        if (offsetIndex.entries() > 0) {
            OffsetIndex.Entry last = offsetIndex.lookup(Long.MAX_VALUE);
            BatchPosition b = readHeader(last.position(), logSize, ByteBuffer.allocate(HEADER_PREFIX));
            if (b == null || b.lastOffset != last.offset()) {
                return false;
            }
            lastIndexed = last.position();
        }
        if (!timeIndex.isSane(logSize, readNextOffset())) {
            return false;
        }
        // the time index's last entry holds the segment's largest timestamp (ListOffsets, retention): an index
        // emptied or cut short would hide it. The batches after the last offset-index entry are a few
        // index.interval.bytes at most, so this reads a handful of headers
        long indexedMax = timeIndex.lastEntry().timestamp();
        for (LogBatch batch : log.batchesFrom(lastIndexed, logSize)) {
            if (batch.maxTimestamp() > indexedMax) {
                return false;
            }
        }
        return true;
    }

    void closeHandlersOnly() throws IOException {
        // for good; an in-flight read still holding the file closes it when it releases it
        log.closeHandlers();
        offsetIndex.closeHandler();
        timeIndex.closeHandler();
        txnIndex.closeHandler();
    }

    void closeAndDelete() throws IOException {
        log.closeHandlers();
        offsetIndex.closeHandler();
        timeIndex.closeHandler();
        Files.deleteIfExists(log.file().toPath());
        Files.deleteIfExists(offsetIndex.file());
        Files.deleteIfExists(timeIndex.file());
        txnIndex.delete();
    }

    @Override
    public void close() throws IOException {
        timeIndex.maybeAppend(maxTimestampSoFar, offsetOfMaxTimestampSoFar, true);
        offsetIndex.close();
        timeIndex.close();
        txnIndex.closeHandler();
        log.close();
    }

    @Override
    public String toString() {
        return "LogSegment(base=" + baseOffset + ", size=" + size() + ")";
    }
}
