package io.runnel.api;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.runnel.config.BrokerConfig;
import io.runnel.config.DynamicBrokerConfigs;
import io.runnel.config.TopicConfigs;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.message.CreateTopicsResponseData.CreatableTopicConfigs;
import org.apache.kafka.common.message.DescribeConfigsResponseData.DescribeConfigsResourceResult;
import org.apache.kafka.common.message.DescribeConfigsResponseData.DescribeConfigsSynonym;
import org.apache.kafka.common.requests.DescribeConfigsResponse.ConfigSource;
import org.apache.kafka.common.requests.DescribeConfigsResponse.ConfigType;

/**
 * What DescribeConfigs and CreateTopics (v5+) report about configs, computed the way Apache Kafka's
 * ConfigHelper and KafkaConfigSchema do: the effective value, where it comes from, its synonyms (the
 * config itself when overridden, then the broker properties it falls back to), its type and documentation.
 *
 * <p>A broker config comes from this broker's dynamic overrides (DYNAMIC_BROKER_CONFIG), the cluster-wide
 * dynamic default (DYNAMIC_DEFAULT_BROKER_CONFIG), the properties the broker started with
 * (STATIC_BROKER_CONFIG) or the built-in default (DEFAULT_CONFIG), in that order; only the
 * {@link DynamicBrokerConfigs} are writable. Topic overrides are DYNAMIC_TOPIC_CONFIG (wire id 1).
 *
 * <p>Immutable after construction; any thread.
 */
final class ConfigDescriber {

    private static final Map<String, String> TOPIC_DOCS = topicDocs();

    private final BrokerConfig broker;
    /** Broker properties explicitly set at start-up, as strings. */
    private final Map<String, String> staticConfigs;
    /** Built-in defaults of broker properties that have a non-null one, as strings. */
    private final Map<String, String> staticDefaults;

    ConfigDescriber(BrokerConfig broker) {
        this.broker = broker;
        this.staticConfigs = ConfigDef.convertToStringMapWithPasswordValues(broker.originals());
        this.staticDefaults = ConfigDef.convertToStringMapWithPasswordValues(BrokerConfig.DEF.defaultValues());
    }

    /**
     * The broker properties that stand for the same setting, most specific first (Kafka's
     * DynamicBrokerConfig.brokerConfigSynonyms without listener prefixes).
     */
    static List<String> brokerSynonyms(String name) {
        return switch (name) {
            case BrokerConfig.LOG_ROLL_MS, BrokerConfig.LOG_ROLL_HOURS ->
                    List.of(BrokerConfig.LOG_ROLL_MS, BrokerConfig.LOG_ROLL_HOURS);
            case BrokerConfig.LOG_FLUSH_INTERVAL_MS ->
                    List.of(BrokerConfig.LOG_FLUSH_INTERVAL_MS, BrokerConfig.LOG_FLUSH_SCHEDULER_INTERVAL_MS);
            case BrokerConfig.LOG_RETENTION_MS, BrokerConfig.LOG_RETENTION_MINUTES, BrokerConfig.LOG_RETENTION_HOURS ->
                    List.of(BrokerConfig.LOG_RETENTION_MS, BrokerConfig.LOG_RETENTION_MINUTES,
                            BrokerConfig.LOG_RETENTION_HOURS);
            default -> List.of(name);
        };
    }

    /**
     * Every topic config of a topic with {@code overrides}, as DescribeConfigs shows it. Kafka drops the
     * synonyms listed before the config's own broker property (so retention.ms falls back to DEFAULT_CONFIG
     * with no synonyms when only log.retention.hours is set); that is reproduced here on purpose.
     *
     * @param keys the requested config names; null or empty for all
     */
    List<DescribeConfigsResourceResult> describeTopic(Map<String, String> overrides, Collection<String> keys,
                                                      boolean includeSynonyms, boolean includeDocumentation) {
        DynamicBrokerConfigs.Layers layers = broker.dynamicLayers();
        Map<String, Object> effective = TopicConfigs.effective(overrides, broker);
        List<DescribeConfigsResourceResult> out = new ArrayList<>();
        for (String name : new TreeMap<>(TopicConfigs.DEF.configKeys()).keySet()) {
            if (!wanted(keys, name)) {
                continue;
            }
            ConfigDef.Type type = TopicConfigs.DEF.configKeys().get(name).type;
            String value = ConfigDef.convertToString(effective.get(name), type);
            List<DescribeConfigsSynonym> all = new ArrayList<>();
            if (overrides.containsKey(name)) {
                all.add(new DescribeConfigsSynonym().setName(name).setValue(value)
                        .setSource(ConfigSource.TOPIC_CONFIG.id()));
            }
            String brokerName = BrokerConfig.TOPIC_CONFIG_SYNONYMS.get(name);
            if (brokerName != null) {
                all.addAll(configSynonyms(layers, brokerName, brokerSynonyms(brokerName)));
            }
            out.add(new DescribeConfigsResourceResult().setName(name).setValue(value)
                    .setConfigSource(all.isEmpty() ? ConfigSource.DEFAULT_CONFIG.id() : all.get(0).source())
                    .setIsSensitive(false).setReadOnly(false)
                    .setSynonyms(includeSynonyms ? all : new ArrayList<>())
                    .setConfigType(configType(type).id())
                    .setDocumentation(includeDocumentation ? TOPIC_DOCS.get(name) : null));
        }
        return out;
    }

    /**
     * This broker's configs as DescribeConfigs shows a per-broker resource: the effective values, dynamic
     * ones included; only dynamic configs are writable.
     */
    List<DescribeConfigsResourceResult> describeBroker(Collection<String> keys, boolean includeSynonyms,
                                                       boolean includeDocumentation) {
        DynamicBrokerConfigs.Layers layers = broker.dynamicLayers();
        BrokerConfig current = broker.current();
        // Kafka lists the originals (including keys it does not know) and then every defined config
        Map<String, Object> entries = new LinkedHashMap<>();
        Map<String, ?> values = current.values();
        current.originals().forEach((k, v) -> {
            if (v != null && !values.containsKey(k)) {
                entries.put(k, v);
            }
        });
        new TreeMap<>(values).forEach(entries::put);
        return brokerEntries(layers, entries, true, keys, includeSynonyms, includeDocumentation);
    }

    /**
     * The cluster-wide default BROKER resource (name ""): only the dynamic defaults set, each with only its
     * DYNAMIC_DEFAULT_BROKER_CONFIG synonyms, as Kafka shows it.
     */
    List<DescribeConfigsResourceResult> describeClusterDefault(Collection<String> keys, boolean includeSynonyms,
                                                               boolean includeDocumentation) {
        DynamicBrokerConfigs.Layers layers = broker.dynamicLayers();
        return brokerEntries(layers, new TreeMap<>(layers.clusterDefault()), false, keys, includeSynonyms,
                includeDocumentation);
    }

    private List<DescribeConfigsResourceResult> brokerEntries(DynamicBrokerConfigs.Layers layers,
                                                              Map<String, ?> entries, boolean perBroker,
                                                              Collection<String> keys, boolean includeSynonyms,
                                                              boolean includeDocumentation) {
        List<DescribeConfigsResourceResult> out = new ArrayList<>();
        entries.forEach((name, value) -> {
            if (!wanted(keys, name)) {
                return;
            }
            ConfigDef.ConfigKey key = BrokerConfig.DEF.configKeys().get(name);
            if (key == null && DynamicBrokerConfigs.isListenerSslStore(name)) {
                // listener.name.<listener>.ssl.keystore.location has the type of ssl.keystore.location, as in Kafka
                key = BrokerConfig.DEF.configKeys().get(DynamicBrokerConfigs.listenerSslStoreBase(name));
            }
            ConfigDef.Type type = key == null ? null : key.type;
            // a config Kafka cannot type might be a secret: it hides the value
            boolean sensitive = type == null || type == ConfigDef.Type.PASSWORD;
            String rendered = sensitive ? null
                    : value instanceof String s ? s : ConfigDef.convertToString(value, type);
            List<DescribeConfigsSynonym> all = configSynonyms(layers, name, brokerSynonyms(name));
            if (!perBroker) {
                all.removeIf(s -> s.source() != ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.id());
            }
            if (sensitive) {
                all.forEach(s -> s.setValue(null));
            }
            out.add(new DescribeConfigsResourceResult().setName(name).setValue(rendered)
                    .setConfigSource(all.isEmpty() ? ConfigSource.DEFAULT_CONFIG.id() : all.get(0).source())
                    .setIsSensitive(sensitive).setReadOnly(!DynamicBrokerConfigs.isDynamic(name))
                    .setSynonyms(includeSynonyms ? all : new ArrayList<>())
                    .setConfigType(configType(type).id())
                    .setDocumentation(includeDocumentation && key != null ? key.documentation : null));
        });
        return out;
    }

    /**
     * The effective configs of a new topic as CreateTopics v5+ returns them (KafkaConfigSchema's
     * resolution): the override if set, else the first broker synonym set dynamically for this broker, for
     * the cluster, or at start-up, else the default. Sorted by name.
     */
    List<CreatableTopicConfigs> creationConfigs(Map<String, String> overrides) {
        DynamicBrokerConfigs.Layers layers = broker.dynamicLayers();
        Map<String, Object> effective = TopicConfigs.effective(overrides, broker);
        List<CreatableTopicConfigs> out = new ArrayList<>();
        for (String name : new TreeMap<>(TopicConfigs.DEF.configKeys()).keySet()) {
            ConfigDef.Type type = TopicConfigs.DEF.configKeys().get(name).type;
            ConfigSource source = ConfigSource.DEFAULT_CONFIG;
            if (overrides.containsKey(name)) {
                source = ConfigSource.TOPIC_CONFIG;
            } else {
                String brokerName = BrokerConfig.TOPIC_CONFIG_SYNONYMS.get(name);
                List<String> synonyms = brokerName == null ? List.of() : brokerSynonyms(brokerName);
                if (synonyms.stream().anyMatch(layers.node()::containsKey)) {
                    source = ConfigSource.DYNAMIC_BROKER_CONFIG;
                } else if (synonyms.stream().anyMatch(layers.clusterDefault()::containsKey)) {
                    source = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG;
                } else if (synonyms.stream().anyMatch(staticConfigs::containsKey)) {
                    source = ConfigSource.STATIC_BROKER_CONFIG;
                }
            }
            out.add(new CreatableTopicConfigs().setName(name)
                    .setValue(ConfigDef.convertToString(effective.get(name), type))
                    .setReadOnly(false).setConfigSource(source.id()).setIsSensitive(false));
        }
        return out;
    }

    /**
     * The value APPEND and SUBTRACT start from when a list config has no override: the built-in default
     * of the broker property behind it (Kafka uses the topic config's own default, which is the same).
     */
    static String listDefault(String topicConfig) {
        String brokerName = BrokerConfig.TOPIC_CONFIG_SYNONYMS.get(topicConfig);
        if (brokerName == null) {
            return null;
        }
        ConfigDef.ConfigKey key = BrokerConfig.DEF.configKeys().get(brokerName);
        return key == null || !key.hasDefault() ? null : ConfigDef.convertToString(key.defaultValue, key.type);
    }

    static String topicDocumentation(String name) {
        return TOPIC_DOCS.get(name);
    }

    /**
     * Kafka's configSynonyms: this broker's dynamic configs, the cluster's dynamic defaults, the explicitly
     * set properties, then the built-in defaults, each in synonym order; entries before {@code name} itself
     * are dropped.
     */
    private List<DescribeConfigsSynonym> configSynonyms(DynamicBrokerConfigs.Layers layers, String name,
                                                        List<String> synonyms) {
        List<DescribeConfigsSynonym> all = new ArrayList<>();
        addSynonyms(all, layers.node(), synonyms, ConfigSource.DYNAMIC_BROKER_CONFIG);
        addSynonyms(all, layers.clusterDefault(), synonyms, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
        addSynonyms(all, staticConfigs, synonyms, ConfigSource.STATIC_BROKER_CONFIG);
        addSynonyms(all, staticDefaults, synonyms, ConfigSource.DEFAULT_CONFIG);
        int first = 0;
        while (first < all.size() && !all.get(first).name().equals(name)) {
            first++;
        }
        return new ArrayList<>(all.subList(first, all.size()));
    }

    private static void addSynonyms(List<DescribeConfigsSynonym> all, Map<String, String> values, List<String> synonyms,
                                    ConfigSource source) {
        for (String s : synonyms) {
            String v = values.get(s);
            if (v != null) {
                all.add(new DescribeConfigsSynonym().setName(s).setValue(v).setSource(source.id()));
            }
        }
    }

    private static boolean wanted(Collection<String> keys, String name) {
        return keys == null || keys.isEmpty() || keys.contains(name);
    }

    static ConfigType configType(ConfigDef.Type type) {
        if (type == null) {
            return ConfigType.UNKNOWN;
        }
        return switch (type) {
            case BOOLEAN -> ConfigType.BOOLEAN;
            case STRING -> ConfigType.STRING;
            case INT -> ConfigType.INT;
            case SHORT -> ConfigType.SHORT;
            case LONG -> ConfigType.LONG;
            case DOUBLE -> ConfigType.DOUBLE;
            case LIST -> ConfigType.LIST;
            case CLASS -> ConfigType.CLASS;
            case PASSWORD -> ConfigType.PASSWORD;
        };
    }

    /** TopicConfig pairs every X_CONFIG name with an X_DOC text; Kafka's LogConfig documents topics with them. */
    private static Map<String, String> topicDocs() {
        Map<String, String> docs = new HashMap<>();
        for (Field f : TopicConfig.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || !f.getName().endsWith("_CONFIG")) {
                continue;
            }
            String docField = f.getName().substring(0, f.getName().length() - "_CONFIG".length()) + "_DOC";
            try {
                docs.put((String) f.get(null), (String) TopicConfig.class.getField(docField).get(null));
            } catch (ReflectiveOperationException | ClassCastException e) {
                // a config without documentation text: DescribeConfigs answers null for it
            }
        }
        // these two live in Kafka's server module, not in kafka-clients' TopicConfig
        docs.put("leader.replication.throttled.replicas", "A list of replicas for which log replication should be "
                + "throttled on the leader side. The list should describe a set of replicas in the form "
                + "[PartitionId]:[BrokerId],[PartitionId]:[BrokerId]:... or alternatively the wildcard '*' can be used "
                + "to throttle all replicas for this topic.");
        docs.put("follower.replication.throttled.replicas", "A list of replicas for which log replication should be "
                + "throttled on the follower side. The list should describe a set of replicas in the form "
                + "[PartitionId]:[BrokerId],[PartitionId]:[BrokerId]:... or alternatively the wildcard '*' can be used "
                + "to throttle all replicas for this topic.");
        return Map.copyOf(docs);
    }
}
