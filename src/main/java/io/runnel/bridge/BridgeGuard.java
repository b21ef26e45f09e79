package io.runnel.bridge;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import io.runnel.security.AclAuthorizer;
import io.runnel.security.PasswordVerifier;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;

/**
 * Who may do what through the TCP and SockJS bridges: every frame that sends, publishes or registers carries
 * credentials in {@code headers.authorization}, {@code "Bearer <token>"} (one of {@code bridge.auth.token}) or
 * {@code "Basic base64(user:password)"} (a SCRAM or PLAIN user of this broker, {@link PasswordVerifier}); the
 * header is removed before the frame is forwarded, so no credential reaches the event bus. Basic passwords are
 * taken only over TLS ({@code bridge.ssl.*}) or from a loopback peer. With an authorizer configured, a Basic user
 * is {@code User:<name>} under the cluster's ACLs ({@link #acls}, {@link #filterMetadata}); a bearer token is an
 * operator's key, with full access.
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
    /** null: no authorizer configured, every authenticated client may do everything. */
    private final AclAuthorizer authorizer;
    private final java.util.function.Predicate<String> topicExists;
    private final String subscribe;
    private final String produce;
    private final String metadata;
    /** Delivery address -> the session holding it on this broker. */
    private final Map<String, Session> holders = new HashMap<>();

    BridgeGuard(Vertx vertx, ExternalBridgeSettings settings, PasswordVerifier passwords) {
        this(vertx, settings, passwords, null, t -> true);
    }

    /**
     * @param authorizer  the broker's ACLs ({@code authorizer.class.name}), applied to Basic users; null for none
     * @param topicExists whether a topic exists (a produce to one that does not needs CREATE, as auto-creation does)
     */
    BridgeGuard(Vertx vertx, ExternalBridgeSettings settings, PasswordVerifier passwords, AclAuthorizer authorizer,
                java.util.function.Predicate<String> topicExists) {
        this.vertx = vertx;
        this.settings = settings;
        this.passwords = passwords;
        this.authorizer = authorizer;
        this.topicExists = topicExists;
        this.subscribe = BridgeAddresses.address(settings.prefix(), BridgeAddresses.SUBSCRIBE);
        this.produce = BridgeAddresses.address(settings.prefix(), BridgeAddresses.PRODUCE);
        this.metadata = BridgeAddresses.address(settings.prefix(), BridgeAddresses.METADATA);
    }

    /** The state of one TCP or SockJS connection. */
    final class Session {
        private final boolean tls;
        private final String host;
        private final boolean loopback;
        private String accepted;
        /** The Basic user of the accepted credentials; null for a bearer token (full access). */
        private KafkaPrincipal principal;
        private int failures;
        private boolean closed;
        private final Set<String> addresses = new HashSet<>();
        private final Set<String> subscriptions = new HashSet<>();
        /** Registrations admitted here, completed once the consumer is registered across the cluster. */
        private final Map<String, io.vertx.core.Promise<Void>> registered = new HashMap<>();
        private Future<?> tail = Future.succeededFuture();

        private Session(boolean tls, String host) {
            this.tls = tls;
            this.host = host == null ? "" : host;
            boolean lo;
            try {
                // a literal address (the peer's): no name lookup
                lo = host != null && java.net.InetAddress.getByName(host).isLoopbackAddress();
            } catch (java.net.UnknownHostException e) {
                lo = false;
            }
            this.loopback = lo;
        }

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

    /**
     * @param tls  whether the connection is TLS
     * @param host the peer's address (a literal IP): the host of ACLs, and loopback peers may send Basic
     *             credentials over plain TCP
     */
    Session newSession(boolean tls, String host) {
        return new Session(tls, host);
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
        if (authorization != null && !s.tls && !s.loopback && !authorization.equals(s.accepted)
                && authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Future.succeededFuture(refuse(s, "authentication_failed", Errors.SASL_AUTHENTICATION_FAILED.code(),
                    "Basic credentials are accepted only over TLS (bridge.ssl.*) or from loopback: a password"
                            + " must not cross the network in clear"));
        }
        return authenticate(s, authorization).map(ok -> {
            if (!ok) {
                return refuse(s, "authentication_failed", Errors.SASL_AUTHENTICATION_FAILED.code(),
                        authorization == null ? "headers.authorization is required (\"Bearer <token>\" or"
                                + " \"Basic base64(user:password)\")" : "invalid credentials");
            }
            if (!authorization.equals(s.accepted)) {
                s.accepted = authorization;
                s.principal = basicUser(authorization);
            }
            Refusal r = addressRules(s, type, address, frame);
            return r != null ? r : acls(s, type, address, frame);
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

    /**
     * Kafka's ACLs for a Basic user when an authorizer is configured, as a Kafka client's requests are checked:
     * produce needs WRITE on each topic (and CREATE on the cluster or the topic for one that does not exist yet, as
     * auto-creation does); subscribe needs READ on the group and on each topic (JoinGroup, OffsetCommit, Fetch). A
     * refusal answers TOPIC_AUTHORIZATION_FAILED or GROUP_AUTHORIZATION_FAILED and does not count towards closing
     * (the client is who it says it is). Bearer tokens are operators' keys: full access.
     */
    private Refusal acls(Session s, String type, String address, JsonObject frame) {
        if (authorizer == null || s.principal == null || !"send".equals(type)) {
            return null;
        }
        if (produce.equals(address)) {
            for (String topic : produceTopics(frame)) {
                if (!authorizer.authorize(s.principal, s.host, AclOperation.WRITE, ResourceType.TOPIC, topic)) {
                    return denied(Errors.TOPIC_AUTHORIZATION_FAILED, "not authorized to write to topic '" + topic + "'");
                }
                if (!topicExists.test(topic)
                        && !authorizer.authorize(s.principal, s.host, AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER)
                        && !authorizer.authorize(s.principal, s.host, AclOperation.CREATE, ResourceType.TOPIC, topic)) {
                    return denied(Errors.TOPIC_AUTHORIZATION_FAILED, "topic '" + topic + "' does not exist and "
                            + s.principal + " may not create it");
                }
            }
        } else if (subscribe.equals(address) && frame.getValue("body") instanceof JsonObject body) {
            if (body.getValue("group") instanceof String group
                    && !authorizer.authorize(s.principal, s.host, AclOperation.READ, ResourceType.GROUP, group)) {
                return denied(Errors.GROUP_AUTHORIZATION_FAILED, "not authorized to read group '" + group + "'");
            }
            if (body.getValue("topics") instanceof JsonArray topics) {
                for (Object t : topics) {
                    if (t instanceof String topic
                            && !authorizer.authorize(s.principal, s.host, AclOperation.READ, ResourceType.TOPIC, topic)) {
                        return denied(Errors.TOPIC_AUTHORIZATION_FAILED, "not authorized to read topic '" + topic + "'");
                    }
                }
            }
        }
        return null;
    }

    /** Kafka's cluster resource name. */
    static final String CLUSTER = "kafka-cluster";

    private static Refusal denied(Errors error, String message) {
        return new Refusal(error.name(), error.code(), message, false);
    }

    /** The topics a produce frame writes to: each record's "topic", else the frame's topic header. */
    private static Set<String> produceTopics(JsonObject frame) {
        String header = frame.getValue("headers") instanceof JsonObject h
                && h.getValue(BridgeAddresses.H_TOPIC) instanceof String t ? t : null;
        Set<String> topics = new java.util.LinkedHashSet<>();
        Object body = frame.getValue("body");
        java.util.List<Object> records = body instanceof JsonArray a ? a.getList()
                : body instanceof JsonObject ? java.util.List.of(body) : java.util.List.of();
        boolean usesHeader = records.isEmpty();
        for (Object o : records) {
            Object r = o instanceof java.util.Map<?, ?> m ? new JsonObject(castMap(m)) : o;
            if (r instanceof JsonObject j && j.getValue("topic") instanceof String t) {
                topics.add(t);
            } else {
                usesHeader = true;
            }
        }
        if (usesHeader && header != null) {
            topics.add(header);
        }
        return topics;
    }

    @SuppressWarnings("unchecked")
    private static java.util.Map<String, Object> castMap(java.util.Map<?, ?> m) {
        return (java.util.Map<String, Object>) m;
    }

    /**
     * The answer to a metadata request as this session's user may see it: topics it may not DESCRIBE are left out
     * (Kafka hides them from a listing of all topics) or, when the request named them, answered with
     * TOPIC_AUTHORIZATION_FAILED and nothing else. Modifies {@code reply} in place; unchanged for full access.
     */
    void filterMetadata(Session s, Object request, Object reply) {
        if (authorizer == null || s.principal == null || !(reply instanceof JsonObject r)
                || !(r.getValue("topics") instanceof JsonArray topics)) {
            return;
        }
        boolean named = request instanceof JsonObject q && q.getValue("topics") instanceof JsonArray n && !n.isEmpty();
        JsonArray out = new JsonArray();
        for (Object o : topics) {
            JsonObject t = o instanceof JsonObject j ? j : o instanceof java.util.Map<?, ?> m
                    ? new JsonObject(castMap(m)) : null;
            String name = t == null ? null : t.getString("name");
            if (name != null && authorizer.authorize(s.principal, s.host, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
                out.add(t);
            } else if (named && name != null) {
                out.add(new JsonObject().put("name", name).put("errorCode", Errors.TOPIC_AUTHORIZATION_FAILED.code())
                        .put("error", Errors.TOPIC_AUTHORIZATION_FAILED.name()));
            }
        }
        r.put("topics", out);
    }

    /** Whether {@code address} is the metadata address (whose answers {@link #filterMetadata} filters). */
    boolean isMetadata(String address) {
        return metadata.equals(address);
    }

    private static KafkaPrincipal basicUser(String authorization) {
        if (!authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
            return null;
        }
        String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
        return new KafkaPrincipal(KafkaPrincipal.USER_TYPE, decoded.substring(0, decoded.indexOf(':')));
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
