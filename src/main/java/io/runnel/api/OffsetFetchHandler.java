package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import java.util.ArrayList;
import java.util.List;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestGroup;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopic;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartition;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseTopic;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseTopics;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * OffsetFetch: v8+ asks for several groups at once, older versions for one group with the top-level
 * error (v2+). Null topics (v2+) mean every committed offset. Served up to v9: v10 names topics by id.
 */
public final class OffsetFetchHandler implements ApiHandler<OffsetFetchRequestData> {

    private final GroupCoordinator coordinator;

    public OffsetFetchHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.OFFSET_FETCH;
    }

    @Override
    public short maxVersion() {
        return 9;
    }

    @Override
    public Future<OffsetFetchResponseData> handle(RequestContext ctx, OffsetFetchRequestData request) {
        if (ctx.apiVersion() >= 8) {
            List<Future<OffsetFetchResponseGroup>> groups = new ArrayList<>();
            for (OffsetFetchRequestGroup g : request.groups()) {
                groups.add(authorizedFetch(ctx, g.groupId(), g.topics(), request.requireStable()));
            }
            return Future.all(groups).map(all -> {
                OffsetFetchResponseData response = new OffsetFetchResponseData();
                groups.forEach(f -> response.groups().add(f.result()));
                return response;
            });
        }
        List<OffsetFetchRequestTopics> topics = null;
        if (request.topics() != null) {
            topics = new ArrayList<>();
            for (OffsetFetchRequestTopic t : request.topics()) {
                topics.add(new OffsetFetchRequestTopics().setName(t.name())
                        .setPartitionIndexes(new ArrayList<>(t.partitionIndexes())));
            }
        }
        short version = ctx.apiVersion();
        return authorizedFetch(ctx, request.groupId(), topics, request.requireStable())
                .map(g -> toLegacy(g, version));
    }

    /**
     * As Kafka: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED otherwise); a topic the client may not
     * DESCRIBE is left out of an all-topics answer and answers TOPIC_AUTHORIZATION_FAILED when named.
     */
    private Future<OffsetFetchResponseGroup> authorizedFetch(RequestContext ctx, String groupId,
                                                             List<OffsetFetchRequestTopics> topics, boolean stable) {
        if (ctx.authorizer() == null) {
            return coordinator.fetchOffsets(groupId, topics, stable);
        }
        if (!ctx.authorized(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
            return Future.succeededFuture(new OffsetFetchResponseGroup().setGroupId(groupId)
                    .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()));
        }
        if (topics == null) {
            return coordinator.fetchOffsets(groupId, null, stable).map(g -> {
                g.topics().removeIf(t -> !ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name()));
                return g;
            });
        }
        List<OffsetFetchRequestTopics> allowed = new ArrayList<>();
        List<OffsetFetchResponseTopics> refused = new ArrayList<>();
        for (OffsetFetchRequestTopics t : topics) {
            if (ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name())) {
                allowed.add(t);
            } else {
                OffsetFetchResponseTopics rt = new OffsetFetchResponseTopics().setName(t.name());
                t.partitionIndexes().forEach(p -> rt.partitions().add(new OffsetFetchResponsePartitions()
                        .setPartitionIndex(p).setCommittedOffset(-1).setCommittedLeaderEpoch(-1).setMetadata("")
                        .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())));
                refused.add(rt);
            }
        }
        return coordinator.fetchOffsets(groupId, allowed, stable).map(g -> {
            g.topics().addAll(refused);
            return g;
        });
    }

    private static OffsetFetchResponseData toLegacy(OffsetFetchResponseGroup group, short version) {
        OffsetFetchResponseData response = new OffsetFetchResponseData();
        if (version >= 2) {
            response.setErrorCode(group.errorCode());
        }
        for (OffsetFetchResponseTopics t : group.topics()) {
            OffsetFetchResponseTopic topic = new OffsetFetchResponseTopic().setName(t.name());
            for (OffsetFetchResponsePartitions p : t.partitions()) {
                topic.partitions().add(new OffsetFetchResponsePartition().setPartitionIndex(p.partitionIndex())
                        .setCommittedOffset(p.committedOffset()).setCommittedLeaderEpoch(p.committedLeaderEpoch())
                        .setMetadata(p.metadata())
                        // v1 has no top-level error: a group error goes on every partition
                        .setErrorCode(version < 2 && group.errorCode() != Errors.NONE.code()
                                ? group.errorCode() : p.errorCode()));
            }
            response.topics().add(topic);
        }
        return response;
    }
}
