package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.message.AlterConfigsRequestData;
import org.apache.kafka.common.message.AlterConfigsRequestData.AlterConfigsResource;
import org.apache.kafka.common.message.AlterConfigsRequestData.AlterableConfig;
import org.apache.kafka.common.message.AlterConfigsResponseData;
import org.apache.kafka.common.message.AlterConfigsResponseData.AlterConfigsResourceResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * The legacy AlterConfigs: each TOPIC resource's configs replace the topic's whole override set (a config
 * not named goes back to its default). Per-resource errors as Apache Kafka gives them: a resource named
 * twice, a config named twice or a null value is an INVALID_REQUEST, an invalid config or value
 * INVALID_CONFIG naming it, an unknown topic UNKNOWN_TOPIC_OR_PARTITION; BROKER resources cannot change
 * anything (no dynamic broker configs, see {@link ConfigAlterations}). Results follow request order.
 */
public final class AlterConfigsHandler implements ApiHandler<AlterConfigsRequestData> {

    private final BrokerConfig config;
    private final TopicManager topics;
    // replaces TLS listeners' certificates on a listener.name.<l>.ssl.* alteration; null: no TLS listener reloads
    private final io.runnel.security.CertificateReloader certificates;

    public AlterConfigsHandler(BrokerConfig config, TopicManager topics) {
        this(config, topics, null);
    }

    public AlterConfigsHandler(BrokerConfig config, TopicManager topics,
            io.runnel.security.CertificateReloader certificates) {
        this.config = config;
        this.topics = topics;
        this.certificates = certificates;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.ALTER_CONFIGS;
    }

    @Override
    public Future<AlterConfigsResponseData> handle(RequestContext ctx, AlterConfigsRequestData request) {
        Set<String> duplicates = ConfigAlterations.duplicateResources(request.resources(),
                r -> ConfigAlterations.key(r.resourceType(), r.resourceName()));
        List<AlterConfigsResource> resources = new ArrayList<>(request.resources());
        List<Future<ApiError>> results = new ArrayList<>();
        for (AlterConfigsResource r : resources) {
            if (duplicates.contains(ConfigAlterations.key(r.resourceType(), r.resourceName()))) {
                results.add(Future.succeededFuture(
                        new ApiError(Errors.INVALID_REQUEST, "Each resource must appear at most once.")));
                continue;
            }
            Errors denied = AuthorizedOperations.configDenied(ctx, r.resourceType(), r.resourceName(),
                    AclOperation.ALTER_CONFIGS);
            if (denied != null) {
                results.add(Future.succeededFuture(new ApiError(denied, denied.message())));
                continue;
            }
            List<ConfigAlterations.Op> ops = new ArrayList<>();
            for (AlterableConfig c : r.configs()) {
                ops.add(new ConfigAlterations.Op(c.name(), null, (byte) -1, c.value()));
            }
            results.add(ConfigAlterations.alter(topics, config, certificates, r.resourceType(), r.resourceName(), ops, false,
                    request.validateOnly()));
        }
        return Future.all(results).map(all -> {
            AlterConfigsResponseData response = new AlterConfigsResponseData();
            for (int i = 0; i < resources.size(); i++) {
                ApiError error = results.get(i).result();
                response.responses().add(new AlterConfigsResourceResponse()
                        .setResourceType(resources.get(i).resourceType())
                        .setResourceName(resources.get(i).resourceName())
                        .setErrorCode(error.error().code()).setErrorMessage(error.message()));
            }
            return response;
        });
    }
}
