package io.runnel.log;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;

/**
 * Kafka's {@code replication-offset-checkpoint}: the high watermark of every partition of one log
 * directory, so that a restarted broker starts each partition at the high watermark it last knew instead
 * of at the log start. Format (Kafka's OffsetCheckpointFile, version 0):
 *
 * <pre>
 * 0
 * &lt;number of entries&gt;
 * &lt;topic&gt; &lt;partition&gt; &lt;offset&gt;
 * ...
 * </pre>
 *
 * <p>Written whole and renamed atomically ({@link Checkpoints#write}), so a crash leaves the old or the
 * new file. Blocking file I/O: call it off the event loop.
 */
public final class ReplicationOffsetCheckpoint {

    public static final String FILE_NAME = "replication-offset-checkpoint";
    private static final String VERSION = "0";

    private ReplicationOffsetCheckpoint() {
    }

    /** The checkpoint file of a log directory. */
    public static Path file(Path logDir) {
        return logDir.resolve(FILE_NAME);
    }

    /** Replaces the checkpoint of {@code logDir} by {@code offsets}. */
    public static void write(Path logDir, Map<TopicPartition, Long> offsets) throws IOException {
        writeFile(file(logDir), offsets);
    }

    /**
     * Replaces {@code file}, an offset checkpoint in this format under another name (the cleaner's
     * {@code cleaner-offset-checkpoint}), by {@code offsets}.
     */
    static void writeFile(Path file, Map<TopicPartition, Long> offsets) throws IOException {
        StringBuilder sb = new StringBuilder().append(VERSION).append('\n').append(offsets.size()).append('\n');
        offsets.entrySet().stream()
                .sorted(Map.Entry.comparingByKey(Comparator.comparing(TopicPartition::topic)
                        .thenComparingInt(TopicPartition::partition)))
                .forEach(e -> sb.append(e.getKey().topic()).append(' ').append(e.getKey().partition()).append(' ')
                        .append(e.getValue()).append('\n'));
        Checkpoints.write(file, sb.toString());
    }

    /**
     * Reads the checkpoint of {@code logDir}; an absent file is an empty map.
     *
     * @throws IOException naming the file and the line when it is not a version-0 checkpoint
     */
    public static Map<TopicPartition, Long> read(Path logDir) throws IOException {
        return readFile(file(logDir));
    }

    /** Reads {@code file}, an offset checkpoint in this format under another name; absent is empty. */
    static Map<TopicPartition, Long> readFile(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Map.of();
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.size() < 2 || !lines.get(0).trim().equals(VERSION)) {
            throw malformed(file, 1, lines.isEmpty() ? "" : lines.get(0), "expected version " + VERSION);
        }
        int count;
        try {
            count = Integer.parseInt(lines.get(1).trim());
        } catch (NumberFormatException e) {
            throw malformed(file, 2, lines.get(1), "expected the number of entries");
        }
        if (count < 0 || lines.size() - 2 < count) {
            throw malformed(file, 2, lines.get(1), "announces " + count + " entries, " + (lines.size() - 2) + " follow");
        }
        Map<TopicPartition, Long> offsets = new HashMap<>();
        for (int i = 2; i < 2 + count; i++) {
            String line = lines.get(i);
            String[] parts = line.trim().split(" ");
            try {
                if (parts.length != 3) {
                    throw new NumberFormatException();
                }
                offsets.put(new TopicPartition(parts[0], Integer.parseInt(parts[1])), Long.parseLong(parts[2]));
            } catch (NumberFormatException e) {
                throw malformed(file, i + 1, line, "expected \"<topic> <partition> <offset>\"");
            }
        }
        return offsets;
    }

    private static IOException malformed(Path file, int lineNumber, String line, String why) {
        return new IOException("Malformed line " + lineNumber + " of " + file + " (\"" + line + "\"): " + why);
    }
}
