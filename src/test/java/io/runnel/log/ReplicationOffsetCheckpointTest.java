package io.runnel.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicationOffsetCheckpointTest {

    @TempDir
    Path dir;

    @Test
    void writesKafkasFormatAndReadsItBack() throws IOException {
        Map<TopicPartition, Long> offsets = Map.of(new TopicPartition("orders", 1), 42L,
                new TopicPartition("orders", 0), 7L, new TopicPartition("audit.log", 3), 0L);
        ReplicationOffsetCheckpoint.write(dir, offsets);

        assertThat(Files.readString(dir.resolve("replication-offset-checkpoint")))
                .isEqualTo("0\n3\naudit.log 3 0\norders 0 7\norders 1 42\n");
        assertThat(ReplicationOffsetCheckpoint.read(dir)).isEqualTo(offsets);
        assertThat(dir.resolve("replication-offset-checkpoint.tmp")).doesNotExist();
    }

    @Test
    void aMissingFileIsAnEmptyCheckpointAndAnEmptyOneRoundTrips() throws IOException {
        assertThat(ReplicationOffsetCheckpoint.read(dir)).isEmpty();
        ReplicationOffsetCheckpoint.write(dir, Map.of());
        assertThat(Files.readString(dir.resolve("replication-offset-checkpoint"))).isEqualTo("0\n0\n");
        assertThat(ReplicationOffsetCheckpoint.read(dir)).isEmpty();
    }

    @Test
    void rejectsMalformedFilesNamingTheLine() throws IOException {
        Path file = dir.resolve("replication-offset-checkpoint");
        Files.writeString(file, "1\n0\n");
        assertThatThrownBy(() -> ReplicationOffsetCheckpoint.read(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("line 1").hasMessageContaining("expected version 0");
        Files.writeString(file, "0\n2\norders 0 5\n");
        assertThatThrownBy(() -> ReplicationOffsetCheckpoint.read(dir)).hasMessageContaining("announces 2 entries, 1 follow");
        Files.writeString(file, "0\n1\norders zero 5\n");
        assertThatThrownBy(() -> ReplicationOffsetCheckpoint.read(dir)).hasMessageContaining("line 3")
                .hasMessageContaining("orders zero 5");
        Files.writeString(file, "0\nmany\n");
        assertThatThrownBy(() -> ReplicationOffsetCheckpoint.read(dir)).hasMessageContaining("line 2");
    }
}
