package io.runnel.api;

import io.runnel.protocol.RequestContext;
import io.vertx.core.Future;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.message.CreateAclsRequestData;
import org.apache.kafka.common.message.DeleteAclsRequestData;
import org.apache.kafka.common.message.DescribeAclsRequestData;
import org.apache.kafka.common.message.DescribeAclsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeAcls, CreateAcls and DeleteAcls on a broker with no authorizer: Kafka answers each with
 * SECURITY_DISABLED ("No Authorizer is configured"), which Admin clients raise as SecurityDisabledException and
 * kafka-acls.sh reports, instead of failing on an API the broker does not list.
 */
public final class AclsWithoutAuthorizerHandlers {

    private AclsWithoutAuthorizerHandlers() {
    }

    /** DescribeAcls: the error at the top level, Kafka's message. */
    public static final class Describe implements ApiHandler<DescribeAclsRequestData> {
        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DESCRIBE_ACLS;
        }

        @Override
        public Future<DescribeAclsResponseData> handle(RequestContext ctx, DescribeAclsRequestData request) {
            return Future.succeededFuture(new DescribeAclsResponseData()
                    .setErrorCode(Errors.SECURITY_DISABLED.code())
                    .setErrorMessage("No Authorizer is configured on the broker"));
        }
    }

    /** CreateAcls: every creation fails with SECURITY_DISABLED (kafka-clients' error response of the request). */
    public static final class Create implements ApiHandler<CreateAclsRequestData> {
        @Override
        public ApiKeys apiKey() {
            return ApiKeys.CREATE_ACLS;
        }

        @Override
        public Future<ApiMessage> handle(RequestContext ctx, CreateAclsRequestData request) {
            return Future.failedFuture(new SecurityDisabledException("No Authorizer is configured."));
        }
    }

    /** DeleteAcls: every filter fails with SECURITY_DISABLED. */
    public static final class Delete implements ApiHandler<DeleteAclsRequestData> {
        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DELETE_ACLS;
        }

        @Override
        public Future<ApiMessage> handle(RequestContext ctx, DeleteAclsRequestData request) {
            return Future.failedFuture(new SecurityDisabledException("No Authorizer is configured."));
        }
    }
}
