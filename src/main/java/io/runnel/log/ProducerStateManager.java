package io.runnel.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.zip.CRC32C;

import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.TransactionCoordinatorFencedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Idempotent and transactional producer state of one partition, as Kafka's {@code ProducerStateManager}: per
 * producer id its epoch, the timestamp of its last batch, the metadata (first/last sequence, first/last offset)
 * of its last five batches, the epoch of the last transaction coordinator that wrote a marker for it, and the
 * first offset of its ongoing transaction. Rebuilt on open from the newest valid snapshot at or below the log
 * end plus a replay of the batches after it, so a restarted or new leader still recognises retries and knows
 * which transactions are open.
 *
 * <p>Rules (Kafka 4 for produce): a batch equal in epoch and sequence range to one of the last five is a
 * duplicate and answered with the original offsets; an epoch below the known one is
 * {@link InvalidProducerEpochException}; a new epoch must start at sequence 0 unless the producer is
 * unknown; within an epoch the first sequence must follow the last one (wrapping at Integer.MAX_VALUE),
 * otherwise {@link OutOfOrderSequenceException}; a producer with no state (new, or expired after
 * producer.id.expiration.ms) is accepted at any sequence, which is why Kafka no longer answers
 * UNKNOWN_PRODUCER_ID for produce, except on a partition that has never held a record (log end offset 0),
 * where its first batch must be sequence 0 (Kafka 4.5, KAFKA-15591: there its state cannot have been removed,
 * and a later batch taken first would make the earlier one's retries fail for good).
 *
 * <p>Transactions: a transactional data batch of a producer with no open transaction opens one at its first
 * offset; a non-transactional batch while one is open is {@link InvalidTxnStateException}. A COMMIT or ABORT
 * marker (a control batch written by the transaction coordinator through the leader) closes it: its epoch
 * must not be below the producer's, and under transaction version 2 (which bumps the epoch at every end) must be
 * above it unless the marker repeats one already written ({@link InvalidProducerEpochException}); it moves the
 * producer to the marker's epoch (an epoch bump, which forgets the old epoch's batches: the new epoch starts at
 * sequence 0, and a late batch of the old one is {@link InvalidProducerEpochException}); its coordinator epoch
 * must not be below the last one seen ({@link TransactionCoordinatorFencedException}). A version-2 transaction's
 * first batch must have sequence 0 when the producer has no batch here. A closed transaction stays "unreplicated" until the high
 * watermark passes its marker; the first unstable offset is the first offset of the oldest open or
 * unreplicated transaction, and the last stable offset is that bounded by the high watermark. Every aborted
 * transaction is handed to the transaction index of the segment holding its marker, with the last stable
 * offset at that moment (the first offset of the oldest other open transaction, else the marker offset + 1).
 * Appends from replication are not validated (warned only), as Kafka's.
 *
 * <p>Snapshot file {@code <end offset %020d>.snapshot} in Kafka's format (ProducerSnapshot v1, big-endian):
 * short version 1, uint32 CRC-32C of everything after it, int32 entry count, then per producer: int64 id,
 * int16 epoch, int32 last sequence, int64 last offset, int32 offset delta (last minus first offset of its last
 * batch), int64 last timestamp, int32 coordinator epoch, int64 current transaction first offset (-1 for none).
 * Only each producer's last batch is kept in it, as in Kafka. Snapshots of Runnel's earlier format (int magic
 * "RNPS", version 1) are still read. Written to a temp file, forced and renamed.
 *
 * <p>Threading: owner only (not thread-safe).
 */
final class ProducerStateManager {

    private static final Logger LOG = LoggerFactory.getLogger(ProducerStateManager.class);

    static final int NUM_BATCHES_TO_RETAIN = 5;
    static final String SNAPSHOT_SUFFIX = ".snapshot";
    /** Kafka's producer.id.expiration.ms default (1 day). */
    static final long DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000L;
    private static final short KAFKA_VERSION = 1;
    private static final int KAFKA_ENTRIES_OFFSET = 6;
    private static final int KAFKA_ENTRY_SIZE = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;
    private static final int LEGACY_MAGIC = 0x524E5053;
    private static final short LEGACY_VERSION = 1;

    record BatchMetadata(int firstSeq, int lastSeq, long firstOffset, long lastOffset, long timestamp) {
    }

    /** A transaction closed by a marker at {@code lastOffset}. */
    record CompletedTxn(long producerId, long firstOffset, long lastOffset, boolean aborted) {
    }

    /** Receives the aborted transactions of an append, for the transaction index of the segment written. */
    @FunctionalInterface
    interface AbortedTxnSink {
        void aborted(AbortedTxn txn) throws IOException;
    }

    static final class ProducerEntry {
        final long producerId;
        short epoch = LogBatch.NO_PRODUCER_EPOCH;
        long lastTimestamp = LogBatch.NO_TIMESTAMP;
        int coordinatorEpoch = -1;
        long currentTxnFirstOffset = -1L;
        final ArrayDeque<BatchMetadata> batches = new ArrayDeque<>(NUM_BATCHES_TO_RETAIN);

        ProducerEntry(long producerId) {
            this.producerId = producerId;
        }

        ProducerEntry copy() {
            ProducerEntry c = new ProducerEntry(producerId);
            c.epoch = epoch;
            c.lastTimestamp = lastTimestamp;
            c.coordinatorEpoch = coordinatorEpoch;
            c.currentTxnFirstOffset = currentTxnFirstOffset;
            c.batches.addAll(batches);
            return c;
        }

        void addBatch(short batchEpoch, BatchMetadata meta) {
            maybeUpdateEpoch(batchEpoch);
            if (batches.size() == NUM_BATCHES_TO_RETAIN) {
                batches.removeFirst();
            }
            batches.addLast(meta);
            lastTimestamp = meta.timestamp();
        }

        private void maybeUpdateEpoch(short newEpoch) {
            if (newEpoch != epoch) {
                batches.clear();
                epoch = newEpoch;
            }
        }

        BatchMetadata findDuplicate(short batchEpoch, int firstSeq, int lastSeq) {
            if (batchEpoch != epoch) {
                return null;
            }
            for (BatchMetadata m : batches) {
                if (m.firstSeq() == firstSeq && m.lastSeq() == lastSeq) {
                    return m;
                }
            }
            return null;
        }

        long lastOffset() {
            return batches.isEmpty() ? -1L : batches.getLast().lastOffset();
        }

        int lastSeq() {
            return batches.isEmpty() ? LogBatch.NO_SEQUENCE : batches.getLast().lastSeq();
        }
    }

    private final Path dir;
    private final Map<Long, ProducerEntry> producers = new HashMap<>();
    // open transactions by first offset (producer id), and closed ones whose marker the high watermark has
    // not passed yet (Kafka's ongoingTxns and unreplicatedTxns)
    private final TreeMap<Long, Long> ongoingTxns = new TreeMap<>();
    private final TreeMap<Long, CompletedTxn> unreplicatedTxns = new TreeMap<>();
    private long mapEndOffset;

    ProducerStateManager(Path dir) {
        this.dir = dir;
    }

    long mapEndOffset() {
        return mapEndOffset;
    }

    int producerCount() {
        return producers.size();
    }

    ProducerEntry entry(long producerId) {
        return producers.get(producerId);
    }

    /** Every producer's entry (DescribeProducers); the entries are the live ones, owner only. */
    Map<Long, ProducerEntry> entries() {
        return producers;
    }

    /** The state changes of one append, applied by {@link #commit} only once the batches are written. */
    final class Append {
        private final Map<Long, ProducerEntry> updated = new HashMap<>();
        private final List<long[]> started = new ArrayList<>();
        private final List<CompletedTxn> completed = new ArrayList<>();

        /** The original metadata if this batch repeats one of the producer's last five (committed) batches. */
        BatchMetadata findDuplicate(LogBatch batch) {
            ProducerEntry e = producers.get(batch.producerId());
            return e == null ? null : e.findDuplicate(batch.producerEpoch(), batch.baseSequence(), batch.lastSequence());
        }

        private ProducerEntry entryFor(long pid) {
            ProducerEntry e = updated.get(pid);
            if (e == null) {
                ProducerEntry current = producers.get(pid);
                e = current == null ? new ProducerEntry(pid) : current.copy();
                updated.put(pid, e);
            }
            return e;
        }

        /** As {@link #append(LogBatch, long, long, long, AppendOrigin)} with a client's or replication's checks. */
        void append(LogBatch batch, long firstOffset, long lastOffset, long timestamp, boolean validate) {
            append(batch, firstOffset, lastOffset, timestamp, validate ? AppendOrigin.CLIENT : AppendOrigin.REPLICATION);
        }

        /** As {@link #append(LogBatch, long, long, long, AppendOrigin, short)} at transaction version 0. */
        void append(LogBatch batch, long firstOffset, long lastOffset, long timestamp, AppendOrigin origin) {
            append(batch, firstOffset, lastOffset, timestamp, origin, (short) 0);
        }

        /**
         * Checks (per {@code origin}) and records a batch given offsets [firstOffset, lastOffset]: a data batch,
         * or a control batch whose marker closes the producer's transaction. {@code transactionVersion}: for a
         * marker, the version WriteTxnMarkers carried (2: the coordinator bumped the epoch for it, so it must be
         * above the producer's; 0-1: at least the producer's); for a client's batch, 2 when the leader added its
         * partition to the transaction for a version-2 client (a transaction it opens then starts at sequence 0
         * even for a producer unknown here).
         */
        void append(LogBatch batch, long firstOffset, long lastOffset, long timestamp, AppendOrigin origin,
                    short transactionVersion) {
            long pid = batch.producerId();
            ProducerEntry e = entryFor(pid);
            short epoch = batch.producerEpoch();
            if (batch.isControlBatch()) {
                LogBatch.EndTxnMarker marker = batch.endTxnMarker();
                if (marker == null) {
                    // emptied by the cleaner (its transaction is gone too), or not a transaction marker
                    return;
                }
                checkMarkerEpoch(e, epoch, firstOffset, origin, transactionVersion);
                if (e.coordinatorEpoch > marker.coordinatorEpoch()) {
                    String msg = "Invalid coordinator epoch for producer " + pid + " at offset " + firstOffset + ": "
                            + marker.coordinatorEpoch() + " (zombie), " + e.coordinatorEpoch + " (current)";
                    if (origin != AppendOrigin.REPLICATION) {
                        throw new TransactionCoordinatorFencedException(msg);
                    }
                    LOG.info("{}", msg);
                }
                if (e.currentTxnFirstOffset >= 0) {
                    completed.add(new CompletedTxn(pid, e.currentTxnFirstOffset, firstOffset, !marker.commit()));
                }
                e.maybeUpdateEpoch(epoch);
                e.coordinatorEpoch = marker.coordinatorEpoch();
                e.lastTimestamp = timestamp;
                e.currentTxnFirstOffset = -1L;
                return;
            }
            int firstSeq = batch.baseSequence();
            checkEpoch(e, epoch, firstOffset, origin);
            if (origin == AppendOrigin.CLIENT) {
                if (transactionVersion >= 2 && batch.isTransactional() && e.currentTxnFirstOffset < 0
                        && firstSeq != 0 && e.batches.isEmpty()) {
                    // Kafka's check of a version-2 transaction's first batch (its VerificationStateEntry): without
                    // it a producer unknown here would be taken at any sequence, so a later batch whose earlier one
                    // failed its add would be written first, and the earlier one's retry refused for good
                    throw new OutOfOrderSequenceException("Invalid sequence number for producer " + pid
                            + " at offset " + firstOffset + ": " + firstSeq + " (incoming seq. number). Expected"
                            + " sequence 0 for a transaction-version-2 producer with no state in this partition");
                }
                if (firstOffset == 0 && firstSeq != 0 && e.epoch == LogBatch.NO_PRODUCER_EPOCH && e.batches.isEmpty()) {
                    // Kafka 4.5's rule (KAFKA-15591): a partition that has never held a record cannot have lost
                    // this producer's state, so its first batch must be sequence 0. Otherwise a batch pipelined
                    // behind one that was refused while this broker was still becoming leader would be taken
                    // here first, and every retry of the earlier one refused for good. Refused, the Java client
                    // retries it (its sequence is not the next acknowledged one) after the earlier batch.
                    throw new OutOfOrderSequenceException("Out of order sequence number for producer " + pid
                            + " at offset " + firstOffset + ": " + firstSeq + " (incoming seq. number). Expected"
                            + " sequence 0 for a producer with no state in a partition that has never held a record");
                }
                checkSequence(e, epoch, firstSeq, firstOffset);
            }
            e.addBatch(epoch, new BatchMetadata(firstSeq, batch.lastSequence(), firstOffset, lastOffset, timestamp));
            if (e.currentTxnFirstOffset >= 0 && !batch.isTransactional()) {
                if (origin != AppendOrigin.REPLICATION) {
                    throw new InvalidTxnStateException("Expected transactional write from producer " + pid
                            + " at offset " + firstOffset);
                }
            } else if (e.currentTxnFirstOffset < 0 && batch.isTransactional()) {
                e.currentTxnFirstOffset = firstOffset;
                started.add(new long[] {firstOffset, pid});
            }
        }
    }

    private static void checkEpoch(ProducerEntry e, short epoch, long offset, AppendOrigin origin) {
        if (epoch < e.epoch) {
            String msg = "Epoch of producer " + e.producerId + " at offset " + offset + " is " + epoch
                    + ", which is smaller than the last seen epoch " + e.epoch;
            if (origin == AppendOrigin.REPLICATION) {
                LOG.warn("{}", msg);
            } else {
                throw new InvalidProducerEpochException(msg);
            }
        }
    }

    /**
     * Kafka 4.4's check of a marker's producer epoch: under transaction version 2 the coordinator bumps the epoch
     * before writing the markers, so a marker must be above the producer's epoch (one at it is a late or repeated
     * marker that would end the next transaction), except a repeat of a marker already written (no transaction
     * open, or the epoch at its maximum); under 0-1 markers carry the transaction's epoch and only one below it is
     * refused. Replicated markers are warned about only.
     */
    private static void checkMarkerEpoch(ProducerEntry e, short epoch, long offset, AppendOrigin origin,
                                         short transactionVersion) {
        boolean tv2 = transactionVersion >= 2;
        if (tv2 ? epoch > e.epoch : epoch >= e.epoch) {
            return;
        }
        if (tv2 && epoch == e.epoch && (e.currentTxnFirstOffset < 0 || epoch == Short.MAX_VALUE)) {
            LOG.info("Repeated transaction marker of producer {} at epoch {}: its transaction has already ended",
                    e.producerId, epoch);
            return;
        }
        String msg = "Epoch of producer " + e.producerId + " at offset " + offset + " is " + epoch + ", which is "
                + (tv2 ? "<=" : "<") + " the last seen epoch " + e.epoch + " (TV" + transactionVersion + ")";
        if (origin == AppendOrigin.REPLICATION) {
            LOG.warn("{}", msg);
        } else {
            throw new InvalidProducerEpochException(msg);
        }
    }

    private static void checkSequence(ProducerEntry e, short epoch, int firstSeq, long offset) {
        if (epoch != e.epoch) {
            if (firstSeq != 0 && e.epoch != LogBatch.NO_PRODUCER_EPOCH) {
                throw new OutOfOrderSequenceException("Invalid sequence number for new epoch of producer "
                        + e.producerId + " at offset " + offset + ": " + epoch + " (request epoch), " + firstSeq
                        + " (seq. number), " + e.epoch + " (current producer epoch)");
            }
        } else {
            int lastSeq = e.lastSeq();
            // an epoch that only saw a marker so far (bumped by it) starts at sequence 0, as Kafka's
            if (!(e.epoch == LogBatch.NO_PRODUCER_EPOCH || inSequence(lastSeq, firstSeq))) {
                throw new OutOfOrderSequenceException("Out of order sequence number for producer " + e.producerId
                        + " at offset " + offset + ": " + firstSeq + " (incoming seq. number), " + lastSeq
                        + " (current end sequence number)");
            }
        }
    }

    private static boolean inSequence(int lastSeq, int nextSeq) {
        return nextSeq == lastSeq + 1L || (nextSeq == 0 && lastSeq == Integer.MAX_VALUE);
    }

    Append begin() {
        return new Append();
    }

    /** Applies an append without transactions to index (tests, callers that know there are none). */
    void commit(Append append, long endOffset) {
        try {
            commit(append, endOffset, txn -> { });
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Applies an append whose batches are written: the producers' new entries, the transactions it opened,
     * and those it closed, each aborted one handed to {@code sink} with the last stable offset after it.
     */
    void commit(Append append, long endOffset, AbortedTxnSink sink) throws IOException {
        producers.putAll(append.updated);
        for (long[] s : append.started) {
            ongoingTxns.put(s[0], s[1]);
        }
        for (CompletedTxn c : append.completed) {
            completeTxn(c, sink);
        }
        mapEndOffset = endOffset;
    }

    private void completeTxn(CompletedTxn c, AbortedTxnSink sink) throws IOException {
        if (c.aborted() && sink != null) {
            sink.aborted(new AbortedTxn(c.producerId(), c.firstOffset(), c.lastOffset(), lastStableOffset(c)));
        }
        Long pid = ongoingTxns.get(c.firstOffset());
        if (pid != null && pid == c.producerId()) {
            ongoingTxns.remove(c.firstOffset());
        }
        unreplicatedTxns.put(c.firstOffset(), c);
    }

    /** Kafka's lastStableOffset(completedTxn): the oldest other open transaction's start, else past the marker. */
    private long lastStableOffset(CompletedTxn c) {
        for (Map.Entry<Long, Long> t : ongoingTxns.entrySet()) {
            if (t.getValue() != c.producerId()) {
                return t.getKey();
            }
        }
        return c.lastOffset() + 1;
    }

    /**
     * The first offset of the oldest open transaction or of a closed one whose marker is not yet below the
     * high watermark; -1 when there is none.
     */
    long firstUnstableOffset() {
        long first = -1L;
        if (!ongoingTxns.isEmpty()) {
            first = ongoingTxns.firstKey();
        }
        if (!unreplicatedTxns.isEmpty() && (first < 0 || unreplicatedTxns.firstKey() < first)) {
            first = unreplicatedTxns.firstKey();
        }
        return first;
    }

    /** Forgets the closed transactions whose marker is below {@code highWatermark} (Kafka's onHighWatermarkUpdated). */
    void onHighWatermarkUpdated(long highWatermark) {
        unreplicatedTxns.values().removeIf(t -> t.lastOffset() < highWatermark);
    }

    /** The open transactions, oldest first: first offset to producer id (DescribeProducers, tests). */
    Map<Long, Long> ongoingTransactions() {
        return java.util.Collections.unmodifiableMap(ongoingTxns);
    }

    /** Replays a batch already in the log (recovery, follower): no validation, aborted transactions not indexed. */
    void replay(LogBatch batch) {
        try {
            replay(batch, null);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Replays a batch already in the log; aborted transactions it closes go to {@code sink} unless null. */
    void replay(LogBatch batch, AbortedTxnSink sink) throws IOException {
        if (batch.hasProducerId()) {
            Append a = begin();
            a.append(batch, batch.baseOffset(), batch.lastOffset(), batch.maxTimestamp(), AppendOrigin.REPLICATION);
            producers.putAll(a.updated);
            for (long[] s : a.started) {
                ongoingTxns.put(s[0], s[1]);
            }
            for (CompletedTxn c : a.completed) {
                completeTxn(c, sink);
            }
        }
        mapEndOffset = batch.nextOffset();
    }

    void setMapEndOffset(long endOffset) {
        mapEndOffset = endOffset;
    }

    void clear(long endOffset) {
        producers.clear();
        ongoingTxns.clear();
        unreplicatedTxns.clear();
        mapEndOffset = endOffset;
    }

    /**
     * A producer's last data offset (-1 when its last write is a marker) and epoch: the cleaner keeps the batch
     * holding that offset (its sequence), or else the marker of that epoch (the epoch, for fencing).
     */
    record LastRecord(long lastDataOffset, short epoch) {
    }

    /** Each producer's {@link LastRecord}. */
    Map<Long, LastRecord> lastRecords() {
        Map<Long, LastRecord> out = new HashMap<>();
        producers.forEach((pid, e) -> out.put(pid, new LastRecord(e.lastOffset(), e.epoch)));
        return out;
    }

    /**
     * Forgets producers whose last batch is older than {@code expirationMs}, as Kafka does; never one with an
     * open transaction.
     */
    int removeExpiredProducers(long now, long expirationMs) {
        int before = producers.size();
        producers.values().removeIf(e -> e.currentTxnFirstOffset < 0 && now - e.lastTimestamp >= expirationMs);
        return before - producers.size();
    }

    // ---- snapshots ----

    static Path snapshotFile(Path dir, long offset) {
        return dir.resolve(LogSegment.fileName(offset, SNAPSHOT_SUFFIX));
    }

    /** Snapshot files by offset. */
    TreeMap<Long, Path> listSnapshots() throws IOException {
        TreeMap<Long, Path> out = new TreeMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + SNAPSHOT_SUFFIX)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                String digits = name.substring(0, name.length() - SNAPSHOT_SUFFIX.length());
                try {
                    out.put(Long.parseLong(digits), p);
                } catch (NumberFormatException e) {
                    // not ours
                }
            }
        }
        return out;
    }

    /** Writes the state at {@link #mapEndOffset} to {@code <mapEndOffset>.snapshot}, in Kafka's format. */
    void takeSnapshot() throws IOException {
        Path target = snapshotFile(dir, mapEndOffset);
        if (Files.exists(target)) {
            // a snapshot at this map end holds the same producers (truncation deletes those above its cut):
            // a log closed again without new data writes and fsyncs nothing
            return;
        }
        int size = KAFKA_ENTRIES_OFFSET + 4 + producers.size() * KAFKA_ENTRY_SIZE;
        ByteBuffer buf = ByteBuffer.allocate(size);
        buf.putShort(KAFKA_VERSION).putInt(0).putInt(producers.size());
        for (ProducerEntry e : producers.values()) {
            BatchMetadata last = e.batches.peekLast();
            int lastSeq = last == null ? LogBatch.NO_SEQUENCE : last.lastSeq();
            long lastOffset = last == null ? -1L : last.lastOffset();
            int offsetDelta = last == null ? 0 : (int) (last.lastOffset() - last.firstOffset());
            buf.putLong(e.producerId).putShort(e.epoch).putInt(lastSeq).putLong(lastOffset).putInt(offsetDelta)
                    .putLong(e.lastTimestamp).putInt(e.coordinatorEpoch).putLong(e.currentTxnFirstOffset);
        }
        buf.flip();
        buf.putInt(2, crcFrom(buf, KAFKA_ENTRIES_OFFSET, size));
        Path tmp = dir.resolve(target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Replaces the state with the newest valid snapshot at or below {@code maxOffset}, deleting corrupt
     * ones and dropping producers expired at {@code now}. Returns its offset, or empty (state cleared)
     * when there is none.
     */
    OptionalLong loadLatestSnapshot(long maxOffset, long now, long expirationMs) throws IOException {
        List<Map.Entry<Long, Path>> candidates = new ArrayList<>(listSnapshots().headMap(maxOffset, true)
                .descendingMap().entrySet());
        for (Map.Entry<Long, Path> c : candidates) {
            Map<Long, ProducerEntry> loaded = read(c.getValue(), c.getKey());
            if (loaded != null) {
                clear(c.getKey());
                loaded.values().stream()
                        .filter(e -> e.currentTxnFirstOffset >= 0 || now - e.lastTimestamp < expirationMs)
                        .forEach(e -> {
                            producers.put(e.producerId, e);
                            if (e.currentTxnFirstOffset >= 0) {
                                ongoingTxns.put(e.currentTxnFirstOffset, e.producerId);
                            }
                        });
                mapEndOffset = c.getKey();
                return OptionalLong.of(c.getKey());
            }
            LOG.warn("Deleting corrupt producer snapshot {}", c.getValue());
            Files.deleteIfExists(c.getValue());
        }
        clear(mapEndOffset);
        return OptionalLong.empty();
    }

    /** CRC-32C of bytes [from, limit) of the file image, whatever the buffer's position. */
    private static int crcFrom(ByteBuffer buf, int from, int limit) {
        // the JDK's CRC32C is the Castagnoli CRC kafka-clients' Crc32C computes (now internal API)
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().limit(limit).position(from));
        return (int) crc.getValue();
    }

    private static Map<Long, ProducerEntry> read(Path file, long offset) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
        try {
            if (buf.remaining() >= 4 && buf.getInt(0) == LEGACY_MAGIC) {
                return readLegacy(buf, offset);
            }
            if (buf.remaining() < KAFKA_ENTRIES_OFFSET + 4 || buf.getShort() != KAFKA_VERSION) {
                return null;
            }
            int crc = buf.getInt();
            if (crcFrom(buf, KAFKA_ENTRIES_OFFSET, buf.limit()) != crc) {
                return null;
            }
            int count = buf.getInt();
            if (count < 0 || buf.remaining() != (long) count * KAFKA_ENTRY_SIZE) {
                return null;
            }
            Map<Long, ProducerEntry> out = new HashMap<>();
            for (int i = 0; i < count; i++) {
                ProducerEntry e = new ProducerEntry(buf.getLong());
                e.epoch = buf.getShort();
                int lastSeq = buf.getInt();
                long lastOffset = buf.getLong();
                int offsetDelta = buf.getInt();
                e.lastTimestamp = buf.getLong();
                e.coordinatorEpoch = buf.getInt();
                e.currentTxnFirstOffset = buf.getLong();
                if (lastOffset >= 0) {
                    int firstSeq = lastSeq < 0 ? lastSeq : (int) ((lastSeq - (long) offsetDelta + (1L << 31)) % (1L << 31));
                    e.batches.addLast(new BatchMetadata(firstSeq, lastSeq, lastOffset - offsetDelta, lastOffset,
                            e.lastTimestamp));
                }
                out.put(e.producerId, e);
            }
            return out;
        } catch (java.nio.BufferUnderflowException e) {
            return null;
        }
    }

    /** Runnel's format before Kafka's: read once after an upgrade, then replaced by the next snapshot. */
    private static Map<Long, ProducerEntry> readLegacy(ByteBuffer buf, long offset) {
        if (buf.remaining() < 22 || buf.getInt() != LEGACY_MAGIC || buf.getShort() != LEGACY_VERSION) {
            return null;
        }
        int crc = buf.getInt();
        if (crcFrom(buf, 10, buf.limit()) != crc || buf.getLong() != offset) {
            return null;
        }
        int count = buf.getInt();
        Map<Long, ProducerEntry> out = new HashMap<>();
        for (int i = 0; i < count; i++) {
            ProducerEntry e = new ProducerEntry(buf.getLong());
            e.epoch = buf.getShort();
            e.lastTimestamp = buf.getLong();
            int n = buf.getInt();
            for (int j = 0; j < n; j++) {
                e.batches.addLast(new BatchMetadata(buf.getInt(), buf.getInt(), buf.getLong(), buf.getLong(),
                        buf.getLong()));
            }
            out.put(e.producerId, e);
        }
        return buf.hasRemaining() ? null : out;
    }

    void deleteSnapshotsAbove(long offset) throws IOException {
        for (Path p : listSnapshots().tailMap(offset, false).values()) {
            Files.deleteIfExists(p);
        }
    }

    /**
     * Deletes the snapshots above {@code offset}, which a replay of the log from there supersedes, reporting any that
     * was damaged: a corrupt file is told about even when recovery does not need it.
     */
    void discardSnapshotsAbove(long offset) throws IOException {
        for (Map.Entry<Long, Path> e : listSnapshots().tailMap(offset, false).entrySet()) {
            if (read(e.getValue(), e.getKey()) == null) {
                LOG.warn("Deleting corrupt producer snapshot {}", e.getValue());
            } else {
                LOG.info("Deleting producer snapshot {}: the log is replayed from offset {}", e.getValue(), offset);
            }
            Files.deleteIfExists(e.getValue());
        }
    }

    void deleteSnapshotsBelow(long offset) throws IOException {
        for (Path p : listSnapshots().headMap(offset, false).values()) {
            Files.deleteIfExists(p);
        }
    }
}
