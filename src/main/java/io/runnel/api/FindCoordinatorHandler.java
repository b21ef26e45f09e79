package io.runnel.api;

import io.runnel.group.GroupCoordinator;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.FindCoordinatorResponseData.Coordinator;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.FindCoordinatorRequest.CoordinatorType;

/**
 * FindCoordinator: this broker coordinates every group (and, until transactions land, every
 * transactional id). v4+ answers a batch of keys, older versions one key.
 *
 * <p>Served up to v5: v6 adds share-group keys, which Runnel does not coordinate.
 */
public final class FindCoordinatorHandler implements ApiHandler<FindCoordinatorRequestData> {

    // unused while one broker coordinates everything; with several brokers the answer becomes the
    // leader of coordinator.partitionFor(key)
    @SuppressWarnings("unused")
    private final GroupCoordinator coordinator;

    public FindCoordinatorHandler(GroupCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.FIND_COORDINATOR;
    }

    @Override
    public short maxVersion() {
        return 5;
    }

    @Override
    public Future<FindCoordinatorResponseData> handle(RequestContext ctx, FindCoordinatorRequestData request) {
        Node node = ctx.localNode();
        boolean validType = request.keyType() == CoordinatorType.GROUP.id()
                || request.keyType() == CoordinatorType.TRANSACTION.id();
        FindCoordinatorResponseData response = new FindCoordinatorResponseData();
        if (ctx.apiVersion() >= 4) {
            for (String key : request.coordinatorKeys()) {
                Coordinator c = new Coordinator().setKey(key);
                if (validType) {
                    c.setNodeId(node.id()).setHost(node.host()).setPort(node.port());
                } else {
                    c.setNodeId(-1).setHost("").setPort(-1).setErrorCode(Errors.INVALID_REQUEST.code())
                            .setErrorMessage("Invalid coordinator key type " + request.keyType());
                }
                response.coordinators().add(c);
            }
            return Future.succeededFuture(response);
        }
        if (validType) {
            response.setNodeId(node.id()).setHost(node.host()).setPort(node.port());
        } else {
            response.setNodeId(-1).setHost("").setPort(-1).setErrorCode(Errors.INVALID_REQUEST.code())
                    .setErrorMessage(ctx.apiVersion() >= 1 ? "Invalid coordinator key type " + request.keyType() : null);
        }
        return Future.succeededFuture(response);
    }

}
