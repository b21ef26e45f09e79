package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.security.sasl.SaslClient;

import io.runnel.config.BrokerConfig;
import io.vertx.core.net.NetClientOptions;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.authenticator.CredentialCache;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client side of the inter-broker listener: which settings it reads as Kafka reads them, which it refuses at
 * start-up naming the key, and that its SASL clients log in to the server side of the same listener.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InterBrokerSecurityTest {

    private static final String SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\"broker\" password=\"broker-secret\";";
    private static final String PLAIN_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"broker\" password=\"broker-secret\" user_broker=\"broker-secret\";";

    @TempDir
    java.nio.file.Path dir;

    private static BrokerConfig config(Map<String, String> extra) {
        Map<String, String> p = new HashMap<>();
        p.put("listeners", "SASL_PLAINTEXT://127.0.0.1:0");
        p.put("inter.broker.listener.name", "SASL_PLAINTEXT");
        p.putAll(extra);
        return new BrokerConfig(p);
    }

    @Test
    void plaintextNeedsNeitherTlsNorLogin() throws Exception {
        InterBrokerSecurity s = InterBrokerSecurity.of(new BrokerConfig(Map.of()));
        assertThat(s.usesTls()).isFalse();
        assertThat(s.newSaslClient("localhost")).isNull();
        assertThat(s.applyTo(new NetClientOptions()).isSsl()).isFalse();
    }

    @Test
    void kafkasDefaultGssapiAndMissingCredentialsStopStartUpNamingTheKey() {
        assertThatThrownBy(() -> InterBrokerSecurity.of(config(Map.of("sasl.enabled.mechanisms", "PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config", PLAIN_JAAS))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("sasl.mechanism.inter.broker.protocol")
                .hasMessageContaining("GSSAPI");
        assertThatThrownBy(() -> InterBrokerSecurity.of(config(Map.of("sasl.enabled.mechanisms", "PLAIN",
                "sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512"))))
                .isInstanceOf(ConfigException.class).hasMessageContaining("sasl.mechanism.inter.broker.protocol")
                .hasMessageContaining("enables");
        assertThatThrownBy(() -> InterBrokerSecurity.of(config(Map.of("sasl.enabled.mechanisms", "SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512",
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\";"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config")
                .hasMessageContaining("password");
    }

    @Test
    void scramAndPlainClientsLogInToTheSameListenersServerSide() throws Exception {
        BrokerConfig scramConfig = config(Map.of("sasl.enabled.mechanisms", "SCRAM-SHA-512,PLAIN",
                "sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512",
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config", SCRAM_JAAS,
                "listener.name.sasl_plaintext.plain.sasl.jaas.config", PLAIN_JAAS));
        CredentialCache cache = new CredentialCache();
        cache.createCache("SCRAM-SHA-512", ScramCredential.class).put("broker",
                new ScramFormatter(ScramMechanism.SCRAM_SHA_512).generateCredential("broker-secret", 4096));
        ListenerSecurity server = ListenerSecurity.of(scramConfig, scramConfig.interBrokerListener(), cache);

        InterBrokerSecurity scram = InterBrokerSecurity.of(scramConfig);
        assertThat(scram.username()).isEqualTo("broker");
        assertThat(login(server, scram.newSaslClient("localhost"), "SCRAM-SHA-512")).isEqualTo(Errors.NONE);

        InterBrokerSecurity plain = InterBrokerSecurity.of(scramConfig, scramConfig.interBrokerListener(), "PLAIN");
        assertThat(login(server, plain.newSaslClient("localhost"), "PLAIN")).isEqualTo(Errors.NONE);

        cache.cache("SCRAM-SHA-512", ScramCredential.class).put("broker",
                new ScramFormatter(ScramMechanism.SCRAM_SHA_512).generateCredential("another", 4096));
        assertThat(login(server, scram.newSaslClient("localhost"), "SCRAM-SHA-512"))
                .as("a password the server does not hold").isEqualTo(Errors.SASL_AUTHENTICATION_FAILED);
    }

    @Test
    void tlsUsesTheListenersStoresAndChecksTheHostNameAsKafkaDoes() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        Map<String, String> p = new HashMap<>();
        p.put("listeners", "SSL://127.0.0.1:0");
        p.put("inter.broker.listener.name", "SSL");
        p.put("listener.name.ssl.ssl.keystore.location", certs.serverKeystore().toString());
        p.put("listener.name.ssl.ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        p.put("listener.name.ssl.ssl.truststore.location", certs.truststore().toString());
        p.put("listener.name.ssl.ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        InterBrokerSecurity s = InterBrokerSecurity.of(new BrokerConfig(p));
        assertThat(s.usesTls()).isTrue();
        assertThat(s.verifiesHostname()).as("ssl.endpoint.identification.algorithm defaults to https").isTrue();
        NetClientOptions options = s.applyTo(new NetClientOptions());
        assertThat(options.isSsl()).isTrue();
        assertThat(options.getHostnameVerificationAlgorithm()).isEqualTo("HTTPS");
        assertThat(options.getKeyCertOptions()).as("the broker's own certificate, for mutual TLS").isNotNull();
        assertThat(options.getTrustOptions()).isNotNull();

        p.put("listener.name.ssl.ssl.endpoint.identification.algorithm", "");
        assertThat(InterBrokerSecurity.of(new BrokerConfig(p)).verifiesHostname()).isFalse();
        p.put("listener.name.ssl.ssl.truststore.password", "wrong");
        assertThatThrownBy(() -> InterBrokerSecurity.of(new BrokerConfig(p))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("ssl.truststore");
    }

    /** Runs {@code client} against a new connection of {@code server}: the last answer's error. */
    private static Errors login(ListenerSecurity server, SaslClient client, String mechanism) throws Exception {
        Authentication auth = server.newConnection(null, InetAddress.getLoopbackAddress());
        assertThat(auth.handshake((short) 1, mechanism).errorCode()).isEqualTo(Errors.NONE.code());
        byte[] token = client.evaluateChallenge(new byte[0]);
        while (true) {
            SaslAuthenticateResponseData answer = auth.authenticate((short) 2, token);
            if (answer.errorCode() != Errors.NONE.code()) {
                return Errors.forCode(answer.errorCode());
            }
            if (auth.authenticated()) {
                if (!client.isComplete()) {
                    assertThat(client.evaluateChallenge(answer.authBytes())).isNull();
                }
                assertThat(client.isComplete()).isTrue();
                assertThat(auth.principal().getName()).isEqualTo("broker");
                return Errors.NONE;
            }
            token = client.evaluateChallenge(answer.authBytes());
        }
    }
}
