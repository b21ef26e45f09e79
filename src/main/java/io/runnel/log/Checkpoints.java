package io.runnel.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Small text files ({@code leader-epoch-checkpoint}, the log directory's offset checkpoints; the old
 * layout's per-partition {@code recovery-point} and {@code log-start-offset} are only read): written whole
 * to a temp file, forced and renamed atomically, so a crash leaves either the old or the new content,
 * never a torn one.
 */
final class Checkpoints {

    private Checkpoints() {
    }

    static void write(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(file.getParent());
    }

    /** Makes created, renamed and deleted names in {@code dir} durable (Kafka's flushDir). */
    static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /**
     * Reads a single-offset file of the old per-partition layout (the version line "0", then the offset),
     * or {@code fallback} if absent or unreadable.
     */
    static long readOffset(Path file, long fallback) throws IOException {
        if (!Files.exists(file)) {
            return fallback;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        try {
            if (lines.size() >= 2 && lines.get(0).trim().equals("0")) {
                return Long.parseLong(lines.get(1).trim());
            }
        } catch (NumberFormatException e) {
            // fall through: a damaged checkpoint is treated as missing
        }
        return fallback;
    }
}
