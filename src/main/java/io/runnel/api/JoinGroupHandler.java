package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/** JoinGroup: the response future completes when the group's join phase ends (possibly minutes later). */
public final class JoinGroupHandler implements ApiHandler<JoinGroupRequestData> {

    private final GroupCoordinator coordinator;

    public JoinGroupHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.JOIN_GROUP;
    }

    @Override
    public Future<JoinGroupResponseData> handle(RequestContext ctx, JoinGroupRequestData request) {
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.failedFuture(new GroupAuthorizationException("Not authorized to access group: "
                    + request.groupId()));
        }
        short version = ctx.apiVersion();
        if (version == 0) {
            // v0 has no rebalance timeout: Kafka uses the session timeout
            request.setRebalanceTimeoutMs(request.sessionTimeoutMs());
        }
        return coordinator.joinGroup(request, version, ctx.clientId(), ctx.clientHost()).map(r -> {
            if (version < 7 && r.protocolName() == null) {
                // not nullable before v7
                r.setProtocolName("");
            }
            return r;
        });
    }
}
