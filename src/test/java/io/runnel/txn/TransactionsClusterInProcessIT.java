package io.runnel.txn;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three clustered nodes in one JVM: a transactional producer's coordinator is the leader of its replicated
 * {@code __transaction_state} partition, markers go to partition leaders on other brokers over the inter-broker
 * listener, and when the coordinator stops, the next leader of that partition replays it and serves the id (a new
 * producer fences the old epoch and commits).
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class TransactionsClusterInProcessIT {

    private static final int PARTITIONS = 3;

    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();
    private final List<AutoCloseable> clients = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a client of a stopped broker
            }
        }
        for (Broker b : brokers) {
            b.closeAndWait(60, TimeUnit.SECONDS);
        }
    }

    private String bootstrap() {
        StringBuilder sb = new StringBuilder();
        for (Broker b : brokers) {
            if (b.bootstrapServers() != null) {
                sb.append(sb.length() == 0 ? "" : ",").append(b.bootstrapServers());
            }
        }
        return sb.toString();
    }

    private KafkaProducer<String, String> producer(String id) {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        KafkaProducer<String, String> producer = new KafkaProducer<>(p);
        clients.add(producer);
        return producer;
    }

    private List<String> readCommitted(String topic, int expected) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                tps.add(new TopicPartition(topic, i));
            }
            c.assign(tps);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (out.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    out.add(r.value());
                }
            }
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                out.add(r.value());
            }
        }
        return out;
    }

    @Test
    void transactionsSpanBrokersAndSurviveTheirCoordinatorStopping() throws Exception {
        TestCluster cluster = TestCluster.allocate("txn", 3);
        List<io.vertx.core.Future<Broker>> starting = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            Map<String, String> props = cluster.nodeProps(id);
            props.put("log.dirs", dir.resolve("node" + id).toString());
            props.put("listeners", "PLAINTEXT://127.0.0.1:0");
            props.put("admin.listener", "127.0.0.1:0");
            props.put("offsets.topic.num.partitions", "2");
            props.put("transaction.state.log.num.partitions", "3");
            props.put("runnel.log.shards", "2");
            starting.add(Broker.start(props));
        }
        for (io.vertx.core.Future<Broker> f : starting) {
            brokers.add(f.toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS));
        }
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        String topic = "txn-cluster";
        String id = "txn-cluster-id";
        try (Admin admin = Admin.create(ap)) {
            await("three brokers", () -> admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() == 3);
            admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 3))).all().get(30, TimeUnit.SECONDS);
            await("leaders of " + topic, () -> admin.describeTopics(Set.of(topic)).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(topic).partitions().stream().allMatch(p -> p.leader() != null));

            KafkaProducer<String, String> producer = producer(id);
            producer.initTransactions();
            List<String> committed = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                producer.beginTransaction();
                List<String> sent = new ArrayList<>();
                for (int i = 0; i < 2 * PARTITIONS; i++) {
                    String v = "t" + t + "-" + i;
                    producer.send(new ProducerRecord<>(topic, i % PARTITIONS, null, v));
                    sent.add(v);
                }
                if (t % 2 == 0) {
                    producer.commitTransaction();
                    committed.addAll(sent);
                } else {
                    producer.flush();
                    producer.abortTransaction();
                }
            }
            assertThat(readCommitted(topic, committed.size())).containsExactlyInAnyOrderElementsOf(committed);

            // a transaction left open, then its coordinator stops
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, null, "open")).get(30, TimeUnit.SECONDS);
            TransactionDescription d = admin.describeTransactions(Set.of(id)).description(id)
                    .get(30, TimeUnit.SECONDS);
            assertThat(d.state()).isEqualTo(TransactionState.ONGOING);
            int coordinator = d.coordinatorId();
            Broker stopped = brokers.stream().filter(b -> b.config().nodeId() == coordinator).findFirst()
                    .orElseThrow();
            stopped.closeAndWait(60, TimeUnit.SECONDS);
            brokers.remove(stopped);

            // the next leader of its __transaction_state partition loaded the open transaction; a new producer
            // with the same id aborts it and commits its own
            KafkaProducer<String, String> successor = producer(id);
            successor.initTransactions();
            successor.beginTransaction();
            successor.send(new ProducerRecord<>(topic, 1, null, "after-failover"));
            successor.commitTransaction();
            committed.add("after-failover");
            Properties ap2 = new Properties();
            ap2.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
            try (Admin admin2 = Admin.create(ap2)) {
                // EndTxn is answered once the decision is written; the markers complete it a moment later
                await("the commit completed", () -> admin2.describeTransactions(Set.of(id)).description(id)
                        .get(30, TimeUnit.SECONDS).state() == TransactionState.COMPLETE_COMMIT);
                TransactionDescription after = admin2.describeTransactions(Set.of(id)).description(id)
                        .get(30, TimeUnit.SECONDS);
                assertThat(after.coordinatorId()).isNotEqualTo(coordinator);
            }
            assertThat(readCommitted(topic, committed.size())).containsExactlyInAnyOrderElementsOf(committed);
        }
    }

    private static void await(String what, Callable<Boolean> condition) throws Exception {
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
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }
}
