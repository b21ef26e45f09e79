package io.runnel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Kafka's broker policy for a failed log directory: halt for the metadata log's or the last one, else report it. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class LogDirFailureHandlerTest {

    private final Path meta = Path.of("/data/a");
    private final Path other = Path.of("/data/b");
    private final AtomicInteger halts = new AtomicInteger();
    private final List<Path> reports = new ArrayList<>();

    private LogDirFailureHandler handler(List<Path> online) {
        return new LogDirFailureHandler(meta, () -> online, (dir, replicas) -> reports.add(dir), halts::incrementAndGet);
    }

    @Test
    void anotherDirectoryIsReportedAndTheProcessCarriesOn() {
        handler(List.of(meta)).onLogDirOffline(other, Map.of(Uuid.randomUuid(), List.of(0)));
        assertThat(reports).containsExactly(other);
        assertThat(halts).hasValue(0);
    }

    @Test
    void theMetadataLogDirectoryHaltsTheProcess() {
        handler(List.of(other)).onLogDirOffline(meta, Map.of());
        assertThat(halts).hasValue(1);
        assertThat(reports).isEmpty();
    }

    @Test
    void aFailedWriteOfTheMetadataLogHaltsTheProcess() {
        handler(List.of(meta, other)).metadataLogFailed(new java.io.IOException("No space left on device"));
        assertThat(halts).hasValue(1);
    }

    @Test
    void theLastDirectoryHaltsTheProcess() {
        handler(List.of()).onLogDirOffline(other, Map.of());
        assertThat(halts).hasValue(1);
        assertThat(reports).isEmpty();
    }
}
