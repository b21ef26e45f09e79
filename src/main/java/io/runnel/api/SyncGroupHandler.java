package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/** SyncGroup: a follower's response completes when the leader's assignment is stored. */
public final class SyncGroupHandler implements ApiHandler<SyncGroupRequestData> {

    private final GroupCoordinator coordinator;

    public SyncGroupHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.SYNC_GROUP;
    }

    @Override
    public Future<SyncGroupResponseData> handle(RequestContext ctx, SyncGroupRequestData request) {
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.failedFuture(new GroupAuthorizationException("Not authorized to access group: "
                    + request.groupId()));
        }
        return coordinator.syncGroup(request);
    }
}
