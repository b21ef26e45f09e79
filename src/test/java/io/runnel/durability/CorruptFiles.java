package io.runnel.durability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Damage done to a stopped node's partition directory (Kafka's layout, which Runnel shares): the segment
 * files of a partition, the batches of one segment as their v2 headers give them, and the corruptions of
 * the fault suite (a torn tail, a flipped bit, an index removed, emptied or filled with garbage, a
 * checkpoint overwritten). Plain file I/O on files no process has open.
 */
final class CorruptFiles {

    /** One v2 record batch of a segment file: its offsets and where it lies in the file. */
    record Batch(long baseOffset, long lastOffset, int position, int size) {
    }

    private CorruptFiles() {
    }

    /** The {@code .log} files of a partition directory, oldest first (names are zero-padded base offsets). */
    static List<Path> segments(Path partitionDir) throws IOException {
        try (Stream<Path> files = Files.list(partitionDir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    /** The same file name with another suffix ({@code .index}, {@code .timeindex}). */
    static Path sibling(Path logFile, String suffix) {
        String name = logFile.getFileName().toString();
        return logFile.resolveSibling(name.substring(0, name.length() - ".log".length()) + suffix);
    }

    /** The whole batches of a segment file, from their headers (base offset, length, last offset delta). */
    static List<Batch> batches(Path logFile) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(logFile));
        List<Batch> out = new ArrayList<>();
        int pos = 0;
        while (pos + 27 <= buf.limit()) {
            long base = buf.getLong(pos);
            int size = buf.getInt(pos + 8) + 12;
            if (size < 61 || pos + (long) size > buf.limit()) {
                break;
            }
            out.add(new Batch(base, base + buf.getInt(pos + 23), pos, size));
            pos += size;
        }
        return out;
    }

    /** Cuts the file in the middle of {@code batch}, as a crash in the middle of its write would. */
    static void tear(Path logFile, Batch batch) throws IOException {
        try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.WRITE)) {
            ch.truncate(batch.position() + batch.size() / 2);
        }
    }

    /** Flips one bit near the end of {@code batch}: in its last record, which its CRC covers. */
    static void flipBit(Path logFile, Batch batch) throws IOException {
        flipBitAt(logFile, batch.position() + batch.size() - 3);
    }

    static void flipBitAt(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, position);
            one.put(0, (byte) (one.get(0) ^ 0x04)).rewind();
            ch.write(one, position);
        }
    }

    /** Overwrites {@code file} (its size kept, at least 64 bytes) with random bytes. */
    static void garbage(Path file, long seed) throws IOException {
        byte[] bytes = new byte[(int) Math.max(64, Files.size(file))];
        new Random(seed).nextBytes(bytes);
        Files.write(file, bytes);
    }

    static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    /**
     * The offset an offset checkpoint file of a log directory ({@code recovery-point-offset-checkpoint},
     * {@code replication-offset-checkpoint}: version, count, {@code <topic> <partition> <offset>} lines) has
     * for one partition, or -1.
     */
    static long checkpointed(Path file, String topic, int partition) throws IOException {
        if (!Files.exists(file)) {
            return -1;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String[] parts = line.trim().split(" ");
            if (parts.length == 3 && parts[0].equals(topic) && parts[1].equals(Integer.toString(partition))) {
                return Long.parseLong(parts[2]);
            }
        }
        return -1;
    }
}
