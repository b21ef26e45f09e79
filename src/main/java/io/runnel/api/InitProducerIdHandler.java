package io.runnel.api;

import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.acl.AclOperation;
import io.runnel.cluster.ProducerIdManager;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * InitProducerId for idempotent producers: a fresh producer id (from a block the metadata log
 * allocated) with epoch 0, as Kafka gives
 * non-transactional producers (also when a producer asks to bump its epoch after an error).
 * Transactions are not served yet and get a clear error.
 */
public final class InitProducerIdHandler implements ApiHandler<InitProducerIdRequestData> {

    private final ProducerIdManager ids;

    public InitProducerIdHandler(ProducerIdManager ids) {
        this.ids = ids;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.INIT_PRODUCER_ID;
    }

    @Override
    public Future<InitProducerIdResponseData> handle(RequestContext ctx, InitProducerIdRequestData request) {
        if (request.transactionalId() != null) {
            return Future.failedFuture(new InvalidRequestException(
                    "Transactions are not supported by this broker yet (transactional.id="
                            + request.transactionalId() + ")"));
        }
        // as Kafka: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic
        if (ctx.authorizer() != null && !ctx.clusterAuthorized(AclOperation.IDEMPOTENT_WRITE)
                && !ctx.authorizer().authorizeAnyTopic(ctx.principal(), ctx.clientHost(), AclOperation.WRITE)) {
            return Future.succeededFuture(new InitProducerIdResponseData().setProducerId(-1).setProducerEpoch((short) -1)
                    .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()));
        }
        return ids.next().map(id -> new InitProducerIdResponseData()
                .setErrorCode(Errors.NONE.code()).setProducerId(id).setProducerEpoch((short) 0));
    }
}
