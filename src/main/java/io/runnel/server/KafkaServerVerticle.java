package io.runnel.server;

import java.util.concurrent.atomic.AtomicLong;

import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import io.runnel.protocol.Connections;
import io.runnel.security.ListenerSecurity;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Promise;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import org.apache.kafka.common.Node;

/**
 * One Kafka protocol listener (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL). Deployed once per event loop; Vert.x spreads connections over the
 * instances, and each connection lives on its instance's event loop.
 */
public final class KafkaServerVerticle extends AbstractVerticle {

    private static final AtomicLong CONNECTION_IDS = new AtomicLong();

    private final BrokerConfig config;
    private final Listener listener;
    private final Connections connections;
    private final java.util.function.IntFunction<Node> advertisedNode;
    private final ListenerSecurity security;
    private NetServer server;

    /**
     * @param connections the node's, shared by every instance: connection counts and request memory are node-wide
     * @param security    the listener's TLS and SASL settings, built (and checked) before deployment
     */
    public KafkaServerVerticle(BrokerConfig config, Listener listener, Connections connections,
                               java.util.function.IntFunction<Node> advertisedNode, ListenerSecurity security) {
        this.config = config;
        this.listener = listener;
        this.connections = connections;
        this.advertisedNode = advertisedNode;
        this.security = security;
    }

    @Override
    public void start(Promise<Void> startPromise) {
        NetServerOptions options = new NetServerOptions()
                .setHost(listener.host())
                .setPort(listener.port())
                .setTcpNoDelay(true)
                .setReuseAddress(true)
                // closes a connection with nothing read or written for that long (Kafka's idle expiry)
                .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, config.connectionsMaxIdleMs()))
                .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
        // as in Kafka, -1 leaves the OS default, which keeps TCP's buffer auto-tuning on
        int sendBuffer = config.getInt(BrokerConfig.SOCKET_SEND_BUFFER_BYTES);
        if (sendBuffer > 0) {
            options.setSendBufferSize(sendBuffer);
        }
        int receiveBuffer = config.getInt(BrokerConfig.SOCKET_RECEIVE_BUFFER_BYTES);
        if (receiveBuffer > 0) {
            options.setReceiveBufferSize(receiveBuffer);
        }
        security.applyTo(options);
        server = vertx.createNetServer(options);
        server.connectHandler(socket -> connections.accept(socket, advertisedNode.apply(server.actualPort()),
                listener.name() + "-" + CONNECTION_IDS.incrementAndGet(), security));
        server.listen().onComplete(ar -> {
            if (ar.succeeded()) {
                startPromise.complete();
            } else {
                startPromise.fail(ar.cause());
            }
        });
    }

    public int actualPort() {
        return server.actualPort();
    }
}
