package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.message.SaslAuthenticateResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** How an OAUTHBEARER listener is configured, and what a bad setting says (signed tokens: OAuthBearerIT). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OAuthBearerConfigTest {

    private static final String HANDLER_KEY = "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class";
    private static final String VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler";

    @TempDir
    static Path dir;

    private static ListenerSecurity listener(Map<String, String> extra) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        p.put("sasl.enabled.mechanisms", "OAUTHBEARER");
        p.putAll(extra);
        BrokerConfig c = new BrokerConfig(p);
        return ListenerSecurity.of(c, c.listeners().stream().filter(l -> l.name().equals("SASL_PLAINTEXT"))
                .findFirst().orElseThrow());
    }

    @Test
    void withoutAValidatorClassUnsignedTokensAreKafkasDevelopmentDefault() throws Exception {
        try (ListenerSecurity security = listener(Map.of())) {
            Authentication auth = security.newConnection(null, InetAddress.getLoopbackAddress());
            assertThat(auth.handshake((short) 1, "OAUTHBEARER").errorCode()).isEqualTo(Errors.NONE.code());
            long now = System.currentTimeMillis() / 1000;
            Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
            String unsigned = b64.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                    + b64.encodeToString(("{\"sub\":\"dev\",\"iat\":" + now + ",\"exp\":" + (now + 60) + "}")
                    .getBytes(StandardCharsets.UTF_8)) + ".";
            SaslAuthenticateResponseData ok = auth.authenticate((short) 2,
                    ("n,,\u0001auth=Bearer " + unsigned + "\u0001\u0001").getBytes(StandardCharsets.UTF_8));
            assertThat(ok.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(auth.principal()).isEqualTo(new KafkaPrincipal(KafkaPrincipal.USER_TYPE, "dev"));
            assertThat(ok.sessionLifetimeMs()).as("capped by the token's exp").isBetween(1L, 60_000L);
        }
    }

    @Test
    void badOAuthSettingsStopStartUpNamingTheKey() {
        assertThatThrownBy(() -> listener(Map.of(HANDLER_KEY, "com.example.NoSuchHandler")))
                .isInstanceOf(ConfigException.class).hasMessageContaining(HANDLER_KEY);
        // the signed-JWT validator needs to know where the keys are
        assertThatThrownBy(() -> listener(Map.of(HANDLER_KEY, VALIDATOR)))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid value null for configuration sasl.oauthbearer.jwks.endpoint.url");
        // Kafka 4.4's validator insists on an expected issuer and audience (or allow.unverified.* set to true)
        assertThatThrownBy(() -> listener(Map.of(HANDLER_KEY, VALIDATOR, "sasl.oauthbearer.expected.audience", "kafka",
                "sasl.oauthbearer.jwks.endpoint.url", "http://127.0.0.1:1/jwks")))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("Invalid value null for configuration sasl.oauthbearer.expected.issuer");
        // Kafka 4 fetches only from URLs the JVM's org.apache.kafka.sasl.oauthbearer.allowed.urls lists
        assertThatThrownBy(() -> listener(Map.of(HANDLER_KEY, VALIDATOR, "sasl.oauthbearer.expected.audience", "kafka",
                "sasl.oauthbearer.expected.issuer", "https://idp.example.com",
                "sasl.oauthbearer.jwks.endpoint.url", "http://127.0.0.1:1/jwks")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("sasl.oauthbearer.jwks.endpoint.url")
                .hasMessageContaining("org.apache.kafka.sasl.oauthbearer.allowed.urls");
    }
}
