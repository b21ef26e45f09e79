package io.runnel.protocol;

import io.runnel.security.AclAuthorizer;
import io.runnel.security.Authentication;
import io.vertx.core.Context;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.security.auth.KafkaPrincipal;

/**
 * What a handler knows about the request besides its body.
 *
 * @param header         the parsed request header (api key, version, correlation id, client id)
 * @param clientAddress  the peer's address
 * @param context        the connection's event-loop context; responses are written from it
 * @param localNode      this broker as clients should reach it on this listener (advertised address)
 * @param connectionId   unique per connection, for logs and member ids
 * @param authentication the connection's authentication: its listener, state and principal (used on the
 *                       connection's event loop only)
 * @param authorizer     the broker's authorizer, null when none is configured (everything is allowed)
 * @param produceOrder   the connection's order of produce requests handing batches to partitions
 */
public record RequestContext(RequestHeader header, SocketAddress clientAddress, Context context, Node localNode,
                             String connectionId, Authentication authentication, AclAuthorizer authorizer,
                             ProduceOrder produceOrder) {

    /** A context with an order of its own (a connection that sends this one request). */
    public RequestContext(RequestHeader header, SocketAddress clientAddress, Context context, Node localNode,
                          String connectionId, Authentication authentication, AclAuthorizer authorizer) {
        this(header, clientAddress, context, localNode, connectionId, authentication, authorizer,
                new ProduceOrder(context));
    }

    public RequestContext(RequestHeader header, SocketAddress clientAddress, Context context, Node localNode,
                          String connectionId, Authentication authentication) {
        this(header, clientAddress, context, localNode, connectionId, authentication, null);
    }

    /** A PLAINTEXT connection's context (User:ANONYMOUS on the PLAINTEXT listener). */
    public RequestContext(RequestHeader header, SocketAddress clientAddress, Context context, Node localNode,
                          String connectionId) {
        this(header, clientAddress, context, localNode, connectionId,
                Authentication.complete("PLAINTEXT", KafkaPrincipal.ANONYMOUS));
    }

    public short apiVersion() {
        return header.apiVersion();
    }

    public String clientId() {
        return header.clientId() == null ? "" : header.clientId();
    }

    public String clientHost() {
        return clientAddress == null ? "" : clientAddress.hostAddress();
    }

    /** The name of the listener the request came in on (Metadata answers with that listener's endpoints). */
    public String listenerName() {
        return authentication.listenerName();
    }

    /** Who sent the request: User:ANONYMOUS without authentication. */
    public KafkaPrincipal principal() {
        return authentication.principal();
    }

    /**
     * Whether the request's principal may do {@code op} on resource {@code name} of {@code type}: always
     * without an authorizer. Cheap (an immutable index read, no locks), callable per topic on an event loop.
     */
    public boolean authorized(AclOperation op, ResourceType type, String name) {
        return authorizer == null || authorizer.authorize(principal(), clientHost(), op, type, name);
    }

    /** {@link #authorized} on the cluster resource ({@code kafka-cluster}). */
    public boolean clusterAuthorized(AclOperation op) {
        return authorized(op, ResourceType.CLUSTER, CLUSTER_NAME);
    }

    /** Kafka's name of the cluster resource. */
    public static final String CLUSTER_NAME = "kafka-cluster";
}
