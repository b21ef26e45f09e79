package io.runnel.api;

import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsRequestData.CreatePartitionsAssignment;
import org.apache.kafka.common.message.CreatePartitionsRequestData.CreatePartitionsTopic;
import org.apache.kafka.common.message.CreatePartitionsResponseData;
import org.apache.kafka.common.message.CreatePartitionsResponseData.CreatePartitionsTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * CreatePartitions as Apache Kafka's controller answers it: a topic named twice gets one INVALID_REQUEST
 * result (listed first), the others a result each in request order. Unknown topics are
 * UNKNOWN_TOPIC_OR_PARTITION without a message, a count that does not grow the topic INVALID_PARTITIONS,
 * and manual assignments must give one list per new partition naming only this broker, with the topic's
 * replication factor (INVALID_REPLICA_ASSIGNMENT otherwise). validate_only checks without changing
 * anything; the timeout is ignored.
 */
public final class CreatePartitionsHandler implements ApiHandler<CreatePartitionsRequestData> {

    private final BrokerConfig config;
    private final TopicManager topics;

    public CreatePartitionsHandler(BrokerConfig config, TopicManager topics) {
        this.config = config;
        this.topics = topics;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.CREATE_PARTITIONS;
    }

    @Override
    public Future<CreatePartitionsResponseData> handle(RequestContext ctx, CreatePartitionsRequestData request) {
        Set<String> names = new HashSet<>();
        Set<String> duplicates = new LinkedHashSet<>();
        for (CreatePartitionsTopic t : request.topics()) {
            if (!names.add(t.name())) {
                duplicates.add(t.name());
            }
        }
        List<CreatePartitionsTopicResult> errors = new ArrayList<>();
        for (String name : duplicates) {
            errors.add(result(name, new ApiError(Errors.INVALID_REQUEST, "Duplicate topic name.")));
        }
        List<Future<CreatePartitionsTopicResult>> results = new ArrayList<>();
        for (CreatePartitionsTopic t : request.topics()) {
            if (!duplicates.contains(t.name())) {
                // as Kafka: ALTER on the topic, checked before whether it exists
                results.add(ctx.authorized(AclOperation.ALTER, ResourceType.TOPIC, t.name())
                        ? grow(t, request.validateOnly())
                        : Future.succeededFuture(new CreatePartitionsTopicResult().setName(t.name())
                                .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())
                                .setErrorMessage(Errors.TOPIC_AUTHORIZATION_FAILED.message())));
            }
        }
        return Future.all(results).map(all -> {
            CreatePartitionsResponseData response = new CreatePartitionsResponseData();
            response.results().addAll(errors);
            for (Future<CreatePartitionsTopicResult> f : results) {
                response.results().add(f.result());
            }
            return response;
        });
    }

    /** Always succeeds: a failure becomes the topic's error result. */
    private Future<CreatePartitionsTopicResult> grow(CreatePartitionsTopic t, boolean validateOnly) {
        ApiError invalid = validate(t);
        if (invalid != null) {
            return Future.succeededFuture(result(t.name(), invalid));
        }
        return topics.createPartitions(t.name(), t.count(), validateOnly)
                .map(info -> result(t.name(), ApiError.NONE))
                .otherwise(e -> result(t.name(), AdminSupport.apiError(t.name(), e)));
    }

    /** Kafka's checks with its messages; the topic manager checks the counts again when it applies them. */
    private ApiError validate(CreatePartitionsTopic t) {
        TopicInfo topic = topics.topic(t.name());
        if (topic == null) {
            return new ApiError(Errors.UNKNOWN_TOPIC_OR_PARTITION, null);
        }
        int current = topic.partitions();
        if (t.count() == current) {
            return new ApiError(Errors.INVALID_PARTITIONS, "Topic already has " + current + " partition(s).");
        }
        if (t.count() < current) {
            return new ApiError(Errors.INVALID_PARTITIONS, "The topic " + t.name() + " currently has " + current
                    + " partition(s); " + t.count() + " would not be an increase.");
        }
        if (t.assignments() != null) {
            int additional = t.count() - current;
            if (t.assignments().size() != additional) {
                return new ApiError(Errors.INVALID_REPLICA_ASSIGNMENT, "Attempted to add " + additional
                        + " additional partition(s), but only " + t.assignments().size()
                        + " assignment(s) were specified.");
            }
            for (CreatePartitionsAssignment a : t.assignments()) {
                ApiError invalid = AdminSupport.validateAssignment(a.brokerIds(), (int) topic.replicationFactor(),
                        config.nodeId());
                if (invalid != null) {
                    return invalid;
                }
            }
        }
        return null;
    }

    private static CreatePartitionsTopicResult result(String name, ApiError error) {
        return new CreatePartitionsTopicResult().setName(name).setErrorCode(error.error().code())
                .setErrorMessage(error.message());
    }
}
