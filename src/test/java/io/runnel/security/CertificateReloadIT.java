package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import io.runnel.Broker;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.InvalidConfigurationException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS listener's certificate replaced without a restart, as a Kafka operator does it: Admin.incrementalAlterConfigs
 * (kafka-configs.sh --entity-type brokers --entity-name <id>) on {@code listener.name.ssl.ssl.keystore.*}. New
 * handshakes (a raw SSLSocket's) see the new certificate, a producer connected before keeps producing, and stores
 * that cannot be served are refused with INVALID_CONFIG while the old certificate stays.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CertificateReloadIT {

    private static final String PASSWORD = "store-secret";
    private static final String TRUST_PASSWORD = "trust-secret";
    private static final String PREFIX = "listener.name.ssl.";

    @TempDir
    static Path dir;
    static Path certA;
    static Path certB;
    static Path otherName;
    static Path live;
    static Path truststore;
    static Broker broker;
    static Admin admin;
    static ConfigResource node;

    @BeforeAll
    static void start() throws Exception {
        certA = keystore("a.p12", "CN=localhost");
        certB = keystore("b.p12", "CN=localhost");
        otherName = keystore("other.p12", "CN=elsewhere");
        truststore = dir.resolve("trust.jks");
        for (Path ks : List.of(certA, certB, otherName)) {
            Path crt = dir.resolve(ks.getFileName() + ".crt");
            TestCertificates.keytool("-exportcert", "-alias", "server", "-keystore", ks.toString(), "-storepass",
                    PASSWORD, "-rfc", "-file", crt.toString());
            TestCertificates.keytool("-importcert", "-noprompt", "-alias", ks.getFileName().toString(), "-file",
                    crt.toString(), "-storetype", "JKS", "-keystore", truststore.toString(), "-storepass", TRUST_PASSWORD);
        }
        live = dir.resolve("live.p12");
        Files.copy(certA, live);
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL");
        p.put("admin.listener", "127.0.0.1:0");
        p.put(PREFIX + "ssl.keystore.type", "PKCS12");
        p.put(PREFIX + "ssl.keystore.location", live.toString());
        p.put(PREFIX + "ssl.keystore.password", PASSWORD);
        broker = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        admin = Admin.create(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("PLAINTEXT")));
        node = new ConfigResource(ConfigResource.Type.BROKER,
                admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).iterator().next().idString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (admin != null) {
            admin.close();
        }
        if (broker != null) {
            broker.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void newConnectionsGetTheNewCertificateAndOldOnesKeepWorking() throws Exception {
        assertThat(servedSerial()).isEqualTo(serial(certA));
        Map<String, Object> pc = new HashMap<>();
        pc.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("SSL"));
        pc.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        pc.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, truststore.toString());
        pc.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, TRUST_PASSWORD);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc, new StringSerializer(),
                new StringSerializer())) {
            producer.send(new ProducerRecord<>("reload", "k", "before")).get(60, TimeUnit.SECONDS);

            alter(certB, PASSWORD);
            assertThat(servedSerial()).isEqualTo(serial(certB));
            // the producer's connection, opened with A, goes on
            producer.send(new ProducerRecord<>("reload", "k", "after")).get(60, TimeUnit.SECONDS);

            // refused: a file that is not there, a wrong password, another distinguished name; B stays
            assertThatThrownBy(() -> alter(dir.resolve("missing.p12"), PASSWORD))
                    .hasCauseInstanceOf(InvalidConfigurationException.class).hasMessageContaining("missing.p12");
            assertThatThrownBy(() -> alter(certA, "wrong-secret"))
                    .hasCauseInstanceOf(InvalidConfigurationException.class);
            assertThatThrownBy(() -> alter(otherName, PASSWORD))
                    .hasCauseInstanceOf(InvalidConfigurationException.class)
                    .hasMessageContaining("DistinguishedName does not match");
            assertThat(servedSerial()).isEqualTo(serial(certB));
            producer.send(new ProducerRecord<>("reload", "k", "still")).get(60, TimeUnit.SECONDS);

            // the same path, its file replaced: altering it again re-reads it
            alter(live, PASSWORD);
            assertThat(servedSerial()).isEqualTo(serial(certA));
            Files.copy(certB, live, StandardCopyOption.REPLACE_EXISTING);
            Files.setLastModifiedTime(live, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
            alter(live, PASSWORD);
            assertThat(servedSerial()).isEqualTo(serial(certB));
        }
        // DescribeConfigs shows where the keystore is and hides its password
        Config c = admin.describeConfigs(List.of(node)).all().get(30, TimeUnit.SECONDS).get(node);
        ConfigEntry location = c.get(PREFIX + "ssl.keystore.location");
        assertThat(location.value()).isEqualTo(live.toString());
        assertThat(location.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG);
        assertThat(location.isReadOnly()).isFalse();
        ConfigEntry password = c.get(PREFIX + "ssl.keystore.password");
        assertThat(password.isSensitive()).isTrue();
        assertThat(password.value()).isNull();
    }

    @Test
    void aRestartedNodeServesTheAlteredKeystore() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("restarted").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL");
        p.put("admin.listener", "127.0.0.1:0");
        p.put(PREFIX + "ssl.keystore.type", "PKCS12");
        p.put(PREFIX + "ssl.keystore.location", certA.toString());
        p.put(PREFIX + "ssl.keystore.password", PASSWORD);
        Broker b = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        try (Admin a = Admin.create(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT")))) {
            ConfigResource r = new ConfigResource(ConfigResource.Type.BROKER,
                    a.describeCluster().nodes().get(30, TimeUnit.SECONDS).iterator().next().idString());
            a.incrementalAlterConfigs(Map.of(r, List.of(new AlterConfigOp(
                    new ConfigEntry(PREFIX + "ssl.keystore.location", certB.toString()), AlterConfigOp.OpType.SET))))
                    .all().get(60, TimeUnit.SECONDS);
            assertThat(servedSerial(b)).isEqualTo(serial(certB));
        } finally {
            b.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        Broker restarted = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            BigInteger served = servedSerial(restarted);
            while (!served.equals(serial(certB)) && System.nanoTime() < deadline) {
                Thread.sleep(200);
                served = servedSerial(restarted);
            }
            assertThat(served).isEqualTo(serial(certB));
        } finally {
            restarted.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void storesAreNotAClusterDefault() {
        ConfigResource clusterDefault = new ConfigResource(ConfigResource.Type.BROKER, "");
        assertThatThrownBy(() -> admin.incrementalAlterConfigs(Map.of(clusterDefault, List.of(new AlterConfigOp(
                new ConfigEntry(PREFIX + "ssl.keystore.location", certB.toString()), AlterConfigOp.OpType.SET))))
                .all().get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidRequestException.class);
    }

    private static void alter(Path keystore, String password) throws Exception {
        admin.incrementalAlterConfigs(Map.of(node, List.of(
                new AlterConfigOp(new ConfigEntry(PREFIX + "ssl.keystore.location", keystore.toString()),
                        AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry(PREFIX + "ssl.keystore.password", password),
                        AlterConfigOp.OpType.SET)))).all().get(60, TimeUnit.SECONDS);
    }

    /** The serial number of the certificate a fresh TLS handshake with the SSL listener is shown. */
    private static BigInteger servedSerial() throws Exception {
        return servedSerial(broker);
    }

    private static BigInteger servedSerial(Broker node) throws Exception {
        KeyStore trust = KeyStore.getInstance("JKS");
        try (InputStream in = Files.newInputStream(truststore)) {
            trust.load(in, TRUST_PASSWORD.toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        String[] hostPort = node.bootstrapServers("SSL").split(",")[0].split(":");
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(hostPort[0], Integer.parseInt(hostPort[1]))) {
            s.setSoTimeout(30_000);
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static BigInteger serial(Path keystore) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, PASSWORD.toCharArray());
        }
        return ((X509Certificate) ks.getCertificate("server")).getSerialNumber();
    }

    private static Path keystore(String file, String dn) throws Exception {
        Path ks = dir.resolve(file);
        TestCertificates.keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048", "-validity",
                "2", "-dname", dn, "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12", "-keystore",
                ks.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD);
        return ks;
    }
}
