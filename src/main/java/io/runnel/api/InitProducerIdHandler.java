package io.runnel.api;

import io.runnel.cluster.ProducerIdManager;
import io.runnel.protocol.RequestContext;
import io.runnel.txn.TransactionCoordinator;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * InitProducerId, as Kafka answers it. Without a transactional id: a fresh producer id (from a block the metadata
 * log allocated) with epoch 0, as Kafka gives idempotent producers (IDEMPOTENT_WRITE on the cluster or WRITE on some
 * topic). With one: WRITE on the transactional id, then the transaction coordinator (the id's next epoch, fencing
 * older producers; NOT_COORDINATOR when another broker coordinates it). v0-v3 get INVALID_PRODUCER_EPOCH for
 * PRODUCER_FENCED, as Kafka answers them.
 *
 * <p>Served up to v5: v6 (two-phase commit, KIP-939) is not.
 */
public final class InitProducerIdHandler implements ApiHandler<InitProducerIdRequestData> {

    private final ProducerIdManager ids;
    private final TransactionCoordinator coordinator;

    public InitProducerIdHandler(ProducerIdManager ids, TransactionCoordinator coordinator) {
        this.ids = ids;
        this.coordinator = coordinator;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.INIT_PRODUCER_ID;
    }

    @Override
    public short maxVersion() {
        return 5;
    }

    @Override
    public Future<InitProducerIdResponseData> handle(RequestContext ctx, InitProducerIdRequestData request) {
        String txnId = request.transactionalId();
        if (txnId != null) {
            if (!ctx.authorized(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, txnId)) {
                return Future.succeededFuture(error(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
            }
            short version = ctx.apiVersion();
            long expectedPid = version >= 3 ? request.producerId() : -1;
            short expectedEpoch = version >= 3 ? request.producerEpoch() : -1;
            return coordinator.initProducerId(txnId, request.transactionTimeoutMs(), expectedPid, expectedEpoch)
                    .map(r -> {
                        Errors e = version < 4 && r.error() == Errors.PRODUCER_FENCED ? Errors.INVALID_PRODUCER_EPOCH
                                : r.error();
                        return new InitProducerIdResponseData().setErrorCode(e.code()).setProducerId(r.producerId())
                                .setProducerEpoch(r.producerEpoch());
                    });
        }
        // as Kafka: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic
        if (ctx.authorizer() != null && !ctx.clusterAuthorized(AclOperation.IDEMPOTENT_WRITE)
                && !ctx.authorizer().authorizeAnyTopic(ctx.principal(), ctx.clientHost(), AclOperation.WRITE)) {
            return Future.succeededFuture(error(Errors.CLUSTER_AUTHORIZATION_FAILED));
        }
        return ids.next().map(id -> new InitProducerIdResponseData()
                .setErrorCode(Errors.NONE.code()).setProducerId(id).setProducerEpoch((short) 0));
    }

    private static InitProducerIdResponseData error(Errors e) {
        return new InitProducerIdResponseData().setProducerId(-1).setProducerEpoch((short) -1).setErrorCode(e.code());
    }
}
