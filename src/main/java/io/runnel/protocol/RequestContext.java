package io.runnel.protocol;

import io.runnel.security.Authentication;
import io.vertx.core.Context;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.Node;
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
 */
public record RequestContext(RequestHeader header, SocketAddress clientAddress, Context context, Node localNode,
                             String connectionId, Authentication authentication) {

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
}
