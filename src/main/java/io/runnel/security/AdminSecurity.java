package io.runnel.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import io.runnel.config.BrokerConfig;
import io.vertx.core.net.NetServerOptions;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * The admin HTTP listener's TLS and users. TLS is on when any {@code admin.ssl.*} setting is given: the stores are
 * Kafka's {@code ssl.*} settings under the prefix {@code admin.} (e.g. {@code admin.ssl.keystore.location}), which
 * override the plain {@code ssl.*} ones, loaded by kafka-clients' DefaultSslEngineFactory as for a TLS listener.
 * Over TLS, HTTP Basic users are checked against the SCRAM credentials of the metadata log, and bearer JWTs by the
 * validator of the first Kafka listener that enables OAUTHBEARER.
 *
 * <p>Built once at start-up, off the event loop: a bad value throws a ConfigException naming the key.
 * {@link #checkPassword} runs PBKDF2 (slow by design): call it off the event loop.
 */
public final class AdminSecurity {

    public static final String PREFIX = "admin.";

    /** How long a verified password is remembered (so that the console's requests do not each run PBKDF2). */
    static final long REMEMBER_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(5);
    private static final int REMEMBER_MAX = 1024;

    private final PrefixedTls tls;
    private final CredentialCache scram;
    private final SaslMechanisms jwts;
    // user -> the credential a password was verified against and a salted SHA-256 of that password: valid while
    // the user's credential is that very object (any change of it replaces the object) and not older than REMEMBER
    private final java.util.concurrent.ConcurrentHashMap<String, Verified> verified =
            new java.util.concurrent.ConcurrentHashMap<>();

    private record Verified(ScramCredential credential, byte[] digest, long atNanos) {
    }

    private AdminSecurity(PrefixedTls tls, CredentialCache scram, SaslMechanisms jwts) {
        this.tls = tls;
        this.scram = scram;
        this.jwts = jwts;
    }

    public static AdminSecurity of(BrokerConfig config, CredentialCache scram) {
        return of(config, scram, java.util.List.of());
    }

    /**
     * @param listeners the Kafka listeners: bearer JWTs are validated by the first one that enables OAUTHBEARER,
     *                  as that listener validates its tokens
     */
    public static AdminSecurity of(BrokerConfig config, CredentialCache scram, java.util.List<ListenerSecurity> listeners) {
        PrefixedTls tls = PrefixedTls.of(config, PREFIX, "admin");
        SaslMechanisms jwts = null;
        for (ListenerSecurity l : listeners) {
            if (l.sasl() != null && l.sasl().enabled().contains(SaslMechanisms.OAUTHBEARER)) {
                jwts = l.sasl();
                break;
            }
        }
        return new AdminSecurity(tls, scram, jwts);
    }

    /** Whether the admin listener serves HTTPS (and so takes HTTP Basic users). */
    public boolean usesTls() {
        return tls != null;
    }

    /** Whether bearer JWTs are taken (a Kafka listener enables OAUTHBEARER). */
    public boolean acceptsJwts() {
        return jwts != null;
    }

    /** The principal name of a JWT that OAUTHBEARER listener accepts, else null. Blocking (signature check). */
    public String validateJwt(String jwt) {
        return jwts == null ? null : jwts.validateBearer(jwt);
    }

    /** Turns TLS on in the admin server's options (nothing without admin.ssl.* settings). */
    public <T extends NetServerOptions> T applyTo(T options) {
        return tls == null ? options : tls.applyTo(options);
    }

    /**
     * Whether {@code password} is {@code user}'s, by any of its SCRAM credentials: the salted password is derived
     * with the stored salt and iterations and its stored and server keys compared in constant time. Blocking (PBKDF2).
     */
    public boolean checkPassword(String user, String password) {
        if (scram == null || password.isEmpty()) {
            return false; // (an empty HMAC key is refused by the JDK; SCRAM passwords are never empty)
        }
        if (verifiedRecently(user, password)) {
            return true;
        }
        for (ScramMechanism m : ScramMechanism.values()) {
            CredentialCache.Cache<ScramCredential> cache = scram.cache(m.mechanismName(), ScramCredential.class);
            ScramCredential credential = cache == null ? null : cache.get(user);
            if (credential == null) {
                continue;
            }
            try {
                ScramFormatter f = new ScramFormatter(m);
                byte[] salted = f.saltedPassword(password, credential.salt(), credential.iterations());
                boolean stored = MessageDigest.isEqual(f.storedKey(f.clientKey(salted)), credential.storedKey());
                boolean server = MessageDigest.isEqual(f.serverKey(salted), credential.serverKey());
                if (stored & server) {
                    if (verified.size() >= REMEMBER_MAX) {
                        verified.clear();
                    }
                    verified.put(user, new Verified(credential, digest(credential, password), System.nanoTime()));
                }
                return stored & server;
            } catch (java.security.GeneralSecurityException e) {
                return false;
            }
        }
        verified.remove(user);
        // unknown user: as much work as a known one, so that timing does not tell users apart
        try {
            new ScramFormatter(ScramMechanism.SCRAM_SHA_256).saltedPassword(password,
                    "runnel-no-such-user".getBytes(StandardCharsets.UTF_8), 4096);
        } catch (java.security.GeneralSecurityException ignored) {
            // nothing to compare anyway
        }
        return false;
    }

    /**
     * Whether {@code password} was verified for {@code user}'s current credential in the last five minutes: a SHA-256
     * (microseconds), so a caller may try it on an event loop before {@link #checkPassword}.
     */
    public boolean verifiedRecently(String user, String password) {
        Verified v = verified.get(user);
        if (v == null || System.nanoTime() - v.atNanos() > REMEMBER_NANOS || scram == null) {
            return false;
        }
        for (ScramMechanism m : ScramMechanism.values()) {
            CredentialCache.Cache<ScramCredential> cache = scram.cache(m.mechanismName(), ScramCredential.class);
            if (cache != null && cache.get(user) == v.credential()) {
                return MessageDigest.isEqual(digest(v.credential(), password), v.digest());
            }
        }
        return false;
    }

    private static byte[] digest(ScramCredential credential, String password) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(credential.salt());
            return sha.digest(password.getBytes(StandardCharsets.UTF_8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
