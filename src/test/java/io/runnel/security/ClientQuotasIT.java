package io.runnel.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.runnel.Broker;
import io.runnel.testutil.KafkaTools;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterClientQuotasOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.quota.ClientQuotaFilterComponent;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client quotas with the official Java clients and Kafka's own kafka-configs.sh: quotas set and read through
 * {@code Admin.alterClientQuotas / describeClientQuotas} and the tool, and a producer and a consumer over their
 * byte-rate quota held to it, measured from the client side.
 *
 * <p>How the rate is measured: Kafka's quota is a rate over {@code quota.window.num} (11) windows of one second, and
 * a client starts with a burst of up to ten seconds of its quota. A client that asks for more than its quota then
 * follows a sawtooth whose period is the whole span (about 11 s): each time the oldest window expires it may take
 * what that window held at once (a consumer most sharply, since a throttled fetch is answered empty and not charged,
 * so it gets nothing until a window expires and then about ten seconds' worth). The steady rate is therefore measured
 * over three whole periods, from the middle of the first to the middle of the fourth (5.5 s to 38.5 s after the
 * first byte), so that each burst falls inside the interval once whatever its exact phase.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClientQuotasIT {

    /** 256 KiB/s. */
    private static final long QUOTA = 256 * 1024;
    private static final long SPAN_MS = 11_000;
    private static final long STEADY_FROM_MS = SPAN_MS / 2;
    private static final long STEADY_TO_MS = STEADY_FROM_MS + 3 * SPAN_MS;

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private Broker start() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
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

    private static ClientQuotaEntity clientId(String id) {
        return new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, id));
    }

    private static ClientQuotaEntity user(String name) {
        Map<String, String> m = new HashMap<>();
        m.put(ClientQuotaEntity.USER, name);
        return new ClientQuotaEntity(m);
    }

    private static void alter(Admin admin, ClientQuotaEntity entity, String key, Double value) throws Exception {
        admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity,
                List.of(new ClientQuotaAlteration.Op(key, value))))).all().get(30, TimeUnit.SECONDS);
    }

    private static Map<ClientQuotaEntity, Map<String, Double>> describe(Admin admin, ClientQuotaFilter filter)
            throws Exception {
        return admin.describeClientQuotas(filter).entities().get(30, TimeUnit.SECONDS);
    }

    private static double metric(Map<MetricName, ? extends Metric> metrics, String group, String name) {
        return metrics.entrySet().stream()
                .filter(e -> e.getKey().group().equals(group) && e.getKey().name().equals(name)
                        && !e.getKey().tags().containsKey("node-id"))
                .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue()).findFirst().orElse(Double.NaN);
    }

    @Test
    void quotasAreAlteredAndDescribedThroughTheAdminClient() throws Exception {
        Broker b = start();
        try (Admin admin = admin(b)) {
            alter(admin, clientId("app"), "producer_byte_rate", 1024.0);
            alter(admin, user("alice"), "consumer_byte_rate", 2048.0);
            alter(admin, user(null), "request_percentage", 50.0);
            Map<String, String> both = new HashMap<>();
            both.put(ClientQuotaEntity.USER, "alice");
            both.put(ClientQuotaEntity.CLIENT_ID, null);
            alter(admin, new ClientQuotaEntity(both), "producer_byte_rate", 4096.0);

            assertThat(describe(admin, ClientQuotaFilter.all())).containsOnlyKeys(clientId("app"), user("alice"),
                    user(null), new ClientQuotaEntity(both));
            assertThat(describe(admin, ClientQuotaFilter.containsOnly(List.of(
                    ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, "app")))))
                    .isEqualTo(Map.of(clientId("app"), Map.of("producer_byte_rate", 1024.0)));
            assertThat(describe(admin, ClientQuotaFilter.containsOnly(List.of(
                    ClientQuotaFilterComponent.ofDefaultEntity(ClientQuotaEntity.USER)))))
                    .isEqualTo(Map.of(user(null), Map.of("request_percentage", 50.0)));
            assertThat(describe(admin, ClientQuotaFilter.contains(List.of(
                    ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.USER, "alice")))))
                    .containsOnlyKeys(user("alice"), new ClientQuotaEntity(both));

            // validate_only checks without changing anything
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(clientId("app"),
                    List.of(new ClientQuotaAlteration.Op("producer_byte_rate", 1.0)))),
                    new AlterClientQuotasOptions().validateOnly(true)).all().get(30, TimeUnit.SECONDS);
            assertThat(describe(admin, ClientQuotaFilter.containsOnly(List.of(
                    ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.CLIENT_ID, "app")))).get(clientId("app")))
                    .containsEntry("producer_byte_rate", 1024.0);

            // Kafka's errors, per entity
            assertThatThrownBy(() -> alter(admin, clientId("app"), "no_such_quota", 1.0))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("Invalid configuration key no_such_quota");
            assertThatThrownBy(() -> alter(admin, clientId("app"), "producer_byte_rate", 1.5))
                    .hasCauseInstanceOf(InvalidRequestException.class).hasMessageContaining("must be a Long value");

            // a null value removes the key, and an entity without keys is gone
            alter(admin, clientId("app"), "producer_byte_rate", null);
            assertThat(describe(admin, ClientQuotaFilter.all())).doesNotContainKey(clientId("app"));
        }
    }

    @Test
    void producerOverItsByteRateIsHeldToIt() throws Exception {
        Broker b = start();
        String topic = "quota-produce";
        try (Admin admin = admin(b)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            alter(admin, clientId("throttled-producer"), "producer_byte_rate", (double) QUOTA);
        }
        Map<String, Object> pc = new HashMap<>();
        pc.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT"));
        pc.put(CommonClientConfigs.CLIENT_ID_CONFIG, "throttled-producer");
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.ACKS_CONFIG, "1");
        pc.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        pc.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 512 * 1024);
        pc.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 120_000);
        byte[] value = new byte[1000];
        AtomicLong acked = new AtomicLong();
        List<String> perSecond = new ArrayList<>();
        double netFrom;
        double ackedFrom;
        double netTo;
        double ackedTo;
        double throttleMax;
        long t0 = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pc)) {
            netFrom = ackedFrom = Double.NaN;
            long nextSecond = 1000;
            long lastAcked = 0;
            while (true) {
                long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                if (Double.isNaN(netFrom) && elapsed >= STEADY_FROM_MS) {
                    netFrom = metric(producer.metrics(), "producer-metrics", "outgoing-byte-total");
                    ackedFrom = acked.get();
                }
                if (elapsed >= nextSecond) {
                    perSecond.add(String.valueOf((acked.get() - lastAcked) / 1024));
                    lastAcked = acked.get();
                    nextSecond += 1000;
                }
                if (elapsed >= STEADY_TO_MS) {
                    break;
                }
                producer.send(new ProducerRecord<>(topic, value), (md, e) -> {
                    if (e == null) {
                        acked.addAndGet(value.length);
                    }
                });
            }
            long end = System.nanoTime();
            netTo = metric(producer.metrics(), "producer-metrics", "outgoing-byte-total");
            ackedTo = acked.get();
            throttleMax = metric(producer.metrics(), "producer-metrics", "produce-throttle-time-max");
            double seconds = (TimeUnit.NANOSECONDS.toMillis(end - t0) - STEADY_FROM_MS) / 1000.0;
            double netRate = (netTo - netFrom) / seconds;
            double payloadRate = (ackedTo - ackedFrom) / seconds;
            System.out.printf("QUOTA producer: quota %d B/s; steady %.1f s: network %.0f B/s (%.3f of quota),"
                            + " acked payload %.0f B/s (%.3f); max throttle %.0f ms; KiB acked per second: %s%n",
                    QUOTA, seconds, netRate, netRate / QUOTA, payloadRate, payloadRate / QUOTA, throttleMax, perSecond);
            assertThat(throttleMax).as("the producer was told to back off").isPositive();
            assertThat(netRate).as("network bytes/s against the quota").isBetween(0.9 * QUOTA, 1.1 * QUOTA);
            assertThat(payloadRate).as("acked record bytes/s against the quota").isBetween(0.9 * QUOTA, 1.1 * QUOTA);
            producer.close(Duration.ZERO);
        }
    }

    @Test
    void consumerOverItsByteRateIsHeldToIt() throws Exception {
        // 40 s of steady state: full form only (-Dfaults.full=true, scripts/faults.sh); the producer's runs every time
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("faults.full"), "full form only (-Dfaults.full=true)");
        Broker b = start();
        String topic = "quota-fetch";
        try (Admin admin = admin(b)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            alter(admin, clientId("throttled-consumer"), "consumer_byte_rate", (double) QUOTA);
        }
        // more than the consumer may read in the run: 4 spans of the quota plus its first burst
        long toWrite = QUOTA * (STEADY_TO_MS / 1000 + 12) * 12 / 10;
        Map<String, Object> pc = new HashMap<>();
        pc.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT"));
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        pc.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
        byte[] value = new byte[1000];
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pc)) {
            for (long n = 0; n < toWrite; n += value.length) {
                producer.send(new ProducerRecord<>(topic, value));
            }
            producer.flush();
        }
        Map<String, Object> cc = new HashMap<>();
        cc.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT"));
        cc.put(CommonClientConfigs.CLIENT_ID_CONFIG, "throttled-consumer");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // a throttled fetch gets no data at all (as on Kafka), so responses must be small against the quota for the
        // rate to be smooth: with the default 1 MB per partition against 256 KiB/s, each fetch over the quota is
        // refused until the oldest window expires, and the consumer moves 2 MB every 11 s (0.7 of its quota)
        cc.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024);
        cc.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024);
        long consumed = 0;
        List<String> perSecond = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cc)) {
            consumer.assign(List.of(new org.apache.kafka.common.TopicPartition(topic, 0)));
            long t0 = -1;
            double netFrom = Double.NaN;
            long consumedFrom = 0;
            long nextSecond = 1000;
            long lastConsumed = 0;
            long end;
            while (true) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    if (t0 < 0) {
                        t0 = System.nanoTime();
                    }
                    consumed += r.value().length;
                }
                if (t0 < 0) {
                    continue;
                }
                long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                if (Double.isNaN(netFrom) && elapsed >= STEADY_FROM_MS) {
                    netFrom = metric(consumer.metrics(), "consumer-fetch-manager-metrics", "bytes-consumed-total");
                    consumedFrom = consumed;
                }
                if (elapsed >= nextSecond) {
                    perSecond.add(String.valueOf((consumed - lastConsumed) / 1024));
                    lastConsumed = consumed;
                    nextSecond += 1000;
                }
                if (elapsed >= STEADY_TO_MS) {
                    end = System.nanoTime();
                    break;
                }
            }
            double netTo = metric(consumer.metrics(), "consumer-fetch-manager-metrics", "bytes-consumed-total");
            double throttleMax = metric(consumer.metrics(), "consumer-fetch-manager-metrics", "fetch-throttle-time-max");
            double seconds = (TimeUnit.NANOSECONDS.toMillis(end - t0) - STEADY_FROM_MS) / 1000.0;
            double fetchedRate = (netTo - netFrom) / seconds;
            double payloadRate = (consumed - consumedFrom) / seconds;
            System.out.printf("QUOTA consumer: quota %d B/s; steady %.1f s: fetched %.0f B/s (%.3f of quota),"
                            + " record values %.0f B/s (%.3f); max throttle %.0f ms; written %d B; KiB per second: %s%n",
                    QUOTA, seconds, fetchedRate, fetchedRate / QUOTA, payloadRate, payloadRate / QUOTA, throttleMax,
                    toWrite, perSecond);
            assertThat(consumed).as("the topic was not read to its end").isLessThan(toWrite);
            assertThat(throttleMax).as("the consumer was told to back off").isPositive();
            assertThat(fetchedRate).as("fetched bytes/s against the quota").isBetween(0.9 * QUOTA, 1.1 * QUOTA);
            assertThat(payloadRate).as("record bytes/s against the quota").isBetween(0.9 * QUOTA, 1.1 * QUOTA);
        }
    }

    @Test
    void kafkaConfigsToolSetsAndDescribesClientAndUserQuotas() throws Exception {
        Broker b = start();
        String bootstrap = b.bootstrapServers("PLAINTEXT");
        KafkaTools.Result r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--alter",
                "--entity-type", "clients", "--entity-name", "app",
                "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("Completed updating config for client app.");
        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--alter",
                "--entity-type", "users", "--entity-name", "alice",
                "--add-config", "request_percentage=50");
        assertThat(r.exitCode()).as(r.output()).isZero();
        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--alter",
                "--entity-type", "users", "--entity-default",
                "--entity-type", "clients", "--entity-default",
                "--add-config", "producer_byte_rate=524288");
        assertThat(r.exitCode()).as(r.output()).isZero();

        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--describe",
                "--entity-type", "clients", "--entity-name", "app");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains(
                "Quota configs for client-id 'app' are consumer_byte_rate=2097152.0, producer_byte_rate=1048576.0");
        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--describe", "--entity-type", "users");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("Quota configs for user-principal 'alice' are request_percentage=50.0");
        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--describe",
                "--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-default");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("Quota configs for the default user-principal, the default client-id are"
                + " producer_byte_rate=524288.0");

        // removing and a bad key, as the tool reports them
        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--alter",
                "--entity-type", "clients", "--entity-name", "app", "--delete-config", "consumer_byte_rate");
        assertThat(r.exitCode()).as(r.output()).isZero();
        r = KafkaTools.kafkaConfigs("--bootstrap-server", bootstrap, "--describe",
                "--entity-type", "clients", "--entity-name", "app");
        assertThat(r.output()).contains("Quota configs for client-id 'app' are producer_byte_rate=1048576.0");
        try (Admin admin = admin(b)) {
            assertThat(describe(admin, ClientQuotaFilter.all())).hasSize(3);
        }
    }

    @Test
    void kafkaConfigsToolCreatesScramUsersThatLogIn() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "1");
        p.put("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "SCRAM-SHA-512");
        Broker b = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        brokers.add(b);
        KafkaTools.Result r = KafkaTools.kafkaConfigs("--bootstrap-server", b.bootstrapServers("PLAINTEXT"),
                "--alter", "--entity-type", "users", "--entity-name", "bob",
                "--add-config", "SCRAM-SHA-512=[iterations=8192,password=bob-secret]");
        assertThat(r.exitCode()).as(r.output()).isZero();
        r = KafkaTools.kafkaConfigs("--bootstrap-server", b.bootstrapServers("PLAINTEXT"),
                "--describe", "--entity-type", "users", "--entity-name", "bob");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("SCRAM credential configs for user-principal 'bob' are"
                + " SCRAM-SHA-512=iterations=8192");

        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put("sasl.mechanism", "SCRAM-SHA-512");
        c.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required"
                + " username=\"bob\" password=\"bob-secret\";");
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (Admin bob = Admin.create(c)) {
            bob.createTopics(List.of(new NewTopic("bobs", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            assertThat(bob.listTopics().names().get(30, TimeUnit.SECONDS)).contains("bobs");
        }
    }

    @Test
    void withAnAuthorizerQuotasNeedClusterConfigPermissionsAndUserQuotasFollowThePrincipal() throws Exception {
        Map<String, String> p = new HashMap<>();
        p.put("log.dirs", dir.resolve("data").toString());
        p.put("listeners", "SASL_PLAINTEXT://127.0.0.1:0");
        p.put("inter.broker.listener.name", "SASL_PLAINTEXT");
        p.put("admin.listener", "127.0.0.1:0");
        p.put("offsets.topic.num.partitions", "1");
        p.put("sasl.enabled.mechanisms", "PLAIN");
        // the inter-broker listener is SASL: brokers log in as admin with PLAIN, as Kafka requires them to name it
        p.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
        p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\""
                        + " password=\"admin-secret\" user_admin=\"admin-secret\""
                        + " user_bob=\"bob-secret\" user_carol=\"carol-secret\";");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("super.users", "User:admin");
        Broker b = Broker.start(p).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        brokers.add(b);
        try (Admin admin = Admin.create(plain(b, "admin")); Admin bob = Admin.create(plain(b, "bob"))) {
            assertThatThrownBy(() -> alter(bob, user("bob"), "producer_byte_rate", 1.0))
                    .hasCauseInstanceOf(org.apache.kafka.common.errors.ClusterAuthorizationException.class);
            assertThatThrownBy(() -> describe(bob, ClientQuotaFilter.all()))
                    .hasCauseInstanceOf(org.apache.kafka.common.errors.ClusterAuthorizationException.class);
            // DESCRIBE_CONFIGS on the cluster lets bob read quotas, not change them
            admin.createAcls(List.of(new org.apache.kafka.common.acl.AclBinding(
                    new org.apache.kafka.common.resource.ResourcePattern(
                            org.apache.kafka.common.resource.ResourceType.CLUSTER, "kafka-cluster",
                            org.apache.kafka.common.resource.PatternType.LITERAL),
                    new org.apache.kafka.common.acl.AccessControlEntry("User:bob", "*",
                            org.apache.kafka.common.acl.AclOperation.DESCRIBE_CONFIGS,
                            org.apache.kafka.common.acl.AclPermissionType.ALLOW)))).all().get(30, TimeUnit.SECONDS);
            alter(admin, user("carol"), "producer_byte_rate", 10_240.0);
            assertThat(describe(bob, ClientQuotaFilter.all())).containsKey(user("carol"));
            assertThatThrownBy(() -> alter(bob, user("bob"), "producer_byte_rate", 1.0))
                    .hasCauseInstanceOf(org.apache.kafka.common.errors.ClusterAuthorizationException.class);
            admin.createAcls(List.of(new org.apache.kafka.common.acl.AclBinding(
                    new org.apache.kafka.common.resource.ResourcePattern(
                            org.apache.kafka.common.resource.ResourceType.TOPIC, "carols",
                            org.apache.kafka.common.resource.PatternType.LITERAL),
                    new org.apache.kafka.common.acl.AccessControlEntry("User:carol", "*",
                            org.apache.kafka.common.acl.AclOperation.ALL,
                            org.apache.kafka.common.acl.AclPermissionType.ALLOW)))).all().get(30, TimeUnit.SECONDS);
            admin.createTopics(List.of(new NewTopic("carols", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        // carol's user quota (10 KiB/s) applies whatever her client id: past her first ten seconds' worth she is throttled
        Map<String, Object> pc = plain(b, "carol");
        pc.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
        pc.put(CommonClientConfigs.CLIENT_ID_CONFIG, "any-client-id");
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < 130; i++) {
                producer.send(new ProducerRecord<>("carols", new byte[1000])).get(30, TimeUnit.SECONDS);
            }
            assertThat(metric(producer.metrics(), "producer-metrics", "produce-throttle-time-max")).isPositive();
        }
        // the throttling shows in /metrics
        java.net.http.HttpResponse<String> scrape = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + b.adminPort() + "/metrics"))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(scrape.body()).containsPattern("runnel_quota_throttle_time_milliseconds_count\\{quota=\"PRODUCE\",?\\} [1-9]")
                .contains("runnel_quota_limit{client_id=\"\",quota=\"PRODUCE\",user=\"carol\"} 10240.0");
    }

    private static Map<String, Object> plain(Broker b, String user) {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put("sasl.mechanism", "PLAIN");
        c.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
                + user + "\" password=\"" + user + "-secret\";");
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return c;
    }

    @Test
    void requestTimeOverQuotaIsThrottledAndTheConnectionMuted() throws Exception {
        Broker b = start();
        try (Admin admin = admin(b)) {
            // RawKafkaClient's client id; a hundredth of a percent of a thread: about 1 ms of the node's time per 10 s
            alter(admin, clientId("raw-test"), "request_percentage", 0.01);
        }
        try (io.runnel.testutil.RawKafkaClient raw = new io.runnel.testutil.RawKafkaClient(b.bootstrapServers("PLAINTEXT"))) {
            raw.readTimeout(30_000);
            int throttle = 0;
            long sent = 0;
            for (int i = 0; i < 10_000 && throttle == 0; i++) {
                sent = System.nanoTime();
                org.apache.kafka.common.requests.MetadataResponse r = raw.send(
                        org.apache.kafka.common.requests.MetadataRequest.Builder.allTopics().build((short) 12));
                throttle = r.throttleTimeMs();
            }
            assertThat(throttle).as("a Metadata response with throttle_time_ms").isPositive()
                    // Kafka caps the request-time throttle at one window
                    .isLessThanOrEqualTo(1000);
            // the connection is muted: the next request is not even read until the throttle time has passed since
            // the throttled request was answered (which was after it was sent)
            raw.send(org.apache.kafka.common.requests.MetadataRequest.Builder.allTopics().build((short) 12));
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            System.out.printf("QUOTA request: throttle_time_ms %d, next answer %d ms after the throttled request was"
                    + " sent%n", throttle, waitedMs);
            assertThat(waitedMs).isGreaterThanOrEqualTo(throttle);
        }
    }

    @Test
    void aConsumerFetchIsCappedAtWhatItsQuotaAllowsOverTheWindows() throws Exception {
        Broker b = start();
        String topic = "quota-cap";
        try (Admin admin = admin(b)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            // 10 KiB/s: no response may carry more than 10 windows' worth, 100 KiB (Kafka 4.4.0 answered this consumer's
            // first poll with 96 000 record bytes: six whole batches, the partial seventh dropped by the client)
            alter(admin, clientId("capped-consumer"), "consumer_byte_rate", 10_240.0);
        }
        Map<String, Object> pc = new HashMap<>();
        pc.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT"));
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        pc.put(ProducerConfig.BATCH_SIZE_CONFIG, 16 * 1024);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < 2000; i++) {
                producer.send(new ProducerRecord<>(topic, new byte[1000]));
            }
            producer.flush();
        }
        Map<String, Object> cc = new HashMap<>();
        cc.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers("PLAINTEXT"));
        cc.put(CommonClientConfigs.CLIENT_ID_CONFIG, "capped-consumer");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 50 * 1024 * 1024);
        cc.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 100_000);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cc)) {
            consumer.assign(List.of(new org.apache.kafka.common.TopicPartition(topic, 0)));
            long first = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (first == 0 && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    first += r.value().length;
                }
            }
            double fetched = metric(consumer.metrics(), "consumer-fetch-manager-metrics", "fetch-size-max");
            System.out.printf("QUOTA cap: first poll %d record bytes, largest fetch %.0f bytes%n", first, fetched);
            assertThat(first).isPositive().isLessThanOrEqualTo(100 * 1024);
            assertThat(fetched).isLessThanOrEqualTo(100 * 1024);
        }
    }
}
