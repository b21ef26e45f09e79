package io.runnel.api;

import java.util.ArrayList;
import java.util.List;

import io.runnel.metadata.AclRecords;
import io.runnel.metadata.MetadataFutures;
import io.runnel.metadata.MetadataQuorum;
import io.runnel.protocol.ApiRegistry;
import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.message.CreateAclsRequestData;
import org.apache.kafka.common.message.CreateAclsResponseData;
import org.apache.kafka.common.message.DeleteAclsRequestData;
import org.apache.kafka.common.message.DeleteAclsResponseData;
import org.apache.kafka.common.message.DescribeAclsRequestData;
import org.apache.kafka.common.message.DescribeAclsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;
import org.apache.kafka.common.requests.CreateAclsRequest;
import org.apache.kafka.common.requests.DeleteAclsResponse;
import org.apache.kafka.common.requests.DescribeAclsResponse;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.utils.internals.SecurityUtils;

/**
 * DescribeAcls, CreateAcls and DeleteAcls with an authorizer: ACLs are records of the metadata log, so every
 * broker applies the same ones. As in Kafka, DescribeAcls needs DESCRIBE on the cluster and the others ALTER
 * (CLUSTER_AUTHORIZATION_FAILED otherwise); each creation is validated on its own (INVALID_REQUEST with
 * Kafka's messages), a duplicate is a no-op, and DeleteAcls answers, per filter, the ACLs it removed.
 */
public final class AclHandlers {

    private AclHandlers() {
    }

    public static void registerAll(ApiRegistry registry, MetadataQuorum quorum) {
        registry.register(new Describe()).register(new Create(quorum)).register(new Delete(quorum));
    }

    public static final class Describe implements ApiHandler<DescribeAclsRequestData> {
        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DESCRIBE_ACLS;
        }

        @Override
        public Future<DescribeAclsResponseData> handle(RequestContext ctx, DescribeAclsRequestData r) {
            if (!ctx.clusterAuthorized(AclOperation.DESCRIBE)) {
                return Future.succeededFuture(new DescribeAclsResponseData()
                        .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code())
                        .setErrorMessage(Errors.CLUSTER_AUTHORIZATION_FAILED.message()));
            }
            AclBindingFilter filter = new AclBindingFilter(
                    new ResourcePatternFilter(ResourceType.fromCode(r.resourceTypeFilter()), r.resourceNameFilter(),
                            PatternType.fromCode(r.patternTypeFilter())),
                    new AccessControlEntryFilter(r.principalFilter(), r.hostFilter(),
                            AclOperation.fromCode(r.operation()), AclPermissionType.fromCode(r.permissionType())));
            if (filter.isUnknown()) {
                return Future.succeededFuture(new DescribeAclsResponseData()
                        .setErrorCode(Errors.INVALID_REQUEST.code())
                        .setErrorMessage("The filter contains UNKNOWN elements"));
            }
            List<AclBinding> matched = ctx.authorizer().acls().matching(filter);
            return Future.succeededFuture(new DescribeAclsResponseData()
                    .setResources(DescribeAclsResponse.aclsResources(matched)));
        }
    }

    public static final class Create implements ApiHandler<CreateAclsRequestData> {
        private final MetadataQuorum quorum;

        Create(MetadataQuorum quorum) {
            this.quorum = quorum;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.CREATE_ACLS;
        }

        @Override
        public Future<CreateAclsResponseData> handle(RequestContext ctx, CreateAclsRequestData r) {
            List<CreateAclsResponseData.AclCreationResult> results = new ArrayList<>();
            if (!ctx.clusterAuthorized(AclOperation.ALTER)) {
                r.creations().forEach(c -> results.add(error(Errors.CLUSTER_AUTHORIZATION_FAILED, null)));
                return Future.succeededFuture(new CreateAclsResponseData().setResults(results));
            }
            List<AclBinding> valid = new ArrayList<>();
            List<Integer> validAt = new ArrayList<>();
            for (CreateAclsRequestData.AclCreation c : r.creations()) {
                AclBinding b = CreateAclsRequest.aclBinding(c);
                String invalid = invalid(b);
                results.add(invalid == null ? new CreateAclsResponseData.AclCreationResult()
                        : error(Errors.INVALID_REQUEST, invalid));
                if (invalid == null) {
                    valid.add(b);
                    validAt.add(results.size() - 1);
                }
            }
            if (valid.isEmpty()) {
                return Future.succeededFuture(new CreateAclsResponseData().setResults(results));
            }
            return MetadataFutures.on(ctx.context(), quorum.propose(AclRecords.createAcls(valid)))
                    .transform(ar -> {
                        if (ar.failed()) {
                            ApiError e = ApiError.fromThrowable(ar.cause());
                            validAt.forEach(i -> results.set(i, error(e.error(), e.message())));
                        }
                        return Future.succeededFuture(new CreateAclsResponseData().setResults(results));
                    });
        }

        private static CreateAclsResponseData.AclCreationResult error(Errors e, String message) {
            return new CreateAclsResponseData.AclCreationResult().setErrorCode(e.code())
                    .setErrorMessage(message == null ? e.message() : message);
        }

        /** Kafka's reasons to refuse an ACL (its broker's and controller's checks), null for a valid one. */
        static String invalid(AclBinding b) {
            if (b.isUnknown()) {
                return "Invalid ACL: it contains UNKNOWN elements";
            }
            if (b.pattern().resourceType() == ResourceType.ANY) {
                return "Invalid resourceType " + b.pattern().resourceType();
            }
            if (b.pattern().resourceType() == ResourceType.CLUSTER
                    && !RequestContext.CLUSTER_NAME.equals(b.pattern().name())) {
                return "The only valid name for the CLUSTER resource is " + RequestContext.CLUSTER_NAME;
            }
            if (b.pattern().name() == null || b.pattern().name().isEmpty()) {
                return "Invalid empty resource name";
            }
            if (b.pattern().patternType() != PatternType.LITERAL && b.pattern().patternType() != PatternType.PREFIXED) {
                return "Invalid patternType " + b.pattern().patternType();
            }
            if (b.entry().operation() == AclOperation.ANY) {
                return "Invalid operation " + b.entry().operation();
            }
            if (b.entry().permissionType() != AclPermissionType.ALLOW
                    && b.entry().permissionType() != AclPermissionType.DENY) {
                return "Invalid permissionType " + b.entry().permissionType();
            }
            String principal = b.entry().principal();
            if (principal == null || principal.indexOf(':') < 0) {
                return "Could not parse principal from `" + principal + "` (no colon is present separating the"
                        + " principal type from the principal name)";
            }
            try {
                SecurityUtils.parseKafkaPrincipal(principal);
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
            if (b.entry().host() == null || b.entry().host().isEmpty()) {
                return "Invalid empty host";
            }
            return null;
        }
    }

    public static final class Delete implements ApiHandler<DeleteAclsRequestData> {
        private final MetadataQuorum quorum;

        Delete(MetadataQuorum quorum) {
            this.quorum = quorum;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DELETE_ACLS;
        }

        @Override
        public Future<DeleteAclsResponseData> handle(RequestContext ctx, DeleteAclsRequestData r) {
            List<DeleteAclsResponseData.DeleteAclsFilterResult> results = new ArrayList<>();
            if (!ctx.clusterAuthorized(AclOperation.ALTER)) {
                r.filters().forEach(f -> results.add(error(Errors.CLUSTER_AUTHORIZATION_FAILED, null)));
                return Future.succeededFuture(new DeleteAclsResponseData().setFilterResults(results));
            }
            List<AclBindingFilter> valid = new ArrayList<>();
            List<Integer> validAt = new ArrayList<>();
            for (DeleteAclsRequestData.DeleteAclsFilter f : r.filters()) {
                AclBindingFilter filter = new AclBindingFilter(
                        new ResourcePatternFilter(ResourceType.fromCode(f.resourceTypeFilter()), f.resourceNameFilter(),
                                PatternType.fromCode(f.patternTypeFilter())),
                        new AccessControlEntryFilter(f.principalFilter(), f.hostFilter(),
                                AclOperation.fromCode(f.operation()), AclPermissionType.fromCode(f.permissionType())));
                if (filter.isUnknown()) {
                    results.add(error(Errors.INVALID_REQUEST, "The filter contains UNKNOWN elements"));
                } else {
                    results.add(new DeleteAclsResponseData.DeleteAclsFilterResult());
                    valid.add(filter);
                    validAt.add(results.size() - 1);
                }
            }
            if (valid.isEmpty()) {
                return Future.succeededFuture(new DeleteAclsResponseData().setFilterResults(results));
            }
            return MetadataFutures.on(ctx.context(), quorum.propose(AclRecords.deleteAcls(valid)))
                    .transform(ar -> {
                        if (ar.failed()) {
                            ApiError e = ApiError.fromThrowable(ar.cause());
                            validAt.forEach(i -> results.set(i, error(e.error(), e.message())));
                        } else {
                            List<List<AclBinding>> deleted = AclRecords.deleted(ar.result());
                            for (int k = 0; k < validAt.size(); k++) {
                                List<DeleteAclsResponseData.DeleteAclsMatchingAcl> matching = new ArrayList<>();
                                deleted.get(k).forEach(b -> matching.add(DeleteAclsResponse.matchingAcl(b, ApiError.NONE)));
                                results.get(validAt.get(k)).setMatchingAcls(matching);
                            }
                        }
                        return Future.succeededFuture(new DeleteAclsResponseData().setFilterResults(results));
                    });
        }

        private static DeleteAclsResponseData.DeleteAclsFilterResult error(Errors e, String message) {
            return new DeleteAclsResponseData.DeleteAclsFilterResult().setErrorCode(e.code())
                    .setErrorMessage(message == null ? e.message() : message);
        }
    }
}
