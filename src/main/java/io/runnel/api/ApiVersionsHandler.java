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

    @Override
    public Future<ApiVersionsResponseData> handle(RequestContext ctx, ApiVersionsRequestData request) {
        return Future.succeededFuture(ApiVersionsHandlers.versions(registry));
    }
}
