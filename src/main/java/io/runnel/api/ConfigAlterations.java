package io.runnel.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.config.DynamicBrokerConfigs;
import io.runnel.config.TopicConfigs;
import io.runnel.security.CertificateReloader;
import io.vertx.core.Future;
import org.apache.kafka.clients.admin.AlterConfigOp.OpType;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * The checks and changes AlterConfigs and IncrementalAlterConfigs share, following Apache Kafka's broker
 * pre-processing (ConfigAdminManager) and controller validation (ConfigurationControlManager,
 * ControllerConfigurationValidator), with their messages.
 *
 * <p>A BROKER resource (this node's id, or empty for the cluster default) takes the dynamic broker configs
 * of {@link DynamicBrokerConfigs} into the metadata log; any other key is refused the way Kafka refuses a
 * config it cannot update dynamically (INVALID_REQUEST, "Cannot update these configs dynamically: Set(...)").
 * Stateless; any thread.
 */
final class ConfigAlterations {

    /**
     * One requested operation. {@code op} is null for legacy AlterConfigs (a plain set), and for an
     * incremental operation id Kafka does not define ({@code opId} keeps it for the error).
     */
    record Op(String name, OpType op, byte opId, String value) {
    }

    private ConfigAlterations() {
    }

    /** Resources named more than once in one request (by type and name): Kafka fails each occurrence. */
    static <R> Set<String> duplicateResources(Collection<R> resources, java.util.function.Function<R, String> key) {
        Set<String> seen = new HashSet<>();
        Set<String> duplicates = new HashSet<>();
        for (R r : resources) {
            if (!seen.add(key.apply(r))) {
                duplicates.add(key.apply(r));
            }
        }
        return duplicates;
    }

    static String key(byte type, String name) {
        return type + "/" + name;
    }

    /**
     * Checks one resource's request and applies it; the future always succeeds with the resource's result.
     *
     * @param incremental whether DELETE may carry a null value and APPEND/SUBTRACT are allowed
     */
    static Future<ApiError> alter(TopicManager topics, BrokerConfig config, byte typeId, String name, List<Op> ops,
                                  boolean incremental, boolean validateOnly) {
        return alter(topics, config, null, typeId, name, ops, incremental, validateOnly);
    }

    /** @param certificates reloads TLS listeners on a change of their stores (null: none to reload) */
    static Future<ApiError> alter(TopicManager topics, BrokerConfig config, CertificateReloader certificates, byte typeId, String name, List<Op> ops,
                                  boolean incremental, boolean validateOnly) {
        try {
            Set<String> names = new HashSet<>();
            List<String> nulls = new ArrayList<>();
            for (Op op : ops) {
                if (!names.add(op.name())) {
                    throw new InvalidRequestException("Error due to duplicate config keys");
                }
            }
            for (Op op : ops) {
                if (op.value() == null && op.op() != OpType.DELETE) {
                    nulls.add(op.name());
                }
            }
            if (!nulls.isEmpty()) {
                throw new InvalidRequestException("Null value not supported for : " + String.join(", ", nulls));
            }
            for (Op op : ops) {
                if (incremental && op.op() == null) {
                    throw new InvalidRequestException("Unknown operations type " + op.opId());
                }
            }
            ConfigResource.Type type = ConfigResource.Type.forId(typeId);
            return switch (type) {
                case BROKER -> alterBroker(topics, config, certificates, name, ops, incremental, validateOnly);
                case TOPIC -> alterTopic(topics, name, ops, incremental, validateOnly);
                case CLIENT_METRICS, GROUP -> throw new InvalidRequestException("Unsupported resource type " + type + ".");
                case BROKER_LOGGER -> throw incremental
                        ? new InvalidRequestException("Unsupported resource type " + type + ".")
                        : new InvalidRequestException("Unknown resource type " + typeId);
                default -> throw new InvalidRequestException("Unknown resource type " + typeId);
            };
        } catch (ApiException e) {
            return Future.succeededFuture(ApiError.fromThrowable(e));
        }
    }

    private static Future<ApiError> alterBroker(TopicManager topics, BrokerConfig config, CertificateReloader certificates,
                                                String name, List<Op> ops, boolean incremental, boolean validateOnly) {
        if (!name.isEmpty()) {
            int id;
            try {
                id = Integer.parseInt(name);
            } catch (NumberFormatException e) {
                throw new InvalidRequestException("Node id must be an integer, but it is: " + name);
            }
            if (id != config.nodeId()) {
                throw new InvalidRequestException("Unexpected broker id, expected " + config.nodeId()
                        + ", but received " + name);
            }
        }
        // Kafka applies the operations to the stored dynamic configs and refuses what remains that it cannot
        // change at run time, before it looks at any value
        Set<String> remaining = new LinkedHashSet<>();
        for (Op op : ops) {
            if (op.op() == null || op.op() == OpType.SET) {
                remaining.add(op.name());
            } else if (op.op() == OpType.DELETE) {
                remaining.remove(op.name());
            } else {
                ConfigDef.ConfigKey key = BrokerConfig.DEF.configKeys().get(op.name());
                if (key == null) {
                    throw new InvalidConfigurationException("Unknown config name: " + op.name());
                }
                if (key.type != ConfigDef.Type.LIST) {
                    throw new InvalidConfigurationException("Config value " + op.op().name().toLowerCase()
                            + " is not allowed for config key: " + op.name());
                }
                remaining.add(op.name());
            }
        }
        remaining.removeIf(DynamicBrokerConfigs::isDynamic);
        if (!remaining.isEmpty()) {
            throw DynamicBrokerConfigs.notDynamic(remaining);
        }
        List<String> stores = ops.stream().map(Op::name).filter(DynamicBrokerConfigs::isListenerSslStore).toList();
        if (!stores.isEmpty() && name.isEmpty()) {
            // Kafka: a listener's stores are per broker, never a cluster default
            throw new InvalidRequestException("Cannot update these configs at default cluster level, broker id must"
                    + " be specified: " + String.join(", ", stores));
        }
        UnaryOperator<Map<String, String>> change = current -> apply(current, ops, incremental, BrokerConfig.DEF,
                ConfigAlterations::brokerListDefault);
        if (stores.isEmpty() || certificates == null) {
            return topics.alterBrokerConfigs(name, change, validateOnly).map(c -> ApiError.NONE)
                    .otherwise(e -> AdminSupport.apiError(name, e));
        }
        // the new stores are loaded and checked (on a worker) before the change is written, then served once it is;
        // an unchanged setting whose file was modified reloads too
        BrokerConfig candidate;
        try {
            candidate = CertificateReloader.withNodeOverrides(config,
                    DynamicBrokerConfigs.validate(change.apply(new HashMap<>(topics.brokerConfigs(name)))));
        } catch (org.apache.kafka.common.config.ConfigException e) {
            throw new InvalidConfigurationException(e.getMessage());
        }
        return certificates.validate(candidate)
                .compose(v -> topics.alterBrokerConfigs(name, change, validateOnly))
                .compose(c -> validateOnly ? Future.succeededFuture()
                        : certificates.apply(CertificateReloader.withNodeOverrides(config, c)))
                .map(c -> ApiError.NONE)
                .otherwise(e -> AdminSupport.apiError(name, e instanceof org.apache.kafka.common.config.ConfigException
                        ? new InvalidConfigurationException(e.getMessage()) : e));
    }

    /** APPEND and SUBTRACT on a broker config without a dynamic value start from its built-in default, as in Kafka. */
    private static String brokerListDefault(String name) {
        ConfigDef.ConfigKey key = BrokerConfig.DEF.configKeys().get(name);
        return key == null || !key.hasDefault() ? null : ConfigDef.convertToString(key.defaultValue, key.type);
    }

    private static Future<ApiError> alterTopic(TopicManager topics, String name, List<Op> ops, boolean incremental,
                                                boolean validateOnly) {
        if (name.isEmpty()) {
            throw new InvalidRequestException("Default topic resources are not allowed.");
        }
        try {
            Topic.validate(name);
        } catch (InvalidTopicException e) {
            return Future.succeededFuture(new ApiError(Errors.INVALID_TOPIC_EXCEPTION, e.getMessage()));
        }
        UnaryOperator<Map<String, String>> change = current -> apply(current, ops, incremental, TopicConfigs.DEF,
                ConfigDescriber::listDefault);
        // Kafka validates the resulting configs before it checks that the topic exists
        TopicInfo topic = topics.topic(name);
        TopicConfigs.validate(change.apply(new HashMap<>(topic == null ? Map.of() : topic.configs())));
        if (topic == null) {
            return Future.succeededFuture(new ApiError(Errors.UNKNOWN_TOPIC_OR_PARTITION,
                    "The topic '" + name + "' does not exist."));
        }
        return topics.alterConfigs(name, change, validateOnly).map(t -> ApiError.NONE)
                .otherwise(e -> AdminSupport.apiError(name, e));
    }

    /**
     * A resource's overrides after the operations: legacy AlterConfigs replaces the whole set, incremental
     * operations change one key each (APPEND/SUBTRACT on list configs of {@code def} only, starting from
     * {@code listDefault} when there is no override).
     */
    static Map<String, String> apply(Map<String, String> current, List<Op> ops, boolean incremental, ConfigDef def,
                                     UnaryOperator<String> listDefault) {
        Map<String, String> result = incremental ? new HashMap<>(current) : new HashMap<>();
        for (Op op : ops) {
            if (op.op() == null || op.op() == OpType.SET) {
                result.put(op.name(), op.value());
            } else if (op.op() == OpType.DELETE) {
                result.remove(op.name());
            } else {
                ConfigDef.ConfigKey key = def.configKeys().get(op.name());
                if (key == null || key.type != ConfigDef.Type.LIST) {
                    throw new InvalidConfigurationException("Can't " + op.op() + " to key " + op.name()
                            + " because its type is not LIST.");
                }
                String base = current.containsKey(op.name()) ? current.get(op.name())
                        : listDefault.apply(op.name());
                List<String> parts = new ArrayList<>();
                if (base != null) {
                    for (String p : base.split(",")) {
                        if (!p.isEmpty()) {
                            parts.add(p);
                        }
                    }
                }
                for (String v : op.value().split(",")) {
                    if (op.op() == OpType.APPEND && !parts.contains(v)) {
                        parts.add(v);
                    } else if (op.op() == OpType.SUBTRACT) {
                        parts.remove(v);
                    }
                }
                result.put(op.name(), String.join(",", parts));
            }
        }
        return result;
    }

}
