package io.runnel.partition;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.runnel.log.ReplicationOffsetCheckpoint;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The high watermarks of a replicated node's partitions, kept per log directory in Kafka's
 * {@code replication-offset-checkpoint} ({@link ReplicationOffsetCheckpoint}), as Kafka's ReplicaManager
 * does: written every {@code replica.high.watermark.checkpoint.interval.ms} and at clean shutdown, read
 * when a partition opens after a restart, so a restarted leader serves what was committed at once and a
 * restarted follower knows its high watermark before its first fetch.
 *
 * <p>Entries read from a file stay in the next files until their partition opens (or is deleted here), so
 * a checkpoint written before every partition has reopened does not lose the others'.
 *
 * <p>Threading: {@link #take} and {@link #forget} from any thread (take may read the file: off the event
 * loop); writes run one after another on Vert.x's worker pool.
 */
final class HighWatermarkCheckpoints {

    private static final Logger LOG = LoggerFactory.getLogger(HighWatermarkCheckpoints.class);

    private final Vertx vertx;
    // per log dir, entries read from its file whose partition has not opened yet
    private final Map<Path, Map<TopicPartition, Long>> unopened = new ConcurrentHashMap<>();
    // per log dir, what was last written; touched by the (serial) writes only
    private final Map<Path, Map<TopicPartition, Long>> lastWritten = new HashMap<>();
    private Future<Void> writes = Future.succeededFuture();
    private final java.util.function.BiConsumer<Path, Exception> onDirFailure;

    HighWatermarkCheckpoints(Vertx vertx) {
        this(vertx, (dir, e) -> LOG.warn("Writing the high-watermark checkpoint of {} failed", dir, e));
    }

    /** @param onDirFailure told of a directory whose checkpoint could not be written (on a worker thread) */
    HighWatermarkCheckpoints(Vertx vertx, java.util.function.BiConsumer<Path, Exception> onDirFailure) {
        this.vertx = vertx;
        this.onDirFailure = onDirFailure;
    }

    /**
     * The checkpointed high watermark of {@code tp}, whose log is in {@code logDir}, or -1 when there is
     * none; from now on the partition's own value is what gets written. Blocking on the first call per
     * directory (reads the file).
     */
    long take(Path logDir, TopicPartition tp) {
        Long hw = entries(logDir).remove(tp);
        return hw == null ? -1 : hw;
    }

    /** Drops a deleted partition's entry that was never taken. */
    void forget(Path logDir, TopicPartition tp) {
        Map<TopicPartition, Long> m = unopened.get(logDir);
        if (m != null) {
            m.remove(tp);
        }
    }

    private Map<TopicPartition, Long> entries(Path logDir) {
        return unopened.computeIfAbsent(logDir, dir -> {
            try {
                return new ConcurrentHashMap<>(ReplicationOffsetCheckpoint.read(dir));
            } catch (IOException e) {
                // Kafka takes the directory offline; the safe fallback is a high watermark at the log start,
                // which the leader's next answer raises
                LOG.warn("{}; the partitions of {} start with their high watermark at their log start", e.getMessage(), dir);
                return new ConcurrentHashMap<>();
            }
        });
    }

    /**
     * Writes, after any write still running, the checkpoint of each of {@code logDirs}: the high watermarks
     * of the hosted partitions in {@code hosted}, plus entries not taken yet whose partition directory
     * still exists. A directory whose content did not change since the last write is left alone.
     */
    synchronized Future<Void> write(List<Path> logDirs, Map<Path, Map<TopicPartition, Long>> hosted) {
        writes = writes.transform(previous -> vertx.executeBlocking(() -> {
            for (Path dir : logDirs) {
                Map<TopicPartition, Long> content = new HashMap<>();
                entries(dir).forEach((tp, hw) -> {
                    if (Files.isDirectory(dir.resolve(tp.topic() + "-" + tp.partition()))) {
                        content.put(tp, hw);
                    }
                });
                content.putAll(hosted.getOrDefault(dir, Map.of()));
                if (!content.equals(lastWritten.get(dir))) {
                    try {
                        ReplicationOffsetCheckpoint.write(dir, content);
                    } catch (IOException | java.io.UncheckedIOException e) {
                        // as Kafka's ReplicaManager: the directory goes offline, the others are still written
                        onDirFailure.accept(dir, e);
                        continue;
                    }
                    lastWritten.put(dir, content);
                }
            }
            return null;
        }));
        return writes;
    }
}
