package io.runnel.protocol;

import io.runnel.api.ApiHandler;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.ApiVersionsResponseData.ApiVersion;

/** Builds the ApiVersions answer from the registry, so it can never claim an API that does not exist. */
public final class ApiVersionsHandlers {

    private ApiVersionsHandlers() {
    }

    public static ApiVersionsResponseData versions(ApiRegistry registry) {
        ApiVersionsResponseData data = new ApiVersionsResponseData();
        for (ApiHandler<?> h : registry.handlers()) {
            data.apiKeys().add(new ApiVersion().setApiKey(h.apiKey().id)
                    .setMinVersion(h.minVersion()).setMaxVersion(h.maxVersion()));
        }
        return data;
    }
}
