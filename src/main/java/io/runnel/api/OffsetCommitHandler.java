package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * OffsetCommit, answered once the offsets are in {@code __consumer_offsets}. Served up to v9: v10 names
 * topics by id, which needs the metadata image to resolve.
 */
public final class OffsetCommitHandler implements ApiHandler<OffsetCommitRequestData> {

    private final GroupCoordinator coordinator;

    public OffsetCommitHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.OFFSET_COMMIT;
    }

    @Override
    public short maxVersion() {
        return 9;
    }

    @Override
    public Future<OffsetCommitResponseData> handle(RequestContext ctx, OffsetCommitRequestData request) {
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.failedFuture(new GroupAuthorizationException("Not authorized to access group: "
                    + request.groupId()));
        }
        if (ctx.authorizer() == null) {
            return coordinator.commitOffsets(request, ctx.apiVersion());
        }
        // as Kafka: only the topics the client may READ are committed, the others fail TOPIC_AUTHORIZATION_FAILED
        java.util.List<org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponseTopic> refused =
                new java.util.ArrayList<>();
        OffsetCommitRequestData allowed = request.duplicate();
        allowed.topics().removeIf(t -> {
            if (ctx.authorized(AclOperation.READ, ResourceType.TOPIC, t.name())) {
                return false;
            }
            var rt = new org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponseTopic()
                    .setName(t.name());
            t.partitions().forEach(p -> rt.partitions().add(
                    new org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponsePartition()
                            .setPartitionIndex(p.partitionIndex())
                            .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())));
            refused.add(rt);
            return true;
        });
        if (allowed.topics().isEmpty()) {
            return Future.succeededFuture(new OffsetCommitResponseData().setTopics(refused));
        }
        return coordinator.commitOffsets(allowed, ctx.apiVersion()).map(r -> {
            r.topics().addAll(refused);
            return r;
        });
    }
}
