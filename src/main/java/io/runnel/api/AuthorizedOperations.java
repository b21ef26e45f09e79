package io.runnel.api;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;

import io.runnel.protocol.RequestContext;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.utils.Utils;

/**
 * The operations a request's principal may do on a resource, as the 32-bit field of operation codes that
 * Metadata, DescribeCluster and DescribeGroups report (Kafka's authorizedOperations over each resource type's
 * supported operations).
 */
final class AuthorizedOperations {

    private AuthorizedOperations() {
    }

    static Set<AclOperation> supported(ResourceType type) {
        return switch (type) {
            case TOPIC -> EnumSet.of(AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DESCRIBE,
                    AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS);
            case GROUP -> EnumSet.of(AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE);
            case CLUSTER -> EnumSet.of(AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS,
                    AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER, AclOperation.DESCRIBE);
            case TRANSACTIONAL_ID -> EnumSet.of(AclOperation.DESCRIBE, AclOperation.WRITE);
            case DELEGATION_TOKEN -> EnumSet.of(AclOperation.DESCRIBE);
            default -> EnumSet.noneOf(AclOperation.class);
        };
    }

    static int of(RequestContext ctx, ResourceType type, String name) {
        Set<Byte> codes = new HashSet<>();
        for (AclOperation op : supported(type)) {
            if (ctx.authorized(op, type, name)) {
                codes.add(op.code());
            }
        }
        return Utils.to32BitField(codes);
    }

    /**
     * The error of a config resource the client may not {@code op} (DESCRIBE_CONFIGS or ALTER_CONFIGS), null
     * when it may: as Kafka, a topic is checked on itself, a group on itself, a broker, broker logger or
     * client-metrics resource on the cluster.
     */
    static org.apache.kafka.common.protocol.Errors configDenied(RequestContext ctx, byte resourceType, String name,
                                                               AclOperation op) {
        var type = org.apache.kafka.common.config.ConfigResource.Type.forId(resourceType);
        return switch (type) {
            case TOPIC -> ctx.authorized(op, ResourceType.TOPIC, name) ? null
                    : org.apache.kafka.common.protocol.Errors.TOPIC_AUTHORIZATION_FAILED;
            case GROUP -> ctx.authorized(op, ResourceType.GROUP, name) ? null
                    : org.apache.kafka.common.protocol.Errors.GROUP_AUTHORIZATION_FAILED;
            case UNKNOWN -> null;
            default -> ctx.clusterAuthorized(op) ? null
                    : org.apache.kafka.common.protocol.Errors.CLUSTER_AUTHORIZATION_FAILED;
        };
    }
}
