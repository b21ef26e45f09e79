package io.runnel.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.testutil.TestCluster;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An idempotent Java producer that writes to a topic the moment it is created, while its leaders are still
 * being set up, as NetworkPartitionIT's producer does: a request refused with NOT_LEADER_OR_FOLLOWER by a
 * broker not yet leading a partition can have a later request for that partition pipelined behind it that
 * the broker takes once it leads. Every record must still be acknowledged, and read back once, in order.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class NewTopicIdempotentProduceIT {

    // the failure it guards against showed in one round of four before the fix; -Dfaults.full=true runs eight
    private static final int ROUNDS = Boolean.getBoolean("faults.full") ? 8 : 3;
    private static final int PARTITIONS = 24;
    private static final int RECORDS_PER_PARTITION = 100;

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
    void everyRecordSentWhileANewTopicsLeadersAreSetUpIsAcknowledgedAndReadBackOnceInOrder() throws Exception {
        startThree();
        try (Admin admin = admin()) {
            for (int round = 0; round < ROUNDS; round++) {
                String topic = "fresh-" + round;
                // the producer asks for the topic's metadata before it exists, so that it sends the moment the
                // first broker names its leaders, before those have all set their partitions up
                java.util.concurrent.CompletableFuture<Map<Integer, List<String>>> sending =
                        java.util.concurrent.CompletableFuture.supplyAsync(() -> produceRightAway(topic));
                Thread.sleep(300);
                admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 3))).all().get(30, TimeUnit.SECONDS);
                Map<Integer, List<String>> sent = sending.get(3, TimeUnit.MINUTES);
                Map<Integer, List<String>> read = readBack(topic, PARTITIONS * RECORDS_PER_PARTITION);
                assertThat(read).as("round %d", round).isEqualTo(sent);
            }
        }
    }

    /** Sends round-robin over the partitions from the moment the topic exists; every send must succeed. */
    private Map<Integer, List<String>> produceRightAway(String topic) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256);
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 20);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        // a partition whose earlier batch can never be written again stalls until this expires it
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 45_000);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000);
        p.put(ProducerConfig.METADATA_MAX_AGE_CONFIG, 1_000);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        Map<Integer, List<String>> sent = new HashMap<>();
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        List<String> what = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < RECORDS_PER_PARTITION; i++) {
                for (int partition = 0; partition < PARTITIONS; partition++) {
                    String value = topic + "-" + partition + "-" + i;
                    sent.computeIfAbsent(partition, k -> new ArrayList<>()).add(value);
                    acks.add(producer.send(new ProducerRecord<>(topic, partition, null, value)));
                    what.add(value);
                }
            }
            List<String> failed = new ArrayList<>();
            for (int i = 0; i < acks.size(); i++) {
                try {
                    acks.get(i).get(60, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    failed.add(what.get(i) + ": " + e.getCause());
                }
            }
            assertThat(failed).as("sends that failed").isEmpty();
        } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("send not answered in time", e);
        }
        return sent;
    }

    private Map<Integer, List<String>> readBack(String topic, int expected) throws Exception {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<Integer, List<String>> read = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int partition = 0; partition < PARTITIONS; partition++) {
                tps.add(new TopicPartition(topic, partition));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            int count = 0;
            while (count < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    read.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                    count++;
                }
            }
        }
        return read;
    }

    private void startThree() throws Exception {
        TestCluster cluster = TestCluster.allocate("fresh", 3);
        for (int id = 1; id <= 3; id++) {
            Map<String, String> props = cluster.nodeProps(id);
            props.put("log.dirs", dir.resolve("node" + id).toString());
            props.put("listeners", "PLAINTEXT://127.0.0.1:0");
            props.put("admin.listener", "127.0.0.1:0");
            props.put("offsets.topic.num.partitions", "2");
            props.put("runnel.log.shards", "2");
            props.put("auto.create.topics.enable", "false");
            brokers.add(Broker.start(props).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS));
        }
        try (Admin admin = admin()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size() < 3) {
                assertThat(System.nanoTime()).as("three brokers registered in time").isLessThan(deadline);
                Thread.sleep(100);
            }
        }
    }

    private String bootstrap() {
        List<String> all = new ArrayList<>();
        brokers.forEach(b -> all.add(b.bootstrapServers()));
        return String.join(",", all);
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        return Admin.create(p);
    }
}
