package io.runnel.api;

import org.apache.kafka.common.protocol.Errors;
import java.util.List;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.resource.ResourceType;
import java.util.Set;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.utils.Utils;

/** DescribeGroups. Without an authorizer every group operation is allowed, which is what it reports. */
public final class DescribeGroupsHandler implements ApiHandler<DescribeGroupsRequestData> {

    private static final int GROUP_OPERATIONS = Utils.to32BitField(Set.of(AclOperation.READ.code(),
            AclOperation.DELETE.code(), AclOperation.DESCRIBE.code(), AclOperation.DESCRIBE_CONFIGS.code(),
            AclOperation.ALTER_CONFIGS.code()));

    private final GroupCoordinator coordinator;

    public DescribeGroupsHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_GROUPS;
    }

    @Override
    public Future<DescribeGroupsResponseData> handle(RequestContext ctx, DescribeGroupsRequestData request) {
        if (ctx.authorizer() != null) {
            // as Kafka: the groups the client may not DESCRIBE answer GROUP_AUTHORIZATION_FAILED, unlooked-up
            List<String> allowed = new java.util.ArrayList<>();
            List<DescribeGroupsResponseData.DescribedGroup> refused = new java.util.ArrayList<>();
            for (String g : request.groups()) {
                if (ctx.authorized(AclOperation.DESCRIBE, ResourceType.GROUP, g)) {
                    allowed.add(g);
                } else {
                    refused.add(new DescribeGroupsResponseData.DescribedGroup().setGroupId(g)
                            .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()).setGroupState("")
                            .setProtocolType("").setProtocolData("")
                            .setAuthorizedOperations(Integer.MIN_VALUE));
                }
            }
            return coordinator.describeGroups(allowed, ctx.apiVersion()).map(groups -> {
                if (request.includeAuthorizedOperations()) {
                    groups.forEach(g -> g.setAuthorizedOperations(
                            AuthorizedOperations.of(ctx, ResourceType.GROUP, g.groupId())));
                }
                List<DescribeGroupsResponseData.DescribedGroup> all = new java.util.ArrayList<>(groups);
                all.addAll(refused);
                return new DescribeGroupsResponseData().setGroups(all);
            });
        }
        return coordinator.describeGroups(request.groups(), ctx.apiVersion()).map(groups -> {
            if (request.includeAuthorizedOperations()) {
                groups.forEach(g -> g.setAuthorizedOperations(GROUP_OPERATIONS));
            }
            return new DescribeGroupsResponseData().setGroups(groups);
        });
    }
}
