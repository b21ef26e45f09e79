package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

public final class HeartbeatHandler implements ApiHandler<HeartbeatRequestData> {

    private final GroupCoordinator coordinator;

    public HeartbeatHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.HEARTBEAT;
    }

    @Override
    public Future<HeartbeatResponseData> handle(RequestContext ctx, HeartbeatRequestData request) {
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.failedFuture(new GroupAuthorizationException("Not authorized to access group: "
                    + request.groupId()));
        }
        return coordinator.heartbeat(request);
    }
}
