package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** User name + password checks for the TCP and SockJS bridges: SCRAM users, then PLAIN users of SASL listeners. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PasswordVerifierTest {

    @Test
    void scramAndPlainUsersAreCheckedAndNothingElsePasses() throws Exception {
        BrokerConfig config = new BrokerConfig(Map.of(
                "listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
                "sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\";"));
        CredentialCache scram = new CredentialCache();
        CredentialCache.Cache<ScramCredential> users = scram.createCache(ScramMechanism.SCRAM_SHA_512.mechanismName(),
                ScramCredential.class);
        users.put("bob", new ScramFormatter(ScramMechanism.SCRAM_SHA_512).generateCredential("bob-secret", 4096));
        List<ListenerSecurity> listeners = config.listeners().stream().map(l -> ListenerSecurity.of(config, l, scram))
                .toList();
        PasswordVerifier verifier = new PasswordVerifier(listeners, scram);

        assertThat(verifier.verify("alice", "alice-secret")).isTrue();
        assertThat(verifier.verify("alice", "alice-secreT")).isFalse();
        assertThat(verifier.verify("bob", "bob-secret")).isTrue();
        assertThat(verifier.verify("bob", "alice-secret")).isFalse();
        assertThat(verifier.verify("carol", "")).isFalse();
        assertThat(verifier.verify("", "alice-secret")).isFalse();
        assertThat(verifier.verify(null, null)).isFalse();
        // a user added later (the metadata log publishes into the same cache) is known at once
        users.put("dave", new ScramFormatter(ScramMechanism.SCRAM_SHA_512).generateCredential("dave-secret", 4096));
        assertThat(verifier.verify("dave", "dave-secret")).isTrue();
    }

    @Test
    void withoutSaslListenersOnlyScramUsersExist() throws Exception {
        BrokerConfig config = new BrokerConfig(Map.of());
        CredentialCache scram = new CredentialCache();
        scram.createCache(ScramMechanism.SCRAM_SHA_256.mechanismName(), ScramCredential.class).put("erin",
                new ScramFormatter(ScramMechanism.SCRAM_SHA_256).generateCredential("erin-secret", 4096));
        PasswordVerifier verifier = new PasswordVerifier(config.listeners().stream()
                .map(l -> ListenerSecurity.of(config, l, scram)).toList(), scram);
        assertThat(verifier.verify("erin", "erin-secret")).isTrue();
        assertThat(verifier.verify("alice", "alice-secret")).isFalse();
    }
}
