package io.runnel.api;

import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import java.util.List;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/** ListGroups, with the states filter (v4+) and the types filter (v5+). */
public final class ListGroupsHandler implements ApiHandler<ListGroupsRequestData> {

    private final GroupCoordinator coordinator;

    public ListGroupsHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.LIST_GROUPS;
    }

    @Override
    public Future<ListGroupsResponseData> handle(RequestContext ctx, ListGroupsRequestData request) {
        short version = ctx.apiVersion();
        List<String> states = version >= 4 ? request.statesFilter() : List.of();
        List<String> types = version >= 5 ? request.typesFilter() : List.of();
        if (ctx.authorizer() == null || ctx.clusterAuthorized(AclOperation.DESCRIBE)) {
            return coordinator.listGroups(states, types);
        }
        // as Kafka: without DESCRIBE on the cluster, only the groups the client may DESCRIBE are listed
        return coordinator.listGroups(states, types).map(r -> {
            r.groups().removeIf(g -> !ctx.authorized(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId()));
            return r;
        });
    }
}
