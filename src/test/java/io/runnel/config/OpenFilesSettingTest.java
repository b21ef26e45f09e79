package io.runnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import io.runnel.log.SegmentChannels;

/** {@code log.open.files.max}: how many segment files may be open at once. */
class OpenFilesSettingTest {

    @Test
    void halfTheProcessLimitUnlessSet() {
        long processLimit = SegmentChannels.processFileLimit();
        int resolved = new BrokerConfig(Map.of()).logOpenFilesMax();
        assertThat(resolved).isEqualTo(SegmentChannels.defaultLimit());
        if (processLimit > 0) {
            assertThat(resolved).isEqualTo((int) Math.max(SegmentChannels.MIN_LIMIT, processLimit / 2));
        }
        assertThat(new BrokerConfig(Map.of("log.open.files.max", "100")).logOpenFilesMax()).isEqualTo(100);
    }

    @Test
    void badValuesStopStartUpNamingTheKey() {
        for (String bad : new String[] {"-1", "1", "15", "many"}) {
            assertThatThrownBy(() -> new BrokerConfig(Map.of("log.open.files.max", bad))).as(bad)
                    .isInstanceOf(ConfigException.class).hasMessageContaining("log.open.files.max");
        }
        long processLimit = SegmentChannels.processFileLimit();
        if (processLimit > 0 && processLimit < Integer.MAX_VALUE) {
            assertThatThrownBy(() -> new BrokerConfig(Map.of("log.open.files.max", Long.toString(processLimit + 1))))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("log.open.files.max")
                    .hasMessageContaining("open-file limit");
        }
    }
}
