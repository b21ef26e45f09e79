package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.runnel.cluster.TopicInfo;
import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.TopicDeletionDisabledException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DeleteTopicsRequestData.DeleteTopicState;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.message.DeleteTopicsResponseData.DeletableTopicResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * DeleteTopics by name (v1-v5) and by name or topic id (v6), as Apache Kafka's controller answers it:
 * a topic named twice, an id given twice, a name and an id in one entry, or an entry with neither is an
 * INVALID_REQUEST; unknown names get UNKNOWN_TOPIC_OR_PARTITION and unknown ids UNKNOWN_TOPIC_ID. With
 * delete.topic.enable=false the whole request fails (TOPIC_DELETION_DISABLED from v3, INVALID_REQUEST
 * before). Kafka shuffles the results to hide authorization decisions; without an authorizer there is
 * nothing to hide, so they keep a stable order: request errors first, then the deletions. The timeout is
 * ignored: deletion completes before the answer.
 */
public final class DeleteTopicsHandler implements ApiHandler<DeleteTopicsRequestData> {

    private final BrokerConfig config;
    private final TopicManager topics;

    public DeleteTopicsHandler(BrokerConfig config, TopicManager topics) {
        this.config = config;
        this.topics = topics;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DELETE_TOPICS;
    }

    @Override
    public Future<DeleteTopicsResponseData> handle(RequestContext ctx, DeleteTopicsRequestData request) {
        if (!config.getBoolean(BrokerConfig.DELETE_TOPIC_ENABLE)) {
            return Future.failedFuture(ctx.apiVersion() < 3 ? new InvalidRequestException("Topic deletion is disabled.")
                    : new TopicDeletionDisabledException());
        }
        List<DeletableTopicResult> results = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        Set<String> duplicateNames = new LinkedHashSet<>();
        Set<Uuid> ids = new LinkedHashSet<>();
        Set<Uuid> duplicateIds = new LinkedHashSet<>();
        for (String name : request.topicNames()) {
            addOnce(name, names, duplicateNames);
        }
        for (DeleteTopicState state : request.topics()) {
            if (state.name() == null) {
                if (Uuid.ZERO_UUID.equals(state.topicId())) {
                    results.add(result(null, Uuid.ZERO_UUID,
                            new ApiError(Errors.INVALID_REQUEST, "Neither topic name nor id were specified.")));
                } else {
                    addOnce(state.topicId(), ids, duplicateIds);
                }
            } else if (Uuid.ZERO_UUID.equals(state.topicId())) {
                addOnce(state.name(), names, duplicateNames);
            } else {
                results.add(result(state.name(), state.topicId(),
                        new ApiError(Errors.INVALID_REQUEST, "You may not specify both topic name and topic id.")));
            }
        }
        for (String name : duplicateNames) {
            results.add(result(name, Uuid.ZERO_UUID, new ApiError(Errors.INVALID_REQUEST, "Duplicate topic name.")));
        }
        for (Uuid id : duplicateIds) {
            results.add(result(null, id, new ApiError(Errors.INVALID_REQUEST, "Duplicate topic id.")));
        }
        // resolve everything to ids first, as Kafka does, so a name and the id it maps to count as one topic twice
        Map<Uuid, String> toDelete = new LinkedHashMap<>();
        for (Uuid id : ids) {
            TopicInfo t = topics.topic(id);
            if (t == null) {
                results.add(result(null, id, new ApiError(Errors.UNKNOWN_TOPIC_ID)));
            } else {
                toDelete.put(id, t.name());
            }
        }
        for (String name : names) {
            TopicInfo t = topics.topic(name);
            if (!ctx.authorized(AclOperation.DELETE, ResourceType.TOPIC, name)) {
                // as Kafka: authorization before existence
                results.add(result(name, Uuid.ZERO_UUID, new ApiError(Errors.TOPIC_AUTHORIZATION_FAILED)));
            } else if (t == null) {
                results.add(result(name, Uuid.ZERO_UUID, new ApiError(Errors.UNKNOWN_TOPIC_OR_PARTITION)));
            } else if (duplicateIds.contains(t.id()) || toDelete.putIfAbsent(t.id(), name) != null) {
                duplicateIds.add(t.id());
                toDelete.remove(t.id());
                results.add(result(name, t.id(), new ApiError(Errors.INVALID_REQUEST,
                        "The provided topic name maps to an ID that was already supplied.")));
            }
        }
        for (Map.Entry<Uuid, String> e : new ArrayList<>(toDelete.entrySet())) {
            if (!ctx.authorized(AclOperation.DELETE, ResourceType.TOPIC, e.getValue())) {
                toDelete.remove(e.getKey());
                results.add(result(null, e.getKey(), new ApiError(Errors.TOPIC_AUTHORIZATION_FAILED)));
            } else if (Topic.isInternal(e.getValue())) {
                // as Kafka: the broker's own topics cannot be deleted by a client
                toDelete.remove(e.getKey());
                results.add(result(e.getValue(), e.getKey(), new ApiError(Errors.TOPIC_AUTHORIZATION_FAILED,
                        "Internal topic " + e.getValue() + " cannot be deleted.")));
            }
        }
        Map<Uuid, Future<Void>> deletions = new HashMap<>();
        toDelete.forEach((id, name) -> deletions.put(id, topics.delete(name)));
        return Future.join(new ArrayList<>(deletions.values())).transform(ignored -> {
            DeleteTopicsResponseData response = new DeleteTopicsResponseData();
            results.forEach(r -> response.responses().add(r));
            toDelete.forEach((id, name) -> {
                Future<Void> f = deletions.get(id);
                ApiError error = f.succeeded() ? ApiError.NONE : AdminSupport.apiError(name, f.cause());
                response.responses().add(result(name, id, error));
            });
            return Future.succeededFuture(response);
        });
    }

    private static <T> void addOnce(T value, Set<T> seen, Set<T> duplicates) {
        if (duplicates.contains(value) || !seen.add(value)) {
            duplicates.add(value);
            seen.remove(value);
        }
    }

    private static DeletableTopicResult result(String name, Uuid id, ApiError error) {
        return new DeletableTopicResult().setName(name).setTopicId(id).setErrorCode(error.error().code())
                .setErrorMessage(error.message());
    }
}
