package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes as separate processes: a consumer group commits offsets; its coordinator (the leader of the
 * group's {@code __consumer_offsets} partition) is killed with kill -9; the group moves to the new leader of
 * that partition, its committed offsets are there, and the same consumer goes on consuming and committing
 * from where it was.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class GroupCoordinatorFailoverIT {

    private static final String TOPIC = "gf";
    private static final String GROUP = "gf-group";
    private static final int OFFSETS_PARTITIONS = 2;

    @TempDir
    Path dir;
    private ProcessCluster cluster;

    @AfterEach
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static void await(String what, java.util.function.BooleanSupplier c) throws InterruptedException {
        ProcessCluster.await(what, Duration.ofSeconds(90), c);
    }

    private static TopicDescription describe(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS).get(topic);
        } catch (Exception e) {
            return null;
        }
    }

    private static ConsumerGroupDescription group(Admin admin) {
        try {
            return admin.describeConsumerGroups(List.of(GROUP)).all().get(5, TimeUnit.SECONDS).get(GROUP);
        } catch (Exception e) {
            return null;
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> committed(Admin admin) {
        try {
            return admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return null;
        }
    }

    private void produce(int from, int to) throws Exception {
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
            for (int i = from; i < to; i++) {
                sends.add(producer.send(new ProducerRecord<>(TOPIC, "k" + i, "v-" + i)));
            }
            for (java.util.concurrent.Future<?> f : sends) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
    }

    /** Polls until {@code count} more records arrived, committing after each poll; returns their values. */
    private static List<String> consume(KafkaConsumer<String, String> consumer, int count) {
        List<String> out = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (out.size() < count && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                out.add(r.value());
            }
            consumer.commitSync(Duration.ofSeconds(60));
        }
        return out;
    }

    @Test
    void committedOffsetsSurviveKillingTheGroupCoordinator() throws Exception {
        cluster = new ProcessCluster(dir, Map.of("replica.lag.time.max.ms", "5000",
                "offsets.topic.num.partitions", Integer.toString(OFFSETS_PARTITIONS),
                "group.initial.rebalance.delay.ms", "0"));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        try (Admin admin = Admin.create(ap)) {
            ProcessCluster.createReplicatedTopic(admin, TOPIC, 2);
            await("__consumer_offsets created in the background, replicated three times", () -> {
                TopicDescription d = describe(admin, Topic.GROUP_METADATA_TOPIC_NAME);
                return d != null && d.isInternal() && d.partitions().size() == OFFSETS_PARTITIONS
                        && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
            });
            produce(0, 200);

            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            cp.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
            cp.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of(TOPIC));
                List<String> first = consume(consumer, 200);
                assertThat(first).hasSize(200);
                Map<TopicPartition, OffsetAndMetadata> before = committed(admin);
                assertThat(before.values().stream().mapToLong(OffsetAndMetadata::offset).sum()).isEqualTo(200);

                int offsetsPartition = Utils.abs(GROUP.hashCode()) % OFFSETS_PARTITIONS;
                int coordinator = group(admin).coordinator().id();
                int offsetsLeader = describe(admin, Topic.GROUP_METADATA_TOPIC_NAME).partitions()
                        .get(offsetsPartition).leader().id();
                assertThat(coordinator).as("the coordinator leads the group's offsets partition")
                        .isEqualTo(offsetsLeader);

                cluster.kill(coordinator);
                await("a new coordinator, the new leader of the group's offsets partition", () -> {
                    ConsumerGroupDescription g = group(admin);
                    TopicDescription d = describe(admin, Topic.GROUP_METADATA_TOPIC_NAME);
                    return g != null && g.coordinator() != null && g.coordinator().id() != coordinator && d != null
                            && d.partitions().get(offsetsPartition).leader() != null
                            && d.partitions().get(offsetsPartition).leader().id() == g.coordinator().id();
                });
                Map<TopicPartition, OffsetAndMetadata> after = committed(admin);
                assertThat(after).as("committed offsets on the new coordinator").isEqualTo(before);

                // the consumer carries on with the new coordinator, from where it had committed
                produce(200, 300);
                List<String> second = consume(consumer, 100);
                assertThat(second).hasSize(100);
                List<String> all = new ArrayList<>(first);
                all.addAll(second);
                assertThat(all).doesNotHaveDuplicates();
            }
            await("the second batch committed", () -> {
                Map<TopicPartition, OffsetAndMetadata> c = committed(admin);
                return c != null && c.values().stream().mapToLong(OffsetAndMetadata::offset).sum() == 300;
            });
        }
    }
}
