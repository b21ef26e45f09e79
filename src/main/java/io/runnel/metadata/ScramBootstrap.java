package io.runnel.metadata;

import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import io.runnel.config.BrokerConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * SCRAM users that exist before any client can log in, as {@code kafka-storage.sh format --add-scram} seeds them
 * into a KRaft cluster's bootstrap metadata: a cluster whose every listener requires SASL needs its brokers' own
 * user before replication can log in, and an administrator's before anyone can create more. Kafka writes them once,
 * when the storage is formatted; Runnel has no format step, so each broker proposes the credentials of
 * {@value BrokerConfig#BOOTSTRAP_SCRAM_USERS} that the metadata log does not hold yet (that user with that
 * mechanism) once it has caught up with the log. An existing credential is never replaced: changing a password
 * afterwards is {@code kafka-configs.sh --alter --add-config 'SCRAM-SHA-512=[password=...]'}; a user deleted
 * while still listed here comes back at the next start, so drop the setting once the cluster is up.
 *
 * <p>Syntax, as {@code --add-scram} takes it, entries separated by spaces:
 * {@code SCRAM-SHA-512=[name=broker,password=broker-secret] SCRAM-SHA-256=[name=alice,password="a b",iterations=8192]}.
 * The salt is random and the credential is salted, hashed and stored as AlterUserScramCredentials stores it.
 *
 * <p>Immutable. {@link #seed} runs the hashing on a worker thread (the caller's {@code executeBlocking}).
 */
public final class ScramBootstrap {

    /** One user to seed. */
    record Entry(String user, ScramMechanism mechanism, String password, int iterations) {
    }

    private final List<Entry> entries;

    private ScramBootstrap(List<Entry> entries) {
        this.entries = entries;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    List<Entry> entries() {
        return entries;
    }

    /** Parses the setting; a malformed entry throws a ConfigException naming the key. */
    public static ScramBootstrap parse(String value) {
        List<Entry> out = new ArrayList<>();
        String s = value == null ? "" : value.trim();
        int i = 0;
        while (i < s.length()) {
            if (Character.isWhitespace(s.charAt(i))) {
                i++;
                continue;
            }
            int eq = s.indexOf("=[", i);
            if (eq < 0) {
                throw bad(value, "expected MECHANISM=[name=...,password=...] at \"" + s.substring(i) + "\"");
            }
            String mechanismName = s.substring(i, eq).trim();
            ScramMechanism mechanism = ScramMechanism.forMechanismName(mechanismName);
            if (mechanism == null) {
                throw bad(value, "unknown SCRAM mechanism " + mechanismName + " (SCRAM-SHA-256 or SCRAM-SHA-512)");
            }
            int j = eq + 2;
            String name = null;
            String password = null;
            int iterations = mechanism.minIterations();
            while (true) {
                int keyEnd = s.indexOf('=', j);
                if (keyEnd < 0) {
                    throw bad(value, "unterminated entry for " + mechanismName);
                }
                String key = s.substring(j, keyEnd).trim();
                int k = keyEnd + 1;
                StringBuilder v = new StringBuilder();
                if (k < s.length() && s.charAt(k) == '"') {
                    k++;
                    while (k < s.length() && s.charAt(k) != '"') {
                        v.append(s.charAt(k++));
                    }
                    if (k >= s.length()) {
                        throw bad(value, "unterminated quote in the entry for " + mechanismName);
                    }
                    k++;
                } else {
                    while (k < s.length() && s.charAt(k) != ',' && s.charAt(k) != ']') {
                        v.append(s.charAt(k++));
                    }
                }
                switch (key) {
                    case "name" -> name = v.toString();
                    case "password" -> password = v.toString();
                    case "iterations" -> {
                        try {
                            iterations = Integer.parseInt(v.toString().trim());
                        } catch (NumberFormatException e) {
                            throw bad(value, "iterations must be a number");
                        }
                    }
                    default -> throw bad(value, "unknown key " + key + " (name, password, iterations)");
                }
                if (k >= s.length()) {
                    throw bad(value, "unterminated entry for " + mechanismName);
                }
                char c = s.charAt(k);
                j = k + 1;
                if (c == ']') {
                    break;
                }
                if (c != ',') {
                    throw bad(value, "expected , or ] after " + key);
                }
            }
            if (name == null || name.isEmpty() || password == null || password.isEmpty()) {
                throw bad(value, "each entry needs a name and a password");
            }
            if (iterations < mechanism.minIterations() || iterations > 16384) {
                throw bad(value, "iterations must be from " + mechanism.minIterations() + " to 16384");
            }
            out.add(new Entry(name, mechanism, password, iterations));
            i = j;
        }
        return new ScramBootstrap(List.copyOf(out));
    }

    private static ConfigException bad(String value, String why) {
        return new ConfigException(BrokerConfig.BOOTSTRAP_SCRAM_USERS, "[hidden]", why);
    }

    /**
     * Proposes, as one record, the credentials {@code credentials} does not hold yet; completes once applied (or at
     * once when there is nothing to add).
     *
     * @param hash    runs a blocking computation off the event loop (the salted password takes thousands of HMACs)
     * @param propose proposes a metadata record; completes once applied here
     */
    public Future<Void> seed(ScramCredentials credentials,
                             Function<java.util.concurrent.Callable<JsonObject>, Future<JsonObject>> hash,
                             Function<JsonObject, Future<JsonObject>> propose) {
        List<Entry> missing = entries.stream()
                .filter(e -> !credentials.user(e.user()).containsKey(e.mechanism())).toList();
        if (missing.isEmpty()) {
            return Future.succeededFuture();
        }
        return hash.apply(() -> {
            List<ScramCredentials.Alteration> alterations = new ArrayList<>();
            for (Entry e : missing) {
                alterations.add(new ScramCredentials.Alteration(e.user(), e.mechanism(), credential(e)));
            }
            return ScramCredentials.record(alterations);
        }).compose(propose).mapEmpty();
    }

    private static ScramCredential credential(Entry e) {
        try {
            return new ScramFormatter(e.mechanism()).generateCredential(e.password(), e.iterations());
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex); // SHA-256 and SHA-512 are in every Java runtime
        }
    }
}
