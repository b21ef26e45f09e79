package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One node with a listener of every kind, configured as a Kafka server.properties would configure them, used by
 * the official Java clients with the client settings a Kafka user would give them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SecureListenersIT {

    private static final String JAAS_PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"%s\" password=\"%s\";";

    @TempDir
    static Path dir;
    static TestCertificates certs;
    static Broker broker;

    @BeforeAll
    static void start() throws Exception {
        certs = TestCertificates.create(Files.createDirectories(dir.resolve("certs")));
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,"
                + "SASL_SSL://127.0.0.1:0,MTLS://127.0.0.1:0,PEM://127.0.0.1:0");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,"
                + "SASL_SSL:SASL_SSL,MTLS:SSL,PEM:SSL");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "2");
        p.put("group.initial.rebalance.delay.ms", "0");
        // one truststore for every listener; each TLS listener its own keystore setting (Kafka's per-listener prefix)
        p.put("ssl.truststore.location", certs.truststore().toString());
        p.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
        for (String l : List.of("ssl", "sasl_ssl", "mtls")) {
            p.put("listener.name." + l + ".ssl.keystore.type", "PKCS12");
            p.put("listener.name." + l + ".ssl.keystore.location", certs.serverKeystore().toString());
            p.put("listener.name." + l + ".ssl.keystore.password", TestCertificates.STORE_PASSWORD);
            p.put("listener.name." + l + ".ssl.key.password", TestCertificates.STORE_PASSWORD);
        }
        p.put("listener.name.mtls.ssl.client.auth", "required");
        p.put("listener.name.pem.ssl.keystore.type", "PEM");
        p.put("listener.name.pem.ssl.keystore.key", certs.serverKeyPem());
        p.put("listener.name.pem.ssl.keystore.certificate.chain", certs.serverCertificatePem());
        p.put("sasl.enabled.mechanisms", "PLAIN");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\";");
        p.put("listener.name.sasl_ssl.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_bob=\"bob-secret\""
                        + " user_carol=\"carol-secret\";");
        broker = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
    }

    /** Client settings for a listener, as a Kafka user writes them. */
    private static Map<String, Object> client(String listener) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(listener));
        switch (listener) {
            case "SSL", "PEM" -> {
                c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
                trust(c);
            }
            case "MTLS" -> {
                c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
                trust(c);
                c.put(SslConfigs.SSL_KEYSTORE_TYPE_CONFIG, "PKCS12");
                c.put(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, certs.clientKeystore().toString());
                c.put(SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG, TestCertificates.STORE_PASSWORD);
            }
            case "SASL_PLAINTEXT" -> {
                c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
                c.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
                c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_PLAIN, "alice", "alice-secret"));
            }
            case "SASL_SSL" -> {
                c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
                trust(c);
                c.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
                c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_PLAIN, "bob", "bob-secret"));
            }
            default -> { }
        }
        return c;
    }

    private static void trust(Map<String, Object> c) {
        c.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, certs.truststore().toString());
        c.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, TestCertificates.TRUST_PASSWORD);
    }

    private static Admin admin(Map<String, Object> c) {
        Map<String, Object> a = new HashMap<>(c);
        a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return Admin.create(a);
    }

    @ParameterizedTest
    @ValueSource(strings = {"SSL", "SASL_PLAINTEXT", "SASL_SSL", "MTLS", "PEM"})
    void producesAndConsumesOverEachListener(String listener) throws Exception {
        String topic = "secure-" + listener.toLowerCase() + "-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = admin(client(listener))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            // the client is told this listener's address, not the first listener's
            Collection<Node> nodes = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS);
            assertThat(nodes).extracting(n -> n.host() + ":" + n.port())
                    .containsExactly(broker.bootstrapServers(listener));
        }
        Map<String, Object> pc = client(listener);
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < 100; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "value-" + i + "-" + "x".repeat(200)));
            }
            producer.flush();
            producer.send(new ProducerRecord<>(topic, "last", "done")).get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> cc = client(listener);
        cc.put(ConsumerConfig.GROUP_ID_CONFIG, "g-" + topic);
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cc)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (got.size() < 101 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(got::add);
            }
            consumer.commitSync();
        }
        assertThat(got).hasSize(101);
        assertThat(got.get(0).value()).startsWith("value-0-");
        assertThat(got.get(100).value()).isEqualTo("done");
    }

    @Test
    void wrongPasswordIsRefusedWithSaslAuthenticationException() {
        for (String listener : List.of("SASL_PLAINTEXT", "SASL_SSL")) {
            Map<String, Object> c = client(listener);
            c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_PLAIN, "alice", "not-her-password"));
            try (Admin admin = admin(c)) {
                assertThatThrownBy(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SaslAuthenticationException.class);
            }
        }
        // a user of one listener is unknown on the other
        Map<String, Object> c = client("SASL_SSL");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_PLAIN, "alice", "alice-secret"));
        try (Admin admin = admin(c)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SaslAuthenticationException.class);
        }
    }

    @Test
    void requestBeforeAuthenticationClosesTheConnection() throws Exception {
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"))) {
            raw.send(ApiKeys.METADATA, (short) 12, new MetadataRequestData().setTopics(null));
            assertThat(raw.closedByPeer()).isTrue();
        }
        // before authentication a frame may not exceed sasl.server.max.receive.size (512 KiB), whatever it declares
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"))) {
            raw.sendRaw(java.nio.ByteBuffer.allocate(4).putInt(1 << 20).array());
            assertThat(raw.closedByPeer()).isTrue();
        }
        // ApiVersions is served before authentication, and lists the SASL and ACL APIs
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SASL_PLAINTEXT"))) {
            raw.send(ApiKeys.API_VERSIONS, (short) 3, new org.apache.kafka.common.message.ApiVersionsRequestData()
                    .setClientSoftwareName("raw").setClientSoftwareVersion("1"));
            var body = new org.apache.kafka.common.message.ApiVersionsResponseData(
                    new org.apache.kafka.common.protocol.ByteBufferAccessor(raw.receive(ApiKeys.API_VERSIONS, (short) 3)),
                    (short) 3);
            assertThat(body.apiKeys().stream().map(k -> k.apiKey()).toList()).contains(ApiKeys.SASL_HANDSHAKE.id,
                    ApiKeys.SASL_AUTHENTICATE.id, ApiKeys.DESCRIBE_ACLS.id, ApiKeys.CREATE_ACLS.id,
                    ApiKeys.DELETE_ACLS.id);
        }
    }

    @Test
    void legacyHandshakeV0IsFollowedByBareTokens() throws Exception {
        String hostPort = broker.bootstrapServers("SASL_PLAINTEXT");
        int colon = hostPort.lastIndexOf(':');
        try (java.net.Socket socket = new java.net.Socket(hostPort.substring(0, colon),
                Integer.parseInt(hostPort.substring(colon + 1)))) {
            socket.setSoTimeout(10_000);
            var out = new java.io.DataOutputStream(socket.getOutputStream());
            var in = new java.io.DataInputStream(socket.getInputStream());
            java.nio.ByteBuffer handshake = new org.apache.kafka.common.requests.SaslHandshakeRequest.Builder(
                    new org.apache.kafka.common.message.SaslHandshakeRequestData().setMechanism("PLAIN"))
                    .build((short) 0).serializeWithHeader(
                            new org.apache.kafka.common.requests.RequestHeader(ApiKeys.SASL_HANDSHAKE, (short) 0, "raw", 1));
            out.writeInt(handshake.remaining());
            out.write(handshake.array(), handshake.arrayOffset() + handshake.position(), handshake.remaining());
            byte[] frame = new byte[in.readInt()];
            in.readFully(frame);
            java.nio.ByteBuffer response = java.nio.ByteBuffer.wrap(frame);
            assertThat(response.getInt()).as("correlation id").isEqualTo(1);
            var answer = new org.apache.kafka.common.message.SaslHandshakeResponseData(
                    new org.apache.kafka.common.protocol.ByteBufferAccessor(response), (short) 0);
            assertThat(answer.errorCode()).isZero();
            assertThat(answer.mechanisms()).containsExactly("PLAIN");
            // then the PLAIN token itself, size-prefixed but without a Kafka request header
            byte[] token = "\0alice\0alice-secret".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.writeInt(token.length);
            out.write(token);
            assertThat(in.readInt()).as("PLAIN's empty challenge").isZero();
        }
    }

    @Test
    void plaintextClientOnTlsPortFailsWithoutHurtingTheNode() throws Exception {
        Map<String, Object> c = client("PLAINTEXT");
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("SSL"));
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3_000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000);
        try (Admin admin = Admin.create(c)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
        }
        // garbage where a TLS handshake should be
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers("SSL"))) {
            raw.sendRaw(new byte[] {0, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20});
            assertThat(raw.closedByPeer()).isTrue();
        }
        try (Admin admin = admin(client("SSL"))) {
            assertThat(admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS)).isNotEmpty();
        }
    }

    @Test
    void connectionsKeepThePrincipalTheirListenerGives() throws Exception {
        ch.qos.logback.classic.Logger connections = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.runnel.protocol.Connections.class);
        ch.qos.logback.classic.Logger sasl = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(io.runnel.api.SaslAuthenticateHandler.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
                new ch.qos.logback.core.read.ListAppender<>();
        seen.start();
        ch.qos.logback.classic.Level before = connections.getLevel();
        for (ch.qos.logback.classic.Logger l : List.of(connections, sasl)) {
            l.addAppender(seen);
            l.setLevel(ch.qos.logback.classic.Level.DEBUG);
        }
        try {
            for (String listener : List.of("MTLS", "SASL_SSL", "SSL")) {
                try (Admin admin = admin(client(listener))) {
                    admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
                }
            }
        } finally {
            for (ch.qos.logback.classic.Logger l : List.of(connections, sasl)) {
                l.detachAppender(seen);
                l.setLevel(before);
            }
        }
        List<String> lines = seen.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                .toList();
        assertThat(lines).anyMatch(m -> m.contains("on MTLS: principal User:" + TestCertificates.CLIENT_DN));
        assertThat(lines).anyMatch(m -> m.contains("on SASL_SSL: principal User:bob"));
        assertThat(lines).anyMatch(m -> m.contains("on SSL: principal User:ANONYMOUS"));
    }

    @Test
    void mutualTlsRefusesAClientWithoutCertificate() {
        Map<String, Object> c = client("SSL");
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("MTLS"));
        try (Admin admin = admin(c)) {
            assertThatThrownBy(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SslAuthenticationException.class);
        }
    }

    @Test
    void aclApisAnswerSecurityDisabledWithoutAnAuthorizer() throws Exception {
        try (Admin admin = admin(client("SASL_SSL"))) {
            assertThatThrownBy(() -> admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SecurityDisabledException.class)
                    .hasMessageContaining("No Authorizer is configured");
            AclBinding binding = new AclBinding(new ResourcePattern(ResourceType.TOPIC, "t", PatternType.LITERAL),
                    new AccessControlEntry("User:bob", "*", AclOperation.READ, AclPermissionType.ALLOW));
            assertThatThrownBy(() -> admin.createAcls(List.of(binding)).all().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SecurityDisabledException.class);
            assertThatThrownBy(() -> admin.deleteAcls(List.of(AclBindingFilter.ANY)).all().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(SecurityDisabledException.class);
        }
    }
}
