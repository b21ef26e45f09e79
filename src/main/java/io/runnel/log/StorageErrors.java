package io.runnel.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

import org.apache.kafka.common.errors.KafkaStorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where an I/O failure of a partition directory becomes a {@link KafkaStorageException}.
 * The failure is logged once with its cause; the owning {@link PartitionLog} then refuses further writes and
 * reports its log directory to the {@link LogDirFailureChannel}, which takes the whole directory offline as
 * Kafka does.
 */
final class StorageErrors {

    private static final Logger LOG = LoggerFactory.getLogger(StorageErrors.class);

    private StorageErrors() {
    }

    static KafkaStorageException failed(Path dir, String what, Throwable cause) {
        Throwable root = cause instanceof UncheckedIOException u ? u.getCause() : cause;
        LOG.error("I/O error in log dir {} while {}", dir, what, root);
        return new KafkaStorageException("I/O error in " + dir + " while " + what + ": " + root.getMessage(), root);
    }

    @FunctionalInterface
    interface IoAction<T> {
        T run() throws IOException;
    }

    /** Runs an I/O action and turns any IOException into an UncheckedIOException for the caller to map. */
    static <T> T unchecked(IoAction<T> action) {
        try {
            return action.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
