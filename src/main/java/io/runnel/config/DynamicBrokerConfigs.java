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
 * {@code log.retention.hours} is not, as in Kafka; and a listener's TLS stores,
 * {@code listener.name.<listener>.ssl.keystore.location} and the like ({@link #LISTENER_SSL_STORES}), per broker
 * only, so that certificates are replaced without a restart. Stateless; any thread.
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

    /**
     * The per-listener TLS store settings Kafka lets an operator change at run time for one broker (to reload
     * certificates): {@code listener.name.<listener>.} followed by one of these.
     */
    public static final Set<String> LISTENER_SSL_STORES = Set.of("ssl.keystore.location", "ssl.keystore.password",
            "ssl.keystore.type", "ssl.key.password", "ssl.keystore.key", "ssl.keystore.certificate.chain",
            "ssl.truststore.location", "ssl.truststore.password", "ssl.truststore.type", "ssl.truststore.certificates");

    private static final java.util.regex.Pattern LISTENER_PREFIX = java.util.regex.Pattern.compile(
            "listener\\.name\\.[a-z0-9_\\-]+\\.(ssl\\..+)");

    public static boolean isDynamic(String name) {
        return DYNAMIC.contains(name) || isListenerSslStore(name);
    }

    /** Whether {@code name} is a {@code listener.name.<listener>.ssl.*} store setting (only per broker). */
    public static boolean isListenerSslStore(String name) {
        java.util.regex.Matcher m = LISTENER_PREFIX.matcher(name);
        return m.matches() && LISTENER_SSL_STORES.contains(m.group(1));
    }

    /** The setting a {@code listener.name.<listener>.ssl.*} store setting overrides ({@code ssl.*}), else null. */
    public static String listenerSslStoreBase(String name) {
        java.util.regex.Matcher m = LISTENER_PREFIX.matcher(name);
        return m.matches() && LISTENER_SSL_STORES.contains(m.group(1)) ? m.group(1) : null;
    }

    /** Whether {@code name} holds a secret, shown as null by DescribeConfigs (Kafka's PASSWORD type). */
    public static boolean isSensitive(String name) {
        return isListenerSslStore(name) && (name.endsWith(".password") || name.endsWith(".ssl.keystore.key")
                || name.endsWith(".ssl.keystore.certificate.chain") || name.endsWith(".ssl.truststore.certificates"));
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
            if (isListenerSslStore(name)) {
                return; // strings and passwords: whether the stores load is checked where they are served
            }
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
