package io.runnel.api;

import io.runnel.protocol.ApiRegistry;
import io.runnel.protocol.ApiVersionsHandlers;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;

public final class ApiVersionsHandler implements ApiHandler<ApiVersionsRequestData> {

    /**
     * The {@code transaction.version} feature level Runnel finalizes, as a new Apache Kafka 4.4 cluster has it: 2,
     * KIP-890 part 2 (the epoch bumped at every EndTxn, partitions added to a transaction by their leader at the
     * first produce). Kafka 4.x clients use that protocol when the broker finalizes level 2.
     */
    public static final short TRANSACTION_VERSION = 2;
    static final String TRANSACTION_VERSION_FEATURE = "transaction.version";

    private final ApiRegistry registry;
    private final boolean advertiseFeatures;

    public ApiVersionsHandler(ApiRegistry registry) {
        this(registry, true);
    }

    /** @param advertiseFeatures whether v3+ answers carry the supported and finalized feature levels */
    public ApiVersionsHandler(ApiRegistry registry, boolean advertiseFeatures) {
        this.registry = registry;
        this.advertiseFeatures = advertiseFeatures;
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
        ApiVersionsResponseData data = ApiVersionsHandlers.versions(registry);
        if (advertiseFeatures && ctx.apiVersion() >= 3) {
            // as Kafka 4.4: transaction.version supported 0-2 and finalized at 2 (epoch: Runnel never changes it)
            data.supportedFeatures().add(new ApiVersionsResponseData.SupportedFeatureKey()
                    .setName(TRANSACTION_VERSION_FEATURE).setMinVersion((short) 0).setMaxVersion(TRANSACTION_VERSION));
            data.finalizedFeatures().add(new ApiVersionsResponseData.FinalizedFeatureKey()
                    .setName(TRANSACTION_VERSION_FEATURE).setMinVersionLevel(TRANSACTION_VERSION)
                    .setMaxVersionLevel(TRANSACTION_VERSION));
            data.setFinalizedFeaturesEpoch(1);
        }
        return Future.succeededFuture(data);
    }
}
