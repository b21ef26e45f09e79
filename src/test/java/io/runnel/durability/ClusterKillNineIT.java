package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
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
 * Three nodes as separate processes: the leader of a partition is killed with kill -9 five times in a
 * row (and brought back each time) while an idempotent acks=all producer writes; every acknowledged
 * record is read back exactly once, in order per partition, at the offset it was acknowledged with.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ClusterKillNineIT {

    private static final String TOPIC = "k9";

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

    private static TopicDescription describe(Admin admin) {
        return ProcessCluster.describe(admin, TOPIC);
    }

    @Test
    void acknowledgedRecordsSurviveKillingTheLeaderFiveTimes() throws Exception {
        cluster = new ProcessCluster(dir, Map.of("replica.lag.time.max.ms", "5000"));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        try (Admin admin = Admin.create(ap)) {
            ProcessCluster.createReplicatedTopic(admin, TOPIC, 2);
            await("full ISRs", () -> {
                TopicDescription d = describe(admin);
                return d != null && d.partitions().size() == 2
                        && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
            });

            Map<String, Long> acked = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
            pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                Thread writer = new Thread(() -> {
                    int i = 0;
                    while (!stop.get()) {
                        String v = "v-" + i++;
                        producer.send(new ProducerRecord<>(TOPIC, "k" + (i % 11), v), (md, e) -> {
                            if (e == null) {
                                acked.put(v, ((long) md.partition() << 48) | md.offset());
                            }
                        });
                        if (i % 200 == 0) {
                            try {
                                Thread.sleep(20);
                            } catch (InterruptedException ex) {
                                return;
                            }
                        }
                    }
                });
                writer.start();
                for (int round = 0; round < 5; round++) {
                    int before = acked.size();
                    await("progress before kill " + round, () -> acked.size() > before + 300);
                    int leader = describe(admin).partitions().get(0).leader().id();
                    cluster.kill(leader);
                    int afterKill = acked.size();
                    await("progress without node " + leader, () -> acked.size() > afterKill + 300);
                    cluster.start(leader);
                    ProcessCluster.await("node " + leader + " back in every ISR (round " + round + ")", Duration.ofSeconds(90),
                            () -> {
                                TopicDescription d = describe(admin);
                                return d != null && d.partitions().stream().allMatch(p -> p.isr().size() == 3);
                            }, () -> cluster.describeEverywhere(TOPIC));
                }
                stop.set(true);
                writer.join(10_000);
                producer.flush();
            }
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
            Map<String, Long> seen = new HashMap<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
                List<TopicPartition> tps = List.of(new TopicPartition(TOPIC, 0), new TopicPartition(TOPIC, 1));
                consumer.assign(tps);
                consumer.seekToBeginning(tps);
                Map<TopicPartition, Long> end = consumer.endOffsets(tps);
                Map<Integer, Long> last = new HashMap<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (System.nanoTime() < deadline
                        && !(consumer.position(tps.get(0)) >= end.get(tps.get(0)) && consumer.position(tps.get(1)) >= end.get(tps.get(1)))) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        assertThat(seen.put(r.value(), ((long) r.partition() << 48) | r.offset()))
                                .as("%s read twice", r.value()).isNull();
                        Long prev = last.put(r.partition(), r.offset());
                        assertThat(prev == null || prev < r.offset()).isTrue();
                    }
                }
            }
            assertThat(acked.size()).isGreaterThan(3000);
            acked.forEach((v, pos) -> assertThat(seen.get(v)).as("acknowledged %s at its offset", v).isEqualTo(pos));
        }
    }
}
