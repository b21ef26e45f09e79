package io.runnel.log;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.OptionalLong;

import org.apache.kafka.common.errors.CorruptRecordException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.CompressionType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.DefaultRecordBatch;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.FileLogInputStream.FileChannelRecordBatch;
import org.apache.kafka.common.record.internal.FileRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.Records;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.common.utils.internals.BufferSupplier;
import org.apache.kafka.common.utils.internals.CloseableIterator;

/**
 * The one place on the storage side that uses kafka-clients' record classes. They are internal API:
 * kafka-clients 4.3.0 moved them from {@code org.apache.kafka.common.record} to
 * {@code org.apache.kafka.common.record.internal} (and {@code BufferSupplier}/{@code CloseableIterator} to
 * {@code utils.internals}), so the next such move is a change to this file (and to the protocol codec,
 * {@code io.runnel.protocol.WireRecords}) only. Everything else sees {@link RecordSet}, {@link LogBatch}
 * and {@link LogRecord}.
 *
 * <p>What it adapts, and nothing more: iterating the batches of a buffer, reading batch header fields and
 * records, changing a batch in place on append, checking its CRC, building a batch (data or an
 * end-transaction marker), filtering the records of batches into a new buffer for the log cleaner
 * ({@link #filter}, kafka-clients' {@code MemoryRecords.filterTo}), and a segment's {@link SegmentFile}
 * (kafka-clients' {@code FileRecords}: positional appends, truncation, batch scans).
 * Stateless apart from SegmentFile, whose threading is that of its {@link LogSegment}, and a filtering,
 * which runs on the thread that called {@link #filter}.
 */
final class RecordFormat {

    /** Byte offset, in a v2 batch, of lastOffsetDelta (int32); base offset and length come before it. */
    static final int LAST_OFFSET_DELTA_OFFSET = DefaultRecordBatch.LAST_OFFSET_DELTA_OFFSET;
    /** Size of a v2 batch with no records: the smallest valid batch. */
    static final int RECORD_BATCH_OVERHEAD = DefaultRecordBatch.RECORD_BATCH_OVERHEAD;
    /** Bytes of a batch header up to and including its magic byte: what {@link #firstBatchSize} needs. */
    static final int HEADER_SIZE_UP_TO_MAGIC = Records.HEADER_SIZE_UP_TO_MAGIC;

    private RecordFormat() {
    }

    static Iterable<LogBatch> batches(ByteBuffer buffer) {
        return views(MemoryRecords.readableRecords(buffer.duplicate()).batches());
    }

    static ByteBuffer build(RecordSet.Builder b, List<RecordSet.NewRecord> records) {
        SimpleRecord[] simple = new SimpleRecord[records.size()];
        for (int i = 0; i < simple.length; i++) {
            RecordSet.NewRecord r = records.get(i);
            simple[i] = new SimpleRecord(r.timestamp(), r.key(), r.value(), r.headers());
        }
        TimestampType type = b.magic == 0 ? TimestampType.NO_TIMESTAMP_TYPE : TimestampType.CREATE_TIME;
        return MemoryRecords.withRecords(b.magic, b.baseOffset, b.compression, type, b.producerId, b.producerEpoch,
                b.baseSequence, LogBatch.NO_PARTITION_LEADER_EPOCH, b.transactional, simple).buffer();
    }

    /**
     * An end-transaction marker: a control batch of one COMMIT or ABORT record closing {@code producerId}'s
     * transaction, as a transaction coordinator has a partition leader write it.
     */
    static ByteBuffer endTransactionMarker(long baseOffset, long timestamp, int partitionLeaderEpoch, long producerId,
                                           short producerEpoch, boolean commit, int coordinatorEpoch) {
        EndTransactionMarker marker = new EndTransactionMarker(commit ? ControlRecordType.COMMIT
                : ControlRecordType.ABORT, coordinatorEpoch);
        return MemoryRecords.withEndTransactionMarker(baseOffset, timestamp, partitionLeaderEpoch, producerId,
                producerEpoch, marker).buffer();
    }

    /**
     * The size, header included, of the first batch in {@code buffer} (from its position) as its header
     * declares it, or null when fewer than {@link #HEADER_SIZE_UP_TO_MAGIC} bytes remain; the batch itself
     * may extend past the buffer. Throws CorruptRecordException for a size below the smallest batch or an
     * unknown magic.
     */
    static Integer firstBatchSize(ByteBuffer buffer) {
        return MemoryRecords.readableRecords(buffer.duplicate()).firstBatchSize();
    }

    /** What a {@link RecordFilter} decides for a whole batch before its records are asked about. */
    enum BatchRetention {
        /** Drop the batch without looking at its records. */
        DELETE,
        /** Keep the batch, as a header with no records if none is retained (offsets and producer fields stay). */
        RETAIN_EMPTY,
        /** Drop the batch if none of its records is retained. */
        DELETE_EMPTY
    }

    /** The rules of a {@link #filter}, asked once per batch, then once per record of a batch not deleted. */
    interface RecordFilter {

        BatchRetention checkBatch(LogBatch batch);

        /**
         * Whether the batch just checked is a transaction marker that may go once its delete horizon passed:
         * a rewrite then sets the horizon (KIP-534), as for tombstones.
         */
        default boolean checkedMarkerMayGo() {
            return false;
        }

        boolean retainRecord(LogBatch batch, LogRecord record);
    }

    /**
     * What a {@link #filter} did. {@code output} holds the batches written, ready to read (position 0, limit
     * at their end): the destination buffer, or a larger one when a rewritten batch did not fit, in which
     * case the filtering stopped after that batch and {@code bytesRead} says how far it got.
     */
    record FilterResult(ByteBuffer output, int bytesRead, int recordsRead, int recordsRetained) {
    }

    /**
     * Copies the whole batches of {@code source} (position to limit) into {@code destination} (from its
     * position), keeping what {@code filter} retains, as Kafka's log cleaner does: a batch whose records all
     * stay is copied byte for byte; any other keeps its base offset, last offset, producer id, epoch, base
     * sequence, leader epoch and codec, and is rebuilt with the retained records (recompressed with its
     * codec). The first time a batch holding a tombstone is rewritten, its delete horizon is set to
     * {@code now + deleteRetentionMs} (KIP-534: {@link LogBatch#deleteHorizonMs}). A transaction marker the filter says may go
     * gets its delete horizon the same way.
     * {@code source} is not changed.
     */
    static FilterResult filter(ByteBuffer source, ByteBuffer destination, RecordFilter filter, long now,
                               long deleteRetentionMs) {
        MemoryRecords.FilterResult r = MemoryRecords.readableRecords(source.duplicate()).filterTo(
                new KafkaFilter(filter, now, deleteRetentionMs), destination, BufferSupplier.NO_CACHING,
                Records.SOFT_MAX_ARRAY_LENGTH);
        ByteBuffer out = r.outputBuffer();
        out.flip();
        return new FilterResult(out, r.bytesRead(), r.messagesRead(), r.messagesRetained());
    }

    /** Our rules in the shape kafka-clients' filterTo asks them; one view per batch, not per record. */
    private static final class KafkaFilter extends MemoryRecords.RecordFilter {
        private final RecordFilter rules;
        private RecordBatch current;
        private LogBatch view;

        KafkaFilter(RecordFilter rules, long now, long deleteRetentionMs) {
            super(now, deleteRetentionMs);
            this.rules = rules;
        }

        @Override
        protected BatchRetentionResult checkBatchRetention(RecordBatch batch) {
            RecordFormat.BatchRetention decision = rules.checkBatch(view(batch));
            MemoryRecords.RecordFilter.BatchRetention kafka = switch (decision) {
                case DELETE -> MemoryRecords.RecordFilter.BatchRetention.DELETE;
                case RETAIN_EMPTY -> MemoryRecords.RecordFilter.BatchRetention.RETAIN_EMPTY;
                case DELETE_EMPTY -> MemoryRecords.RecordFilter.BatchRetention.DELETE_EMPTY;
            };
            return new BatchRetentionResult(kafka, rules.checkedMarkerMayGo());
        }

        @Override
        protected boolean shouldRetainRecord(RecordBatch batch, Record record) {
            return rules.retainRecord(view(batch), new RecordView(record));
        }

        private LogBatch view(RecordBatch batch) {
            if (batch != current) {
                current = batch;
                view = new BatchView(batch);
            }
            return view;
        }
    }

    private static Iterable<LogBatch> views(Iterable<? extends RecordBatch> batches) {
        return () -> {
            Iterator<? extends RecordBatch> it = batches.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public LogBatch next() {
                    return new BatchView(it.next());
                }
            };
        };
    }

    /**
     * A segment's {@code .log} file: kafka-clients' FileRecords, which appends at its end, truncates and
     * trims, and scans batch headers positionally, behind a descriptor that {@link SegmentChannels} may close
     * while nobody holds the file and that is reopened on its next use.
     *
     * <p>Holding: {@link #acquire} (or {@link #pin}) returns the open file and keeps it open until the
     * matching {@link #release}; {@link #channel}, {@link #batches}, {@link #batchesFrom} and the writes need
     * the file held. The size, the name and whether the file has data not yet flushed are kept here, so
     * asking them opens nothing. A held count of {@code CLOSED} means no descriptor: the first holder reopens
     * the file (by its current name, never creating it again), and only a file nobody holds is closed, with
     * one compare-and-set, so a reader (a Fetch answer sent by {@code sendfile}) never sees its channel closed.
     *
     * <p>Appends, truncation, renames and close come from the segment's owner only; reads of a held channel
     * are positional and may run on any thread.
     */
    static final class SegmentFile implements Closeable {
        private static final int CLOSED = -1;

        private final SegmentChannels channels;
        private final java.util.concurrent.atomic.AtomicInteger holders = new java.util.concurrent.atomic.AtomicInteger(CLOSED);
        // set while held or when holders goes from CLOSED to 1 under this object's monitor, cleared when closed
        private volatile FileRecords records;
        private volatile File file;
        private volatile int size;
        // appended or truncated since the last flush (or opened, and not known to be synced): a close must sync
        // it even when no descriptor is open now
        private volatile boolean dirty = true;
        // closed for good (log closed, segment deleted): no reopening
        private volatile boolean retired;
        // CLOCK mark and list links of SegmentChannels; the links are guarded by it
        volatile boolean referenced;
        SegmentFile prev;
        SegmentFile next;
        boolean listed;

        private SegmentFile(File file, SegmentChannels channels) {
            this.file = file;
            this.channels = channels;
        }

        /** Opens, creating if absent, the file in the process's {@link SegmentChannels}; its size is the file's length. */
        static SegmentFile open(File file) throws IOException {
            return open(file, SegmentChannels.shared());
        }

        /** Opens, creating if absent, the file; its size is the file's length. */
        static SegmentFile open(File file, SegmentChannels channels) throws IOException {
            SegmentFile f = new SegmentFile(file, channels);
            FileRecords r = FileRecords.open(file);
            f.size = r.sizeInBytes();
            f.records = r;
            f.holders.set(1);
            channels.opened(f);
            f.release();
            return f;
        }

        /**
         * Holds the file open, reopening it if it was closed, until {@link #release}; returns it. Any thread; a
         * reopen is one {@code open(2)} of an existing file.
         */
        FileRecords acquire() throws IOException {
            for (;;) {
                int n = holders.get();
                if (n >= 0) {
                    if (holders.compareAndSet(n, n + 1)) {
                        referenced = true;
                        return records;
                    }
                } else {
                    FileRecords r = reopen();
                    if (r != null) {
                        return r;
                    }
                }
            }
        }

        /**
         * As {@link #acquire}, but never reopens: a closed file throws {@link SegmentClosedException}, for a
         * reader on an event loop, which may not {@code open(2)}.
         */
        FileRecords acquireOpen() {
            for (;;) {
                int n = holders.get();
                if (n < 0) {
                    throw new SegmentClosedException(file.getName());
                }
                if (holders.compareAndSet(n, n + 1)) {
                    referenced = true;
                    return records;
                }
            }
        }

        // null when another thread reopened it first (the caller then takes a hold the usual way)
        private FileRecords reopen() throws IOException {
            FileRecords r;
            synchronized (this) {
                if (holders.get() != CLOSED) {
                    return null;
                }
                if (retired) {
                    throw new java.nio.channels.ClosedChannelException();
                }
                if (!file.exists()) {
                    throw new java.nio.file.NoSuchFileException(file.toString(), null, "segment file is gone");
                }
                r = FileRecords.open(file, true, false, 0, false);
                records = r;
                holders.set(1);
            }
            // outside the monitor: the set's lock is taken before a file's monitor, never after
            channels.opened(this);
            return r;
        }

        /** Releases a hold taken by {@link #acquire}; a retired file's last holder closes it. */
        void release() {
            int n = holders.decrementAndGet();
            if (n < 0) {
                throw new IllegalStateException("segment file released more often than held: " + file);
            }
            if (n == 0) {
                if (retired) {
                    if (tryCloseUnused()) {
                        channels.closed(this);
                    }
                } else if (channels.overLimit()) {
                    // the set grew past its bound while its files were held: shrink it now that one is free
                    channels.shrink();
                }
            }
        }

        /** Holds the file until the returned pin is closed (try-with-resources). */
        Pin pin() throws IOException {
            acquire();
            return this::release;
        }

        interface Pin extends AutoCloseable {
            @Override
            void close();
        }

        /** Closes the descriptor if nobody holds the file (eviction, retirement); false if held or closed. */
        synchronized boolean tryCloseUnused() {
            if (!holders.compareAndSet(0, CLOSED)) {
                return false;
            }
            FileRecords r = records;
            records = null;
            try {
                r.channel().close();
            } catch (IOException e) {
                // a close(2) of a file opened for reading and writing reports no error that matters here: its
                // unflushed data is synced, through a new descriptor, by the next flush or close
            }
            return true;
        }

        boolean isOpen() {
            return holders.get() >= 0;
        }

        SegmentChannels channels() {
            return channels;
        }

        /** Whether the process's set has more files open than its bound (see {@link SegmentChannels#overLimit}). */
        boolean setOverLimit() {
            return channels.overLimit();
        }

        private FileRecords held() {
            if (holders.get() <= 0) {
                throw new IllegalStateException("segment file used without holding it: " + file);
            }
            return records;
        }

        int sizeInBytes() {
            return size;
        }

        /** The channel of the held file. */
        FileChannel channel() {
            return held().channel();
        }

        File file() {
            return file;
        }

        void append(RecordSet set) throws IOException {
            FileRecords r = acquire();
            try {
                dirty = true;
                r.append(MemoryRecords.readableRecords(set.buffer()));
                size = r.sizeInBytes();
            } finally {
                release();
            }
        }

        /**
         * The batches from {@code position}, back to back, read-only, ending before the first one that
         * does not end at or below {@code maxPosition} (the published end of the log) or is torn. The file must
         * be held while they are iterated and read.
         */
        Iterable<LogBatch> batchesFrom(int position, int maxPosition) {
            Iterable<FileChannelRecordBatch> all = held().batchesFrom(position);
            return () -> new Iterator<>() {
                private final Iterator<FileChannelRecordBatch> it = all.iterator();
                private FileChannelRecordBatch next;
                private boolean done;

                @Override
                public boolean hasNext() {
                    if (next == null && !done && it.hasNext()) {
                        FileChannelRecordBatch b = it.next();
                        if (b.position() + (long) b.sizeInBytes() <= maxPosition) {
                            next = b;
                        } else {
                            done = true;
                        }
                    }
                    return next != null;
                }

                @Override
                public LogBatch next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    LogBatch b = new BatchView(next);
                    next = null;
                    return b;
                }
            };
        }

        /** Every batch of the file; it must be held while they are iterated and read. */
        Iterable<LogBatch> batches() {
            return views(held().batches());
        }

        void truncateTo(int newSize) throws IOException {
            FileRecords r = acquire();
            try {
                dirty = true;
                r.truncateTo(newSize);
                size = r.sizeInBytes();
            } finally {
                release();
            }
        }

        void trim() throws IOException {
            if (!isOpen()) {
                // a closed file has no preallocated tail (FileRecords.open sizes it by the file's length)
                return;
            }
            FileRecords r = acquire();
            try {
                r.trim();
            } finally {
                release();
            }
        }

        /** The file is known to be on disk: nothing to sync until the next write. */
        void markSynced() {
            dirty = false;
        }

        /** Syncs what was written since the last flush; a file with nothing new is not opened. */
        void flush() throws IOException {
            if (!dirty) {
                return;
            }
            FileRecords r = acquire();
            try {
                // cleared first: an append racing this flush marks it again
                dirty = false;
                r.flush();
            } catch (IOException e) {
                dirty = true;
                throw e;
            } finally {
                release();
            }
        }

        /** Renames the file, open or not (under the monitor, so that no reopen uses the old name meanwhile). */
        synchronized void renameTo(File to) throws IOException {
            FileRecords r = records;
            if (r != null && holders.get() >= 0) {
                r.renameTo(to);
            } else {
                org.apache.kafka.common.utils.Utils.atomicMoveWithFallback(file.toPath(), to.toPath(), false);
            }
            file = to;
        }

        /** Closes the file for good without flushing or trimming (kafka-clients 4.4 dropped FileRecords.closeHandlers). */
        void closeHandlers() {
            retire();
        }

        // marks the file closed for good and closes its descriptor now, or at its last holder's release
        private void retire() {
            retired = true;
            if (tryCloseUnused()) {
                channels.closed(this);
            }
        }

        /** Flushes, trims and closes the file for good. */
        @Override
        public void close() throws IOException {
            if (!retired) {
                flush();
                trim();
            }
            retire();
        }
    }

    private record BatchView(RecordBatch batch) implements LogBatch {

        @Override
        public byte magic() {
            return batch.magic();
        }

        @Override
        public long baseOffset() {
            return batch.baseOffset();
        }

        @Override
        public long lastOffset() {
            return batch.lastOffset();
        }

        @Override
        public long nextOffset() {
            return batch.nextOffset();
        }

        @Override
        public int sizeInBytes() {
            return batch.sizeInBytes();
        }

        @Override
        public Integer countOrNull() {
            return batch.countOrNull();
        }

        @Override
        public long maxTimestamp() {
            return batch.maxTimestamp();
        }

        @Override
        public TimestampType timestampType() {
            return batch.timestampType();
        }

        @Override
        public int partitionLeaderEpoch() {
            return batch.partitionLeaderEpoch();
        }

        @Override
        public long producerId() {
            return batch.producerId();
        }

        @Override
        public short producerEpoch() {
            return batch.producerEpoch();
        }

        @Override
        public int baseSequence() {
            return batch.baseSequence();
        }

        @Override
        public int lastSequence() {
            return batch.lastSequence();
        }

        @Override
        public boolean hasProducerId() {
            return batch.hasProducerId();
        }

        @Override
        public boolean isTransactional() {
            return batch.isTransactional();
        }

        @Override
        public boolean isControlBatch() {
            return batch.isControlBatch();
        }

        @Override
        public EndTxnMarker endTxnMarker() {
            if (!batch.isControlBatch()) {
                return null;
            }
            Iterator<Record> it = batch.iterator();
            if (!it.hasNext()) {
                return null;
            }
            Record r = it.next();
            ControlRecordType type = ControlRecordType.parse(r.key());
            if (type != ControlRecordType.COMMIT && type != ControlRecordType.ABORT) {
                return null;
            }
            EndTransactionMarker m = EndTransactionMarker.deserialize(r);
            return new EndTxnMarker(type == ControlRecordType.COMMIT, m.coordinatorEpoch());
        }

        @Override
        public String compressionName() {
            return batch.compressionType().name;
        }

        @Override
        public boolean isCompressed() {
            return batch.compressionType() != CompressionType.NONE;
        }

        @Override
        public OptionalLong deleteHorizonMs() {
            return batch.deleteHorizonMs();
        }

        @Override
        public boolean isValid() {
            return batch.isValid();
        }

        @Override
        public void ensureValid() throws CorruptRecordException {
            batch.ensureValid();
        }

        @Override
        public void scanRecords(RecordScanner scanner) {
            // an uncompressed batch is read in place either way
            try (CloseableIterator<Record> it = isCompressed()
                    ? mutable().skipKeyValueIterator(BufferSupplier.NO_CACHING)
                    : batch.streamingIterator(BufferSupplier.NO_CACHING)) {
                while (it.hasNext()) {
                    Record r = it.next();
                    scanner.record(r.offset(), r.timestamp(), r.hasKey());
                }
            }
        }

        @Override
        public void setLastOffset(long offset) {
            mutable().setLastOffset(offset);
        }

        @Override
        public void setPartitionLeaderEpoch(int epoch) {
            mutable().setPartitionLeaderEpoch(epoch);
        }

        @Override
        public void setMaxTimestamp(TimestampType type, long maxTimestamp) {
            mutable().setMaxTimestamp(type, maxTimestamp);
        }

        private MutableRecordBatch mutable() {
            if (batch instanceof MutableRecordBatch m) {
                return m;
            }
            throw new UnsupportedOperationException("a batch read from a segment file is read-only");
        }

        @Override
        public Iterator<LogRecord> iterator() {
            Iterator<Record> it = batch.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public LogRecord next() {
                    return new RecordView(it.next());
                }
            };
        }

        @Override
        public String toString() {
            return batch.toString();
        }
    }

    private record RecordView(Record record) implements LogRecord {

        @Override
        public long offset() {
            return record.offset();
        }

        @Override
        public long timestamp() {
            return record.timestamp();
        }

        @Override
        public boolean hasKey() {
            return record.hasKey();
        }

        @Override
        public ByteBuffer key() {
            return record.key();
        }

        @Override
        public boolean hasValue() {
            return record.hasValue();
        }

        @Override
        public ByteBuffer value() {
            return record.value();
        }

        @Override
        public Header[] headers() {
            return record.headers();
        }

        @Override
        public String toString() {
            return record.toString();
        }
    }
}
