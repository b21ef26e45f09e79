package io.runnel.bridge;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * What a subscriber asked for, validated; and the subscription id, which carries it.
 *
 * <p>The id is self-describing: {@code s1.} followed by the request as compact JSON in unpadded base64url.
 * Whichever broker coordinates the group when a heartbeat (or commit) arrives can therefore take the
 * subscription over without having seen the subscribe request, as happens when the broker that served it
 * dies or stops coordinating the group. {@code instanceId} is the group.instance.id (static membership,
 * KIP-345) under which every incarnation of the subscription joins, so the member keeps its partitions
 * across such a takeover instead of causing a rebalance.
 *
 * @param encoding {@code binary} (body the value, metadata in headers), {@code base64}, {@code text} or
 *                 {@code json} (body a JSON record object, keys and values in that encoding)
 * @param batch    most records of one partition in one delivery (above 1: a JsonArray of record objects)
 * @param ordered  true: one delivery of a partition unanswered at a time; false: up to {@code credits}
 */
record SubscriptionRequest(String group, List<String> topics, String address, int credits, int sessionTimeoutMs,
                           long ackTimeoutMs, boolean earliest, String nodeId, String clientId, String encoding,
                           int batch, boolean ordered, String instanceId) {

    static final String ID_PREFIX = "s1.";
    static final List<String> ENCODINGS = List.of("binary", "base64", "text", "json");
    static final int MAX_BATCH = 10_000;

    SubscriptionRequest {
        topics = List.copyOf(topics);
    }

    boolean binary() {
        return encoding.equals("binary");
    }

    /** Validates a subscribe request body; failures are INVALID_REQUEST naming the field. */
    static SubscriptionRequest parse(JsonObject body) {
        try {
            String group = body.getString("group");
            String address = body.getString("address");
            JsonArray topicList = body.getJsonArray("topics");
            if (group == null || group.isEmpty()) {
                throw BridgeException.invalid("'group' is required");
            }
            if (address == null || address.isEmpty()) {
                throw BridgeException.invalid("'address' (where records are delivered) is required");
            }
            if (topicList == null || topicList.isEmpty()) {
                throw BridgeException.invalid("'topics' must be a non-empty array of topic names");
            }
            List<String> names = new ArrayList<>();
            for (Object o : topicList) {
                if (!(o instanceof String s) || s.isEmpty()) {
                    throw BridgeException.invalid("'topics' must be a non-empty array of topic names");
                }
                names.add(s);
            }
            int credits = body.getInteger("credits", 100);
            if (credits < 1) {
                throw BridgeException.invalid("'credits' must be at least 1");
            }
            String reset = body.getString("autoOffsetReset", "latest");
            if (!reset.equals("earliest") && !reset.equals("latest")) {
                throw BridgeException.invalid("'autoOffsetReset' must be 'earliest' or 'latest'");
            }
            long ackTimeout = body.getLong("ackTimeoutMs", 30_000L);
            if (ackTimeout < 1) {
                throw BridgeException.invalid("'ackTimeoutMs' must be positive");
            }
            String encoding = body.getString("encoding", "binary");
            if (!ENCODINGS.contains(encoding)) {
                throw BridgeException.invalid("'encoding' must be one of " + ENCODINGS + ", got '" + encoding + "'");
            }
            int batch = body.getInteger("batch", 1);
            if (batch < 1 || batch > MAX_BATCH) {
                throw BridgeException.invalid("'batch' must be between 1 and " + MAX_BATCH);
            }
            if (batch > 1 && encoding.equals("binary")) {
                throw BridgeException.invalid("'batch' above 1 delivers a JSON array of records: it needs an "
                        + "'encoding' of 'base64', 'text' or 'json'");
            }
            return new SubscriptionRequest(group, names, address, credits, body.getInteger("sessionTimeoutMs", 10_000),
                    ackTimeout, reset.equals("earliest"), body.getString("nodeId"),
                    body.getString("clientId", "runnel-eventbus"), encoding, batch, body.getBoolean("ordered", true),
                    "runnel-bridge-" + UUID.randomUUID());
        } catch (ClassCastException e) {
            throw BridgeException.invalid("a field of the subscribe request has the wrong type: " + e.getMessage());
        }
    }

    /** The subscription id: this request, self-describing (see the class comment). */
    String toId() {
        JsonObject j = new JsonObject().put("g", group).put("t", new JsonArray(new ArrayList<Object>(topics)))
                .put("a", address).put("c", credits).put("s", sessionTimeoutMs).put("k", ackTimeoutMs)
                .put("e", earliest).put("n", nodeId).put("i", clientId).put("x", encoding).put("b", batch)
                .put("o", ordered).put("u", instanceId);
        return ID_PREFIX + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(j.encode().getBytes(StandardCharsets.UTF_8));
    }

    /** The request a subscription id carries, or null when {@code id} is not one. */
    static SubscriptionRequest fromId(String id) {
        if (id == null || !id.startsWith(ID_PREFIX)) {
            return null;
        }
        try {
            JsonObject j = new JsonObject(new String(Base64.getUrlDecoder().decode(id.substring(ID_PREFIX.length())),
                    StandardCharsets.UTF_8));
            List<String> topics = new ArrayList<>();
            j.getJsonArray("t").forEach(t -> topics.add((String) t));
            String encoding = j.getString("x");
            int batch = j.getInteger("b");
            if (j.getString("g") == null || j.getString("a") == null || j.getString("u") == null || topics.isEmpty()
                    || !ENCODINGS.contains(encoding) || batch < 1 || j.getInteger("c") < 1) {
                return null;
            }
            return new SubscriptionRequest(j.getString("g"), topics, j.getString("a"), j.getInteger("c"),
                    j.getInteger("s"), j.getLong("k"), j.getBoolean("e"), j.getString("n"), j.getString("i"),
                    encoding, batch, j.getBoolean("o"), j.getString("u"));
        } catch (RuntimeException e) {
            return null;
        }
    }
}
