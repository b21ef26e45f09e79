package io.runnel.config;

import static org.apache.kafka.common.config.ConfigDef.Importance.MEDIUM;
import static org.apache.kafka.common.config.ConfigDef.Range.atLeast;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.runnel.log.CompactionConfig;
import io.runnel.log.LogConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.InvalidConfigurationException;

/**
 * Topic-level configs (Kafka's names), their validation, and their resolution against the broker's
 * defaults into a {@link LogConfig}.
 */
public final class TopicConfigs {

    public static final ConfigDef DEF = new ConfigDef()
            .define(TopicConfig.RETENTION_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(-1), MEDIUM, "")
            .define(TopicConfig.RETENTION_BYTES_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            .define(TopicConfig.SEGMENT_BYTES_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE, atLeast(14), MEDIUM, "")
            .define(TopicConfig.SEGMENT_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(1), MEDIUM, "")
            .define(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.CLEANUP_POLICY_CONFIG, Type.LIST, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.ValidList.in(TopicConfig.CLEANUP_POLICY_DELETE, TopicConfig.CLEANUP_POLICY_COMPACT),
                    MEDIUM, "")
            .define(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE, atLeast(1), MEDIUM, "")
            .define(TopicConfig.FLUSH_MESSAGES_INTERVAL_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(1), MEDIUM, "")
            .define(TopicConfig.FLUSH_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.INDEX_INTERVAL_BYTES_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.SEGMENT_INDEX_BYTES_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE, atLeast(4), MEDIUM, "")
            .define(TopicConfig.FILE_DELETE_DELAY_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.ValidString.in("CreateTime", "LogAppendTime"), MEDIUM, "")
            .define(TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.COMPRESSION_TYPE_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.ValidString.in("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"), MEDIUM, "")
            .define(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE_CONFIG, Type.BOOLEAN, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            // the log cleaner's settings; tiering and throttling below are accepted and shown like Kafka's
            .define(TopicConfig.DELETE_RETENTION_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.MAX_COMPACTION_LAG_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(1), MEDIUM, "")
            .define(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, Type.DOUBLE, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.Range.between(0, 1), MEDIUM, "")
            .define(TopicConfig.PREALLOCATE_CONFIG, Type.BOOLEAN, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            .define(TopicConfig.SEGMENT_JITTER_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(0), MEDIUM, "")
            .define(TopicConfig.LOCAL_LOG_RETENTION_MS_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(-2), MEDIUM, "")
            .define(TopicConfig.LOCAL_LOG_RETENTION_BYTES_CONFIG, Type.LONG, ConfigDef.NO_DEFAULT_VALUE, atLeast(-2), MEDIUM, "")
            .define(TopicConfig.COMPRESSION_GZIP_LEVEL_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.Range.between(-1, 9), MEDIUM, "")
            .define(TopicConfig.COMPRESSION_LZ4_LEVEL_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.Range.between(1, 17), MEDIUM, "")
            .define(TopicConfig.COMPRESSION_ZSTD_LEVEL_CONFIG, Type.INT, ConfigDef.NO_DEFAULT_VALUE,
                    ConfigDef.Range.between(-131072, 22), MEDIUM, "")
            .define(TopicConfig.REMOTE_LOG_STORAGE_ENABLE_CONFIG, Type.BOOLEAN, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            .define(TopicConfig.REMOTE_LOG_COPY_DISABLE_CONFIG, Type.BOOLEAN, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            .define(TopicConfig.REMOTE_LOG_DELETE_ON_DISABLE_CONFIG, Type.BOOLEAN, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            .define("leader.replication.throttled.replicas", Type.LIST, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "")
            .define("follower.replication.throttled.replicas", Type.LIST, ConfigDef.NO_DEFAULT_VALUE, MEDIUM, "");

    private TopicConfigs() {
    }

    public static boolean isKnown(String name) {
        return DEF.names().contains(name);
    }

    /**
     * Checks topic overrides (names and values) and returns them unchanged.
     *
     * @throws InvalidConfigurationException naming the config
     */
    public static Map<String, String> validate(Map<String, String> overrides) {
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            ConfigDef.ConfigKey key = DEF.configKeys().get(e.getKey());
            if (key == null) {
                throw new InvalidConfigurationException("Unknown topic config name: " + e.getKey());
            }
            try {
                Object parsed = ConfigDef.parseType(key.name, e.getValue(), key.type);
                if (key.validator != null) {
                    key.validator.ensureValid(key.name, parsed);
                }
            } catch (ConfigException ce) {
                throw new InvalidConfigurationException(ce.getMessage());
            }
        }
        return overrides;
    }

    /** Effective value of every topic config: the override if set, else the broker default. */
    public static Map<String, Object> effective(Map<String, String> overrides, BrokerConfig broker) {
        Map<String, Object> m = new HashMap<>(broker.topicDefaults());
        overrides.forEach((k, v) -> {
            ConfigDef.ConfigKey key = DEF.configKeys().get(k);
            if (key != null) {
                m.put(k, ConfigDef.parseType(k, v, key.type));
            }
        });
        return m;
    }

    /** String form of a value as DescribeConfigs shows it. */
    public static String render(Object value) {
        if (value instanceof List<?> list) {
            return String.join(",", list.stream().map(String::valueOf).toList());
        }
        return value == null ? null : String.valueOf(value);
    }

    public static LogConfig logConfig(Map<String, String> overrides, BrokerConfig broker) {
        Map<String, Object> m = effective(overrides, broker);
        @SuppressWarnings("unchecked")
        List<String> cleanup = (List<String>) m.get(TopicConfig.CLEANUP_POLICY_CONFIG);
        return new LogConfig(
                (Integer) m.get(TopicConfig.SEGMENT_BYTES_CONFIG),
                (Long) m.get(TopicConfig.SEGMENT_MS_CONFIG),
                (Long) m.get(TopicConfig.RETENTION_MS_CONFIG),
                (Long) m.get(TopicConfig.RETENTION_BYTES_CONFIG),
                (Integer) m.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG),
                (Integer) m.get(TopicConfig.INDEX_INTERVAL_BYTES_CONFIG),
                (Integer) m.get(TopicConfig.SEGMENT_INDEX_BYTES_CONFIG),
                (Long) m.get(TopicConfig.FLUSH_MESSAGES_INTERVAL_CONFIG),
                (Long) m.get(TopicConfig.FLUSH_MS_CONFIG),
                (Long) m.get(TopicConfig.FILE_DELETE_DELAY_MS_CONFIG),
                cleanup.contains(TopicConfig.CLEANUP_POLICY_COMPACT),
                cleanup.contains(TopicConfig.CLEANUP_POLICY_DELETE),
                "LogAppendTime".equals(m.get(TopicConfig.MESSAGE_TIMESTAMP_TYPE_CONFIG)),
                (Long) m.get(TopicConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS_CONFIG),
                (Long) m.get(TopicConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS_CONFIG),
                new CompactionConfig(
                        (Long) m.get(TopicConfig.DELETE_RETENTION_MS_CONFIG),
                        (Long) m.get(TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG),
                        (Long) m.get(TopicConfig.MAX_COMPACTION_LAG_MS_CONFIG),
                        (Double) m.get(TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG)));
    }

    public static int minInsyncReplicas(Map<String, String> overrides, BrokerConfig broker) {
        return (Integer) effective(overrides, broker).get(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
    }
}
