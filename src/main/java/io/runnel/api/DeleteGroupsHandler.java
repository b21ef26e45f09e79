package io.runnel.api;

import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DeleteGroupsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

public final class DeleteGroupsHandler implements ApiHandler<DeleteGroupsRequestData> {

    private final GroupCoordinator coordinator;

    public DeleteGroupsHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DELETE_GROUPS;
    }

    @Override
    public Future<DeleteGroupsResponseData> handle(RequestContext ctx, DeleteGroupsRequestData request) {
        if (ctx.authorizer() != null) {
            // as Kafka: a group the client may not DELETE answers GROUP_AUTHORIZATION_FAILED
            java.util.List<String> allowed = new java.util.ArrayList<>();
            DeleteGroupsResponseData.DeletableGroupResultCollection refused =
                    new DeleteGroupsResponseData.DeletableGroupResultCollection();
            for (String g : request.groupsNames()) {
                if (ctx.authorized(AclOperation.DELETE, ResourceType.GROUP, g)) {
                    allowed.add(g);
                } else {
                    refused.add(new DeleteGroupsResponseData.DeletableGroupResult().setGroupId(g)
                            .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()));
                }
            }
            return coordinator.deleteGroups(allowed).map(r -> {
                DeleteGroupsResponseData.DeletableGroupResultCollection all =
                        new DeleteGroupsResponseData.DeletableGroupResultCollection();
                r.forEach(x -> all.add(x.duplicate()));
                refused.forEach(x -> all.add(x.duplicate()));
                return new DeleteGroupsResponseData().setResults(all);
            });
        }
        return coordinator.deleteGroups(request.groupsNames()).map(r -> new DeleteGroupsResponseData().setResults(r));
    }
}
