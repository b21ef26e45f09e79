package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** KIP-368 sessions of {@link Authentication}: lifetimes, re-authentication and its refusals. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReauthenticationTest {

    private static final String USERS = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " user_alice=\"alice-secret\" user_bob=\"bob-secret\";";
    private static final KafkaPrincipal ALICE = new KafkaPrincipal(KafkaPrincipal.USER_TYPE, "alice");

    @TempDir
    static Path dir;

    private static ListenerSecurity listener(Map<String, String> extra) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        p.put("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", USERS);
        p.putAll(extra);
        BrokerConfig c = new BrokerConfig(p);
        return ListenerSecurity.of(c, c.listeners().stream().filter(l -> l.name().equals("SASL_PLAINTEXT"))
                .findFirst().orElseThrow());
    }

    private static SaslAuthenticateResponseData login(Authentication auth, String user, short version) {
        assertThat(auth.handshake((short) 1, "PLAIN").errorCode()).isEqualTo(Errors.NONE.code());
        return auth.authenticate(version, ("\0" + user + "\0" + user + "-secret").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSessionLastsConnectionsMaxReauthMsAndIsRenewedByReauthenticating() {
        ListenerSecurity security = listener(Map.of("listener.name.sasl_plaintext.plain.connections.max.reauth.ms",
                "60000"));
        Authentication auth = security.newConnection(null, InetAddress.getLoopbackAddress());
        long start = System.nanoTime();
        assertThat(login(auth, "alice", (short) 2).sessionLifetimeMs()).isEqualTo(60_000);
        assertThat(auth.sessionExpired(start)).isFalse();
        assertThat(auth.sessionExpired(start + TimeUnit.SECONDS.toNanos(61))).isTrue();

        // a SaslHandshake on the completed connection begins a re-authentication; the session's principal stays
        assertThat(auth.mayReauthenticate(System.nanoTime())).isTrue();
        assertThat(auth.handshake((short) 1, "PLAIN").errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(auth.principal()).isEqualTo(ALICE);
        assertThat(auth.refusal(ApiKeys.PRODUCE)).contains("re-authentication");
        assertThat(auth.authenticate((short) 2, "\0alice\0alice-secret".getBytes(StandardCharsets.UTF_8))
                .sessionLifetimeMs()).isEqualTo(60_000);
        assertThat(auth.reauthentications()).isEqualTo(1);
        assertThat(auth.refusal(ApiKeys.PRODUCE)).isNull();
        // at most one re-authentication starts a second: a second handshake now is refused as after any login
        assertThat(auth.mayReauthenticate(System.nanoTime())).isFalse();
        assertThat(auth.handshake((short) 1, "PLAIN").errorCode()).isEqualTo(Errors.ILLEGAL_SASL_STATE.code());
        assertThat(auth.mayReauthenticate(System.nanoTime() + TimeUnit.SECONDS.toNanos(1))).isTrue();

        // SaslAuthenticate v0 has no session_lifetime_ms to tell; the session is limited all the same
        Authentication v0 = security.newConnection(null, InetAddress.getLoopbackAddress());
        assertThat(login(v0, "alice", (short) 0).sessionLifetimeMs()).isZero();
        assertThat(v0.sessionExpired(System.nanoTime() + TimeUnit.SECONDS.toNanos(61))).isTrue();
    }

    @Test
    void reauthenticatingAsAnotherPrincipalOrWithAnotherMechanismFails() {
        ListenerSecurity security = listener(Map.of("connections.max.reauth.ms", "60000"));
        Authentication other = security.newConnection(null, InetAddress.getLoopbackAddress());
        login(other, "alice", (short) 2);
        SaslAuthenticateResponseData refused = login(other, "bob", (short) 2);
        assertThat(refused.errorCode()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
        assertThat(refused.errorMessage()).contains("Cannot change principals during re-authentication");
        assertThat(other.closeAfterResponse()).isTrue();
        assertThat(other.principal()).isEqualTo(ALICE);

        Authentication mechanism = security.newConnection(null, InetAddress.getLoopbackAddress());
        login(mechanism, "alice", (short) 2);
        assertThat(mechanism.handshake((short) 1, "SCRAM-SHA-256").errorCode()).isEqualTo(Errors.NONE.code());
        SaslAuthenticateResponseData wrong = mechanism.authenticate((short) 2, "n,,n=alice,r=abc"
                .getBytes(StandardCharsets.UTF_8));
        assertThat(wrong.errorCode()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
        assertThat(wrong.errorMessage()).contains("not supported for re-authentication of mechanism 'PLAIN'");
        assertThat(mechanism.closeAfterResponse()).isTrue();
    }

    @Test
    void withoutALimitASessionNeverEndsAndCannotBeRenewed() {
        Authentication auth = listener(Map.of()).newConnection(null, InetAddress.getLoopbackAddress());
        assertThat(login(auth, "alice", (short) 2).sessionLifetimeMs()).isZero();
        assertThat(auth.sessionExpired(System.nanoTime() + TimeUnit.DAYS.toNanos(365))).isFalse();
        assertThat(auth.mayReauthenticate(System.nanoTime())).isFalse();
        assertThat(auth.handshake((short) 1, "PLAIN").errorCode()).isEqualTo(Errors.ILLEGAL_SASL_STATE.code());
    }

    @Test
    void aBadPerMechanismLimitStopsStartUpNamingTheKey() {
        String key = "listener.name.sasl_plaintext.plain.connections.max.reauth.ms";
        // parsed by kafka-clients' AbstractConfig, whose message names the key without the listener's prefix
        for (String bad : new String[] {"soon", "-5"}) {
            assertThatThrownBy(() -> listener(Map.of(key, bad))).isInstanceOf(ConfigException.class)
                    .hasMessageContaining("listener.name.sasl_plaintext.").hasMessageContaining("connections.max.reauth.ms")
                    .hasMessageContaining(bad);
        }
    }
}
