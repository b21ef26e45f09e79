package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.KafkaTools;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authorizer as a Kafka user meets it: a SASL_PLAINTEXT listener with PLAIN users, super.users=User:admin,
 * ACLs created, described and deleted through Admin, and alice's producer, consumer and admin client refused
 * or served as Kafka's StandardAuthorizer would decide.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AclAuthorizerIT {

    private static final String JAAS_PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"%s\" password=\"%s\";";

    @TempDir
    static Path dir;
    static Broker broker;
    static Admin admin;

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("sasl.enabled.mechanisms", "PLAIN");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\""
                        + " user_alice=\"alice-secret\" user_bob=\"bob-secret\";");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:admin");
        broker = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        admin = Admin.create(client("admin"));
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

    private static Map<String, Object> client(String user) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, String.format(JAAS_PLAIN, user, user + "-secret"));
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return c;
    }

    private static KafkaProducer<String, String> producer(String user) {
        Map<String, Object> pc = client(user);
        pc.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
        pc.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 20_000);
        pc.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return new KafkaProducer<>(pc);
    }

    private static KafkaConsumer<String, String> consumer(String user, String group) {
        Map<String, Object> cc = client(user);
        cc.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        if (group != null) {
            cc.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        return new KafkaConsumer<>(cc);
    }

    private static AclBinding acl(ResourceType type, String name, PatternType pattern, AclOperation op,
                                  AclPermissionType permission) {
        return acl(type, name, pattern, op, permission, "User:alice");
    }

    private static AclBinding acl(ResourceType type, String name, PatternType pattern, AclOperation op,
                                  AclPermissionType permission, String principal) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry(principal, "*", op, permission));
    }

    private static void create(AclBinding... acls) throws Exception {
        admin.createAcls(List.of(acls)).all().get(30, TimeUnit.SECONDS);
    }

    private static void topic(String name) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    private static Throwable cause(Throwable t) {
        return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    }

    @Test
    void aliceProducesWithWriteAndConsumesOnlyOnceReadIsGranted() throws Exception {
        topic("t");
        create(acl(ResourceType.TOPIC, "t", PatternType.LITERAL, AclOperation.WRITE, AclPermissionType.ALLOW));
        try (KafkaProducer<String, String> producer = producer("alice")) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>("t", "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
            }
        }
        // WRITE implies DESCRIBE, not READ: the consumer finds the partition but may not fetch it
        try (KafkaConsumer<String, String> consumer = consumer("alice", null)) {
            consumer.assign(List.of(new TopicPartition("t", 0)));
            consumer.seekToBeginning(List.of(new TopicPartition("t", 0)));
            assertThatThrownBy(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(200));
                }
            }).isInstanceOf(TopicAuthorizationException.class);
        }
        create(acl(ResourceType.TOPIC, "t", PatternType.LITERAL, AclOperation.READ, AclPermissionType.ALLOW),
                acl(ResourceType.GROUP, "g-alice", PatternType.LITERAL, AclOperation.READ, AclPermissionType.ALLOW));
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = consumer("alice", "g-alice")) {
            consumer.subscribe(List.of("t"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (got.size() < 10 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(got::add);
            }
            consumer.commitSync(Duration.ofSeconds(30));
        }
        assertThat(got).extracting(ConsumerRecord::value).containsExactly("v0", "v1", "v2", "v3", "v4", "v5", "v6",
                "v7", "v8", "v9");
        assertThat(admin.listConsumerGroupOffsets("g-alice").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS)
                .get(new TopicPartition("t", 0)).offset()).isEqualTo(10);
        // a group she has no ACL on is refused
        try (KafkaConsumer<String, String> consumer = consumer("alice", "g-other")) {
            consumer.subscribe(List.of("t"));
            assertThatThrownBy(() -> consumer.poll(Duration.ofSeconds(20)))
                    .isInstanceOf(org.apache.kafka.common.errors.GroupAuthorizationException.class);
        }
    }

    @Test
    void aPrefixedAllowServesItsTopicsAndADenyWinsOverIt() throws Exception {
        topic("pre-open");
        topic("pre-secret");
        create(acl(ResourceType.TOPIC, "pre-", PatternType.PREFIXED, AclOperation.WRITE, AclPermissionType.ALLOW),
                acl(ResourceType.TOPIC, "pre-secret", PatternType.LITERAL, AclOperation.WRITE, AclPermissionType.DENY));
        try (KafkaProducer<String, String> producer = producer("alice")) {
            assertThat(producer.send(new ProducerRecord<>("pre-open", "k", "v")).get(30, TimeUnit.SECONDS).offset())
                    .isZero();
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("pre-secret", "k", "v")).get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(TopicAuthorizationException.class));
        }
        // the topic stays untouched
        assertThat(admin.listOffsets(Map.of(new TopicPartition("pre-secret", 0),
                org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get(30, TimeUnit.SECONDS)
                .get(new TopicPartition("pre-secret", 0)).offset()).isZero();
    }

    @Test
    void anIdempotentProducerWithoutWriteAnywhereIsRefused() throws Exception {
        topic("bobs");
        // bob may DESCRIBE the topic but WRITE nowhere: InitProducerId needs IDEMPOTENT_WRITE on the cluster or
        // WRITE on some topic, so his idempotent producer fails with CLUSTER_AUTHORIZATION_FAILED
        admin.createAcls(List.of(bob(ResourceType.TOPIC, "bobs", AclOperation.DESCRIBE))).all().get(30, TimeUnit.SECONDS);
        try (KafkaProducer<String, String> producer = producer("bob")) {
            // the refusal comes back through the future, or, once the producer has already failed its
            // InitProducerId, from send() itself as "in an error state" caused by it
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>("bobs", "k", "v")).get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(java.util.stream.Stream.iterate(t, c -> c != null, Throwable::getCause))
                            .anyMatch(c -> c instanceof ClusterAuthorizationException));
        }
        // WRITE on the topic is enough for both InitProducerId and Produce
        admin.createAcls(List.of(bob(ResourceType.TOPIC, "bobs", AclOperation.WRITE))).all().get(30, TimeUnit.SECONDS);
        try (KafkaProducer<String, String> producer = producer("bob")) {
            assertThat(producer.send(new ProducerRecord<>("bobs", "k", "v")).get(30, TimeUnit.SECONDS).offset()).isZero();
        }
    }

    private static AclBinding bob(ResourceType type, String name, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, PatternType.LITERAL),
                new AccessControlEntry("User:bob", "*", op, AclPermissionType.ALLOW));
    }

    @Test
    void metadataHidesTopicsAliceMayNotDescribe() throws Exception {
        topic("visible");
        topic("hidden");
        create(acl(ResourceType.TOPIC, "visible", PatternType.LITERAL, AclOperation.READ, AclPermissionType.ALLOW));
        try (Admin alice = Admin.create(client("alice"))) {
            Set<String> names = alice.listTopics().names().get(30, TimeUnit.SECONDS);
            assertThat(names).contains("visible").doesNotContain("hidden");
            assertThatThrownBy(() -> alice.describeTopics(List.of("hidden")).allTopicNames().get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(TopicAuthorizationException.class));
            TopicDescription d = alice.describeTopics(List.of("visible"),
                    new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames()
                    .get(30, TimeUnit.SECONDS).get("visible");
            assertThat(d.authorizedOperations()).containsExactlyInAnyOrder(AclOperation.READ, AclOperation.DESCRIBE);
            // alice may not manage ACLs (ALTER / DESCRIBE on the cluster)
            assertThatThrownBy(() -> alice.createAcls(List.of(acl(ResourceType.TOPIC, "hidden", PatternType.LITERAL,
                    AclOperation.READ, AclPermissionType.ALLOW))).all().get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(ClusterAuthorizationException.class));
            assertThatThrownBy(() -> alice.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(ClusterAuthorizationException.class));
            // nor manage or list SCRAM users (ALTER / DESCRIBE on the cluster)
            assertThatThrownBy(() -> alice.alterUserScramCredentials(List.of(new org.apache.kafka.clients.admin
                    .UserScramCredentialUpsertion("mallory", new org.apache.kafka.clients.admin.ScramCredentialInfo(
                    org.apache.kafka.clients.admin.ScramMechanism.SCRAM_SHA_256, 4096), "pw"))).all()
                    .get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(ClusterAuthorizationException.class));
            assertThatThrownBy(() -> alice.describeUserScramCredentials().all().get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(ClusterAuthorizationException.class));
            // nor create topics without CREATE
            assertThatThrownBy(() -> alice.createTopics(List.of(new NewTopic("alice-new", 1, (short) 1))).all()
                    .get(30, TimeUnit.SECONDS))
                    .satisfies(t -> assertThat(cause(t)).isInstanceOf(TopicAuthorizationException.class));
        }
    }

    @Test
    void anAuthorizerRunnelDoesNotProvideStopsStartUp() {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("refused").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0");
        p.put("authorizer.class.name", "com.example.CustomAuthorizer");
        assertThatThrownBy(() -> Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(org.apache.kafka.common.config.ConfigException.class)
                .hasMessageContaining("authorizer.class.name");
    }

    @Test
    void describeAndDeleteAclsByFilter() throws Exception {
        AclBinding g1 = acl(ResourceType.GROUP, "f-g1", PatternType.LITERAL, AclOperation.READ, AclPermissionType.ALLOW);
        AclBinding g2 = acl(ResourceType.GROUP, "f-g", PatternType.PREFIXED, AclOperation.DESCRIBE,
                AclPermissionType.ALLOW);
        AclBinding tx = acl(ResourceType.TRANSACTIONAL_ID, "f-tx", PatternType.LITERAL, AclOperation.WRITE,
                AclPermissionType.DENY);
        create(g1, g2, tx);
        create(g1); // a duplicate is no error and no second ACL
        AclBindingFilter groups = new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.GROUP, null, PatternType.ANY), AccessControlEntryFilter.ANY);
        assertThat(admin.describeAcls(groups).values().get(30, TimeUnit.SECONDS))
                .filteredOn(b -> b.pattern().name().startsWith("f-")).containsExactlyInAnyOrder(g1, g2);
        // MATCH: the ACLs that apply to group f-g1, literal and prefixed
        AclBindingFilter matching = new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.GROUP, "f-g1", PatternType.MATCH), AccessControlEntryFilter.ANY);
        assertThat(admin.describeAcls(matching).values().get(30, TimeUnit.SECONDS)).containsExactlyInAnyOrder(g1, g2);
        AclBindingFilter denies = new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.TRANSACTIONAL_ID, null, PatternType.ANY),
                new AccessControlEntryFilter("User:alice", null, AclOperation.ANY, AclPermissionType.DENY));
        Collection<AclBinding> deleted = admin.deleteAcls(List.of(denies)).all().get(30, TimeUnit.SECONDS);
        assertThat(deleted).containsExactly(tx);
        assertThat(admin.describeAcls(new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.TRANSACTIONAL_ID, "f-tx", PatternType.LITERAL),
                AccessControlEntryFilter.ANY)).values().get(30, TimeUnit.SECONDS)).isEmpty();
        // an invalid ACL is refused with Kafka's error
        assertThatThrownBy(() -> admin.createAcls(List.of(new AclBinding(
                new ResourcePattern(ResourceType.CLUSTER, "not-the-cluster", PatternType.LITERAL),
                new AccessControlEntry("User:alice", "*", AclOperation.ALTER, AclPermissionType.ALLOW))))
                .all().get(30, TimeUnit.SECONDS))
                .satisfies(t -> assertThat(cause(t)).isInstanceOf(org.apache.kafka.common.errors.InvalidRequestException.class)
                        .hasMessageContaining("kafka-cluster"));
    }

    /**
     * Kafka's own kafka-acls.sh (org.apache.kafka.tools.AclCommand from the Kafka 4.4.0 jars), logged in as the
     * super user through a --command-config file: it adds a literal and a prefixed ACL, lists them, and removes
     * them, and the Admin client sees each change.
     */
    @Test
    void kafkaAclsToolAddsListsAndRemovesAcls() throws Exception {
        Path config = dir.resolve("admin-client.properties");
        java.nio.file.Files.writeString(config, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                + "sasl.jaas.config=" + String.format(JAAS_PLAIN, "admin", "admin-secret") + "\n");
        String bootstrap = broker.bootstrapServers("SASL_PLAINTEXT");
        KafkaTools.Result r = KafkaTools.run("org.apache.kafka.tools.AclCommand", List.of("--bootstrap-server", bootstrap,
                "--command-config", config.toString(), "--add", "--allow-principal", "User:carol",
                "--operation", "Read", "--operation", "Describe", "--topic", "tool-orders"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        r = KafkaTools.run("org.apache.kafka.tools.AclCommand", List.of("--bootstrap-server", bootstrap,
                "--command-config", config.toString(), "--add", "--allow-principal", "User:carol",
                "--operation", "Read", "--group", "tool-", "--resource-pattern-type", "prefixed"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        AclBindingFilter carols = new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:carol", null, AclOperation.ANY, AclPermissionType.ANY));
        assertThat(admin.describeAcls(carols).values().get(30, TimeUnit.SECONDS)).containsExactlyInAnyOrder(
                acl(ResourceType.TOPIC, "tool-orders", PatternType.LITERAL, AclOperation.READ, AclPermissionType.ALLOW, "User:carol"),
                acl(ResourceType.TOPIC, "tool-orders", PatternType.LITERAL, AclOperation.DESCRIBE, AclPermissionType.ALLOW, "User:carol"),
                acl(ResourceType.GROUP, "tool-", PatternType.PREFIXED, AclOperation.READ, AclPermissionType.ALLOW, "User:carol"));
        r = KafkaTools.run("org.apache.kafka.tools.AclCommand", List.of("--bootstrap-server", bootstrap,
                "--command-config", config.toString(), "--list", "--topic", "tool-orders"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("name=tool-orders").contains("principal=User:carol")
                .contains("operation=READ").contains("operation=DESCRIBE");
        r = KafkaTools.run("org.apache.kafka.tools.AclCommand", List.of("--bootstrap-server", bootstrap,
                "--command-config", config.toString(), "--remove", "--force", "--topic", "tool-orders"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(admin.describeAcls(carols).values().get(30, TimeUnit.SECONDS)).containsExactly(
                acl(ResourceType.GROUP, "tool-", PatternType.PREFIXED, AclOperation.READ, AclPermissionType.ALLOW, "User:carol"));
        // bob, who is no super user and may not ALTER the cluster, is refused by the tool
        Path bobConfig = dir.resolve("bob-client.properties");
        java.nio.file.Files.writeString(bobConfig, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                + "sasl.jaas.config=" + String.format(JAAS_PLAIN, "bob", "bob-secret") + "\n");
        r = KafkaTools.run("org.apache.kafka.tools.AclCommand", List.of("--bootstrap-server", bootstrap,
                "--command-config", bobConfig.toString(), "--add", "--allow-principal", "User:bob",
                "--operation", "All", "--topic", "*"));
        assertThat(r.output()).contains("ClusterAuthorizationException");
        assertThat(admin.describeAcls(new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter("User:bob", null, AclOperation.ALL, AclPermissionType.ANY)))
                .values().get(30, TimeUnit.SECONDS)).isEmpty();
    }
}
