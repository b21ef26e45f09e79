package io.runnel.api;

import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.SaslAuthenticateRequestData;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;

/**
 * SaslAuthenticate (v0 to v2): one token of the SASL exchange, evaluated by kafka-clients' own SaslServer (PLAIN
 * compares in-memory strings, so this runs on the event loop). A refusal (SASL_AUTHENTICATION_FAILED) is answered
 * after connection.failed.authentication.delay.ms, as Kafka delays it to slow down password guessing, and the
 * connection is then closed. The delay is a Vert.x timer: the event loop serves other connections meanwhile. After
 * a successful exchange the answer carries the session's lifetime (KIP-368, see Authentication).
 */
public final class SaslAuthenticateHandler implements ApiHandler<SaslAuthenticateRequestData> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SaslAuthenticateHandler.class);

    private final int failedDelayMs;

    /** @param failedDelayMs connection.failed.authentication.delay.ms */
    public SaslAuthenticateHandler(int failedDelayMs) {
        this.failedDelayMs = failedDelayMs;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.SASL_AUTHENTICATE;
    }

    @Override
    public Future<SaslAuthenticateResponseData> handle(RequestContext ctx, SaslAuthenticateRequestData request) {
        SaslAuthenticateResponseData response = ctx.authentication().authenticate(ctx.apiVersion(), request.authBytes());
        if (ctx.authentication().authenticated() && response.errorCode() == Errors.NONE.code()) {
            LOG.debug("Connection {} from {} on {}: principal {} (session {} ms, re-authentication {})",
                    ctx.connectionId(), ctx.clientHost(), ctx.listenerName(), ctx.principal(),
                    ctx.authentication().sessionLifetimeMs(), ctx.authentication().reauthentications());
        }
        if (response.errorCode() != Errors.SASL_AUTHENTICATION_FAILED.code() || failedDelayMs <= 0) {
            return Future.succeededFuture(response);
        }
        return ctx.context().owner().timer(failedDelayMs).map(v -> response);
    }
}
