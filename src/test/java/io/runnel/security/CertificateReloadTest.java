package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;

import io.runnel.config.BrokerConfig;
import io.runnel.config.DynamicBrokerConfigs;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Which settings reload, what a replacement keystore must keep, and the swap under a live SSL context. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CertificateReloadTest {

    private static final String PASSWORD = "store-secret";

    @TempDir
    static Path dir;
    static Path certA;
    static Path certB;
    static Path otherName;
    static Path otherSans;

    @BeforeAll
    static void keystores() throws Exception {
        certA = keystore("a.p12", "CN=localhost");
        certB = keystore("b.p12", "CN=localhost");
        otherName = keystore("other.p12", "CN=elsewhere");
        otherSans = dir.resolve("sans.p12");
        TestCertificates.keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity",
                "2", "-dname", "CN=localhost", "-ext", "SAN=dns:broker.example", "-storetype", "PKCS12", "-keystore",
                otherSans.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
    }

    @Test
    void onlyAListenersStoreSettingsAreDynamicAndItsSecretsSensitive() {
        assertThat(DynamicBrokerConfigs.isDynamic("listener.name.ssl.ssl.keystore.location")).isTrue();
        assertThat(DynamicBrokerConfigs.isDynamic("listener.name.internal_tls.ssl.truststore.password")).isTrue();
        assertThat(DynamicBrokerConfigs.isDynamic("ssl.keystore.location")).isFalse(); // per listener only
        assertThat(DynamicBrokerConfigs.isDynamic("listener.name.ssl.ssl.client.auth")).isFalse();
        assertThat(DynamicBrokerConfigs.isDynamic("listener.name.ssl.ssl.cipher.suites")).isFalse();
        assertThat(DynamicBrokerConfigs.listenerSslStoreBase("listener.name.ssl.ssl.keystore.type"))
                .isEqualTo("ssl.keystore.type");
        assertThat(DynamicBrokerConfigs.isSensitive("listener.name.ssl.ssl.keystore.password")).isTrue();
        assertThat(DynamicBrokerConfigs.isSensitive("listener.name.ssl.ssl.key.password")).isTrue();
        assertThat(DynamicBrokerConfigs.isSensitive("listener.name.ssl.ssl.keystore.key")).isTrue();
        assertThat(DynamicBrokerConfigs.isSensitive("listener.name.ssl.ssl.keystore.location")).isFalse();
        // validated where they are served, not as ConfigDef values
        assertThat(DynamicBrokerConfigs.validate(Map.of("listener.name.ssl.ssl.keystore.location", "/x")))
                .containsKey("listener.name.ssl.ssl.keystore.location");
    }

    @Test
    void aReplacementMustLoadAndKeepTheCertificatesNames() {
        ListenerSecurity l = listener(config(certA, Map.of()));
        assertThat(l.prepareReload(config(certB, Map.of())).certificates())
                .extracting(c -> c.subject().getName()).containsExactly("CN=localhost");
        assertThatThrownBy(() -> l.prepareReload(config(otherName, Map.of())))
                .isInstanceOf(ConfigException.class).hasMessageContaining("DistinguishedName does not match")
                .hasMessageContaining("ssl.allow.dn.changes");
        assertThat(l.prepareReload(config(otherName, Map.of("ssl.allow.dn.changes", "true"))).certificates())
                .extracting(c -> c.subject().getName()).containsExactly("CN=elsewhere");
        assertThatThrownBy(() -> l.prepareReload(config(otherSans, Map.of())))
                .isInstanceOf(ConfigException.class).hasMessageContaining("SubjectAltNames do not match");
        assertThat(l.prepareReload(config(otherSans, Map.of("ssl.allow.san.changes", "true")))).isNotNull();
        assertThatThrownBy(() -> l.prepareReload(config(dir.resolve("missing.p12"), Map.of())))
                .isInstanceOf(ConfigException.class).hasMessageContaining("missing.p12");
        assertThatThrownBy(() -> l.prepareReload(config(certB,
                Map.of("listener.name.ssl.ssl.keystore.password", "wrong"))))
                .isInstanceOf(ConfigException.class);
    }

    @Test
    void reloadsWhenTheSettingsOrTheFileChange() throws Exception {
        Path live = dir.resolve("live.p12");
        Files.copy(certA, live, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        BrokerConfig c = config(live, Map.of());
        ListenerSecurity l = listener(c);
        String before = CertificateReloader.fingerprint(c, l);
        assertThat(CertificateReloader.fingerprint(config(live, Map.of()), l)).isEqualTo(before);
        assertThat(CertificateReloader.fingerprint(config(certB, Map.of()), l)).isNotEqualTo(before);
        Files.setLastModifiedTime(live, java.nio.file.attribute.FileTime.fromMillis(
                Files.getLastModifiedTime(live).toMillis() + 5_000));
        assertThat(CertificateReloader.fingerprint(c, l)).isNotEqualTo(before);
    }

    @Test
    void theSwapChangesWhatEveryLaterHandshakeServes() throws Exception {
        SwappableManagers m = new SwappableManagers(SwappableManagers.Stores.of(kmf(certA), null));
        var chainA = m.keyManager().getCertificateChain("server");
        m.swap(SwappableManagers.Stores.of(kmf(certB), null));
        var chainB = m.keyManager().getCertificateChain("server");
        assertThat(chainB[0].getSerialNumber()).isNotEqualTo(chainA[0].getSerialNumber());
        assertThat(chainB[0]).isEqualTo(load(certB).getCertificate("server"));
        assertThat(m.trustManager().getAcceptedIssuers()).isEmpty();
    }

    /**
     * The inter-broker listener's reload reaches this broker's own connections to other brokers: the key manager
     * their client options hold presents the new certificate after {@code apply}, and a reload that would drop the
     * keystore the brokers present is refused.
     */
    @Test
    void theInterBrokerClientPresentsTheReloadedCertificate() throws Exception {
        BrokerConfig before = config(certA, Map.of());
        ListenerSecurity l = listener(before);
        InterBrokerSecurity client = InterBrokerSecurity.of(before);
        io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
        try {
            CertificateReloader reloader = new CertificateReloader(vertx, before, java.util.List.of(l), client);
            io.vertx.core.net.NetClientOptions options = client.applyTo(new io.vertx.core.net.NetClientOptions());
            javax.net.ssl.X509KeyManager presented = (javax.net.ssl.X509KeyManager) options.getKeyCertOptions()
                    .getKeyManagerFactory(vertx).getKeyManagers()[0];
            assertThat(presented.getCertificateChain("server")[0]).isEqualTo(load(certA).getCertificate("server"));

            reloader.apply(config(certB, Map.of())).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertThat(presented.getCertificateChain("server")[0]).isEqualTo(load(certB).getCertificate("server"));
            assertThat(l.tls().certificates()).isNotEmpty();

            assertThatThrownBy(() -> client.prepareReload(new BrokerConfig(Map.of("log.dirs",
                    dir.resolve("data").toString(), "listeners", "SSL://127.0.0.1:0", "listener.security.protocol.map",
                    "SSL:SSL", "inter.broker.listener.name", "SSL"))))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("cannot be removed");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static BrokerConfig config(Path keystore, Map<String, String> extra) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "SSL://127.0.0.1:0");
        p.put("listener.security.protocol.map", "SSL:SSL");
        p.put("inter.broker.listener.name", "SSL");
        p.put("listener.name.ssl.ssl.keystore.type", "PKCS12");
        p.put("listener.name.ssl.ssl.keystore.location", keystore.toString());
        p.put("listener.name.ssl.ssl.keystore.password", PASSWORD);
        p.putAll(extra);
        return new BrokerConfig(p);
    }

    private static ListenerSecurity listener(BrokerConfig c) {
        return ListenerSecurity.of(c, c.listeners().get(0));
    }

    private static KeyStore load(Path keystore) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, PASSWORD.toCharArray());
        }
        return ks;
    }

    private static KeyManagerFactory kmf(Path keystore) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(load(keystore), PASSWORD.toCharArray());
        return kmf;
    }

    private static Path keystore(String file, String dn) throws Exception {
        Path ks = dir.resolve(file);
        TestCertificates.keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity",
                "2", "-dname", dn, "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12", "-keystore",
                ks.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
        return ks;
    }
}
