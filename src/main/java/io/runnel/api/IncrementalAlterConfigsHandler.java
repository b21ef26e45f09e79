package io.runnel.api;

import org.apache.kafka.common.acl.AclOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.runnel.metadata.TopicManager;
import io.runnel.config.BrokerConfig;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.clients.admin.AlterConfigOp.OpType;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource;
import org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterableConfig;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData;
import org.apache.kafka.common.message.IncrementalAlterConfigsResponseData.AlterConfigsResourceResponse;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;

/**
 * IncrementalAlterConfigs for TOPIC resources: SET and DELETE change one override each, APPEND and
 * SUBTRACT add or remove items of a list config (cleanup.policy), starting from the default when the
 * topic has no override. All operations of a resource apply together or not at all, atomically against
 * concurrent changes. Per-resource errors as Apache Kafka gives them: a resource named twice, a config
 * named twice, a null value for anything but DELETE or an unknown operation is an INVALID_REQUEST;
 * APPEND/SUBTRACT on a non-list config and invalid values INVALID_CONFIG naming the config; an unknown
 * topic UNKNOWN_TOPIC_OR_PARTITION. BROKER resources cannot change anything (no dynamic broker configs,
 * see {@link ConfigAlterations}); BROKER_LOGGER is not supported. Results follow request order.
 */
public final class IncrementalAlterConfigsHandler implements ApiHandler<IncrementalAlterConfigsRequestData> {

    private final BrokerConfig config;
    private final TopicManager topics;
    // replaces TLS listeners' certificates on a listener.name.<l>.ssl.* alteration; null: no TLS listener reloads
    private final io.runnel.security.CertificateReloader certificates;

    public IncrementalAlterConfigsHandler(BrokerConfig config, TopicManager topics) {
        this(config, topics, null);
    }

    public IncrementalAlterConfigsHandler(BrokerConfig config, TopicManager topics,
            io.runnel.security.CertificateReloader certificates) {
        this.config = config;
        this.topics = topics;
        this.certificates = certificates;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.INCREMENTAL_ALTER_CONFIGS;
    }

    @Override
    public Future<IncrementalAlterConfigsResponseData> handle(RequestContext ctx,
                                                              IncrementalAlterConfigsRequestData request) {
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
                ops.add(new ConfigAlterations.Op(c.name(), OpType.forId(c.configOperation()), c.configOperation(),
                        c.value()));
            }
            results.add(ConfigAlterations.alter(topics, config, certificates, r.resourceType(), r.resourceName(), ops, true,
                    request.validateOnly()));
        }
        return Future.all(results).map(all -> {
            IncrementalAlterConfigsResponseData response = new IncrementalAlterConfigsResponseData();
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
