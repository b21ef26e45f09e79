package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which leader epoch started at which offset, as Kafka's {@code LeaderEpochFileCache}, persisted to
 * {@code leader-epoch-checkpoint} in Kafka's text format: a version line ({@code 0}), a count line, then
 * one {@code <epoch> <start offset>} line per entry. Epochs and start offsets both strictly increase.
 *
 * <p>Durability, as Kafka's: every change ({@link #assign}, the truncations) is written to the checkpoint
 * (temp file, fsync, atomic rename, directory fsync) before the call returns, so an epoch is on disk before
 * the owner appends or acknowledges anything at it, and the checkpoint never lacks an entry the log below
 * its recovery point needs (the recovery scan rebuilds the entries of the part above it).
 *
 * <p>Threading: changed by the owner only (and by {@link LogLoader} before the log is published); read
 * ({@link #latestEpoch}, {@link #endOffsetFor}, {@link #epochForOffset}) from any thread, event loops
 * included (Fetch, OffsetForLeaderEpoch, ListOffsets). The entries are an immutable map in a volatile
 * field that each change replaces whole, so readers take no lock and never wait for the disk; a change is
 * visible to them as soon as it is made, before its checkpoint write, as in Kafka (which writes under a
 * read lock). Changes and their checkpoint writes are serialized by a lock of their own that no reader
 * takes, so checkpoints are written in the order of the changes and the file never goes back to an older
 * content.
 */
final class LeaderEpochCache {

    private static final Logger LOG = LoggerFactory.getLogger(LeaderEpochCache.class);
    static final String FILE_NAME = "leader-epoch-checkpoint";

    /** Writes the checkpoint's content durably; a test replaces it to hold a write in progress. */
    @FunctionalInterface
    interface CheckpointWriter {
        void write(Path file, String content) throws IOException;
    }

    private static final NavigableMap<Integer, Long> EMPTY = Collections.unmodifiableNavigableMap(new TreeMap<>());

    private final Path file;
    private final CheckpointWriter writer;
    // taken by changes only, for the change and its checkpoint write; never by a reader
    private final ReentrantLock writeLock = new ReentrantLock();
    // immutable; replaced whole under writeLock
    private volatile NavigableMap<Integer, Long> epochs = EMPTY;
    // the checkpoint could not be read: the loader rebuilds the entries from the batches
    private boolean loadedMalformed;

    LeaderEpochCache(Path dir) throws IOException {
        this(dir, Checkpoints::write);
    }

    LeaderEpochCache(Path dir, CheckpointWriter writer) throws IOException {
        this.file = dir.resolve(FILE_NAME);
        this.writer = writer;
        if (Files.exists(file)) {
            load();
        }
    }

    private void load() throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        TreeMap<Integer, Long> loaded = new TreeMap<>();
        try {
            if (lines.size() < 2 || !lines.get(0).trim().equals("0")) {
                throw new IllegalArgumentException("bad header");
            }
            int count = Integer.parseInt(lines.get(1).trim());
            if (lines.size() < 2 + count) {
                throw new IllegalArgumentException("expected " + count + " entries");
            }
            for (int i = 0; i < count; i++) {
                String[] parts = lines.get(2 + i).trim().split("\\s+");
                loaded.put(Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
            }
        } catch (RuntimeException e) {
            // the loader rebuilds the entries from the batch headers of the whole log
            LOG.warn("Malformed {} ({}): rebuilding the leader epochs from the log", file, e.getMessage());
            loaded.clear();
            loadedMalformed = true;
        }
        epochs = Collections.unmodifiableNavigableMap(loaded);
    }

    /**
     * Whether the checkpoint on disk could not be read when this cache was created (it starts empty then),
     * so that the loader rebuilds it from every batch, not only from those above the recovery point.
     */
    boolean loadedMalformed() {
        return loadedMalformed;
    }

    /** Publishes {@code next} to readers, then writes it to the checkpoint. Under writeLock. */
    private void publishAndPersist(TreeMap<Integer, Long> next) throws IOException {
        epochs = Collections.unmodifiableNavigableMap(next);
        StringBuilder sb = new StringBuilder("0\n").append(next.size()).append('\n');
        for (Map.Entry<Integer, Long> e : next.entrySet()) {
            sb.append(e.getKey()).append(' ').append(e.getValue()).append('\n');
        }
        writer.write(file, sb.toString());
    }

    /**
     * Records that {@code epoch} starts at {@code startOffset}; entries that contradict it are removed.
     * Returns once the checkpoint holds it. Owner only.
     */
    void assign(int epoch, long startOffset) throws IOException {
        if (epoch < 0) {
            return;
        }
        writeLock.lock();
        try {
            Map.Entry<Integer, Long> latest = epochs.lastEntry();
            if (latest != null && latest.getKey() == epoch && startOffset >= latest.getValue()) {
                return;
            }
            TreeMap<Integer, Long> next = new TreeMap<>(epochs);
            next.entrySet().removeIf(e -> e.getKey() >= epoch || e.getValue() >= startOffset);
            next.put(epoch, startOffset);
            publishAndPersist(next);
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Records the epoch of {@code batch} (read back from the log or copied from the leader) when it is
     * newer than every known epoch. Owner only.
     */
    void assignIfNewer(LogBatch batch) {
        if (batch.partitionLeaderEpoch() >= 0 && batch.partitionLeaderEpoch() > latestEpoch()) {
            try {
                assign(batch.partitionLeaderEpoch(), batch.baseOffset());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The newest epoch, or -1. Any thread, lock-free. */
    int latestEpoch() {
        NavigableMap<Integer, Long> m = epochs;
        return m.isEmpty() ? -1 : m.lastKey();
    }

    /** The epoch of the batch holding {@code offset}, or -1. Any thread, lock-free. */
    int epochForOffset(long offset) {
        int found = -1;
        for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
            if (e.getValue() <= offset) {
                found = e.getKey();
            } else {
                break;
            }
        }
        return found;
    }

    /**
     * Kafka's endOffsetFor: (requested epoch, log end) for the latest epoch; for an older one the largest
     * known epoch at or below it and the start offset of the next higher epoch; (-1, -1) if unknown.
     * Any thread, lock-free.
     */
    TimestampOffset endOffsetFor(int requested, long logEndOffset) {
        NavigableMap<Integer, Long> m = epochs;
        if (requested < 0 || m.isEmpty()) {
            return new TimestampOffset(-1, -1, -1);
        }
        if (requested == m.lastKey()) {
            return new TimestampOffset(requested, logEndOffset, requested);
        }
        Map.Entry<Integer, Long> higher = m.higherEntry(requested);
        if (higher == null) {
            return new TimestampOffset(-1, -1, -1);
        }
        Map.Entry<Integer, Long> floor = m.floorEntry(requested);
        int epoch = floor == null ? requested : floor.getKey();
        return new TimestampOffset(epoch, higher.getValue(), epoch);
    }

    /** Removes entries starting at or after {@code endOffset} (log truncation). Owner only. */
    void truncateFromEnd(long endOffset) throws IOException {
        writeLock.lock();
        try {
            TreeMap<Integer, Long> next = new TreeMap<>(epochs);
            if (next.values().removeIf(start -> start >= endOffset)) {
                publishAndPersist(next);
            }
        } finally {
            writeLock.unlock();
        }
    }

    /** Log start moved to {@code startOffset}: earlier entries collapse into one starting there. Owner only. */
    void truncateFromStart(long startOffset) throws IOException {
        writeLock.lock();
        try {
            NavigableMap<Integer, Long> current = epochs;
            Map.Entry<Integer, Long> keep = null;
            for (Map.Entry<Integer, Long> e : current.entrySet()) {
                if (e.getValue() <= startOffset) {
                    keep = e;
                }
            }
            if (keep == null || keep.getValue() == startOffset && current.firstKey().equals(keep.getKey())) {
                return;
            }
            int keepEpoch = keep.getKey();
            TreeMap<Integer, Long> next = new TreeMap<>(current);
            next.entrySet().removeIf(e -> e.getValue() <= startOffset);
            next.put(keepEpoch, startOffset);
            publishAndPersist(next);
        } finally {
            writeLock.unlock();
        }
    }
}
