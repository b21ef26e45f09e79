package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

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
import io.runnel.testutil.Ports;

/**
 * kill -9 of the node process in the middle of a produce stream: every acknowledged record is there
 * after a restart, at the offset it was acknowledged with, and the node recovers cleanly.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class KillNineIT {

    @TempDir
    Path dataDir;
    private Process process;

    @AfterEach
    void stop() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    private Process startNode(int port, Path log) throws Exception {
        Path jar = Path.of("target", "runnel.jar");
        assertThat(jar).as("the fat JAR is built before integration tests").exists();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-jar", jar.toString(),
                "--override", "listeners=PLAINTEXT://127.0.0.1:" + port,
                "--override", "admin.listener=127.0.0.1:0",
                "--override", "log.dirs=" + dataDir,
                "--override", "num.partitions=3");
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertThat(p.isAlive()).as("node died at start-up; see " + log).isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return p;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("node did not open its port; see " + log);
    }

    @Test
    void acknowledgedRecordsSurviveKillNine() throws Exception {
        int port = Ports.free();
        Path log = Files.createTempFile("runnel-kill9", ".log");
        process = startNode(port, log);
        String bootstrap = "127.0.0.1:" + port;

        Map<String, Long> acked = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "1");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "2");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "3000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "3000");
        Thread producerThread;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            producerThread = new Thread(() -> {
                int i = 0;
                while (!stop.get()) {
                    String value = "record-" + i++;
                    try {
                        producer.send(new ProducerRecord<>("kill9", value, value), (md, e) -> {
                            if (e == null) {
                                acked.put(value, ((long) md.partition() << 48) | md.offset());
                            }
                        });
                    } catch (RuntimeException e) {
                        return;
                    }
                }
            });
            producerThread.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (acked.size() < 20_000 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(acked.size()).as("records acknowledged before the kill").isGreaterThan(1000);
            // SIGKILL, no shutdown hook runs
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            stop.set(true);
            producerThread.join(10_000);
            producer.close(Duration.ofSeconds(5));
        }
        Map<String, Long> ackedSnapshot = new HashMap<>(acked);

        process = startNode(port, log);
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        Map<String, Long> found = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                tps.add(new TopicPartition("kill9", p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    Long previous = found.put(r.value(), ((long) r.partition() << 48) | r.offset());
                    assertThat(previous).as("record %s read twice", r.value()).isNull();
                }
                boolean done = true;
                for (TopicPartition tp : tps) {
                    done &= consumer.position(tp) >= end.get(tp);
                }
                if (done) {
                    break;
                }
            }
        }
        for (Map.Entry<String, Long> e : ackedSnapshot.entrySet()) {
            assertThat(found.get(e.getKey())).as("acknowledged record %s at its acknowledged offset", e.getKey())
                    .isEqualTo(e.getValue());
        }
        assertThat(Files.readString(log)).doesNotContain("ERROR");
    }
}
