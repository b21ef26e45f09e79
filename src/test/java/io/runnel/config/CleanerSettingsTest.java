package io.runnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import io.runnel.log.CleanerConfig;
import io.runnel.log.LogConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.junit.jupiter.api.Test;

class CleanerSettingsTest {

    @Test
    void defaultsAreKafkas() {
        CleanerConfig c = new BrokerConfig(Map.of()).cleanerConfig();
        assertThat(c).isEqualTo(new CleanerConfig(true, 1, 134217728L, 524288, Double.MAX_VALUE, 15_000L));
    }

    @Test
    void badCleanerSettingsStopStartUpNamingTheKey() {
        assertThatThrownBy(() -> new BrokerConfig(Map.of("log.cleaner.threads", "-1")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("log.cleaner.threads");
        assertThatThrownBy(() -> new BrokerConfig(Map.of("log.cleaner.io.max.bytes.per.second", "0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("log.cleaner.io.max.bytes.per.second");
        assertThatThrownBy(() -> new BrokerConfig(Map.of("log.cleaner.enable", "maybe")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("log.cleaner.enable");
        // each thread needs at least 1 MiB of offset map
        assertThatThrownBy(() -> new BrokerConfig(Map.of("log.cleaner.threads", "4",
                "log.cleaner.dedupe.buffer.size", String.valueOf(3 * 1024 * 1024))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("log.cleaner.dedupe.buffer.size");
    }

    @Test
    void topicSettingsReachTheLogConfigAndACompactedLogRollsAtMaxCompactionLag() {
        BrokerConfig broker = new BrokerConfig(Map.of("log.cleaner.min.cleanable.ratio", "0.3"));
        LogConfig c = TopicConfigs.logConfig(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact,delete",
                TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, "1000", TopicConfig.MAX_COMPACTION_LAG_MS_CONFIG, "60000",
                TopicConfig.DELETE_RETENTION_MS_CONFIG, "5000"), broker);
        assertThat(c.compact()).isTrue();
        assertThat(c.deleteRetention()).isTrue();
        assertThat(c.compaction().minCompactionLagMs()).isEqualTo(1000);
        assertThat(c.compaction().maxCompactionLagMs()).isEqualTo(60000);
        assertThat(c.compaction().deleteRetentionMs()).isEqualTo(5000);
        assertThat(c.compaction().minCleanableDirtyRatio()).isEqualTo(0.3);
        assertThat(c.rollMs()).isEqualTo(60000);
        assertThatThrownBy(() -> TopicConfigs.validate(Map.of(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "1.5")))
                .isInstanceOf(InvalidConfigurationException.class)
                .hasMessageContaining(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG);
    }
}
