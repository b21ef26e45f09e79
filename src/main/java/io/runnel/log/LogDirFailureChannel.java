package io.runnel.log;

import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an I/O failure in any log takes that log's whole directory offline, as Kafka's LogDirFailureChannel:
 * the first failure of a directory is logged and handed to the handler once; later ones only see the
 * directory already offline. What a directory going offline means (partitions closed, the controller told,
 * the process halted when none is left) is the handler's business, above this package.
 *
 * <p>Threading: any thread; the handler is called on the failing thread and must not block (hop onto a
 * context of its own).
 */
public final class LogDirFailureChannel {

    private static final Logger LOG = LoggerFactory.getLogger(LogDirFailureChannel.class);

    private final Set<Path> offline = ConcurrentHashMap.newKeySet();
    private volatile Consumer<Path> handler = dir -> { };

    /** Sets what runs once per directory that goes offline. */
    public void handler(Consumer<Path> h) {
        this.handler = h;
    }

    /**
     * Marks {@code logDir} (a log directory, the parent of partition directories) offline; the first call for
     * it logs {@code what} with its cause and tells the handler.
     */
    public void maybeAddOfflineLogDir(Path logDir, String what, Throwable cause) {
        Path dir = logDir.toAbsolutePath().normalize();
        if (offline.add(dir)) {
            // the cause was logged with its stack where it happened (StorageErrors)
            LOG.error("Log directory {} goes offline after an I/O error while {}: {}", dir, what, String.valueOf(cause));
            handler.accept(dir);
        }
    }

    public boolean isOffline(Path logDir) {
        return offline.contains(logDir.toAbsolutePath().normalize());
    }

    /** The offline log directories (a copy). */
    public Set<Path> offlineDirs() {
        return Set.copyOf(offline);
    }
}
