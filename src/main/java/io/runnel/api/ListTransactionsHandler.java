package io.runnel.api;

import java.util.HashSet;

import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.ListTransactionsRequestData;
import org.apache.kafka.common.message.ListTransactionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.resource.ResourceType;

/**
 * ListTransactions, as Kafka answers it: the transactional ids this broker coordinates that the caller may
 * DESCRIBE, filtered by state, producer id, duration (v1) and id pattern (v2).
 */
public final class ListTransactionsHandler implements ApiHandler<ListTransactionsRequestData> {

    private final TransactionCoordinator coordinator;

    public ListTransactionsHandler(TransactionCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.LIST_TRANSACTIONS;
    }

    @Override
    public Future<ListTransactionsResponseData> handle(RequestContext ctx, ListTransactionsRequestData request) {
        return coordinator.list(request.stateFilters(), new HashSet<>(request.producerIdFilters()),
                ctx.apiVersion() >= 1 ? request.durationFilter() : -1,
                ctx.apiVersion() >= 2 ? request.transactionalIdPattern() : null,
                id -> ctx.authorized(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id));
    }
}
