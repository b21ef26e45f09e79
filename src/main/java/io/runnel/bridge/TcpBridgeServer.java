package io.runnel.bridge;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP event-bus bridge: the wire protocol of vertx-tcp-eventbus-bridge, so its clients in any language
 * work unchanged. Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
 * Client frames: {@code {"type": "send"|"publish"|"register"|"unregister"|"ping", "address", "headers": {},
 * "body", "replyAddress"}}. Server frames: {@code {"type": "message", "address", "replyAddress"?, "headers",
 * "body", "send"}} (a delivery, or the reply to a request: its address is the request's replyAddress),
 * {@code {"type": "err", "message", "address"?, "sourceAddress"?, "failureCode"?, "failureType"?}} and
 * {@code {"type": "pong"}}. A client acknowledges a delivery by sending to its replyAddress (a
 * {@code "failureCode"} in that frame fails it instead).
 *
 * <p>Why not the library's own server: its frame parser keeps a connection whose frame is not JSON, buffers
 * whatever length a frame announces (a 2 GiB length holds memory until the peer goes) and throws on an
 * unknown frame type; its per-connection handler is private. Here a frame longer than
 * {@code bridge.max.frame.bytes}, with a negative or zero length, that is not a JSON object, or that is not a
 * valid frame gets an err frame and closes its connection, and only that one.
 *
 * <p>Frames of one connection are handled in order: a register completes (the consumer is registered
 * across the cluster) before the next frame, so a subscribe after it cannot miss a delivery. The socket is
 * paused while {@link #MAX_QUEUED} frames wait. Threading: one event-loop context (the verticle's).
 */
final class TcpBridgeServer {

    private static final Logger LOG = LoggerFactory.getLogger(TcpBridgeServer.class);
    static final int MAX_QUEUED = 256;
    /** Deliveries awaiting the client's acknowledgement, per connection; the oldest is forgotten beyond this. */
    static final int MAX_PENDING_REPLIES = 10_000;
    /** Most a client may ask a request to wait (headers.timeout), in ms. */
    static final long MAX_TIMEOUT_MS = 300_000;

    private final Vertx vertx;
    private final EventBus eb;
    private final ExternalBridgeSettings settings;
    private final BridgeGuard guard;
    private final String subscribe;
    private NetServer server;

    TcpBridgeServer(Vertx vertx, ExternalBridgeSettings settings, BridgeGuard guard) {
        this.vertx = vertx;
        this.eb = vertx.eventBus();
        this.settings = settings;
        this.guard = guard;
        this.subscribe = BridgeAddresses.address(settings.prefix(), BridgeAddresses.SUBSCRIBE);
    }

    /** Completes with the port listened on. */
    Future<Integer> listen() {
        NetServerOptions options = new NetServerOptions().setHost(settings.tcp().host())
                .setPort(settings.tcp().port()).setTcpNoDelay(true);
        if (settings.tls() != null) {
            settings.tls().applyTo(options);
        }
        server = vertx.createNetServer(options);
        server.connectHandler(socket -> new Connection(socket).start());
        return server.listen().map(NetServer::actualPort);
    }

    Future<Void> close() {
        return server == null ? Future.succeededFuture() : server.close();
    }

    private final class Connection {
        private final NetSocket socket;
        private final BridgeGuard.Session session;
        private final Map<String, MessageConsumer<Object>> consumers = new HashMap<>();
        private final Map<String, Message<Object>> replies = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Message<Object>> eldest) {
                return size() > MAX_PENDING_REPLIES;
            }
        };
        private Buffer pending = Buffer.buffer();
        private Future<?> tail = Future.succeededFuture();
        private int queued;
        private boolean paused;
        private boolean closed;

        Connection(NetSocket socket) {
            this.socket = socket;
            this.session = guard.newSession(socket.isSsl(),
                    socket.remoteAddress() == null ? null : socket.remoteAddress().hostAddress());
        }

        void start() {
            socket.handler(this::data);
            socket.closeHandler(v -> closed());
            socket.exceptionHandler(t -> {
                LOG.debug("TCP bridge connection from {}: {}", socket.remoteAddress(), t.toString());
                socket.close();
            });
        }

        private void data(Buffer b) {
            if (closed) {
                return;
            }
            pending.appendBuffer(b);
            int offset = 0;
            while (pending.length() - offset >= 4) {
                int length = pending.getInt(offset);
                if (length <= 0 || length > settings.maxFrameBytes()) {
                    fatal("invalid_frame_length", "frame length " + length + " is not between 1 and "
                            + settings.maxFrameBytes() + " (bridge.max.frame.bytes)");
                    return;
                }
                if (pending.length() - offset - 4 < length) {
                    break;
                }
                JsonObject frame;
                try {
                    Object parsed = io.vertx.core.json.Json.decodeValue(
                            pending.getString(offset + 4, offset + 4 + length, StandardCharsets.UTF_8.name()));
                    if (!(parsed instanceof JsonObject j)) {
                        fatal("invalid_json", "a frame must be a JSON object");
                        return;
                    }
                    frame = j;
                } catch (DecodeException e) {
                    fatal("invalid_json", "frame is not JSON: "
                            + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
                    return;
                }
                offset += 4 + length;
                String invalid = invalidFrame(frame);
                if (invalid != null) {
                    fatal("invalid_frame", invalid);
                    return;
                }
                enqueue(frame);
                if (closed) {
                    return; // the frame was handled at once and closed the connection
                }
            }
            pending = offset == pending.length() ? Buffer.buffer() : pending.getBuffer(offset, pending.length());
        }

        private String invalidFrame(JsonObject frame) {
            if (!(frame.getValue("type") instanceof String type)) {
                return "'type' (a string) is required";
            }
            switch (type) {
                case "ping" -> {
                    return null;
                }
                case "send", "publish", "register", "unregister" -> {
                }
                default -> {
                    return "unknown type '" + type + "' (send, publish, register, unregister, ping)";
                }
            }
            if (!(frame.getValue("address") instanceof String a) || a.isEmpty() || a.length() > 256) {
                return "'address' (a string of 1 to 256 characters) is required";
            }
            Object headers = frame.getValue("headers");
            if (headers != null && !(headers instanceof JsonObject)) {
                return "'headers' must be a JSON object";
            }
            Object reply = frame.getValue("replyAddress");
            if (reply != null && (!(reply instanceof String r) || r.isEmpty() || r.length() > 256)) {
                return "'replyAddress' must be a string of 1 to 256 characters";
            }
            return null;
        }

        private void enqueue(JsonObject frame) {
            queued++;
            if (queued >= MAX_QUEUED && !paused) {
                paused = true;
                socket.pause();
            }
            tail = tail.transform(ignored -> closed ? Future.succeededFuture() : handle(frame)).andThen(ar -> {
                if (ar.failed()) {
                    LOG.warn("TCP bridge frame from {} failed", socket.remoteAddress(), ar.cause());
                }
                queued--;
                if (paused && queued <= MAX_QUEUED / 2 && !closed) {
                    paused = false;
                    socket.resume();
                }
            });
        }

        private Future<?> handle(JsonObject frame) {
            String type = frame.getString("type");
            if (type.equals("ping")) {
                write(new JsonObject().put("type", "pong"));
                return Future.succeededFuture();
            }
            String address = frame.getString("address");
            boolean reply = type.equals("send") && replies.containsKey(address);
            if (!reply && (type.equals("send") || type.equals("publish")) && !settings.isPermittedInbound(address)) {
                refused(frame, guard.refuse(session, "access_denied", Errors.INVALID_REQUEST.code(),
                        "address '" + address + "' is not permitted through the bridge"));
                return Future.succeededFuture();
            }
            return guard.check(session, type, frame).<Void>compose(refusal -> {
                if (refusal != null) {
                    refused(frame, refusal);
                    return Future.succeededFuture();
                }
                if (closed) {
                    return Future.succeededFuture();
                }
                return switch (type) {
                    case "send" -> send(frame, address);
                    case "register" -> register(address);
                    case "unregister" -> {
                        MessageConsumer<Object> c = consumers.remove(address);
                        if (c == null) {
                            write(new JsonObject().put("type", "err").put("message", "unknown_address: '" + address
                                    + "' is not registered by this connection"));
                            yield Future.<Void>succeededFuture();
                        }
                        yield c.unregister();
                    }
                    default -> Future.<Void>succeededFuture();
                };
            });
        }

        private Future<Void> send(JsonObject frame, String address) {
            Object body = frame.getValue("body");
            JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : null;
            Message<Object> awaiting = replies.remove(address);
            if (awaiting != null) {
                if (frame.getValue("failureCode") instanceof Number code) {
                    awaiting.fail(code.intValue(), String.valueOf(frame.getValue("message")));
                } else {
                    awaiting.reply(body, options(headers));
                }
                return Future.succeededFuture();
            }
            String replyAddress = frame.getString("replyAddress");
            if (replyAddress == null) {
                eb.send(address, body, options(headers));
                return Future.succeededFuture();
            }
            eb.<Object>request(address, body, options(headers)).onComplete(ar -> {
                if (closed) {
                    return;
                }
                if (ar.succeeded()) {
                    Message<Object> response = ar.result();
                    if (address.equals(subscribe)) {
                        session.learnSubscription(response.body());
                    } else if (guard.isMetadata(address)) {
                        guard.filterMetadata(session, body, response.body());
                    }
                    if (response.replyAddress() != null) {
                        replies.put(response.replyAddress(), response);
                    }
                    write(message(replyAddress, response));
                } else {
                    JsonObject err = new JsonObject().put("type", "err").put("address", replyAddress)
                            .put("sourceAddress", address);
                    if (ar.cause() instanceof ReplyException re) {
                        err.put("failureCode", re.failureCode()).put("failureType", re.failureType().name())
                                .put("message", re.getMessage());
                    } else {
                        err.put("failureCode", -1).put("failureType", "RECIPIENT_FAILURE")
                                .put("message", String.valueOf(ar.cause().getMessage()));
                    }
                    write(err);
                }
            });
            // requests of one connection run concurrently; only their admission is in order
            return Future.succeededFuture();
        }

        private Future<Void> register(String address) {
            if (consumers.containsKey(address)) {
                return Future.succeededFuture();
            }
            MessageConsumer<Object> consumer = eb.consumer(address, msg -> {
                if (closed) {
                    return;
                }
                if (msg.replyAddress() != null) {
                    replies.put(msg.replyAddress(), msg);
                }
                write(message(address, msg));
            });
            consumers.put(address, consumer);
            return consumer.completion().andThen(ar -> session.registrationDone(address));
        }

        private JsonObject message(String address, Message<Object> msg) {
            JsonObject headers = new JsonObject();
            msg.headers().forEach(e -> headers.put(e.getKey(), e.getValue()));
            JsonObject out = new JsonObject().put("type", "message").put("address", address).put("headers", headers)
                    .put("send", msg.isSend());
            if (msg.replyAddress() != null) {
                out.put("replyAddress", msg.replyAddress());
            }
            Object body = msg.body();
            if (body != null) {
                out.put("body", body);
            }
            return out;
        }

        private DeliveryOptions options(JsonObject headers) {
            DeliveryOptions o = new DeliveryOptions();
            if (headers == null) {
                return o;
            }
            for (Map.Entry<String, Object> e : headers) {
                if (e.getValue() == null) {
                    continue;
                }
                if (e.getKey().equals("timeout") && e.getValue() instanceof Number n) {
                    o.setSendTimeout(Math.max(1, Math.min(MAX_TIMEOUT_MS, n.longValue())));
                } else if (!e.getKey().equals("localOnly") && !e.getKey().equals("codecName")) {
                    o.addHeader(e.getKey(), String.valueOf(e.getValue()));
                }
            }
            return o;
        }

        private void refused(JsonObject frame, BridgeGuard.Refusal r) {
            JsonObject err = new JsonObject().put("type", "err").put("message", r.error() + ": " + r.message());
            String replyAddress = frame.getValue("replyAddress") instanceof String s ? s : null;
            if (replyAddress != null) {
                err.put("address", replyAddress).put("sourceAddress", frame.getString("address"))
                        .put("failureCode", r.code()).put("failureType", "RECIPIENT_FAILURE");
            }
            write(err);
            if (r.close()) {
                LOG.info("TCP bridge: closing {} after {} refused frames (last: {})", socket.remoteAddress(),
                        settings.maxFailures(), r.error());
                closeNow();
            }
        }

        private void fatal(String error, String message) {
            LOG.info("TCP bridge: closing {}: {}", socket.remoteAddress(), message);
            write(new JsonObject().put("type", "err").put("message", error + ": " + message));
            closeNow();
        }

        private void write(JsonObject frame) {
            if (closed) {
                return;
            }
            byte[] data = frame.encode().getBytes(StandardCharsets.UTF_8);
            socket.write(Buffer.buffer(4 + data.length).appendInt(data.length).appendBytes(data));
        }

        private void closeNow() {
            if (!closed) {
                socket.end().onComplete(ar -> socket.close());
                closed();
            }
        }

        private void closed() {
            if (closed && consumers.isEmpty()) {
                return;
            }
            closed = true;
            pending = Buffer.buffer();
            session.close();
            consumers.values().forEach(MessageConsumer::unregister);
            consumers.clear();
            // unacknowledged deliveries go back to the subscription at once instead of at its ack timeout
            replies.values().forEach(m -> m.fail(Errors.NETWORK_EXCEPTION.code(), "NETWORK_EXCEPTION: the bridge client disconnected"));
            replies.clear();
        }
    }
}
