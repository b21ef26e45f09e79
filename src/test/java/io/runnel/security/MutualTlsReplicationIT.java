package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clustered nodes whose only listener is SSL with {@code ssl.client.auth=required}: followers present the
 * broker's own certificate (its keystore) and check the leader's against the truststore, so the brokers are
 * {@code User:CN=localhost} to each other, the one super user besides the test's client; acks=all writes then
 * reach both replicas.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MutualTlsReplicationIT {

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void followersReplicateOverMutualTlsAsTheirCertificatesPrincipal() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCluster cluster = TestCluster.allocate("mtls", 2);
        for (int id = 1; id <= 2; id++) {
            Map<String, String> p = cluster.nodeProps(id);
            p.put("log.dirs", dir.resolve("node" + id).toString());
            p.put("listeners", "SSL://127.0.0.1:0");
            p.put("inter.broker.listener.name", "SSL");
            p.put("ssl.client.auth", "required");
            p.put("ssl.keystore.location", certs.serverKeystore().toString());
            p.put("ssl.keystore.password", TestCertificates.STORE_PASSWORD);
            p.put("ssl.truststore.location", certs.truststore().toString());
            p.put("ssl.truststore.password", TestCertificates.TRUST_PASSWORD);
            p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            p.put("super.users", "User:CN=localhost;User:" + TestCertificates.CLIENT_DN);
            p.put("admin.listener", "127.0.0.1:0");
            p.put("offsets.topic.num.partitions", "1");
            p.put("runnel.log.shards", "2");
            brokers.add(Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS));
        }
        Map<String, Object> client = new HashMap<>();
        client.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, brokers.get(0).bootstrapServers());
        client.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SSL");
        client.put(SslConfigs.SSL_KEYSTORE_LOCATION_CONFIG, certs.clientKeystore().toString());
        client.put(SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG, TestCertificates.STORE_PASSWORD);
        client.put(SslConfigs.SSL_KEY_PASSWORD_CONFIG, TestCertificates.STORE_PASSWORD);
        client.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, certs.truststore().toString());
        client.put(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG, TestCertificates.TRUST_PASSWORD);
        String topic = "mtls";
        try (Admin admin = Admin.create(client)) {
            await(() -> admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 2);
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 2).configs(Map.of("min.insync.replicas", "2"))))
                    .all().get(30, TimeUnit.SECONDS);
            Map<String, Object> pc = new HashMap<>(client);
            pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
            pc.put(ProducerConfig.ACKS_CONFIG, "all");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
                for (int i = 0; i < 20; i++) {
                    // min.insync.replicas=2: each acknowledgement needs the follower's fetch over mutual TLS
                    producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i)).get(60, TimeUnit.SECONDS);
                }
            }
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
            assertThat(d.partitions()).allSatisfy(p -> assertThat(p.isr()).hasSize(2));
        }
    }

    private static void await(java.util.concurrent.Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            assertThat(System.nanoTime()).as("condition within 60 s").isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
