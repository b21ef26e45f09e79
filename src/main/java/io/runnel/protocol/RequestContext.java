package io.runnel.protocol;

import io.vertx.core.Context;
import io.vertx.core.net.SocketAddress;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.requests.RequestHeader;

/**
 * What a handler knows about the request besides its body.
 *
 * @param header        the parsed request header (api key, version, correlation id, client id)
 * @param clientAddress the peer's address
 * @param context       the connection's event-loop context; responses are written from it
 * @param localNode     this broker as clients should reach it on this listener (advertised address)
 * @param connectionId  unique per connection, for logs and member ids
 */
public record RequestContext(RequestHeader header, SocketAddress clientAddress, Context context, Node localNode,
                             String connectionId) {

    public short apiVersion() {
        return header.apiVersion();
    }

    public String clientId() {
        return header.clientId() == null ? "" : header.clientId();
    }

    public String clientHost() {
        return clientAddress == null ? "" : clientAddress.hostAddress();
    }
}
