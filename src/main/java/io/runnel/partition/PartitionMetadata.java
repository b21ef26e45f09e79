package io.runnel.partition;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.KafkaStorageException;

/**
 * A partition directory's {@code partition.metadata}, in Kafka's format:
 * <pre>
 * version: 0
 * topic_id: &lt;topic id, base64&gt;
 * </pre>
 * It ties the directory to one topic id, so that a topic deleted and re-created under the same name never
 * finds the old topic's data: a directory with another id is removed, not adopted.
 *
 * <p>Threading: blocking file I/O; call from a worker context.
 */
public final class PartitionMetadata {

    public static final String FILE_NAME = "partition.metadata";

    private PartitionMetadata() {
    }

    /** The topic id recorded in {@code dir}, or null when the directory or the file does not exist. */
    public static Uuid read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.startsWith("topic_id:")) {
                    return Uuid.fromString(line.substring("topic_id:".length()).trim());
                }
            }
            throw new KafkaStorageException(file + " has no topic_id");
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | IllegalArgumentException e) {
            throw new KafkaStorageException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the file whole (temporary file, atomic rename), without an fsync, as Kafka writes it when a
     * partition is created: a file lost to a crash is written again when the partition opens, and the
     * creation of thousands of partitions does not wait for thousands of fsyncs.
     */
    public static void write(Path dir, Uuid topicId) {
        Path file = dir.resolve(FILE_NAME);
        Path tmp = dir.resolve(FILE_NAME + ".tmp");
        try {
            Files.writeString(tmp, "version: 0\ntopic_id: " + topicId + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KafkaStorageException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    public static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new KafkaStorageException("Cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }
}
