package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.UnacceptableCredentialException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 as a Kafka user sets them up: a SASL_PLAINTEXT listener enabling both, users
 * created with {@code Admin.alterUserScramCredentials} (what kafka-configs.sh --entity-type users uses) over a
 * PLAINTEXT listener, then producers and consumers that log in with each mechanism through the official clients.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ScramIT {

    private static final String JAAS_SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\"%s\" password=\"%s\";";

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private Map<String, String> node(Path data) {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", data.toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512");
        return p;
    }

    private Broker start(Map<String, String> p) throws Exception {
        Broker b = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        brokers.add(b);
        return b;
    }

    private static Admin admin(Broker b) {
        Map<String, Object> a = new HashMap<>();
        a.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT"));
        a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return Admin.create(a);
    }

    private static Map<String, Object> scram(Broker b, ScramMechanism m, String user, String password) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put(SaslConfigs.SASL_MECHANISM, m.mechanismName());
        c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_SCRAM, user, password));
        return c;
    }

    private static void upsert(Admin admin, String user, ScramMechanism m, int iterations, String password)
            throws Exception {
        admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                new ScramCredentialInfo(m, iterations), password))).all().get(30, TimeUnit.SECONDS);
    }

    /** Produces three records and reads them back, logged in as {@code client}'s user. */
    private static void produceAndConsume(Map<String, Object> client, String topic) throws Exception {
        Map<String, Object> pc = new HashMap<>(client);
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        pc.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
            }
        }
        Map<String, Object> cc = new HashMap<>(client);
        cc.put(ConsumerConfig.GROUP_ID_CONFIG, "g-" + topic + "-" + UUID.randomUUID());
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cc)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (got.size() < 3 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(got::add);
            }
        }
        assertThat(got).extracting(ConsumerRecord::value).startsWith("v0", "v1", "v2");
    }

    /** A producer's first send: fails with the client's authentication error when the login is refused. */
    private static void send(Map<String, Object> client, String topic) throws Exception {
        Map<String, Object> pc = new HashMap<>(client);
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20_000);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
            producer.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS);
        }
    }

    private static Throwable rootOf(Throwable t) {
        return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    }

    @Test
    void usersLogInWithEachMechanismUntilTheirCredentialIsDeleted() throws Exception {
        Broker b = start(node(dir.resolve("data")));
        String topic = "scram-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = admin(b)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            upsert(admin, "alice", ScramMechanism.SCRAM_SHA_256, 4096, "alice-secret");
            upsert(admin, "alice", ScramMechanism.SCRAM_SHA_512, 8192, "alice-other");
            upsert(admin, "bob", ScramMechanism.SCRAM_SHA_512, 4096, "bob-secret");

            Map<String, UserScramCredentialsDescription> described = admin.describeUserScramCredentials()
                    .all().get(30, TimeUnit.SECONDS);
            assertThat(described).containsOnlyKeys("alice", "bob");
            assertThat(described.get("alice").credentialInfos()).extracting(i -> i.mechanism() + ":" + i.iterations())
                    .containsExactlyInAnyOrder("SCRAM_SHA_256:4096", "SCRAM_SHA_512:8192");
            assertThat(described.get("bob").credentialInfos()).extracting(i -> i.mechanism() + ":" + i.iterations())
                    .containsExactly("SCRAM_SHA_512:4096");

            // Kafka's checks, through the client's own exceptions
            assertThatThrownBy(() -> upsert(admin, "carol", ScramMechanism.SCRAM_SHA_256, 100, "x"))
                    .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(UnacceptableCredentialException.class));
            // all() shows a user not found without credentials (the client's own rule); description(user) raises it
            Map<String, UserScramCredentialsDescription> some = admin.describeUserScramCredentials(
                    List.of("nobody", "bob")).all().get(30, TimeUnit.SECONDS);
            assertThat(some.get("nobody").credentialInfos()).isEmpty();
            assertThat(some.get("bob").credentialInfos()).hasSize(1);
            assertThatThrownBy(() -> admin.describeUserScramCredentials(List.of("nobody")).description("nobody")
                    .get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(ResourceNotFoundException.class));

            produceAndConsume(scram(b, ScramMechanism.SCRAM_SHA_256, "alice", "alice-secret"), topic);
            produceAndConsume(scram(b, ScramMechanism.SCRAM_SHA_512, "alice", "alice-other"), topic);
            produceAndConsume(scram(b, ScramMechanism.SCRAM_SHA_512, "bob", "bob-secret"), topic);

            // a wrong password, a password of the other mechanism, a mechanism the user has no credential for
            for (Map<String, Object> bad : List.of(
                    scram(b, ScramMechanism.SCRAM_SHA_256, "alice", "wrong"),
                    scram(b, ScramMechanism.SCRAM_SHA_256, "alice", "alice-other"),
                    scram(b, ScramMechanism.SCRAM_SHA_256, "bob", "bob-secret"),
                    scram(b, ScramMechanism.SCRAM_SHA_512, "nobody", "x"))) {
                assertThatThrownBy(() -> send(bad, topic))
                        .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(SaslAuthenticationException.class));
            }

            admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion("alice",
                    ScramMechanism.SCRAM_SHA_256))).all().get(30, TimeUnit.SECONDS);
            assertThatThrownBy(() -> send(scram(b, ScramMechanism.SCRAM_SHA_256, "alice", "alice-secret"), topic))
                    .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(SaslAuthenticationException.class));
            send(scram(b, ScramMechanism.SCRAM_SHA_512, "alice", "alice-other"), topic);
            // deleting it again: RESOURCE_NOT_FOUND
            assertThatThrownBy(() -> admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion("alice",
                    ScramMechanism.SCRAM_SHA_256))).all().get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(ResourceNotFoundException.class));
        }
    }

    @Test
    void plainAndScramShareAListenerAndAPlainAdminCreatesScramUsers() throws Exception {
        Map<String, String> p = node(dir.resolve("mixed"));
        p.put("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\";");
        Broker b = start(p);
        Map<String, Object> a = new HashMap<>();
        a.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("SASL_PLAINTEXT"));
        a.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        a.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        a.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required"
                + " username=\"admin\" password=\"admin-secret\";");
        a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (Admin admin = Admin.create(a)) {
            admin.createTopics(List.of(new NewTopic("mixed", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            upsert(admin, "gina", ScramMechanism.SCRAM_SHA_256, 4096, "gina-secret");
        }
        produceAndConsume(scram(b, ScramMechanism.SCRAM_SHA_256, "gina", "gina-secret"), "mixed");
        // SCRAM-SHA-512 is not enabled on this listener: the client is told so (UNSUPPORTED_SASL_MECHANISM)
        assertThatThrownBy(() -> send(scram(b, ScramMechanism.SCRAM_SHA_512, "gina", "gina-secret"), "mixed"))
                .satisfies(t -> assertThat(rootOf(t))
                        .isInstanceOf(org.apache.kafka.common.errors.UnsupportedSaslMechanismException.class));
    }

    @Test
    void credentialsSurviveARestartFromASnapshot() throws Exception {
        Map<String, String> p = node(dir.resolve("restart"));
        // a snapshot after every ten records: the credential is in one by the time the node restarts
        p.put("metadata.log.max.records.between.snapshots", "10");
        Broker b = start(p);
        String topic = "scram-restart";
        try (Admin admin = admin(b)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            upsert(admin, "dave", ScramMechanism.SCRAM_SHA_256, 4096, "dave-secret");
            for (int i = 0; i < 12; i++) {
                admin.createTopics(List.of(new NewTopic("filler-" + i, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
        }
        brokers.remove(b);
        b.closeAndWait(30, TimeUnit.SECONDS);
        Broker again = start(p);
        send(scram(again, ScramMechanism.SCRAM_SHA_256, "dave", "dave-secret"), topic);
        assertThatThrownBy(() -> send(scram(again, ScramMechanism.SCRAM_SHA_256, "dave", "wrong"), topic))
                .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(SaslAuthenticationException.class));
    }

    @Test
    void aUserCreatedThroughOneBrokerLogsInOnTheOther() throws Exception {
        TestCluster cluster = TestCluster.allocate("scram", 2);
        for (int id = 1; id <= 2; id++) {
            Map<String, String> p = node(dir.resolve("node" + id));
            p.putAll(cluster.nodeProps(id));
            start(p);
        }
        try (Admin viaOne = admin(brokers.get(0)); Admin viaTwo = admin(brokers.get(1))) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (viaOne.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() < 2) {
                assertThat(System.nanoTime()).as("two brokers").isLessThan(deadline);
                Thread.sleep(200);
            }
            viaOne.createTopics(List.of(new NewTopic("shared", 1, (short) 2))).all().get(30, TimeUnit.SECONDS);
            upsert(viaOne, "erin", ScramMechanism.SCRAM_SHA_512, 4096, "erin-secret");
            // the other broker applies the record a moment later: its describe shows it, then the login works
            while (!viaTwo.describeUserScramCredentials().all().get(10, TimeUnit.SECONDS).containsKey("erin")) {
                assertThat(System.nanoTime()).as("erin on broker 2").isLessThan(deadline);
                Thread.sleep(100);
            }
            send(scram(brokers.get(1), ScramMechanism.SCRAM_SHA_512, "erin", "erin-secret"), "shared");
            assertThatThrownBy(() -> send(scram(brokers.get(1), ScramMechanism.SCRAM_SHA_512, "erin", "nope"), "shared"))
                    .satisfies(t -> assertThat(rootOf(t)).isInstanceOf(SaslAuthenticationException.class));

            upsert(viaTwo, "frank", ScramMechanism.SCRAM_SHA_256, 4096, "frank-secret");
            while (!viaOne.describeUserScramCredentials().all().get(10, TimeUnit.SECONDS).containsKey("frank")) {
                assertThat(System.nanoTime()).as("frank on broker 1").isLessThan(deadline);
                Thread.sleep(100);
            }
            send(scram(brokers.get(0), ScramMechanism.SCRAM_SHA_256, "frank", "frank-secret"), "shared");
        }
    }
}
