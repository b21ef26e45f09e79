package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import java.util.List;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/** LeaveGroup: v0-v2 name one member (its error is the top-level one), v3+ a batch. */
public final class LeaveGroupHandler implements ApiHandler<LeaveGroupRequestData> {

    private final GroupCoordinator coordinator;

    public LeaveGroupHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.LEAVE_GROUP;
    }

    @Override
    public Future<LeaveGroupResponseData> handle(RequestContext ctx, LeaveGroupRequestData request) {
        if (!ctx.authorized(AclOperation.READ, ResourceType.GROUP, request.groupId())) {
            return Future.failedFuture(new GroupAuthorizationException("Not authorized to access group: "
                    + request.groupId()));
        }
        if (ctx.apiVersion() >= 3) {
            return coordinator.leaveGroup(request.groupId(), request.members());
        }
        return coordinator.leaveGroup(request.groupId(), List.of(new MemberIdentity().setMemberId(request.memberId())))
                .map(r -> {
                    short error = r.errorCode() != Errors.NONE.code() || r.members().isEmpty()
                            ? r.errorCode() : r.members().get(0).errorCode();
                    return new LeaveGroupResponseData().setErrorCode(error);
                });
    }
}
