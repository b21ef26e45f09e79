package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.config.TopicConfigs;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableReplicaAssignment;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopic;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopicConfig;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.CreateTopicsResponseData.CreatableTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * CreateTopics as Apache Kafka's controller answers it: a per-topic result in request order, then one
 * INVALID_REQUEST per name given more than once. Checks run in Kafka's order (name, existence, name
 * collision, configs, replica assignment, partitions and replication factor) with Kafka's messages.
 * v5+ results carry the topic's effective configs, partition count, replication factor and (v7+) id,
 * for validate-only requests too. Manual replica assignments may name only this broker. The timeout is
 * ignored: creation completes before the answer.
 */
public final class CreateTopicsHandler implements ApiHandler<CreateTopicsRequestData> {

    /** Kafka's ReplicationControlManager.MAX_PARTITIONS_PER_BATCH. */
    static final int MAX_PARTITIONS_PER_BATCH = 10_000;

    private final BrokerConfig config;
    private final TopicManager topics;
    private final ConfigDescriber describer;

    public CreateTopicsHandler(BrokerConfig config, TopicManager topics) {
        this.config = config;
        this.topics = topics;
        this.describer = new ConfigDescriber(config);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.CREATE_TOPICS;
    }

    @Override
    public Future<CreateTopicsResponseData> handle(RequestContext ctx, CreateTopicsRequestData request) {
        Set<String> names = new HashSet<>();
        Set<String> duplicates = new LinkedHashSet<>();
        for (CreatableTopic t : request.topics()) {
            if (!duplicates.contains(t.name()) && !names.add(t.name())) {
                names.remove(t.name());
                duplicates.add(t.name());
            }
        }
        int total = 0;
        for (CreatableTopic t : request.topics()) {
            if (!t.assignments().isEmpty()) {
                total += t.assignments().size();
            } else if (t.numPartitions() == -1) {
                total += config.getInt(BrokerConfig.NUM_PARTITIONS);
            } else if (t.numPartitions() > 0) {
                total += t.numPartitions();
            }
        }
        if (total > MAX_PARTITIONS_PER_BATCH) {
            return Future.failedFuture(new PolicyViolationException("Excessively large number of partitions per request."));
        }
        List<Future<CreatableTopicResult>> results = new ArrayList<>();
        // as Kafka: CREATE on the cluster allows every topic, else CREATE on each topic is needed
        boolean clusterCreate = ctx.clusterAuthorized(AclOperation.CREATE);
        for (CreatableTopic t : request.topics()) {
            // the metadata log is not a topic anyone may create; Kafka answers as if unauthorized
            if (names.contains(t.name()) && !Topic.CLUSTER_METADATA_TOPIC_NAME.equals(t.name())) {
                if (clusterCreate || ctx.authorized(AclOperation.CREATE, ResourceType.TOPIC, t.name())) {
                    results.add(create(t, request.validateOnly()));
                } else {
                    results.add(Future.succeededFuture(error(t.name(),
                            new ApiError(Errors.TOPIC_AUTHORIZATION_FAILED, "Authorization failed."))));
                }
            }
        }
        return Future.all(results).map(all -> {
            CreateTopicsResponseData response = new CreateTopicsResponseData();
            for (Future<CreatableTopicResult> f : results) {
                response.topics().add(f.result());
            }
            for (String name : duplicates) {
                response.topics().add(error(name, new ApiError(Errors.INVALID_REQUEST, "Duplicate topic name.")));
            }
            if (names.contains(Topic.CLUSTER_METADATA_TOPIC_NAME)) {
                response.topics().add(error(Topic.CLUSTER_METADATA_TOPIC_NAME,
                        new ApiError(Errors.TOPIC_AUTHORIZATION_FAILED, "Authorization failed.")));
            }
            return response;
        });
    }

    /** Always succeeds: a failure becomes the topic's error result. */
    private Future<CreatableTopicResult> create(CreatableTopic t, boolean validateOnly) {
        String name = t.name();
        ApiError invalid = validate(t);
        if (invalid != null) {
            return Future.succeededFuture(error(name, invalid));
        }
        Map<String, String> configs = new HashMap<>();
        for (CreatableTopicConfig c : t.configs()) {
            configs.put(c.name(), c.value());
        }
        int partitions = t.assignments().isEmpty() ? t.numPartitions() : t.assignments().size();
        short replicationFactor = t.assignments().isEmpty() ? t.replicationFactor()
                : (short) t.assignments().iterator().next().brokerIds().size();
        return topics.create(name, partitions, replicationFactor, configs, validateOnly)
                .map(this::created)
                .otherwise(e -> error(name, AdminSupport.apiError(name, e)));
    }

    /** Kafka's checks before placement, in its order; null when the topic may be created. */
    private ApiError validate(CreatableTopic t) {
        String name = t.name();
        try {
            Topic.validate(name);
        } catch (InvalidTopicException e) {
            return new ApiError(Errors.INVALID_TOPIC_EXCEPTION, e.getMessage());
        }
        if (topics.topic(name) != null) {
            return new ApiError(Errors.TOPIC_ALREADY_EXISTS, "Topic '" + name + "' already exists.");
        }
        if (Topic.hasCollisionChars(name)) {
            String unified = Topic.unifyCollisionChars(name);
            for (TopicInfo existing : topics.topics()) {
                if (Topic.unifyCollisionChars(existing.name()).equals(unified)) {
                    return new ApiError(Errors.INVALID_TOPIC_EXCEPTION,
                            "Topic '" + name + "' collides with existing topic: " + existing.name());
                }
            }
        }
        List<String> nullConfigs = new ArrayList<>();
        Map<String, String> configs = new HashMap<>();
        for (CreatableTopicConfig c : t.configs()) {
            if (c.value() == null) {
                nullConfigs.add(c.name());
            } else {
                configs.put(c.name(), c.value());
            }
        }
        if (!nullConfigs.isEmpty()) {
            return new ApiError(Errors.INVALID_CONFIG,
                    "Null value not supported for topic configs: " + String.join(",", nullConfigs));
        }
        try {
            TopicConfigs.validate(configs);
        } catch (InvalidConfigurationException e) {
            return new ApiError(Errors.INVALID_CONFIG, e.getMessage());
        }
        if (!t.assignments().isEmpty()) {
            return validateAssignments(t);
        }
        if (t.replicationFactor() < -1 || t.replicationFactor() == 0) {
            return new ApiError(Errors.INVALID_REPLICATION_FACTOR,
                    "Replication factor must be larger than 0, or -1 to use the default value.");
        }
        if (t.numPartitions() < -1 || t.numPartitions() == 0) {
            return new ApiError(Errors.INVALID_PARTITIONS,
                    "Number of partitions was set to an invalid non-positive value.");
        }
        return null;
    }

    private ApiError validateAssignments(CreatableTopic t) {
        if (t.replicationFactor() != -1) {
            return new ApiError(Errors.INVALID_REQUEST,
                    "A manual partition assignment was specified, but replication factor was not set to -1.");
        }
        if (t.numPartitions() != -1) {
            return new ApiError(Errors.INVALID_REQUEST,
                    "A manual partition assignment was specified, but numPartitions was not set to -1.");
        }
        Set<Integer> seen = new HashSet<>();
        Integer replicationFactor = null;
        for (CreatableReplicaAssignment a : t.assignments()) {
            if (!seen.add(a.partitionIndex())) {
                return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT,
                        "Found multiple manual partition assignments for partition " + a.partitionIndex());
            }
            ApiError invalid = AdminSupport.validateAssignment(a.brokerIds(), replicationFactor, config.nodeId());
            if (invalid != null) {
                return invalid;
            }
            replicationFactor = a.brokerIds().size();
        }
        for (int i = 0; i < seen.size(); i++) {
            if (!seen.contains(i)) {
                return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT,
                        "partitions should be a consecutive 0-based integer sequence");
            }
        }
        return null;
    }

    private CreatableTopicResult created(TopicInfo t) {
        return new CreatableTopicResult().setName(t.name()).setTopicId(t.id()).setErrorCode(Errors.NONE.code())
                .setErrorMessage(null).setNumPartitions(t.partitions()).setReplicationFactor(t.replicationFactor())
                .setConfigs(describer.creationConfigs(t.configs())).setTopicConfigErrorCode(Errors.NONE.code());
    }

    private static CreatableTopicResult error(String name, ApiError error) {
        return new CreatableTopicResult().setName(name).setErrorCode(error.error().code())
                .setErrorMessage(error.message());
    }
}
