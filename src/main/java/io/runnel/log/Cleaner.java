package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import io.runnel.log.RecordFormat.BatchRetention;
import org.apache.kafka.common.utils.Time;

/**
 * Cleans one compacted log, with Kafka's semantics (its {@code Cleaner}):
 * <ol>
 * <li>On the partition's owner, a snapshot: the segments, the truncation count, and the last data offset
 *     of every producer id.</li>
 * <li>Off the owner: the {@link OffsetMap} of the dirty section {@code [firstDirty, end)} (key to latest
 *     offset; control batches, keyless records and aborted transactional data skipped), where {@code end} is
 *     the first uncleanable offset (never past the active segment, the last stable offset, or
 *     min.compaction.lag.ms), or earlier
 *     if the map fills up.</li>
 * <li>Every segment from the start of the log up to {@code end}, in groups whose sum fits one segment
 *     (segment.bytes, segment.index.bytes, 4-byte relative offsets), is copied into a
 *     {@code <base>.log.cleaned} segment by {@link RecordFormat#filter} (Kafka's filterTo): a record is
 *     kept if it is at or past {@code end}, or the latest of its key and not a tombstone whose delete
 *     horizon (set in the batch the first time the tombstone is cleaned: now + delete.retention.ms) has
 *     passed. Keyless records below {@code end} go, as in Kafka. Kept batches keep their base offset,
 *     producer id, epoch and base sequence, leader epoch and codec (whole batches are copied as they are;
 *     others are recompressed with their codec); offsets are never reassigned, so holes are normal.
 *     The last batch of every producer id stays, even emptied, so a restarted or new leader rebuilds the
 *     producer state that idempotent deduplication needs; so does the batch that ends right below the
 *     active segment, so the log never ends in a hole. Transactions as Kafka's cleaner handles them
 *     ({@link CleanedTransactionMetadata}): data of aborted transactions (from the transaction indexes)
 *     goes; an ABORT marker stays, with its entry in the cleaned segment's {@code .txnindex}, while a pass
 *     still met its data, and a marker left with no data of its transaction before it gets a delete
 *     horizon and goes once that passed (the marker of a producer's latest epoch stays, emptied).</li>
 * <li>The cleaned segment is flushed and handed to the owner, which swaps it in
 *     ({@link PartitionLog#replaceSegments}), refusing if the log was truncated or a segment went
 *     meanwhile, in which case the round is abandoned and retried later.</li>
 * </ol>
 *
 * <p>Threading: one cleaner thread per instance (its map and buffers are its own). Only the snapshot
 * and the swap run on the owner's context, through {@code owner}; reads of inactive segments are
 * positional and lock-free, so appends and fetches never wait for the cleaner.
 */
final class Cleaner {

    /** Thrown when a cleaning stops early: aborted by the partition layer, or the log changed under it. */
    static final class CleaningAborted extends RuntimeException {
        CleaningAborted(String message) {
            super(message, null, false, false);
        }
    }

    /** What to clean: a log, how to reach its owner, and its dirty range as the cleaner manager chose it. */
    record Task(PartitionLog log, Executor owner, long firstDirtyOffset, long firstUncleanableOffset,
                BooleanSupplier aborted) {
    }

    /** The outcome of one cleaning. */
    record Result(long endOffset, long bytesRead, long bytesWritten, long recordsRead, long recordsWritten,
                  int segmentsCleaned, int groups, double mapUtilization, long elapsedMs) {
    }

    private static final long OWNER_TIMEOUT_MS = 60_000;

    private final OffsetMap map;
    private final Throttler throttler;
    private final Time time;
    private final int maxIoBufferSize;
    private ByteBuffer readBuffer;
    private ByteBuffer writeBuffer;

    /**
     * @param dedupeBytes memory of the offset map (this thread's share of log.cleaner.dedupe.buffer.size)
     * @param ioBufferSize bytes of the read and the write buffer together (log.cleaner.io.buffer.size)
     */
    Cleaner(long dedupeBytes, int ioBufferSize, Throttler throttler, Time time) {
        this.map = new OffsetMap(dedupeBytes);
        this.throttler = throttler;
        this.time = time;
        int half = Math.max(4096, ioBufferSize / 2);
        this.readBuffer = ByteBuffer.allocate(half);
        this.writeBuffer = ByteBuffer.allocate(half);
        this.maxIoBufferSize = Integer.MAX_VALUE - 16;
    }

    Result clean(Task task) throws IOException {
        long start = time.milliseconds();
        PartitionLog log = task.log();
        PartitionLog.CleaningSnapshot snap = onOwner(task, log::cleaningSnapshot);
        LogSegment active = snap.active();
        long upper = Math.min(task.firstUncleanableOffset(), active.baseOffset);
        long firstDirty = Math.max(task.firstDirtyOffset(), snap.logStartOffset());
        List<LogSegment> inactive = snap.segments().subList(0, snap.segments().size() - 1);
        if (firstDirty >= upper) {
            return new Result(firstDirty, 0, 0, 0, 0, 0, 0, 0, time.milliseconds() - start);
        }
        map.clear();
        long[] counters = new long[4]; // bytes read, bytes written, records read, records written
        long end = buildOffsetMap(task, inactive, firstDirty, upper, counters);
        LogConfig config = log.config();
        List<List<LogSegment>> groups = groupBySize(snap.segments(), end, config.segmentBytes(), config.segmentIndexBytes());
        int segmentsCleaned = 0;
        for (List<LogSegment> group : groups) {
            cleanGroup(task, snap, group, end, config, counters);
            segmentsCleaned += group.size();
        }
        return new Result(end, counters[0], counters[1], counters[2], counters[3], segmentsCleaned, groups.size(),
                map.utilization(), time.milliseconds() - start);
    }

    // ------------------------------------------------------------------ the offset map

    /** Fills the map from the dirty section; returns the offset the cleaning covers up to (exclusive). */
    private long buildOffsetMap(Task task, List<LogSegment> inactive, long firstDirty, long upper, long[] counters)
            throws IOException {
        // aborted data never makes it into the map: it must not shadow the committed value before it
        CleanedTransactionMetadata txns = new CleanedTransactionMetadata(null);
        txns.addAbortedTransactions(task.log().collectAbortedTransactions(firstDirty, upper));
        for (LogSegment seg : inactive) {
            long segEnd = nextBase(inactive, seg, upper);
            if (segEnd <= firstDirty) {
                continue;
            }
            if (seg.baseOffset >= upper) {
                break;
            }
            int position = 0;
            int size = seg.size();
            while (position < size) {
                checkAborted(task);
                ByteBuffer chunk = read(seg, position, size);
                int consumed = 0;
                for (LogBatch batch : RecordFormat.batches(chunk)) {
                    consumed += batch.sizeInBytes();
                    if (batch.lastOffset() < firstDirty) {
                        continue;
                    }
                    if (batch.isControlBatch()) {
                        txns.onControlBatchRead(batch);
                        continue;
                    }
                    if (txns.onBatchRead(batch)) {
                        continue;
                    }
                    if (batch.baseOffset() >= upper) {
                        return upper;
                    }
                    for (LogRecord record : batch) {
                        long offset = record.offset();
                        if (offset < firstDirty || !record.hasKey()) {
                            continue;
                        }
                        if (offset >= upper) {
                            return upper;
                        }
                        if (map.isFull() && map.get(record.key()) < 0) {
                            // this round covers what the map holds; the rest is the next round's
                            return offset;
                        }
                        map.put(record.key(), offset);
                    }
                }
                throttler.maybeThrottle(consumed);
                position += consumed;
            }
        }
        return upper;
    }

    private static long nextBase(List<LogSegment> segments, LogSegment seg, long fallback) {
        int i = segments.indexOf(seg);
        return i + 1 < segments.size() ? segments.get(i + 1).baseOffset : fallback;
    }

    // ------------------------------------------------------------------ grouping

    /**
     * Consecutive inactive segments below {@code end} ({@code segments} ends with the active one), grouped
     * so that each group's bytes fit one segment and its index entries one index, with every offset within
     * a relative offset of the first base (Kafka's groupSegmentsBySize).
     */
    static List<List<LogSegment>> groupBySize(List<LogSegment> segments, long end, int maxSize, int maxIndexSize) {
        List<List<LogSegment>> groups = new ArrayList<>();
        int candidates = 0;
        while (candidates < segments.size() - 1 && segments.get(candidates).baseOffset < end) {
            candidates++;
        }
        int i = 0;
        while (i < candidates) {
            List<LogSegment> group = new ArrayList<>();
            LogSegment first = segments.get(i);
            group.add(first);
            long bytes = first.size();
            long offsetIndexBytes = first.offsetIndex().sizeInBytes();
            long timeIndexBytes = first.timeIndex().sizeInBytes();
            i++;
            while (i < candidates) {
                LogSegment next = segments.get(i);
                long nextEnd = segments.get(i + 1).baseOffset;
                if (bytes + next.size() > maxSize
                        || offsetIndexBytes + next.offsetIndex().sizeInBytes() > maxIndexSize
                        || timeIndexBytes + next.timeIndex().sizeInBytes() > maxIndexSize
                        || nextEnd - 1 - first.baseOffset > Integer.MAX_VALUE) {
                    break;
                }
                group.add(next);
                bytes += next.size();
                offsetIndexBytes += next.offsetIndex().sizeInBytes();
                timeIndexBytes += next.timeIndex().sizeInBytes();
                i++;
            }
            groups.add(group);
        }
        return groups;
    }

    // ------------------------------------------------------------------ copying

    private void cleanGroup(Task task, PartitionLog.CleaningSnapshot snap, List<LogSegment> group, long end,
                            LogConfig config, long[] counters) throws IOException {
        PartitionLog log = task.log();
        Path dir = log.dir();
        LogSegment first = group.get(0);
        deleteCleanedFiles(dir, first.baseOffset);
        LogSegment cleaned = LogSegment.open(dir, first.baseOffset, config, time, CleanerRecovery.CLEANED_SUFFIX,
                config.segmentIndexBytes(), first.channels());
        boolean swapped = false;
        try {
            // aborted data goes, and its ABORT marker keeps its index entry (in the cleaned segment's
            // .txnindex) while some of that data is still seen; see CleanedTransactionMetadata
            CleanedTransactionMetadata txns = new CleanedTransactionMetadata(cleaned.txnIndex());
            Filter filter = new Filter(time.milliseconds(), config.compaction().deleteRetentionMs(), end,
                    snap.producerLastRecords(), snap.active().baseOffset, txns);
            List<Integer> sizes = new ArrayList<>();
            long lastModified = 0;
            for (LogSegment seg : group) {
                int size = seg.size();
                sizes.add(size);
                lastModified = Math.max(lastModified, seg.lastModified());
                int at = snap.segments().indexOf(seg);
                long nextBase = at + 1 < snap.segments().size() ? snap.segments().get(at + 1).baseOffset
                        : seg.readNextOffset();
                txns.addAbortedTransactions(log.collectAbortedTransactions(seg.baseOffset, nextBase));
                copy(task, seg, size, cleaned, filter, counters);
            }
            cleaned.onBecomeInactive();
            cleaned.flush();
            cleaned.setLastModified(lastModified);
            swapped = onOwner(task, () -> log.replaceSegments(snap, group, sizes, cleaned));
            if (!swapped) {
                throw new CleaningAborted("the log of " + log.topicPartition() + " changed during its cleaning");
            }
        } finally {
            if (!swapped) {
                cleaned.closeAndDelete();
            }
        }
    }

    private void copy(Task task, LogSegment seg, int size, LogSegment cleaned, Filter filter, long[] counters)
            throws IOException {
        int position = 0;
        while (position < size) {
            checkAborted(task);
            ByteBuffer chunk = read(seg, position, size);
            writeBuffer.clear();
            RecordFormat.FilterResult result = RecordFormat.filter(chunk, writeBuffer, filter, filter.now,
                    filter.deleteRetentionMs);
            position += result.bytesRead();
            counters[0] += result.bytesRead();
            counters[2] += result.recordsRead();
            counters[3] += result.recordsRetained();
            ByteBuffer out = result.output();
            if (out.hasRemaining()) {
                counters[1] += out.remaining();
                cleaned.append(RecordSet.wrap(out));
            }
            if (out.capacity() > writeBuffer.capacity()) {
                // a batch grew on recompression past the buffer: keep the larger one for the next chunks
                writeBuffer = out;
            }
            throttler.maybeThrottle(result.bytesRead() + out.limit());
        }
    }

    /**
     * The whole batches from {@code position}, at least one, in the read buffer (ready to read; a trailing
     * partial batch is left to the next read): the buffer grows when a batch is larger than it.
     */
    private ByteBuffer read(LogSegment seg, int position, int size) throws IOException {
        while (true) {
            readBuffer.clear();
            int want = Math.min(readBuffer.capacity(), size - position);
            readBuffer.limit(want);
            long pos = position;
            while (readBuffer.hasRemaining()) {
                int n = seg.readAt(readBuffer, pos);
                if (n < 0) {
                    throw new IOException("unexpected end of " + seg.logFile() + " at " + pos);
                }
                pos += n;
            }
            readBuffer.flip();
            Integer firstSize = RecordFormat.firstBatchSize(readBuffer);
            if (firstSize != null && firstSize <= readBuffer.limit()) {
                return readBuffer;
            }
            if (firstSize == null && want < RecordFormat.HEADER_SIZE_UP_TO_MAGIC) {
                throw new IOException("torn batch header in " + seg.logFile() + " at " + position);
            }
            if (firstSize != null && firstSize > size - position) {
                throw new IOException("batch at " + position + " of " + seg.logFile() + " runs past the segment end");
            }
            int grown = firstSize == null ? readBuffer.capacity() * 2 : Math.max(firstSize, readBuffer.capacity() * 2);
            if (grown > maxIoBufferSize) {
                throw new IOException("batch at " + position + " of " + seg.logFile() + " is too large to clean");
            }
            readBuffer = ByteBuffer.allocate(grown);
        }
    }

    private static void deleteCleanedFiles(Path dir, long base) throws IOException {
        for (String suffix : List.of(LogSegment.LOG_SUFFIX, LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX,
                TransactionIndex.SUFFIX)) {
            Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, suffix) + CleanerRecovery.CLEANED_SUFFIX));
        }
    }

    private static void checkAborted(Task task) {
        if (task.aborted().getAsBoolean()) {
            throw new CleaningAborted("the cleaning of " + task.log().topicPartition() + " was aborted");
        }
    }

    private static <T> T onOwner(Task task, Supplier<T> work) throws IOException {
        CompletableFuture<T> f = new CompletableFuture<>();
        task.owner().execute(() -> {
            try {
                f.complete(work.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            return f.get(OWNER_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CleaningAborted("interrupted waiting for the owner of " + task.log().topicPartition());
        } catch (TimeoutException e) {
            // the owner may still run it: a swap is then complete or refused, both consistent
            throw new CleaningAborted("the owner of " + task.log().topicPartition() + " did not answer in time");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof UncheckedIOException uio) {
                throw uio.getCause();
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(cause);
        }
    }

    // ------------------------------------------------------------------ what is kept

    /** The retention rules of one group, as {@link RecordFormat#filter} asks them. */
    private final class Filter implements RecordFormat.RecordFilter {
        final long now;
        final long deleteRetentionMs;
        private final long end;
        private final Map<Long, ProducerStateManager.LastRecord> producerLastRecords;
        private final long activeBase;
        private final CleanedTransactionMetadata txns;
        // what checkBatch decided for the batch whose records are asked next
        private boolean discardRecords;
        private boolean markerMayGo;

        Filter(long now, long deleteRetentionMs, long end, Map<Long, ProducerStateManager.LastRecord> producerLastRecords,
               long activeBase, CleanedTransactionMetadata txns) {
            this.now = now;
            this.deleteRetentionMs = deleteRetentionMs;
            this.end = end;
            this.producerLastRecords = producerLastRecords;
            this.activeBase = activeBase;
            this.txns = txns;
        }

        @Override
        public BatchRetention checkBatch(LogBatch batch) {
            // as Kafka: a marker goes only once no data of its transaction is left and its delete horizon passed
            boolean canDiscard = batch.isControlBatch() ? txns.onControlBatchRead(batch) : txns.onBatchRead(batch);
            if (batch.isControlBatch()) {
                java.util.OptionalLong horizon = batch.deleteHorizonMs();
                discardRecords = canDiscard && horizon.isPresent() && horizon.getAsLong() <= now;
            } else {
                discardRecords = canDiscard;
            }
            markerMayGo = canDiscard && batch.isControlBatch();
            return Cleaner.checkBatchRetention(batch, producerLastRecords, activeBase, discardRecords);
        }

        @Override
        public boolean checkedMarkerMayGo() {
            return markerMayGo;
        }

        @Override
        public boolean retainRecord(LogBatch batch, LogRecord record) {
            if (discardRecords) {
                // aborted data, or a marker past its horizon kept empty for its producer's state
                return false;
            }
            if (batch.isControlBatch() || record.offset() >= end) {
                return true;
            }
            if (!record.hasKey()) {
                return false;
            }
            if (record.offset() < map.get(record.key())) {
                return false;
            }
            if (record.hasValue()) {
                return true;
            }
            // a tombstone stays until its delete horizon, which the filter sets the first time it is cleaned
            java.util.OptionalLong horizon = batch.deleteHorizonMs();
            return horizon.isEmpty() || now < horizon.getAsLong();
        }
    }

    /**
     * What becomes of a batch (Kafka's rules): the batch holding a producer's last data offset, or, for a
     * producer whose last write is a marker, that marker (its epoch fences zombies), and the batch ending
     * right below the active segment stay, as empty batches if need be; a batch whose records all go
     * ({@code discard}: aborted data, a marker past its horizon) is deleted; any other batch goes if emptied.
     */
    static BatchRetention checkBatchRetention(LogBatch batch, Map<Long, ProducerStateManager.LastRecord> producerLastRecords,
                                              long activeBase, boolean discard) {
        ProducerStateManager.LastRecord last = batch.hasProducerId() ? producerLastRecords.get(batch.producerId()) : null;
        boolean lastOfProducer = last != null && (last.lastDataOffset() >= 0
                ? batch.lastOffset() == last.lastDataOffset()
                : batch.isControlBatch() && batch.producerEpoch() == last.epoch());
        boolean endsLog = batch.nextOffset() == activeBase;
        if (lastOfProducer || endsLog) {
            return BatchRetention.RETAIN_EMPTY;
        }
        return discard ? BatchRetention.DELETE : BatchRetention.DELETE_EMPTY;
    }
}
