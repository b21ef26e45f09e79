package io.runnel.log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;

import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka's {@code recovery-point-offset-checkpoint} and {@code log-start-offset-checkpoint} of one log
 * directory: the recovery point and log start offset of every log in it, in Kafka's offset-checkpoint
 * format (a version line {@code 0}, a count line, then {@code <topic> <partition> <offset>} lines; see
 * {@link ReplicationOffsetCheckpoint}), each file written whole and renamed atomically.
 *
 * <p>As in Kafka (LogManager, {@code log.flush.offset.checkpoint.interval.ms} and
 * {@code log.flush.start.offset.checkpoint.interval.ms}) the files are written periodically and at clean
 * shutdown, not on every change, so creating or flushing a partition fsyncs no checkpoint. What a lost
 * update costs after a crash: a recovery point read back older than the truth only rescans more of the
 * log; a log start offset read back older lets a DeleteRecords of the last interval be undone, as in
 * Kafka (the start never falls below the first segment, so retention is never undone). The one change
 * that must not be lost is a recovery point moved down by truncation (a stale higher one could skip the
 * scan of data appended since): {@link PartitionLog} writes the recovery points at once then, as Kafka.
 *
 * <p>Upgrade: logs written before these files kept a {@code recovery-point} and a {@code log-start-offset}
 * file in their own directory; a log opening reads them when this checkpoint has no entry for it, and
 * they are deleted after the next write of both files that includes the log.
 *
 * <p>Entries read from the files stay (and are written again) until their log opens, or is deleted here,
 * so a checkpoint written before every log has reopened keeps the others. Entries of a log that closed
 * stay as it left them.
 *
 * <p>Threading: any thread. Registration and writes are serialized on the instance; writes block on the
 * disk (run them off the event loop).
 */
public final class LogDirCheckpoints {

    public static final String RECOVERY_POINT_FILE = "recovery-point-offset-checkpoint";
    public static final String LOG_START_OFFSET_FILE = "log-start-offset-checkpoint";

    private static final Logger LOG = LoggerFactory.getLogger(LogDirCheckpoints.class);

    private final Path dir;
    // logs open now: their current values are what gets written
    private final Map<TopicPartition, PartitionLog> open = new HashMap<>();
    // entries of logs not open: read from the files (until the log opens) or left by a log that closed
    private final Map<TopicPartition, Long> recoveryPoints;
    private final Map<TopicPartition, Long> logStartOffsets;
    private final Set<TopicPartition> closedHere = new HashSet<>();
    // per-partition files of the old layout (recovery-point, log-start-offset), each deleted once the
    // file of this directory that replaces it has been written with its log's value
    private final List<Path> legacyFiles = new ArrayList<>();

    /** Reads the checkpoints of log directory {@code dir} (absent files are empty). Blocking. */
    public LogDirCheckpoints(Path dir) {
        this.dir = dir;
        this.recoveryPoints = read(dir.resolve(RECOVERY_POINT_FILE),
                "their logs are recovered from the start after an unclean shutdown");
        this.logStartOffsets = read(dir.resolve(LOG_START_OFFSET_FILE),
                "their logs start at their first segment");
    }

    private static Map<TopicPartition, Long> read(Path file, String consequence) {
        try {
            return new HashMap<>(ReplicationOffsetCheckpoint.readFile(file));
        } catch (IOException e) {
            // written atomically, so only outside damage gets here; both fallbacks lose no record
            LOG.warn("{}; {}", e.getMessage(), consequence);
            return new HashMap<>();
        }
    }

    /** The log directory whose checkpoints these are. */
    public Path dir() {
        return dir;
    }

    /** The checkpointed recovery point of {@code tp}, or -1 when there is none. */
    synchronized long recoveryPoint(TopicPartition tp) {
        return recoveryPoints.getOrDefault(tp, -1L);
    }

    /** The checkpointed log start offset of {@code tp}, or -1 when there is none. */
    synchronized long logStartOffset(TopicPartition tp) {
        return logStartOffsets.getOrDefault(tp, -1L);
    }

    /**
     * {@code log} has opened: from now on its own values are written. {@code legacy} are its per-partition
     * files of the old layout ({@link PartitionLog#RECOVERY_POINT_FILE}, {@link PartitionLog#LOG_START_OFFSET_FILE}),
     * each deleted once the file here that replaces it has been written with the log's value.
     */
    synchronized void register(PartitionLog log, List<Path> legacy) {
        TopicPartition tp = log.topicPartition();
        open.put(tp, log);
        recoveryPoints.remove(tp);
        logStartOffsets.remove(tp);
        closedHere.remove(tp);
        legacyFiles.addAll(legacy);
    }

    /** {@code log} has closed with these values: they are written until it opens again. */
    synchronized void closed(PartitionLog log, long recoveryPoint, long logStartOffset) {
        TopicPartition tp = log.topicPartition();
        if (open.remove(tp, log)) {
            recoveryPoints.put(tp, recoveryPoint);
            logStartOffsets.put(tp, logStartOffset);
            closedHere.add(tp);
        }
    }

    /** {@code tp}'s log was deleted (or never existed here): its entries go. */
    public synchronized void forget(TopicPartition tp) {
        open.remove(tp);
        recoveryPoints.remove(tp);
        logStartOffsets.remove(tp);
        closedHere.remove(tp);
    }

    /** Writes {@value #RECOVERY_POINT_FILE}. Blocking. */
    public synchronized void writeRecoveryPoints() throws IOException {
        write(RECOVERY_POINT_FILE, recoveryPoints, PartitionLog::recoveryPoint, PartitionLog.RECOVERY_POINT_FILE);
    }

    /** Writes {@value #LOG_START_OFFSET_FILE}. Blocking. */
    public synchronized void writeLogStartOffsets() throws IOException {
        write(LOG_START_OFFSET_FILE, logStartOffsets, PartitionLog::logStartOffset, PartitionLog.LOG_START_OFFSET_FILE);
    }

    /** Writes both files. Blocking. */
    public synchronized void writeAll() throws IOException {
        writeRecoveryPoints();
        writeLogStartOffsets();
    }

    private void write(String name, Map<TopicPartition, Long> notOpen, ToLongFunction<PartitionLog> value,
                       String legacyName) throws IOException {
        List<Path> covered = legacyFiles.stream().filter(p -> p.getFileName().toString().equals(legacyName)).toList();
        Map<TopicPartition, Long> content = new HashMap<>();
        notOpen.forEach((tp, offset) -> {
            // an entry read from the file whose partition is gone (deleted while this node was down) is dropped
            if (closedHere.contains(tp) || Files.isDirectory(dir.resolve(tp.topic() + "-" + tp.partition()))) {
                content.put(tp, offset);
            }
        });
        open.forEach((tp, log) -> content.put(tp, value.applyAsLong(log)));
        ReplicationOffsetCheckpoint.writeFile(dir.resolve(name), content);
        for (Path p : covered) {
            Files.deleteIfExists(p);
        }
        legacyFiles.removeAll(covered);
    }
}
