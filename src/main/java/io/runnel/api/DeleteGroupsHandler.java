package io.runnel.api;

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
        return coordinator.deleteGroups(request.groupsNames()).map(r -> new DeleteGroupsResponseData().setResults(r));
    }
}
