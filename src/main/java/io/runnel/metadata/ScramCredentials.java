package io.runnel.metadata;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * The SCRAM credentials of the cluster's users, as the metadata log holds them (Kafka's UserScramCredentialRecord
 * and RemoveUserScramCredentialRecord): per user and mechanism the salt, stored key, server key and iteration
 * count, never a password. Every broker applies the same records, so a user created through any broker logs in on
 * every broker: the credentials are published into a kafka-clients {@link CredentialCache}, one cache per
 * mechanism, which the SCRAM SASL servers of the listeners read ({@code ScramServerCallbackHandler}).
 *
 * <p>Record ({@value #ALTER}): {@code {"type":"AlterScramCredentials","alterations":[{"user":..,"mechanism":
 * "SCRAM-SHA-256","delete":true} | {"user":..,"mechanism":..,"salt":b64,"storedKey":b64,"serverKey":b64,
 * "iterations":n}]}}, one per AlterUserScramCredentials request, the request's checks done by its proposer. At
 * apply time a user's alterations all take effect or none does: deleting a credential the user does not have fails
 * that user (RESOURCE_NOT_FOUND), the others still apply. The reply holds each failed user's error.
 * Snapshot: {@code {"user":{"SCRAM-SHA-256":{"salt":..,"storedKey":..,"serverKey":..,"iterations":n}}}}.
 *
 * <p>Threading: changed on the state machine's apply thread only; read from any thread (immutable credentials
 * in concurrent maps; kafka-clients' caches are concurrent maps too).
 */
public final class ScramCredentials {

    static final String ALTER = "AlterScramCredentials";

    /** One alteration of a record: an upsertion (with its credential) or a deletion (credential null). */
    public record Alteration(String user, ScramMechanism mechanism, ScramCredential credential) {
    }

    private final Map<String, Map<ScramMechanism, ScramCredential>> users = new ConcurrentHashMap<>();
    private final CredentialCache cache = new CredentialCache();

    ScramCredentials() {
        for (ScramMechanism m : ScramMechanism.values()) {
            cache.createCache(m.mechanismName(), ScramCredential.class);
        }
    }

    /** The cache the SASL servers look credentials up in; kept in step with every record applied. */
    public CredentialCache cache() {
        return cache;
    }

    /** A user's credentials by mechanism (empty for a user without any). */
    public Map<ScramMechanism, ScramCredential> user(String name) {
        return users.getOrDefault(name, Map.of());
    }

    /** Every user that has a credential, sorted by name. */
    public List<String> userNames() {
        return new ArrayList<>(new TreeMap<>(users).keySet());
    }

    /** The record of one AlterUserScramCredentials request's valid alterations. */
    public static JsonObject record(List<Alteration> alterations) {
        JsonArray a = new JsonArray();
        for (Alteration alt : alterations) {
            JsonObject o = new JsonObject().put("user", alt.user()).put("mechanism", alt.mechanism().mechanismName());
            if (alt.credential() == null) {
                o.put("delete", true);
            } else {
                credentialJson(o, alt.credential());
            }
            a.add(o);
        }
        return new JsonObject().put("type", ALTER).put("alterations", a);
    }

    /** Applies a record; the reply maps each user whose alterations were refused to {"error":code,"message":..}. */
    JsonObject apply(JsonObject record) {
        Map<String, List<JsonObject>> byUser = new LinkedHashMap<>();
        record.getJsonArray("alterations", new JsonArray())
                .forEach(o -> byUser.computeIfAbsent(((JsonObject) o).getString("user"), u -> new ArrayList<>())
                        .add((JsonObject) o));
        JsonObject failed = new JsonObject();
        byUser.forEach((user, alterations) -> {
            Map<ScramMechanism, ScramCredential> next = new java.util.EnumMap<>(ScramMechanism.class);
            next.putAll(user(user));
            for (JsonObject a : alterations) {
                ScramMechanism m = ScramMechanism.forMechanismName(a.getString("mechanism"));
                if (m == null) {
                    failed.put(user, error(Errors.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"));
                    return;
                }
                if (a.getBoolean("delete", false)) {
                    if (next.remove(m) == null) {
                        failed.put(user, error(Errors.RESOURCE_NOT_FOUND,
                                "Attempt to delete a user credential that does not exist"));
                        return;
                    }
                } else {
                    next.put(m, credentialFromJson(a));
                }
            }
            put(user, next);
        });
        return new JsonObject().put("failed", failed);
    }

    private void put(String user, Map<ScramMechanism, ScramCredential> credentials) {
        for (ScramMechanism m : ScramMechanism.values()) {
            CredentialCache.Cache<ScramCredential> c = cache.cache(m.mechanismName(), ScramCredential.class);
            ScramCredential credential = credentials.get(m);
            if (credential == null) {
                c.remove(user);
            } else {
                c.put(user, credential);
            }
        }
        if (credentials.isEmpty()) {
            users.remove(user);
        } else {
            users.put(user, Map.copyOf(credentials));
        }
    }

    private static JsonObject error(Errors error, String message) {
        return new JsonObject().put("error", (int) error.code()).put("message", message);
    }

    // ---- snapshots

    JsonObject toJson() {
        JsonObject j = new JsonObject();
        new TreeMap<>(users).forEach((user, credentials) -> {
            JsonObject byMechanism = new JsonObject();
            credentials.forEach((m, c) -> byMechanism.put(m.mechanismName(), credentialJson(new JsonObject(), c)));
            j.put(user, byMechanism);
        });
        return j;
    }

    void load(JsonObject j) {
        for (String user : List.copyOf(users.keySet())) {
            put(user, Map.of());
        }
        if (j == null) {
            return;
        }
        j.forEach(e -> {
            Map<ScramMechanism, ScramCredential> credentials = new java.util.EnumMap<>(ScramMechanism.class);
            ((JsonObject) e.getValue()).forEach(c -> {
                ScramMechanism m = ScramMechanism.forMechanismName(c.getKey());
                if (m != null) {
                    credentials.put(m, credentialFromJson((JsonObject) c.getValue()));
                }
            });
            put(e.getKey(), credentials);
        });
    }

    private static JsonObject credentialJson(JsonObject o, ScramCredential c) {
        Base64.Encoder b64 = Base64.getEncoder();
        return o.put("salt", b64.encodeToString(c.salt())).put("storedKey", b64.encodeToString(c.storedKey()))
                .put("serverKey", b64.encodeToString(c.serverKey())).put("iterations", c.iterations());
    }

    private static ScramCredential credentialFromJson(JsonObject o) {
        Base64.Decoder b64 = Base64.getDecoder();
        return new ScramCredential(b64.decode(o.getString("salt")), b64.decode(o.getString("storedKey")),
                b64.decode(o.getString("serverKey")), o.getInteger("iterations"));
    }
}
