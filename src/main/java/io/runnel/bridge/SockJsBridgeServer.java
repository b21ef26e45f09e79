package io.runnel.bridge;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.sockjs.BridgeEvent;
import io.vertx.ext.web.handler.sockjs.SockJSBridgeOptions;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSHandlerOptions;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SockJS event-bus bridge of vertx-web, for browsers, on an HTTP server of its own
 * ({@code bridge.sockjs.listener}): the admin HTTP server is for operators (its token, its console, bound to
 * loopback without a token) while this one faces the applications' users, so the two are exposed, firewalled
 * and rate-limited apart. Beside the endpoint ({@code bridge.sockjs.path}) it serves the SockJS client
 * library at {@code /runnel/sockjs.min.js} (from the sockjs-client webjar) so pages need no CDN.
 *
 * <p>Frames are the vertx-web bridge's JSON ({@code {"type": "send"|"register"|..., "address", "headers",
 * "body", "replyAddress"}}, deliveries {@code {"type": "rec", ...}}). The library applies the permitted
 * lists (inbound: the public addresses of {@code bridge.permitted.addresses}; outbound: client delivery
 * addresses) and per-socket limits; {@link BridgeGuard}, called from its bridge-event hook, applies
 * credentials and the ownership rules, answers a refused frame with an err frame and closes the socket after
 * repeated refusals. Threading: one event-loop context (the verticle's), as the library requires.
 */
final class SockJsBridgeServer {

    private static final Logger LOG = LoggerFactory.getLogger(SockJsBridgeServer.class);
    static final String CLIENT_SCRIPT = "/runnel/sockjs.min.js";
    /** Vert.x's reply addresses: a client answering a delivery sends to one (the library checks it awaits). */
    static final String VERTX_REPLY_PREFIX = "__vertx.reply.";

    private final Vertx vertx;
    private final ExternalBridgeSettings settings;
    private final BridgeGuard guard;
    private final String subscribe;
    private final Map<SockJSSocket, Socket> sockets = new HashMap<>();
    private HttpServer server;

    private final class Socket {
        final BridgeGuard.Session session;
        /** replyAddresses of this socket's metadata requests, whose answers are filtered by the user's ACLs. */
        final java.util.Set<String> metadataReplies = new java.util.HashSet<>();

        Socket(BridgeGuard.Session session) {
            this.session = session;
        }
        /** replyAddresses of this socket's subscribe requests, whose answers name its subscriptions. */
        final java.util.Set<String> subscribeReplies = new java.util.HashSet<>();
    }

    SockJsBridgeServer(Vertx vertx, ExternalBridgeSettings settings, BridgeGuard guard) {
        this.vertx = vertx;
        this.settings = settings;
        this.guard = guard;
        this.subscribe = BridgeAddresses.address(settings.prefix(), BridgeAddresses.SUBSCRIBE);
    }

    /** Completes with the port listened on. */
    Future<Integer> listen() {
        return vertx.executeBlocking(SockJsBridgeServer::clientScript, false).compose(script -> {
            Router router = Router.router(vertx);
            router.get(CLIENT_SCRIPT).handler(ctx -> ctx.response()
                    .putHeader("content-type", "application/javascript; charset=utf-8")
                    .putHeader("cache-control", "max-age=3600").end(script));
            SockJSBridgeOptions options = new SockJSBridgeOptions()
                    .setOutboundPermitteds(java.util.List.of(new PermittedOptions()
                            .setAddressRegex(settings.clientAddressRegex())))
                    .setReplyTimeout(TcpBridgeServer.MAX_TIMEOUT_MS)
                    .setMaxAddressLength(256);
            for (String a : settings.inbound()) {
                options.addInboundPermitted(new PermittedOptions().setAddress(a));
            }
            SockJSHandler sockJs = SockJSHandler.create(vertx, new SockJSHandlerOptions()
                    .setRegisterWriteHandler(false).setInsertJSESSIONID(false)
                    .setMaxBytesStreaming(settings.maxFrameBytes()));
            router.route(settings.sockJsPath() + "/*").subRouter(sockJs.bridge(options, this::event));
            HttpServerOptions httpOptions = new HttpServerOptions().setHost(settings.sockJs().host())
                    .setPort(settings.sockJs().port()).setMaxWebSocketFrameSize(settings.maxFrameBytes())
                    .setMaxWebSocketMessageSize(settings.maxFrameBytes())
                    .setMaxFormAttributeSize(settings.maxFrameBytes());
            if (settings.tls() != null) {
                settings.tls().applyTo(httpOptions);
            }
            server = vertx.createHttpServer(httpOptions);
            return server.requestHandler(router).listen().map(HttpServer::actualPort);
        });
    }

    Future<Void> close() {
        return server == null ? Future.succeededFuture() : server.close();
    }

    private static Buffer clientScript() throws IOException {
        String version;
        try (InputStream in = SockJsBridgeServer.class.getResourceAsStream(
                "/META-INF/maven/org.webjars.npm/sockjs-client/pom.properties")) {
            if (in == null) {
                throw new IOException("the sockjs-client webjar is not on the class path");
            }
            Properties p = new Properties();
            p.load(in);
            version = p.getProperty("version");
        }
        try (InputStream in = SockJsBridgeServer.class.getResourceAsStream(
                "/META-INF/resources/webjars/sockjs-client/" + version + "/dist/sockjs.min.js")) {
            if (in == null) {
                throw new IOException("sockjs.min.js is missing from the sockjs-client webjar " + version);
            }
            return Buffer.buffer(in.readAllBytes());
        }
    }

    private void event(BridgeEvent event) {
        SockJSSocket sock = event.socket();
        switch (event.type()) {
            case SOCKET_CREATED -> {
                sockets.put(sock, new Socket(guard.newSession(settings.tls() != null,
                        sock.remoteAddress() == null ? null : sock.remoteAddress().hostAddress())));
                event.complete(true);
            }
            case SOCKET_CLOSED -> {
                Socket s = sockets.remove(sock);
                if (s != null) {
                    s.session.close();
                }
                event.complete(true);
            }
            case SEND, PUBLISH, REGISTER, UNREGISTER -> {
                Socket s = sockets.get(sock);
                JsonObject frame = event.getRawMessage();
                if (s == null || frame == null) {
                    event.complete(event.type() == io.vertx.ext.bridge.BridgeEventType.UNREGISTER);
                    return;
                }
                String type = switch (event.type()) {
                    case SEND -> "send";
                    case PUBLISH -> "publish";
                    case REGISTER -> "register";
                    default -> "unregister";
                };
                String address = frame.getValue("address") instanceof String a ? a : null;
                Future<BridgeGuard.Refusal> checked;
                if ((type.equals("send") || type.equals("publish")) && address != null
                        && !settings.isPermittedInbound(address) && !address.startsWith(VERTX_REPLY_PREFIX)) {
                    // the library refuses it too; counted here so that repeated probing closes the socket
                    checked = Future.succeededFuture(guard.refuse(s.session, "access_denied",
                            org.apache.kafka.common.protocol.Errors.INVALID_REQUEST.code(),
                            "address '" + address + "' is not permitted through the bridge"));
                } else {
                    checked = guard.check(s.session, type, frame);
                }
                checked.onComplete(ar -> {
                    BridgeGuard.Refusal r = ar.succeeded() ? ar.result()
                            : new BridgeGuard.Refusal("internal_error", -1, String.valueOf(ar.cause()), false);
                    if (r == null) {
                        if (type.equals("send") && subscribe.equals(frame.getString("address"))
                                && frame.getValue("replyAddress") instanceof String reply) {
                            if (s.subscribeReplies.size() >= 1000) {
                                s.subscribeReplies.clear(); // answers that never came (failed requests)
                            }
                            s.subscribeReplies.add(reply);
                        } else if (type.equals("send") && guard.isMetadata(frame.getString("address"))
                                && frame.getValue("replyAddress") instanceof String reply) {
                            if (s.metadataReplies.size() >= 1000) {
                                s.metadataReplies.clear();
                            }
                            s.metadataReplies.add(reply);
                        }
                        event.complete(true);
                        return;
                    }
                    JsonObject err = new JsonObject().put("type", "err").put("message", r.error() + ": " + r.message());
                    if (frame.getValue("replyAddress") instanceof String reply) {
                        err.put("address", reply).put("failureCode", r.code()).put("failureType", "RECIPIENT_FAILURE");
                    }
                    sock.write(Buffer.buffer(err.encode())); // as the library writes its own frames
                    event.complete(false);
                    if (r.close()) {
                        LOG.info("SockJS bridge: closing {} after {} refused frames (last: {})", sock.remoteAddress(),
                                settings.maxFailures(), r.error());
                        sock.close();
                    }
                });
            }
            case RECEIVE -> {
                Socket s = sockets.get(sock);
                JsonObject envelope = event.getRawMessage();
                if (s != null && envelope != null && envelope.getValue("address") instanceof String a
                        && s.subscribeReplies.remove(a)) {
                    s.session.learnSubscription(envelope.getValue("body"));
                } else if (s != null && envelope != null && envelope.getValue("address") instanceof String a
                        && s.metadataReplies.remove(a)) {
                    guard.filterMetadata(s.session, null, envelope.getValue("body"));
                }
                event.complete(true);
            }
            case REGISTERED -> {
                Socket s = sockets.get(sock);
                JsonObject frame = event.getRawMessage();
                if (s != null && frame != null && frame.getValue("address") instanceof String a) {
                    s.session.registrationDone(a);
                }
                event.complete(true);
            }
            default -> event.complete(true);
        }
    }
}
