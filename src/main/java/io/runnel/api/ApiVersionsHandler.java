package io.runnel.api;

import io.runnel.protocol.ApiRegistry;
import io.runnel.protocol.ApiVersionsHandlers;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

public final class ApiVersionsHandler implements ApiHandler<ApiVersionsRequestData> {

    private final ApiRegistry registry;

    public ApiVersionsHandler(ApiRegistry registry) {
        this.registry = registry;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.API_VERSIONS;
    }

    /**
     * v4: v5 (kafka-clients 4.4, KIP-1242) asks the broker to check the request's ClusterId and NodeId
     * against its own and answer REBOOTSTRAP_REQUIRED on a mismatch, which this handler does not do yet.
     * Clients that send v5 get Kafka's UNSUPPORTED_VERSION answer with the ranges and retry with v4.
     */
    @Override
    public short maxVersion() {
        return 4;
    }

    @Override
    public Future<ApiVersionsResponseData> handle(RequestContext ctx, ApiVersionsRequestData request) {
        return Future.succeededFuture(ApiVersionsHandlers.versions(registry));
    }
}
