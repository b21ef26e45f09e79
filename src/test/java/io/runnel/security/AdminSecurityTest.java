package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** HTTP Basic passwords checked against SCRAM credentials, and the admin.ssl.* switch. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminSecurityTest {

    private static CredentialCache cache() throws Exception {
        CredentialCache cache = new CredentialCache();
        for (ScramMechanism m : ScramMechanism.values()) {
            cache.createCache(m.mechanismName(), ScramCredential.class);
        }
        cache.cache(ScramMechanism.SCRAM_SHA_256.mechanismName(), ScramCredential.class).put("alice",
                new ScramFormatter(ScramMechanism.SCRAM_SHA_256).generateCredential("alice-secret", 4096));
        cache.cache(ScramMechanism.SCRAM_SHA_512.mechanismName(), ScramCredential.class).put("bob",
                new ScramFormatter(ScramMechanism.SCRAM_SHA_512).generateCredential("bob-secret", 8192));
        return cache;
    }

    private static BrokerConfig config(Map<String, String> extra) {
        Map<String, String> p = new java.util.HashMap<>(Map.of("log.dirs", "/tmp/unused-admin-security-test"));
        p.putAll(extra);
        return new BrokerConfig(p);
    }

    @Test
    void passwordsAreCheckedAgainstEitherMechanism() throws Exception {
        AdminSecurity s = AdminSecurity.of(config(Map.of()), cache());
        assertThat(s.usesTls()).isFalse();
        assertThat(s.checkPassword("alice", "alice-secret")).isTrue();
        assertThat(s.checkPassword("bob", "bob-secret")).isTrue();
        assertThat(s.checkPassword("alice", "bob-secret")).isFalse();
        assertThat(s.checkPassword("alice", "")).isFalse();
        assertThat(s.checkPassword("carol", "alice-secret")).isFalse();
        // a verified password is remembered for the user's current credential only
        assertThat(s.verifiedRecently("alice", "alice-secret")).isTrue();
        assertThat(s.verifiedRecently("alice", "alice-secret2")).isFalse();
        assertThat(s.verifiedRecently("carol", "alice-secret")).isFalse();
        long t0 = System.nanoTime();
        AdminSecurity fresh = AdminSecurity.of(config(Map.of()), cache());
        int n = 20;
        for (int i = 0; i < n; i++) {
            fresh.checkPassword("alice", "alice-secret" + i); // wrong: never remembered, always PBKDF2
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            s.checkPassword("alice", "alice-secret");
        }
        System.out.printf("checkPassword SCRAM-SHA-256 4096 iterations: %.2f ms each; remembered: %.3f ms each%n",
                (t1 - t0) / 1e6 / n, (System.nanoTime() - t1) / 1e6 / n);
    }

    @Test
    void aChangedCredentialForgetsTheRememberedPassword() throws Exception {
        CredentialCache c = cache();
        AdminSecurity s = AdminSecurity.of(config(Map.of()), c);
        assertThat(s.checkPassword("alice", "alice-secret")).isTrue();
        c.cache(ScramMechanism.SCRAM_SHA_256.mechanismName(), ScramCredential.class).put("alice",
                new ScramFormatter(ScramMechanism.SCRAM_SHA_256).generateCredential("new-secret", 4096));
        assertThat(s.verifiedRecently("alice", "alice-secret")).isFalse();
        assertThat(s.checkPassword("alice", "alice-secret")).isFalse();
        assertThat(s.checkPassword("alice", "new-secret")).isTrue();
        c.cache(ScramMechanism.SCRAM_SHA_256.mechanismName(), ScramCredential.class).remove("alice");
        assertThat(s.checkPassword("alice", "new-secret")).isFalse();
    }

    @Test
    void aBadAdminKeystoreNamesTheKey() {
        assertThatThrownBy(() -> AdminSecurity.of(config(Map.of("admin.ssl.keystore.location", "/nonexistent.p12",
                "admin.ssl.keystore.password", "x")), new CredentialCache()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("ssl.keystore.location");
    }
}
