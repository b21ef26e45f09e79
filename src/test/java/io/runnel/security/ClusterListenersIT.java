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
import java.util.stream.Collectors;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clustered nodes with a PLAINTEXT listener (replication) and a SASL_PLAINTEXT one (clients): each client is
 * told every broker's address on the listener it came in on, so a producer and a consumer that only know SASL
 * reach a partition's leader on whichever node it is, while followers replicate over PLAINTEXT
 * (SecureReplicationIT replicates over SASL_SSL).
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ClusterListenersIT {

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Broker b : brokers) {
            b.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private Map<String, String> props(int id, TestCluster cluster) {
        Map<String, String> props = cluster.nodeProps(id);
        props.put("log.dirs", dir.resolve("node" + id).toString());
        props.put("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
        props.put("sasl.enabled.mechanisms", "PLAIN");
        props.put("listener.name.sasl_plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\";");
        props.put("admin.listener", "127.0.0.1:0");
        props.put("offsets.topic.num.partitions", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("runnel.log.shards", "2");
        return props;
    }

    private Map<String, Object> saslClient() {
        Map<String, Object> c = new HashMap<>();
        c.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, brokers.get(0).bootstrapServers("SASL_PLAINTEXT"));
        c.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
        c.put(SaslConfigs.SASL_MECHANISM, "PLAIN");
        c.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.plain.PlainLoginModule required"
                + " username=\"alice\" password=\"alice-secret\";");
        return c;
    }

    @Test
    void clientsAreToldEveryBrokerOnTheirOwnListener() throws Exception {
        TestCluster cluster = TestCluster.allocate("listeners", 2);

        // brokers log in to a SASL inter-broker listener with sasl.mechanism.inter.broker.protocol, Kafka's default
        // GSSAPI is not served: such a node does not start, and says which setting to change
        Map<String, String> refused = props(1, cluster);
        refused.put("inter.broker.listener.name", "SASL_PLAINTEXT");
        assertThatThrownBy(() -> Broker.start(refused).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(ConfigException.class)
                .hasMessageContaining("sasl.mechanism.inter.broker.protocol");

        for (int id = 1; id <= 2; id++) {
            brokers.add(Broker.start(props(id, cluster)).toCompletionStage().toCompletableFuture()
                    .get(60, TimeUnit.SECONDS));
        }
        String topic = "sasl-cluster";
        try (Admin sasl = Admin.create(saslClient());
             Admin plain = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                     brokers.get(1).bootstrapServers()))) {
            await(() -> plain.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 2);
            assertThat(addresses(sasl)).containsExactlyInAnyOrder(brokers.get(0).bootstrapServers("SASL_PLAINTEXT"),
                    brokers.get(1).bootstrapServers("SASL_PLAINTEXT"));
            assertThat(addresses(plain)).containsExactlyInAnyOrder(brokers.get(0).bootstrapServers("PLAINTEXT"),
                    brokers.get(1).bootstrapServers("PLAINTEXT"));
            sasl.createTopics(List.of(new NewTopic(topic, 2, (short) 2))).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> pc = saslClient();
        pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        pc.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pc)) {
            for (int i = 0; i < 20; i++) {
                // both partitions, so both leaders (one on each node, as replicas are spread) are written over SASL,
                // and acks=all waits for the followers that fetch over PLAINTEXT
                producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i)).get(30, TimeUnit.SECONDS);
            }
        }
        Map<String, Object> cc = saslClient();
        cc.put(ConsumerConfig.GROUP_ID_CONFIG, "g-" + topic);
        cc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        int got = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cc)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (got < 20 && System.nanoTime() < deadline) {
                got += consumer.poll(Duration.ofMillis(500)).count();
            }
        }
        assertThat(got).isEqualTo(20);
    }

    private static List<String> addresses(Admin admin) throws Exception {
        return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).stream()
                .map(n -> n.host() + ":" + n.port()).collect(Collectors.toList());
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
