package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.config.BrokerConfig;
import io.runnel.config.Listener;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ListenerSecurityTest {

    private static final String USERS = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " user_alice=\"alice-secret\" user_bob=\"bob-secret\";";

    @TempDir
    static Path dir;
    static TestCertificates certs;

    @BeforeAll
    static void certificates() throws Exception {
        certs = TestCertificates.create(dir);
    }

    private static BrokerConfig config(Map<String, String> extra) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.putAll(extra);
        return new BrokerConfig(p);
    }

    private static Listener listener(BrokerConfig c, String name) {
        return c.listeners().stream().filter(l -> l.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void listenerNamesMapToProtocolsThroughTheSecurityProtocolMap() {
        BrokerConfig c = config(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,internal://127.0.0.1:0,SASL_SSL://:0",
                "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"));
        assertThat(c.listeners()).extracting(Listener::name, Listener::protocol).containsExactly(
                org.assertj.core.groups.Tuple.tuple("PLAINTEXT", SecurityProtocol.PLAINTEXT),
                org.assertj.core.groups.Tuple.tuple("INTERNAL", SecurityProtocol.SASL_PLAINTEXT),
                org.assertj.core.groups.Tuple.tuple("SASL_SSL", SecurityProtocol.SASL_SSL));
        assertThat(c.interBrokerListener().name()).isEqualTo("PLAINTEXT");
    }

    @Test
    void badListenerSettingsStopStartUpNamingTheKey() {
        assertThatThrownBy(() -> config(Map.of("listeners", "EXTERNAL://127.0.0.1:0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("listeners")
                .hasMessageContaining("listener.security.protocol.map");
        assertThatThrownBy(() -> config(Map.of("listener.security.protocol.map", "PLAINTEXT:TLS")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("listener.security.protocol.map");
        // Kafka's rule: no PLAINTEXT listener, so the inter-broker listener must be named
        assertThatThrownBy(() -> config(Map.of("listeners", "SSL://127.0.0.1:0")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("security.inter.broker.protocol");
        assertThatThrownBy(() -> config(Map.of("listeners", "SSL://127.0.0.1:0", "inter.broker.listener.name", "SSL",
                "security.inter.broker.protocol", "SSL")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("inter.broker.listener.name");
        assertThatThrownBy(() -> config(Map.of("listeners", "PLAINTEXT://127.0.0.1:0",
                "advertised.listeners", "SSL://example.org:9093")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("advertised.listeners");
        assertThatThrownBy(() -> config(Map.of("ssl.client.auth", "sometimes")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("ssl.client.auth");
        assertThat(config(Map.of("listeners", "SSL://127.0.0.1:0", "inter.broker.listener.name", "ssl"))
                .interBrokerListener().protocol()).isEqualTo(SecurityProtocol.SSL);
    }

    @Test
    void badTlsSettingsStopStartUpNamingTheKey() {
        Map<String, String> p = new HashMap<>(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"));
        BrokerConfig noKeystore = config(p);
        assertThatThrownBy(() -> ListenerSecurity.of(noKeystore, listener(noKeystore, "SSL")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("ssl.keystore.location");
        p.put("listener.name.ssl.ssl.keystore.location", certs.serverKeystore().toString());
        p.put("listener.name.ssl.ssl.keystore.type", "PKCS12");
        p.put("listener.name.ssl.ssl.keystore.password", "wrong");
        BrokerConfig wrongPassword = config(p);
        assertThatThrownBy(() -> ListenerSecurity.of(wrongPassword, listener(wrongPassword, "SSL")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("ssl.keystore.location")
                .hasMessageContaining("listener SSL");
        p.put("listener.name.ssl.ssl.keystore.password", TestCertificates.STORE_PASSWORD);
        p.put("ssl.client.auth", "required");
        BrokerConfig noTruststore = config(p);
        assertThatThrownBy(() -> ListenerSecurity.of(noTruststore, listener(noTruststore, "SSL")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("ssl.client.auth");
        p.put("ssl.truststore.location", certs.truststore().toString());
        p.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        BrokerConfig good = config(p);
        assertThat(ListenerSecurity.of(good, listener(good, "SSL")).usesTls()).isTrue();
        assertThat(ListenerSecurity.of(good, listener(good, "PLAINTEXT")).usesTls()).isFalse();
    }

    /** PBES1 (3DES): Java 17 has no PBES2 key factory, so Kafka's loader cannot open AES-encrypted PEM keys there. */
    @Test
    void anEncryptedPemKeyOpensWithTheKeyPassword() throws Exception {
        java.nio.file.Path plain = dir.resolve("plain-key.pem");
        java.nio.file.Path encrypted = dir.resolve("encrypted-key.pem");
        java.nio.file.Files.writeString(plain, certs.serverKeyPem());
        Process p = new ProcessBuilder("openssl", "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES",
                "-in", plain.toString(), "-out", encrypted.toString(), "-passout", "pass:pem-secret")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0,
                "needs openssl to encrypt a key: " + out);
        Map<String, String> props = new HashMap<>(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                "listener.name.ssl.ssl.keystore.type", "PEM",
                "listener.name.ssl.ssl.keystore.key", java.nio.file.Files.readString(encrypted),
                "listener.name.ssl.ssl.keystore.certificate.chain", certs.serverCertificatePem(),
                "listener.name.ssl.ssl.key.password", "pem-secret"));
        BrokerConfig good = config(props);
        assertThat(ListenerSecurity.of(good, listener(good, "SSL")).usesTls()).isTrue();
        props.put("listener.name.ssl.ssl.key.password", "wrong");
        BrokerConfig wrong = config(props);
        assertThatThrownBy(() -> ListenerSecurity.of(wrong, listener(wrong, "SSL")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("listener SSL");
    }

    @Test
    void badSaslSettingsStopStartUpNamingTheKey() {
        Map<String, String> p = new HashMap<>(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"));
        // Kafka's default mechanism is GSSAPI, which is not served
        BrokerConfig gssapi = config(p);
        assertThatThrownBy(() -> ListenerSecurity.of(gssapi, listener(gssapi, "SASL_PLAINTEXT")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("sasl.enabled.mechanisms");
        p.put("sasl.enabled.mechanisms", "PLAIN");
        BrokerConfig noUsers = config(p);
        assertThatThrownBy(() -> ListenerSecurity.of(noUsers, listener(noUsers, "SASL_PLAINTEXT")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("listener.name.sasl_plaintext.plain.sasl.jaas.config");
        assertThatThrownBy(() -> config(Map.of("connections.max.reauth.ms", "-1")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("connections.max.reauth.ms");
    }

    @Test
    void plainAuthenticatesTheListenersUsersAndKeepsThePrincipal() {
        BrokerConfig c = config(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
                "sasl.enabled.mechanisms", "PLAIN", "listener.name.sasl_plaintext.plain.sasl.jaas.config", USERS));
        ListenerSecurity security = ListenerSecurity.of(c, listener(c, "SASL_PLAINTEXT"));

        Authentication auth = security.newConnection(null, java.net.InetAddress.getLoopbackAddress());
        assertThat(auth.refusal(ApiKeys.API_VERSIONS)).isNull();
        assertThat(auth.refusal(ApiKeys.METADATA)).contains("SASL handshake");
        assertThat(auth.maxFrameBytes(100 << 20)).isEqualTo(524288);
        assertThat(auth.handshake((short) 1, "PLAIN").errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(auth.refusal(ApiKeys.PRODUCE)).contains("SASL authentication");
        assertThat(auth.authenticate((short) 2, "\0alice\0alice-secret".getBytes(StandardCharsets.UTF_8)).errorCode())
                .isEqualTo(Errors.NONE.code());
        assertThat(auth.authenticated()).isTrue();
        assertThat(auth.principal()).isEqualTo(new KafkaPrincipal(KafkaPrincipal.USER_TYPE, "alice"));
        assertThat(auth.refusal(ApiKeys.PRODUCE)).isNull();
        assertThat(auth.closeAfterResponse()).isFalse();
        // a second exchange on an authenticated connection is refused as Kafka refuses it
        assertThat(auth.authenticate((short) 2, new byte[0]).errorCode()).isEqualTo(Errors.ILLEGAL_SASL_STATE.code());
        assertThat(auth.handshake((short) 1, "PLAIN").errorCode()).isEqualTo(Errors.ILLEGAL_SASL_STATE.code());

        Authentication wrong = security.newConnection(null, java.net.InetAddress.getLoopbackAddress());
        wrong.handshake((short) 1, "PLAIN");
        var refused = wrong.authenticate((short) 2, "\0alice\0bob-secret".getBytes(StandardCharsets.UTF_8));
        assertThat(refused.errorCode()).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
        assertThat(wrong.closeAfterResponse()).isTrue();
        assertThat(wrong.principal()).isNull();

        Authentication malformed = security.newConnection(null, java.net.InetAddress.getLoopbackAddress());
        malformed.handshake((short) 1, "PLAIN");
        assertThat(malformed.authenticate((short) 2, new byte[] {1, 2, 3}).errorCode())
                .as("a malformed PLAIN token").isEqualTo(Errors.SASL_AUTHENTICATION_FAILED.code());
        assertThat(malformed.closeAfterResponse()).isTrue();

        Authentication unknownMechanism = security.newConnection(null, java.net.InetAddress.getLoopbackAddress());
        var answer = unknownMechanism.handshake((short) 1, "SCRAM-SHA-512");
        assertThat(answer.errorCode()).isEqualTo(Errors.UNSUPPORTED_SASL_MECHANISM.code());
        assertThat(answer.mechanisms()).containsExactly("PLAIN");
        assertThat(unknownMechanism.closeAfterResponse()).isTrue();
    }

    /** Drives kafka-clients' own SCRAM client through a connection's Authentication; the last answer's error. */
    private static Errors scramLogin(ListenerSecurity security, String mechanism, String user, String password)
            throws Exception {
        return scramLogin(security, mechanism, user, password, Map.of());
    }

    private static Errors scramLogin(ListenerSecurity security, String mechanism, String user, String password,
                                     Map<String, String> extensions) throws Exception {
        javax.security.auth.callback.CallbackHandler credentials = callbacks -> {
            for (javax.security.auth.callback.Callback cb : callbacks) {
                if (cb instanceof javax.security.auth.callback.NameCallback n) {
                    n.setName(user);
                } else if (cb instanceof javax.security.auth.callback.PasswordCallback pw) {
                    pw.setPassword(password.toCharArray());
                } else if (cb instanceof org.apache.kafka.common.security.scram.ScramExtensionsCallback e) {
                    e.extensions(extensions);
                } else {
                    throw new javax.security.auth.callback.UnsupportedCallbackException(cb);
                }
            }
        };
        var client = new org.apache.kafka.common.security.scram.internals.ScramSaslClient(
                org.apache.kafka.common.security.scram.internals.ScramMechanism.forMechanismName(mechanism), credentials);
        Authentication auth = security.newConnection(null, java.net.InetAddress.getLoopbackAddress());
        assertThat(auth.handshake((short) 1, mechanism).errorCode()).isEqualTo(Errors.NONE.code());
        byte[] token = client.evaluateChallenge(new byte[0]);
        while (true) {
            var answer = auth.authenticate((short) 2, token);
            if (answer.errorCode() != Errors.NONE.code()) {
                assertThat(auth.closeAfterResponse()).isTrue();
                return Errors.forCode(answer.errorCode());
            }
            if (auth.authenticated()) {
                client.evaluateChallenge(answer.authBytes());
                assertThat(client.isComplete()).as("the client checked the server's signature").isTrue();
                assertThat(auth.principal().getName()).isEqualTo(user);
                return Errors.NONE;
            }
            token = client.evaluateChallenge(answer.authBytes());
        }
    }

    @Test
    void scramLogsInAgainstTheCredentialCacheAndNeedsNoJaasEntry() throws Exception {
        BrokerConfig c = config(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
                "sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512"));
        org.apache.kafka.common.security.authenticator.CredentialCache cache =
                new org.apache.kafka.common.security.authenticator.CredentialCache();
        ListenerSecurity security = ListenerSecurity.of(c, listener(c, "SASL_PLAINTEXT"), cache);
        var formatter = new org.apache.kafka.common.security.scram.internals.ScramFormatter(
                org.apache.kafka.common.security.scram.internals.ScramMechanism.SCRAM_SHA_512);
        var users512 = cache.cache("SCRAM-SHA-512", org.apache.kafka.common.security.scram.ScramCredential.class);
        users512.put("alice", formatter.generateCredential("alice-secret", 4096));

        assertThat(scramLogin(security, "SCRAM-SHA-512", "alice", "alice-secret")).isEqualTo(Errors.NONE);
        assertThat(scramLogin(security, "SCRAM-SHA-512", "alice", "wrong")).isEqualTo(Errors.SASL_AUTHENTICATION_FAILED);
        assertThat(scramLogin(security, "SCRAM-SHA-256", "alice", "alice-secret"))
                .as("no SHA-256 credential").isEqualTo(Errors.SASL_AUTHENTICATION_FAILED);
        assertThat(scramLogin(security, "SCRAM-SHA-512", "alice", "alice-secret", Map.of("tokenauth", "true")))
                .as("a delegation-token login: no tokens are served").isEqualTo(Errors.SASL_AUTHENTICATION_FAILED);
        users512.remove("alice");
        assertThat(scramLogin(security, "SCRAM-SHA-512", "alice", "alice-secret"))
                .as("a removed credential").isEqualTo(Errors.SASL_AUTHENTICATION_FAILED);

        Authentication plain = security.newConnection(null, java.net.InetAddress.getLoopbackAddress());
        var answer = plain.handshake((short) 1, "PLAIN");
        assertThat(answer.errorCode()).isEqualTo(Errors.UNSUPPORTED_SASL_MECHANISM.code());
        assertThat(answer.mechanisms()).containsExactly("SCRAM-SHA-256", "SCRAM-SHA-512");
    }

    @Test
    void sharedJaasConfigServesListenersWithoutTheirOwn() throws Exception {
        BrokerConfig c = config(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
                "sasl.enabled.mechanisms", "PLAIN", "sasl.jaas.config", USERS));
        Authentication auth = ListenerSecurity.of(c, listener(c, "SASL_PLAINTEXT"))
                .newConnection(null, java.net.InetAddress.getLoopbackAddress());
        auth.handshake((short) 0, "PLAIN");
        assertThat(auth.expectsRawToken()).isTrue();
        assertThat(auth.rawToken("\0bob\0bob-secret".getBytes(StandardCharsets.UTF_8)).getInt()).isZero();
        assertThat(auth.principal().getName()).isEqualTo("bob");
    }

    @Test
    void aClientCertificateGivesKafkasDefaultPrincipal() throws Exception {
        // the unprefixed ssl.* settings serve every TLS listener
        BrokerConfig c = config(Map.of("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
                "ssl.keystore.type", "PKCS12", "ssl.keystore.location", certs.serverKeystore().toString(),
                "ssl.keystore.password", TestCertificates.STORE_PASSWORD, "ssl.key.password", TestCertificates.STORE_PASSWORD));
        ListenerSecurity security = ListenerSecurity.of(c, listener(c, "SSL"));
        assertThat(security.usesTls()).isTrue();
        javax.net.ssl.SSLSession session = clientCertificateSession();
        assertThat(security.newConnection(session, java.net.InetAddress.getLoopbackAddress()).principal())
                .isEqualTo(new KafkaPrincipal(KafkaPrincipal.USER_TYPE, TestCertificates.CLIENT_DN));
        assertThat(ListenerSecurity.of(c, listener(c, "PLAINTEXT"))
                .newConnection(null, java.net.InetAddress.getLoopbackAddress()).principal())
                .isEqualTo(KafkaPrincipal.ANONYMOUS);
    }

    /** The server side of a real TLS handshake (JDK sockets on loopback) with the test client's certificate. */
    private static javax.net.ssl.SSLSession clientCertificateSession() throws Exception {
        javax.net.ssl.SSLContext server = context(certs.serverKeystore());
        javax.net.ssl.SSLContext client = context(certs.clientKeystore());
        try (javax.net.ssl.SSLServerSocket listening = (javax.net.ssl.SSLServerSocket) server.getServerSocketFactory()
                .createServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            listening.setNeedClientAuth(true);
            java.util.concurrent.CompletableFuture<Void> clientSide = java.util.concurrent.CompletableFuture.runAsync(() -> {
                try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) client.getSocketFactory()
                        .createSocket(java.net.InetAddress.getLoopbackAddress(), listening.getLocalPort())) {
                    s.startHandshake();
                    s.getOutputStream().write(1);
                    s.getInputStream().read();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (javax.net.ssl.SSLSocket accepted = (javax.net.ssl.SSLSocket) listening.accept()) {
                accepted.setSoTimeout(20_000);
                accepted.getInputStream().read();
                javax.net.ssl.SSLSession session = accepted.getSession();
                accepted.getOutputStream().write(1);
                clientSide.get(20, TimeUnit.SECONDS);
                return session;
            }
        }
    }

    private static javax.net.ssl.SSLContext context(Path keystore) throws Exception {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        try (var in = java.nio.file.Files.newInputStream(keystore)) {
            ks.load(in, TestCertificates.STORE_PASSWORD.toCharArray());
        }
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance("PKIX");
        kmf.init(ks, TestCertificates.STORE_PASSWORD.toCharArray());
        java.security.KeyStore ts = java.security.KeyStore.getInstance("JKS");
        try (var in = java.nio.file.Files.newInputStream(certs.truststore())) {
            ts.load(in, TestCertificates.TRUST_PASSWORD.toCharArray());
        }
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        tmf.init(ts);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
