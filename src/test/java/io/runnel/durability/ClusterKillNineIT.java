package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
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
    private final Map<Integer, Process> nodes = new HashMap<>();
    private final int[] kafkaPorts = new int[3];
    private final int[] hzPorts = new int[3];
    private final String clusterName = "k9-" + UUID.randomUUID();

    @AfterEach
    void stop() {
        nodes.values().forEach(Process::destroyForcibly);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void start(int id) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> members = new ArrayList<>();
        for (int p : hzPorts) {
            members.add("127.0.0.1:" + p);
        }
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx384m", "--add-modules", "java.se",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-jar", Path.of("target", "runnel.jar").toString()));
        Map<String, String> o = new java.util.LinkedHashMap<>();
        o.put("node.id", Integer.toString(id));
        o.put("listeners", "PLAINTEXT://127.0.0.1:" + kafkaPorts[id - 1]);
        o.put("admin.listener", "127.0.0.1:0");
        o.put("log.dirs", dir.resolve("node" + id).toString());
        o.put("cluster.enabled", "true");
        o.put("cluster.name", clusterName);
        o.put("cluster.port", Integer.toString(hzPorts[id - 1]));
        o.put("cluster.port.count", "1");
        o.put("cluster.members", String.join(",", members));
        o.put("cluster.size", "3");
        o.put("bridge.enabled", "false");
        o.put("replica.lag.time.max.ms", "5000");
        o.put("offsets.topic.num.partitions", "2");
        o.forEach((k, v) -> {
            cmd.add("--override");
            cmd.add(k + "=" + v);
        });
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node" + id + ".log").toFile())).start();
        nodes.put(id, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertThat(p.isAlive()).as("node %d died at start-up", id).isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", kafkaPorts[id - 1]), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("node " + id + " did not open its port");
    }

    private String bootstrap() {
        List<String> all = new ArrayList<>();
        for (int p : kafkaPorts) {
            all.add("127.0.0.1:" + p);
        }
        return String.join(",", all);
    }

    private static void await(String what, java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    private static TopicDescription describe(Admin admin) {
        try {
            return admin.describeTopics(List.of(TOPIC)).allTopicNames().get(5, TimeUnit.SECONDS).get(TOPIC);
        } catch (Exception e) {
            return null;
        }
    }

    @Test
    void acknowledgedRecordsSurviveKillingTheLeaderFiveTimes() throws Exception {
        for (int i = 0; i < 3; i++) {
            kafkaPorts[i] = freePort();
            hzPorts[i] = freePort();
        }
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        try (Admin admin = Admin.create(ap)) {
            await("three brokers", () -> {
                try {
                    return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() == 3;
                } catch (Exception e) {
                    return false;
                }
            });
            admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 3).configs(Map.of("min.insync.replicas", "2"))))
                    .all().get(30, TimeUnit.SECONDS);
            await("full ISRs", () -> {
                TopicDescription d = describe(admin);
                return d != null && d.partitions().size() == 2
                        && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3);
            });

            Map<String, Long> acked = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
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
                    nodes.remove(leader).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    int afterKill = acked.size();
                    await("progress without node " + leader, () -> acked.size() > afterKill + 300);
                    start(leader);
                    await("node " + leader + " back in every ISR", () -> {
                        TopicDescription d = describe(admin);
                        return d != null && d.partitions().stream().allMatch(p -> p.isr().size() == 3);
                    });
                }
                stop.set(true);
                writer.join(10_000);
                producer.flush();
            }
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
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
