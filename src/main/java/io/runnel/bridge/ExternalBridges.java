package io.runnel.bridge;

import io.runnel.security.PasswordVerifier;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bridges that bring the event-bus addresses to other languages: {@link TcpBridgeServer} (any language
 * with sockets and JSON) on {@code bridge.tcp.listener} and {@link SockJsBridgeServer} (browsers) on
 * {@code bridge.sockjs.listener}, both off by default, both forwarding to the same addresses as a Vert.x
 * application uses ({@code package-info.java}) on this broker's event bus, under the same {@link BridgeGuard}
 * (credentials, permitted addresses, ownership of delivery addresses and subscriptions).
 *
 * <p>Deployed on every broker whose bridge is enabled, on the event-bus Vert.x (the clustered one in a
 * cluster). Threading: one event-loop context, this verticle's: both servers and the guard run on it.
 */
public final class ExternalBridges extends VerticleBase {

    private static final Logger LOG = LoggerFactory.getLogger(ExternalBridges.class);

    private final ExternalBridgeSettings settings;
    private final PasswordVerifier passwords;
    private final io.runnel.security.AclAuthorizer authorizer;
    private final java.util.function.Predicate<String> topicExists;
    private TcpBridgeServer tcp;
    private SockJsBridgeServer sockJs;
    private volatile int tcpPort = -1;
    private volatile int sockJsPort = -1;

    public ExternalBridges(ExternalBridgeSettings settings, PasswordVerifier passwords) {
        this(settings, passwords, null, t -> true);
    }

    /**
     * @param authorizer  the broker's ACLs, applied to Basic users (null: none configured)
     * @param topicExists whether a topic exists (a produce creating one needs CREATE)
     */
    public ExternalBridges(ExternalBridgeSettings settings, PasswordVerifier passwords,
                           io.runnel.security.AclAuthorizer authorizer, java.util.function.Predicate<String> topicExists) {
        this.settings = settings;
        this.passwords = passwords;
        this.authorizer = authorizer;
        this.topicExists = topicExists;
    }

    @Override
    public Future<?> start() {
        BridgeGuard guard = new BridgeGuard(vertx, settings, passwords, authorizer, topicExists);
        Future<Void> started = Future.succeededFuture();
        if (settings.tcp() != null) {
            tcp = new TcpBridgeServer(vertx, settings, guard);
            started = started.compose(v -> tcp.listen()).map(port -> {
                tcpPort = port;
                LOG.info("TCP event-bus bridge listening on {}:{}{}", settings.tcp().host(), port,
                        settings.tls() != null ? " (TLS)" : "");
                return null;
            });
        }
        if (settings.sockJs() != null) {
            sockJs = new SockJsBridgeServer(vertx, settings, guard);
            started = started.compose(v -> sockJs.listen()).map(port -> {
                sockJsPort = port;
                LOG.info("SockJS event-bus bridge listening on {}://{}:{}{}", settings.tls() != null ? "https" : "http",
                        settings.sockJs().host(), port,
                        settings.sockJsPath());
                return null;
            });
        }
        return started;
    }

    @Override
    public Future<?> stop() {
        return Future.join(tcp == null ? Future.succeededFuture() : tcp.close(),
                sockJs == null ? Future.succeededFuture() : sockJs.close());
    }

    /** The TCP bridge's port once started; -1 when it is off. */
    public int tcpPort() {
        return tcpPort;
    }

    /** The SockJS bridge's port once started; -1 when it is off. */
    public int sockJsPort() {
        return sockJsPort;
    }
}
