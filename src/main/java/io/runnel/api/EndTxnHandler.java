package io.runnel.api;

import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.EndTxnRequestData;
import org.apache.kafka.common.message.EndTxnResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * EndTxn, as Kafka answers it: WRITE on the transactional id; v5 is a transaction-version-2 client, whose epoch is
 * bumped at every end and returned with its producer id; v0-v1 get INVALID_PRODUCER_EPOCH for PRODUCER_FENCED.
 */
public final class EndTxnHandler implements ApiHandler<EndTxnRequestData> {

    private final TransactionCoordinator coordinator;

    public EndTxnHandler(TransactionCoordinator coordinator) {
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.END_TXN;
    }

    @Override
    public short maxVersion() {
        return 5;
    }

    @Override
    public Future<EndTxnResponseData> handle(RequestContext ctx, EndTxnRequestData request) {
        EndTxnResponseData out = new EndTxnResponseData();
        if (!ctx.authorized(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId())) {
            return Future.succeededFuture(out.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()));
        }
        short version = ctx.apiVersion();
        return coordinator.endTxn(request.transactionalId(), request.producerId(), request.producerEpoch(),
                request.committed(), version > 4 ? (short) 2 : (short) 0).map(r -> {
                    Errors e = version < 2 && r.error() == Errors.PRODUCER_FENCED ? Errors.INVALID_PRODUCER_EPOCH
                            : r.error();
                    return out.setErrorCode(e.code()).setProducerId(r.producerId()).setProducerEpoch(r.producerEpoch());
                });
    }
}
