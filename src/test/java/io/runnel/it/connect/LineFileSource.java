package io.runnel.it.connect;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.source.SourceConnector;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/**
 * A source connector in the manner of Kafka's FileStreamSource (whose connect-file jar does not resolve
 * here): one task reads the lines of {@code file} into {@code topic}, its source offset the number of
 * lines already sent, stored by the worker in the compacted offsets topic, so a restarted worker carries
 * on after the last committed line.
 */
public final class LineFileSource extends SourceConnector {

    static final ConfigDef CONFIG = new ConfigDef()
            .define("file", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "file to read")
            .define("topic", ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "topic to write");

    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
        this.props = props;
    }

    @Override
    public Class<? extends Task> taskClass() {
        return LineTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        return List.of(props);
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return CONFIG;
    }

    @Override
    public String version() {
        return "1";
    }

    /** Reads new lines on each poll; never sends a line twice unless its offset was not committed. */
    public static final class LineTask extends SourceTask {
        private Path file;
        private String topic;
        private long line;

        @Override
        public void start(Map<String, String> props) {
            file = Path.of(props.get("file"));
            topic = props.get("topic");
            Map<String, Object> stored = context.offsetStorageReader().offset(Map.of("file", file.toString()));
            line = stored == null ? 0 : ((Number) stored.get("line")).longValue();
        }

        @Override
        public List<SourceRecord> poll() throws InterruptedException {
            List<String> lines;
            try {
                lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            List<SourceRecord> out = new ArrayList<>();
            while (line < lines.size() && out.size() < 500) {
                String text = lines.get((int) line);
                line++;
                out.add(new SourceRecord(Map.of("file", file.toString()), Map.of("line", line), topic, null,
                        Schema.STRING_SCHEMA, text));
            }
            if (out.isEmpty()) {
                Thread.sleep(50);
                return null;
            }
            return out;
        }

        @Override
        public void stop() {
        }

        @Override
        public String version() {
            return "1";
        }
    }
}
