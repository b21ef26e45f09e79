package io.runnel.admin;

import io.runnel.security.AclAuthorizer;
import io.vertx.ext.web.RoutingContext;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;

/**
 * What the caller of one admin request may do: everything for the bearer token (an operator's key) or an open
 * loopback listener; for an HTTP Basic user, what the authorizer lets {@code User:<name>} do from its address, as
 * on a Kafka listener (everything when no authorizer is configured).
 */
final class AdminAccess {

    static final String KEY = "runnel.admin.access";
    static final AdminAccess ALL = new AdminAccess(null, null, null);
    /** Kafka's cluster resource name. */
    static final String CLUSTER = "kafka-cluster";

    private final AclAuthorizer authorizer;
    private final KafkaPrincipal principal;
    private final String host;

    AdminAccess(AclAuthorizer authorizer, KafkaPrincipal principal, String host) {
        this.authorizer = authorizer;
        this.principal = principal;
        this.host = host;
    }

    static AdminAccess of(RoutingContext ctx) {
        AdminAccess a = ctx.get(KEY);
        return a == null ? ALL : a;
    }

    boolean allowed(AclOperation op, ResourceType type, String name) {
        return authorizer == null || principal == null || authorizer.authorize(principal, host, op, type, name);
    }

    boolean topic(AclOperation op, String topic) {
        return allowed(op, ResourceType.TOPIC, topic);
    }

    boolean group(AclOperation op, String group) {
        return allowed(op, ResourceType.GROUP, group);
    }

    boolean cluster(AclOperation op) {
        return allowed(op, ResourceType.CLUSTER, CLUSTER);
    }

    /** Answers 403 unless {@code allowed}; true when the request may go on. */
    static boolean require(RoutingContext ctx, boolean allowed, AclOperation op, ResourceType type, String name) {
        if (allowed) {
            return true;
        }
        String what = type == ResourceType.CLUSTER ? "the cluster" : type.name().toLowerCase(java.util.Locale.ROOT)
                + " " + name;
        Responses.json(ctx, 403, new HttpError(403, "forbidden", "not authorized to " + op.name() + " " + what,
                null).toJson());
        return false;
    }

}
