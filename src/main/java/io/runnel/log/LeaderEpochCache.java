package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which leader epoch started at which offset, as Kafka's {@code LeaderEpochFileCache}, persisted to
 * {@code leader-epoch-checkpoint} in Kafka's text format: a version line ({@code 0}), a count line, then
 * one {@code <epoch> <start offset>} line per entry. Epochs and start offsets both strictly increase.
 *
 * <p>Threading: changed by the owner only; read ({@link #latestEpoch}, {@link #endOffsetFor},
 * {@link #epochForOffset}) from any thread. All methods are synchronized on the cache (small, rare).
 */
final class LeaderEpochCache {

    private static final Logger LOG = LoggerFactory.getLogger(LeaderEpochCache.class);
    static final String FILE_NAME = "leader-epoch-checkpoint";

    private final Path file;
    private final TreeMap<Integer, Long> epochs = new TreeMap<>();

    LeaderEpochCache(Path dir) throws IOException {
        this.file = dir.resolve(FILE_NAME);
        if (Files.exists(file)) {
            load();
        }
    }

    private void load() throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
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
                epochs.put(Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
            }
        } catch (RuntimeException e) {
            // the recovery scan re-assigns epochs from the batches it reads; Kafka fails the dir instead
            LOG.warn("Ignoring malformed {}: {}", file, e.getMessage());
            epochs.clear();
        }
    }

    private void persist() throws IOException {
        StringBuilder sb = new StringBuilder("0\n").append(epochs.size()).append('\n');
        for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
            sb.append(e.getKey()).append(' ').append(e.getValue()).append('\n');
        }
        Checkpoints.write(file, sb.toString());
    }

    /** Records that {@code epoch} starts at {@code startOffset}; entries that contradict it are removed. */
    synchronized void assign(int epoch, long startOffset) throws IOException {
        if (epoch < 0) {
            return;
        }
        Map.Entry<Integer, Long> latest = epochs.lastEntry();
        if (latest != null && latest.getKey() == epoch && startOffset >= latest.getValue()) {
            return;
        }
        epochs.entrySet().removeIf(e -> e.getKey() >= epoch || e.getValue() >= startOffset);
        epochs.put(epoch, startOffset);
        persist();
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

    synchronized int latestEpoch() {
        return epochs.isEmpty() ? -1 : epochs.lastKey();
    }

    /** The epoch of the batch holding {@code offset}, or -1. */
    synchronized int epochForOffset(long offset) {
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
     */
    synchronized TimestampOffset endOffsetFor(int requested, long logEndOffset) {
        if (requested < 0 || epochs.isEmpty()) {
            return new TimestampOffset(-1, -1, -1);
        }
        if (requested == epochs.lastKey()) {
            return new TimestampOffset(requested, logEndOffset, requested);
        }
        Map.Entry<Integer, Long> higher = epochs.higherEntry(requested);
        if (higher == null) {
            return new TimestampOffset(-1, -1, -1);
        }
        Map.Entry<Integer, Long> floor = epochs.floorEntry(requested);
        int epoch = floor == null ? requested : floor.getKey();
        return new TimestampOffset(epoch, higher.getValue(), epoch);
    }

    /** Removes entries starting at or after {@code endOffset} (log truncation). */
    synchronized void truncateFromEnd(long endOffset) throws IOException {
        if (epochs.values().removeIf(start -> start >= endOffset)) {
            persist();
        }
    }

    /** Log start moved to {@code startOffset}: earlier entries collapse into one starting there. */
    synchronized void truncateFromStart(long startOffset) throws IOException {
        Map.Entry<Integer, Long> keep = null;
        for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
            if (e.getValue() <= startOffset) {
                keep = e;
            }
        }
        if (keep == null || keep.getValue() == startOffset && epochs.firstKey().equals(keep.getKey())) {
            return;
        }
        int keepEpoch = keep.getKey();
        epochs.entrySet().removeIf(e -> e.getValue() <= startOffset);
        epochs.put(keepEpoch, startOffset);
        persist();
    }
}
