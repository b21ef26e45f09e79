package io.runnel.api;

import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;

/**
 * Serves one Kafka API. The protocol layer parses the request with kafka-clients' generated classes,
 * calls {@link #handle} on the connection's event loop, and writes the response in request order.
 * A failed future becomes the API's own error response (kafka-clients' getErrorResponse), with
 * UNKNOWN_SERVER_ERROR for anything that is not an ApiException. Handlers must not block: work that
 * can wait on the disk goes to the partition owner or a worker.
 *
 * @param <Q> the request data class, e.g. JoinGroupRequestData
 */
public interface ApiHandler<Q extends ApiMessage> {

    ApiKeys apiKey();

    /** Lowest version served; ApiVersions is generated from these. */
    default short minVersion() {
        return apiKey().oldestVersion();
    }

    /** Highest version served. */
    default short maxVersion() {
        return apiKey().latestVersion();
    }

    /**
     * @return the response data (e.g. JoinGroupResponseData); may complete on any thread. A
     *         {@code null} result means "send no response" (Produce with acks=0).
     */
    Future<? extends ApiMessage> handle(RequestContext ctx, Q request);
}
