package io.runnel.bridge;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import io.runnel.security.PasswordVerifier;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.protocol.Errors;

/**
 * Who may do what through the TCP and SockJS bridges: every frame that sends, publishes or registers carries
 * credentials in {@code headers.authorization}, {@code "Bearer <token>"} (one of {@code bridge.auth.token}) or
 * {@code "Basic base64(user:password)"} (a SCRAM or PLAIN user of this broker, {@link PasswordVerifier}); the
 * header is removed before the frame is forwarded, so no credential reaches the event bus.
 *
 * <p>Address rules beyond the permitted lists (which the servers apply): a client registers only delivery
 * addresses {@code <prefix>.client.<id>}, each held by one connection of this broker at a time; a subscribe
 * must name as its {@code address} one this connection registered; heartbeat, commit and unsubscribe must name
 * a subscription this connection made. So a client receives only what it subscribed to itself and cannot
 * touch another client's subscription.
 *
 * <p>A refused frame is answered with an error and forwarded nowhere; after {@code bridge.auth.max.failures}
 * refusals the connection is to be closed ({@link Refusal#close}).
 *
 * <p>Threading: one event-loop context (the {@link ExternalBridges} verticle's) calls everything here; password
 * checks run on a worker thread and their results come back on that context. Checks of one connection
 * complete in the order its frames arrived.
 */
final class BridgeGuard {

    /** Why a frame was refused: {@code error} is the err frame's short reason; {@code code} a Kafka error code. */
    record Refusal(String error, int code, String message, boolean close) {
    }

    static final long REGISTRATION_WAIT_MS = 10_000;

    private final Vertx vertx;
    private final ExternalBridgeSettings settings;
    private final PasswordVerifier passwords;
    private final String subscribe;
    /** Delivery address -> the session holding it on this broker. */
    private final Map<String, Session> holders = new HashMap<>();

    BridgeGuard(Vertx vertx, ExternalBridgeSettings settings, PasswordVerifier passwords) {
        this.vertx = vertx;
        this.settings = settings;
        this.passwords = passwords;
        this.subscribe = BridgeAddresses.address(settings.prefix(), BridgeAddresses.SUBSCRIBE);
    }

    /** The state of one TCP or SockJS connection. */
    final class Session {
        private String accepted;
        private int failures;
        private boolean closed;
        private final Set<String> addresses = new HashSet<>();
        private final Set<String> subscriptions = new HashSet<>();
        /** Registrations admitted here, completed once the consumer is registered across the cluster. */
        private final Map<String, io.vertx.core.Promise<Void>> registered = new HashMap<>();
        private Future<?> tail = Future.succeededFuture();

        /** Releases what the connection held. */
        void close() {
            closed = true;
            for (String a : addresses) {
                holders.remove(a, this);
            }
            addresses.clear();
        }

        boolean closed() {
            return closed;
        }

        /** Records the subscription a subscribe request of this connection was answered with. */
        void learnSubscription(Object replyBody) {
            if (replyBody instanceof JsonObject j && j.getValue("subscriptionId") instanceof String id) {
                subscriptions.add(id);
            }
        }

        void unregistered(String address) {
            registered.remove(address);
            if (addresses.remove(address)) {
                holders.remove(address, this);
            }
        }

        /**
         * The consumer of {@code address} is registered across the cluster: a subscribe naming it may go
         * ahead (a delivery before that would find no handler and drop the subscriber from its group).
         */
        void registrationDone(String address) {
            registered.computeIfAbsent(address, a -> io.vertx.core.Promise.promise()).tryComplete();
        }

        private Future<Void> whenRegistered(String address) {
            io.vertx.core.Promise<Void> p = registered.computeIfAbsent(address, a -> io.vertx.core.Promise.promise());
            if (p.future().isComplete()) {
                return p.future();
            }
            // a registration that never completes must not hold the connection's frames forever
            long timer = vertx.setTimer(REGISTRATION_WAIT_MS, id -> p.tryComplete());
            return p.future().andThen(ar -> vertx.cancelTimer(timer));
        }
    }

    Session newSession() {
        return new Session();
    }

    /**
     * Checks one frame ({@code type} send, publish, register or unregister) and removes its credentials.
     * Completes (in frame order per session) with null when admitted, else with the refusal; a refusal
     * counts towards the session's closing.
     */
    Future<Refusal> check(Session s, String type, JsonObject frame) {
        Future<Refusal> result = s.tail.transform(ignored -> checkNow(s, type, frame));
        s.tail = result;
        return result;
    }

    private Future<Refusal> checkNow(Session s, String type, JsonObject frame) {
        if (s.closed) {
            return Future.succeededFuture(new Refusal("closed", Errors.NETWORK_EXCEPTION.code(), "connection closed",
                    true));
        }
        String address = frame.getString("address");
        if ("unregister".equals(type)) {
            // only ever removes this connection's own registration: no credentials needed
            s.unregistered(address);
            stripCredentials(frame);
            return Future.succeededFuture(null);
        }
        Object auth = frame.getValue("headers") instanceof JsonObject h ? h.getValue("authorization") : null;
        String authorization = auth instanceof String a ? a : null;
        stripCredentials(frame);
        return authenticate(s, authorization).map(ok -> {
            if (!ok) {
                return refuse(s, "authentication_failed", Errors.SASL_AUTHENTICATION_FAILED.code(),
                        authorization == null ? "headers.authorization is required (\"Bearer <token>\" or"
                                + " \"Basic base64(user:password)\")" : "invalid credentials");
            }
            s.accepted = authorization;
            return addressRules(s, type, address, frame);
        }).compose(refusal -> {
            if (refusal == null && "send".equals(type) && subscribe.equals(address)
                    && frame.getValue("body") instanceof JsonObject body) {
                return s.whenRegistered(body.getString("address")).map((Refusal) null);
            }
            return Future.succeededFuture(refusal);
        });
    }

    private Refusal addressRules(Session s, String type, String address, JsonObject frame) {
        switch (type) {
            case "register" -> {
                if (!settings.isClientAddress(address)) {
                    return refuse(s, "access_denied", Errors.INVALID_REQUEST.code(), "a bridge client may register"
                            + " only its own delivery addresses " + settings.prefix() + ".client.<id> (id: 8 to 64"
                            + " letters, digits, '-' or '_'), not '" + address + "'");
                }
                Session holder = holders.get(address);
                if (holder != null && holder != s) {
                    return refuse(s, "address_already_registered", Errors.INVALID_REQUEST.code(),
                            "'" + address + "' is registered by another connection; pick a new random id");
                }
                holders.put(address, s);
                s.addresses.add(address);
                return null;
            }
            case "send" -> {
                if (!subscribe.equals(address) && !settings.isPermittedInbound(address)) {
                    return null; // a reply, or an address the server refuses on its own (permitted lists)
                }
                Object body = frame.getValue("body");
                if (subscribe.equals(address)) {
                    String delivery = body instanceof JsonObject j && j.getValue("address") instanceof String a ? a : null;
                    if (delivery == null || !s.addresses.contains(delivery)) {
                        return refuse(s, "access_denied", Errors.INVALID_REQUEST.code(), "a subscribe through the"
                                + " bridge needs 'address' = a delivery address this connection registered first ("
                                + settings.prefix() + ".client.<id>)");
                    }
                    Object encoding = ((JsonObject) body).getValue("encoding");
                    if (!(encoding instanceof String e) || e.equalsIgnoreCase("binary")) {
                        return refuse(s, "invalid_request", Errors.INVALID_REQUEST.code(), "a subscribe through the"
                                + " bridge needs \"encoding\": \"json\", \"text\" or \"base64\": binary bodies"
                                + " cannot travel in JSON frames");
                    }
                    return null;
                }
                boolean bySubscription = address.equals(BridgeAddresses.address(settings.prefix(), BridgeAddresses.HEARTBEAT))
                        || address.equals(BridgeAddresses.address(settings.prefix(), BridgeAddresses.COMMIT))
                        || address.equals(BridgeAddresses.address(settings.prefix(), BridgeAddresses.UNSUBSCRIBE));
                if (bySubscription) {
                    String id = body instanceof JsonObject j && j.getValue("subscriptionId") instanceof String x ? x : null;
                    if (id == null || !s.subscriptions.contains(id)) {
                        return refuse(s, "access_denied", Errors.UNKNOWN_MEMBER_ID.code(), "'subscriptionId' must"
                                + " name a subscription this connection made");
                    }
                }
                return null;
            }
            case "publish" -> {
                return refuse(s, "access_denied", Errors.INVALID_REQUEST.code(), "publish is not served through the"
                        + " bridge: the bridge addresses answer requests (type send with a replyAddress)");
            }
            default -> {
                return null;
            }
        }
    }

    /** Counts a refusal caused by this frame: close once the session has had bridge.auth.max.failures. */
    Refusal refuse(Session s, String error, int code, String message) {
        s.failures++;
        return new Refusal(error, code, message, s.failures >= settings.maxFailures());
    }

    private Future<Boolean> authenticate(Session s, String authorization) {
        if (authorization == null) {
            return Future.succeededFuture(false);
        }
        if (authorization.equals(s.accepted)) {
            return Future.succeededFuture(true);
        }
        if (authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            byte[] given = authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8);
            boolean ok = false;
            for (byte[] t : settings.tokens()) {
                ok |= MessageDigest.isEqual(t, given);
            }
            return Future.succeededFuture(ok);
        }
        if (authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                return Future.succeededFuture(false);
            }
            int colon = decoded.indexOf(':');
            if (colon <= 0) {
                return Future.succeededFuture(false);
            }
            String user = decoded.substring(0, colon);
            String password = decoded.substring(colon + 1);
            // SCRAM's key derivation takes milliseconds: never on the event loop
            return vertx.executeBlocking(() -> passwords.verify(user, password), false);
        }
        return Future.succeededFuture(false);
    }

    private static void stripCredentials(JsonObject frame) {
        if (frame.getValue("headers") instanceof JsonObject headers) {
            headers.remove("authorization");
        }
    }
}
