package io.runnel;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.runnel.partition.PartitionManager;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this broker does when a log directory goes offline, as Kafka's broker does: if it is the directory
 * of the metadata log, or the last one online, the process halts at once (it cannot go on without them,
 * and a clean shutdown would try to write there); otherwise the controller is told, through the metadata
 * log, which replicas the directory held, and the broker serves its other directories.
 *
 * <p>Threading: called by the partition manager on a worker context; never blocks.
 */
final class LogDirFailureHandler implements PartitionManager.LogDirOfflineListener {

    private static final Logger LOG = LoggerFactory.getLogger(LogDirFailureHandler.class);

    /** How the offline directory reaches the controller. */
    @FunctionalInterface
    interface Reporter {
        void report(Path logDir, Map<Uuid, List<Integer>> replicas);
    }

    private final Path metadataLogDir;
    private final Supplier<List<Path>> onlineLogDirs;
    private final Reporter reporter;
    private final Runnable halt;

    /**
     * @param metadataLogDir the directory holding the Raft storage (metadata.log.dir, else the first log dir)
     * @param onlineLogDirs  the log directories still online
     * @param halt           ends the process (Kafka's Exit.halt(1))
     */
    LogDirFailureHandler(Path metadataLogDir, Supplier<List<Path>> onlineLogDirs, Reporter reporter, Runnable halt) {
        this.metadataLogDir = metadataLogDir.toAbsolutePath().normalize();
        this.onlineLogDirs = onlineLogDirs;
        this.reporter = reporter;
        this.halt = halt;
    }

    /** Ratis could not write the metadata log: Kafka's broker halts when its metadata log directory fails. */
    void metadataLogFailed(Throwable cause) {
        LOG.error("Shutting down: writing the metadata log in {} failed: {}", metadataLogDir, String.valueOf(cause));
        halt.run();
    }

    @Override
    public void onLogDirOffline(Path logDir, Map<Uuid, List<Integer>> replicas) {
        if (logDir.toAbsolutePath().normalize().equals(metadataLogDir)) {
            LOG.error("Shutting down: the log directory {} that holds the metadata log has failed", logDir);
            halt.run();
            return;
        }
        if (onlineLogDirs.get().isEmpty()) {
            LOG.error("Shutting down: every log directory of this broker has failed (the last was {})", logDir);
            halt.run();
            return;
        }
        reporter.report(logDir, replicas);
    }
}
