package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import java.util.ArrayList;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsRequestData.DescribeConfigsResource;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.DescribeConfigsResponseData.DescribeConfigsResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * DescribeConfigs for TOPIC and BROKER resources, as Apache Kafka's ConfigHelper answers it. A topic lists
 * every topic config with its effective value (override, else broker property, else default) and source;
 * this broker (its node id as the name) lists its configs, all read-only since Runnel has no dynamic broker
 * configs; the cluster-default broker resource (empty name) has no dynamic defaults, so it lists nothing.
 * Errors are per resource: an invalid topic name is INVALID_TOPIC_EXCEPTION, an unknown topic
 * UNKNOWN_TOPIC_OR_PARTITION, another broker's id or an unsupported resource type INVALID_REQUEST. A
 * resource type Kafka does not know fails the whole request.
 */
public final class DescribeConfigsHandler implements ApiHandler<DescribeConfigsRequestData> {

    private final BrokerConfig config;
    private final TopicManager topics;
    private final ConfigDescriber describer;

    public DescribeConfigsHandler(BrokerConfig config, TopicManager topics) {
        this.config = config;
        this.topics = topics;
        this.describer = new ConfigDescriber(config);
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_CONFIGS;
    }

    @Override
    public Future<DescribeConfigsResponseData> handle(RequestContext ctx, DescribeConfigsRequestData request) {
        for (DescribeConfigsResource r : request.resources()) {
            ConfigResource.Type type = ConfigResource.Type.forId(r.resourceType());
            if (type == ConfigResource.Type.UNKNOWN) {
                return Future.failedFuture(new InvalidRequestException("Unexpected resource type " + type
                        + " for resource " + r.resourceName()));
            }
        }
        DescribeConfigsResponseData response = new DescribeConfigsResponseData();
        for (DescribeConfigsResource r : request.resources()) {
            DescribeConfigsResult result;
            Errors denied = AuthorizedOperations.configDenied(ctx, r.resourceType(), r.resourceName(),
                    AclOperation.DESCRIBE_CONFIGS);
            try {
                if (denied != null) {
                    throw denied.exception();
                }
                result = describe(r, request.includeSynonyms(), request.includeDocumentation());
            } catch (RuntimeException e) {
                ApiError error = AdminSupport.apiError(r.resourceName(), e);
                result = new DescribeConfigsResult().setErrorCode(error.error().code())
                        .setErrorMessage(error.message()).setConfigs(new ArrayList<>());
            }
            response.results().add(result.setResourceName(r.resourceName()).setResourceType(r.resourceType()));
        }
        return Future.succeededFuture(response);
    }

    private DescribeConfigsResult describe(DescribeConfigsResource r, boolean synonyms, boolean documentation) {
        ConfigResource.Type type = ConfigResource.Type.forId(r.resourceType());
        switch (type) {
            case TOPIC -> {
                Topic.validate(r.resourceName());
                TopicInfo topic = topics.topic(r.resourceName());
                if (topic == null) {
                    return new DescribeConfigsResult().setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code())
                            .setConfigs(new ArrayList<>());
                }
                return ok().setConfigs(describer.describeTopic(topic.configs(), r.configurationKeys(), synonyms,
                        documentation));
            }
            case BROKER -> {
                String name = r.resourceName();
                if (name == null || name.isEmpty()) {
                    return ok().setConfigs(describer.describeClusterDefault(r.configurationKeys(), synonyms,
                            documentation));
                }
                if (brokerId(name) != config.nodeId()) {
                    throw new InvalidRequestException("Unexpected broker id, expected " + config.nodeId()
                            + " or empty string, but received " + name);
                }
                return ok().setConfigs(describer.describeBroker(r.configurationKeys(), synonyms, documentation));
            }
            default -> throw new InvalidRequestException("Unsupported resource type: " + type);
        }
    }

    private static DescribeConfigsResult ok() {
        return new DescribeConfigsResult().setErrorCode(Errors.NONE.code());
    }

    private static int brokerId(String name) {
        try {
            return Integer.parseInt(name);
        } catch (NumberFormatException e) {
            throw new InvalidRequestException("Broker id must be an integer, but it is: " + name);
        }
    }
}
