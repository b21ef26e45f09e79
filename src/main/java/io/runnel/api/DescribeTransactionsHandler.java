package io.runnel.api;

import java.util.ArrayList;
import java.util.List;

import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeTransactionsRequestData;
import org.apache.kafka.common.message.DescribeTransactionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * DescribeTransactions, as Kafka answers it: per id DESCRIBE on the transactional id, and only the partitions of
 * topics the caller may DESCRIBE.
 */
public final class DescribeTransactionsHandler implements ApiHandler<DescribeTransactionsRequestData> {

    private final TransactionCoordinator coordinator;

    public DescribeTransactionsHandler(TransactionCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_TRANSACTIONS;
    }

    @Override
    public Future<DescribeTransactionsResponseData> handle(RequestContext ctx,
                                                            DescribeTransactionsRequestData request) {
        List<Future<DescribeTransactionsResponseData.TransactionState>> states = new ArrayList<>();
        for (String id : request.transactionalIds()) {
            if (!ctx.authorized(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)) {
                states.add(Future.succeededFuture(new DescribeTransactionsResponseData.TransactionState()
                        .setTransactionalId(id).setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code())));
                continue;
            }
            states.add(coordinator.describe(id).map(s -> {
                s.topics().removeIf(t -> !ctx.authorized(AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic()));
                return s;
            }));
        }
        return Future.all(states).map(all -> {
            DescribeTransactionsResponseData out = new DescribeTransactionsResponseData();
            states.forEach(f -> out.transactionStates().add(f.result()));
            return out;
        });
    }
}
