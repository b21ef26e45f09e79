package io.runnel.protocol;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.runnel.security.Authentication;
import io.runnel.security.ListenerSecurity;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point from the listener: admits an accepted socket under {@code max.connections} and
 * {@code max.connections.per.ip} and wraps it in a {@link KafkaConnection}. One per node, shared by every
 * listener instance, so that the connection counts and the request memory budget are node-wide.
 *
 * <p>Threading: {@link #accept} runs on the accepting instance's event loop; the shared state is thread-safe.
 */
public final class Connections {

    private static final Logger LOG = LoggerFactory.getLogger(Connections.class);

    private static final long RECHECK_MS = 200;

    private final ApiRegistry registry;
    private final int maxFrameBytes;
    private final int maxInflight;
    private final RequestMemory memory;
    private final ConnectionQuotas quotas;

    /**
     * @param maxFrameBytes         socket.request.max.bytes
     * @param maxInflight           queued.max.requests.per.connection
     * @param maxRequestMemory      queued.max.request.bytes as resolved ({@link Long#MAX_VALUE} for no limit)
     * @param maxConnections        max.connections
     * @param maxConnectionsPerIp   max.connections.per.ip
     */
    public Connections(Vertx vertx, ApiRegistry registry, int maxFrameBytes, int maxInflight, long maxRequestMemory,
                       int maxConnections, int maxConnectionsPerIp) {
        this.registry = registry;
        this.maxFrameBytes = maxFrameBytes;
        this.maxInflight = maxInflight;
        this.memory = new RequestMemory(maxRequestMemory);
        this.quotas = new ConnectionQuotas(maxConnections, maxConnectionsPerIp);
        registry.metrics().requestMemory(memory::used, memory::limit, memory::evictions);
        if (maxRequestMemory != Long.MAX_VALUE) {
            // evictions wait for a grace period that no read may end: a clock ends it (see RequestMemory)
            vertx.setPeriodic(RECHECK_MS, id -> memory.recheck());
        }
    }

    /** The node's request memory budget. */
    public RequestMemory memory() {
        return memory;
    }

    /** Accepts a PLAINTEXT connection. */
    public void accept(NetSocket socket, Node localNode, String id) {
        accept(socket, localNode, id, null);
    }

    /**
     * Accepts a connection of a listener secured by {@code security} (null: PLAINTEXT). With TLS, Vert.x hands the
     * socket over once the handshake is done, so the client's certificate is known here.
     */
    public void accept(NetSocket socket, Node localNode, String id, ListenerSecurity security) {
        NetSocketInternal s = (NetSocketInternal) socket;
        InetAddress address = ((InetSocketAddress) s.channelHandlerContext().channel().remoteAddress()).getAddress();
        String refused = quotas.tryAcquire(address);
        if (refused != null) {
            LOG.debug("Refusing connection {} from {}: {}", id, socket.remoteAddress(), refused);
            registry.metrics().connectionRefused();
            socket.close();
            return;
        }
        Authentication auth;
        try {
            auth = security == null ? Authentication.complete("PLAINTEXT", KafkaPrincipal.ANONYMOUS)
                    : security.newConnection(socket.isSsl() ? socket.sslSession() : null, address);
        } catch (RuntimeException e) {
            // e.g. a certificate subject that ssl.principal.mapping.rules cannot map: Kafka refuses the connection
            LOG.warn("Refusing connection {} from {}: {}", id, socket.remoteAddress(), e.toString());
            quotas.release(address);
            socket.close();
            return;
        }
        if (auth.authenticated()) {
            LOG.debug("Connection {} from {} on {}: principal {}", id, socket.remoteAddress(), auth.listenerName(),
                    auth.principal());
        }
        new KafkaConnection(s, ContextInternal.current(), registry, memory, maxFrameBytes, maxInflight, localNode, id,
                () -> quotas.release(address), auth).start();
    }
}
