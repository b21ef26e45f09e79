package io.runnel.config;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;

/**
 * Kafka's dynamic broker configs as far as Runnel has them: the broker-level defaults of topic configs
 * (Kafka's DynamicLogConfig), kept in the metadata log under a BROKER resource, {@code ""} for the cluster
 * default or a node id for one broker, as KRaft keeps its ConfigRecords. The effective broker config layers
 * them as Kafka does: per-broker over cluster default over the properties file over the built-in default
 * ({@link BrokerConfig#current()}).
 *
 * <p>Which keys are dynamic: the broker property each topic config takes its default from (Kafka's
 * {@code ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS} values), so {@code log.retention.ms} is and
 * {@code log.retention.hours} is not, as in Kafka. Stateless; any thread.
 */
public final class DynamicBrokerConfigs {

    /** The BROKER resource name of the cluster-wide default. */
    public static final String CLUSTER_DEFAULT = "";

    public static final Set<String> DYNAMIC = Set.copyOf(BrokerConfig.TOPIC_CONFIG_SYNONYMS.values());

    /** The dynamic overrides that apply to one broker: the cluster default and its own. Immutable. */
    public record Layers(Map<String, String> clusterDefault, Map<String, String> node) {
        public static final Layers EMPTY = new Layers(Map.of(), Map.of());

        public boolean isEmpty() {
            return clusterDefault.isEmpty() && node.isEmpty();
        }
    }

    private DynamicBrokerConfigs() {
    }

    public static boolean isDynamic(String name) {
        return DYNAMIC.contains(name);
    }

    /**
     * Checks one resource's dynamic overrides and returns them unchanged.
     *
     * @throws InvalidRequestException with Kafka's message when a key cannot be updated dynamically
     * @throws InvalidConfigurationException naming the key when a value is not valid for it
     */
    public static Map<String, String> validate(Map<String, String> overrides) {
        Set<String> nonDynamic = new LinkedHashSet<>();
        overrides.keySet().forEach(k -> {
            if (!isDynamic(k)) {
                nonDynamic.add(k);
            }
        });
        if (!nonDynamic.isEmpty()) {
            throw notDynamic(nonDynamic);
        }
        overrides.forEach((name, value) -> {
            ConfigDef.ConfigKey key = BrokerConfig.DEF.configKeys().get(name);
            try {
                Object parsed = ConfigDef.parseType(name, value, key.type);
                if (key.validator != null) {
                    key.validator.ensureValid(name, parsed);
                }
            } catch (ConfigException e) {
                throw new InvalidConfigurationException(e.getMessage());
            }
        });
        return overrides;
    }

    /** Kafka's refusal of broker configs it cannot change at run time. */
    public static InvalidRequestException notDynamic(Set<String> names) {
        return new InvalidRequestException("Cannot update these configs dynamically: Set("
                + String.join(", ", names) + ")");
    }

    /** Whether {@code resource} names the cluster default or a node id (Kafka's BROKER resource names). */
    public static boolean isValidResource(String resource) {
        if (resource.isEmpty()) {
            return true;
        }
        try {
            return Integer.parseInt(resource) >= 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
