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
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Idempotent-producer state of one partition, as Kafka's {@code ProducerStateManager}: per producer id
 * its epoch, the timestamp of its last batch and the metadata (first/last sequence, first/last offset) of
 * its last five batches. Rebuilt on open from the newest valid snapshot at or below the log end plus a
 * replay of the batches after it, so a restarted or new leader still recognises retries.
 *
 * <p>Rules (Kafka 4 for produce): a batch equal in epoch and sequence range to one of the last five is a
 * duplicate and answered with the original offsets; an epoch below the known one is
 * {@link InvalidProducerEpochException}; a new epoch must start at sequence 0 unless the producer is
 * unknown; within an epoch the first sequence must follow the last one (wrapping at Integer.MAX_VALUE),
 * otherwise {@link OutOfOrderSequenceException}; a producer with no state (new, or expired after
 * producer.id.expiration.ms) is accepted at any sequence, which is why Kafka no longer answers
 * UNKNOWN_PRODUCER_ID for produce.
 *
 * <p>Snapshot file {@code <end offset %020d>.snapshot} (our own format, big-endian): int magic "RNPS",
 * short version 1, int CRC-32C of the rest, long end offset, int producer count, then per producer:
 * long id, short epoch, long last timestamp, int batch count, per batch int first seq, int last seq,
 * long first offset, long last offset, long timestamp. Written to a temp file, forced and renamed.
 *
 * <p>Threading: owner only (not thread-safe).
 */
final class ProducerStateManager {

    private static final Logger LOG = LoggerFactory.getLogger(ProducerStateManager.class);

    static final int NUM_BATCHES_TO_RETAIN = 5;
    static final String SNAPSHOT_SUFFIX = ".snapshot";
    /** Kafka's producer.id.expiration.ms default (1 day). */
    static final long DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000L;
    private static final int MAGIC = 0x524E5053;
    private static final short VERSION = 1;

    record BatchMetadata(int firstSeq, int lastSeq, long firstOffset, long lastOffset, long timestamp) {
    }

    static final class ProducerEntry {
        final long producerId;
        short epoch = LogBatch.NO_PRODUCER_EPOCH;
        long lastTimestamp = LogBatch.NO_TIMESTAMP;
        final ArrayDeque<BatchMetadata> batches = new ArrayDeque<>(NUM_BATCHES_TO_RETAIN);

        ProducerEntry(long producerId) {
            this.producerId = producerId;
        }

        ProducerEntry copy() {
            ProducerEntry c = new ProducerEntry(producerId);
            c.epoch = epoch;
            c.lastTimestamp = lastTimestamp;
            c.batches.addAll(batches);
            return c;
        }

        void addBatch(short batchEpoch, BatchMetadata meta) {
            if (batchEpoch != epoch) {
                batches.clear();
                epoch = batchEpoch;
            }
            if (batches.size() == NUM_BATCHES_TO_RETAIN) {
                batches.removeFirst();
            }
            batches.addLast(meta);
            lastTimestamp = meta.timestamp();
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
    }

    private final Path dir;
    private final Map<Long, ProducerEntry> producers = new HashMap<>();
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

    /** The state changes of one append, applied by {@link #commit} only once the batches are written. */
    final class Append {
        private final Map<Long, ProducerEntry> updated = new HashMap<>();

        /** The original metadata if this batch repeats one of the producer's last five (committed) batches. */
        BatchMetadata findDuplicate(LogBatch batch) {
            ProducerEntry e = producers.get(batch.producerId());
            return e == null ? null : e.findDuplicate(batch.producerEpoch(), batch.baseSequence(), batch.lastSequence());
        }

        /**
         * Checks (when {@code validate}, i.e. a produce on the leader) and records a batch given offsets
         * [firstOffset, lastOffset].
         */
        void append(LogBatch batch, long firstOffset, long lastOffset, long timestamp, boolean validate) {
            long pid = batch.producerId();
            ProducerEntry e = updated.get(pid);
            if (e == null) {
                ProducerEntry current = producers.get(pid);
                e = current == null ? new ProducerEntry(pid) : current.copy();
                updated.put(pid, e);
            }
            short epoch = batch.producerEpoch();
            int firstSeq = batch.baseSequence();
            if (validate) {
                if (epoch < e.epoch) {
                    throw new InvalidProducerEpochException("Epoch of producer " + pid + " at offset " + firstOffset
                            + " is " + epoch + ", which is smaller than the last seen epoch " + e.epoch);
                }
                checkSequence(e, epoch, firstSeq, firstOffset);
            }
            e.addBatch(epoch, new BatchMetadata(firstSeq, batch.lastSequence(), firstOffset, lastOffset, timestamp));
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
            int lastSeq = e.batches.isEmpty() ? LogBatch.NO_SEQUENCE : e.batches.getLast().lastSeq();
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

    void commit(Append append, long endOffset) {
        producers.putAll(append.updated);
        mapEndOffset = endOffset;
    }

    /** Replays a batch already in the log (recovery, follower): no validation. */
    void replay(LogBatch batch) {
        if (batch.hasProducerId()) {
            Append a = begin();
            a.append(batch, batch.baseOffset(), batch.lastOffset(), batch.maxTimestamp(), false);
            producers.putAll(a.updated);
        }
        mapEndOffset = batch.nextOffset();
    }

    void setMapEndOffset(long endOffset) {
        mapEndOffset = endOffset;
    }

    void clear(long endOffset) {
        producers.clear();
        mapEndOffset = endOffset;
    }

    /** The offset of the last record of each producer's last batch (the cleaner keeps that batch). */
    Map<Long, Long> lastOffsets() {
        Map<Long, Long> out = new HashMap<>();
        producers.forEach((pid, e) -> out.put(pid, e.lastOffset()));
        return out;
    }

    /** Forgets producers whose last batch is older than {@code expirationMs}, as Kafka does. */
    int removeExpiredProducers(long now, long expirationMs) {
        int before = producers.size();
        producers.values().removeIf(e -> now - e.lastTimestamp >= expirationMs);
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

    /** Writes the state at {@link #mapEndOffset} to {@code <mapEndOffset>.snapshot}. */
    void takeSnapshot() throws IOException {
        int size = 4 + 2 + 4 + 8 + 4;
        for (ProducerEntry e : producers.values()) {
            size += 8 + 2 + 8 + 4 + e.batches.size() * (4 + 4 + 8 + 8 + 8);
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        buf.putInt(MAGIC).putShort(VERSION).putInt(0).putLong(mapEndOffset).putInt(producers.size());
        for (ProducerEntry e : producers.values()) {
            buf.putLong(e.producerId).putShort(e.epoch).putLong(e.lastTimestamp).putInt(e.batches.size());
            for (BatchMetadata m : e.batches) {
                buf.putInt(m.firstSeq()).putInt(m.lastSeq()).putLong(m.firstOffset()).putLong(m.lastOffset())
                        .putLong(m.timestamp());
            }
        }
        buf.flip();
        buf.putInt(6, crcFrom10(buf, size));
        Path target = snapshotFile(dir, mapEndOffset);
        if (Files.exists(target)) {
            // a snapshot at this map end holds the same producers (truncation deletes those above its cut):
            // a log closed again without new data writes and fsyncs nothing
            return;
        }
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
                producers.clear();
                loaded.values().stream().filter(e -> now - e.lastTimestamp < expirationMs)
                        .forEach(e -> producers.put(e.producerId, e));
                mapEndOffset = c.getKey();
                return OptionalLong.of(c.getKey());
            }
            LOG.warn("Deleting corrupt producer snapshot {}", c.getValue());
            Files.deleteIfExists(c.getValue());
        }
        producers.clear();
        return OptionalLong.empty();
    }

    /** CRC-32C of bytes [10, limit) of the file image, whatever the buffer's position. */
    private static int crcFrom10(ByteBuffer buf, int limit) {
        // the JDK's CRC32C is the Castagnoli CRC kafka-clients' Crc32C computed (now internal API)
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().limit(limit).position(10));
        return (int) crc.getValue();
    }

    private static Map<Long, ProducerEntry> read(Path file, long offset) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
        try {
            if (buf.remaining() < 22 || buf.getInt() != MAGIC || buf.getShort() != VERSION) {
                return null;
            }
            int crc = buf.getInt();
            if (crcFrom10(buf, buf.limit()) != crc || buf.getLong() != offset) {
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
        } catch (java.nio.BufferUnderflowException e) {
            return null;
        }
    }

    void deleteSnapshotsAbove(long offset) throws IOException {
        for (Path p : listSnapshots().tailMap(offset, false).values()) {
            Files.deleteIfExists(p);
        }
    }

    void deleteSnapshotsBelow(long offset) throws IOException {
        for (Path p : listSnapshots().headMap(offset, false).values()) {
            Files.deleteIfExists(p);
        }
    }
}
