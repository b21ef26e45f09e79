package io.runnel.api;

import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.SaslHandshakeRequestData;
import org.apache.kafka.common.message.SaslHandshakeResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

/**
 * SaslHandshake (v0, v1): picks the connection's SASL mechanism (see {@link io.runnel.security.Authentication}).
 * Listed on every listener, as Kafka lists it; without SASL, or once authenticated, it answers ILLEGAL_SASL_STATE.
 */
public final class SaslHandshakeHandler implements ApiHandler<SaslHandshakeRequestData> {

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.SASL_HANDSHAKE;
    }

    @Override
    public Future<SaslHandshakeResponseData> handle(RequestContext ctx, SaslHandshakeRequestData request) {
        return Future.succeededFuture(ctx.authentication().handshake(ctx.apiVersion(), request.mechanism()));
    }
}
