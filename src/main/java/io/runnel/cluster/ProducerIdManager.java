package io.runnel.cluster;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

import org.apache.kafka.common.errors.KafkaStorageException;

/**
 * Hands out producer ids in blocks, like Kafka's controller: the end of the current block is persisted
 * before any id of it is used, so ids are never reused across restarts.
 *
 * <p>Threading: {@link #next()} may write the file, so it is called from the metadata worker context only.
 */
public final class ProducerIdManager {

    static final long BLOCK_SIZE = 1000;

    private final Path file;
    private long next;
    private int nodeBits = -1;
    private long blockEnd;

    public ProducerIdManager(Path metaDir) {
        this.file = metaDir.resolve("producer-id-block");
    }

    /** Reads the persisted block end; blocking. */
    public void load() {
        try {
            if (Files.exists(file)) {
                long persisted = Long.parseLong(Files.readString(file).trim());
                next = persisted;
                blockEnd = persisted;
            }
        } catch (IOException | NumberFormatException e) {
            throw new KafkaStorageException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * In a cluster every broker hands out ids: each id then carries the node id in its low 10 bits, so no
     * two brokers can give out the same one without asking each other.
     */
    public void clustered(int nodeId) {
        if (nodeId < 0 || nodeId >= 1024) {
            throw new IllegalArgumentException("node.id must be below 1024 in a cluster, got " + nodeId);
        }
        this.nodeBits = nodeId;
    }

    public long next() {
        if (next >= blockEnd) {
            long end = blockEnd + BLOCK_SIZE;
            persist(end);
            blockEnd = end;
        }
        long id = next++;
        return nodeBits < 0 ? id : (id << 10) | nodeBits;
    }

    private void persist(long end) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(tmp, Long.toString(end), StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new KafkaStorageException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
