package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
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
 * A node whose process may open fewer files than it hosts segments ({@code ulimit -n}, soft and hard): it
 * creates, fills, serves and, after a restart, reloads and serves again more partitions than its descriptor
 * limit, each of several segments, because idle segment files are closed and reopened on use
 * ({@code log.open.files.max}, by default half the limit). The descriptors stay below the limit throughout
 * and "Too many open files" never appears. Default: 1,000 partitions of 3 segments under 1,024 descriptors;
 * {@code -Dfaults.full=true}: 10,000 partitions under 2,048.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class OpenFilesLimitIT {

    private static final boolean FULL = Boolean.getBoolean("faults.full");
    // the short form keeps CI's run short: three times as many segments as the process may open, not five
    private static final int FILE_LIMIT = FULL ? 2048 : 1024;
    private static final int PARTITIONS = FULL ? 10_000 : 1_000;
    // each record is its own batch of about 270 bytes: two to a 600-byte segment, so six make three segments
    private static final int RECORDS_PER_PARTITION = 6;
    private static final String TOPIC = "many";

    @TempDir
    Path dir;
    private Process process;
    private Path output;

    @AfterEach
    void stop() throws Exception {
        if (process != null) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    private String startNode(int port) throws Exception {
        Path jar = Path.of("target", "runnel.jar");
        assertThat(jar).as("the fat JAR is built before integration tests").exists();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = "ulimit -n " + FILE_LIMIT + " && exec " + java + " -Xmx768m -jar " + jar
                + " --override listeners=PLAINTEXT://127.0.0.1:" + port
                + " --override admin.listener=127.0.0.1:0 --override bridge.enabled=false"
                + " --override log.dirs=" + dir.resolve("data")
                + " --override group.initial.rebalance.delay.ms=0";
        process = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).start();
        FaultNode.awaitPort(process, port, output);
        return "127.0.0.1:" + port;
    }

    private void stopNode() throws Exception {
        // SIGTERM: a clean shutdown, as an operator restarts a node
        process.destroy();
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("node stopped on SIGTERM").isTrue();
        process = null;
    }

    /** The process's descriptors: all, and the segment files ({@code .log} of partitions) among them. */
    private record Descriptors(int all, int segmentFiles) {
    }

    private Descriptors descriptors() throws Exception {
        int all = 0;
        int segments = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                all++;
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.contains("/" + TOPIC + "-") && target.endsWith(".log")) {
                        segments++;
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    // closed while listing
                }
            }
        }
        return new Descriptors(all, segments);
    }

    private void assertBounded(String when) throws Exception {
        Descriptors d = descriptors();
        assertThat(d.all()).as("descriptors %s", when).isLessThan(FILE_LIMIT);
        // log.open.files.max defaults to half the limit; readers holding a file may add a few
        assertThat(d.segmentFiles()).as("open segment files %s", when).isLessThanOrEqualTo(FILE_LIMIT / 2);
        assertThat(Files.readString(output)).as("node output %s", when).doesNotContain("Too many open files");
    }

    private static String value(int partition, int i) {
        return partition + ":" + i + ":" + "x".repeat(200);
    }

    private static Map<Integer, List<String>> consumeAll(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "4096");
        Map<Integer, List<String>> seen = new HashMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int q = 0; q < PARTITIONS; q++) {
                tps.add(new TopicPartition(TOPIC, q));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            long want = (long) PARTITIONS * RECORDS_PER_PARTITION;
            long n = 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(FULL ? 8 : 4);
            while (n < want && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    seen.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                    n++;
                }
            }
        }
        return seen;
    }

    private static void assertEverythingRead(Map<Integer, List<String>> seen) {
        assertThat(seen).hasSize(PARTITIONS);
        for (int q = 0; q < PARTITIONS; q++) {
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < RECORDS_PER_PARTITION; i++) {
                expected.add(value(q, i));
            }
            assertThat(seen.get(q)).as("partition %d", q).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void servesMorePartitionsOfSeveralSegmentsThanItsDescriptorLimitAcrossARestart() throws Exception {
        Files.createDirectories(Path.of("target", "it-logs"));
        output = Files.createTempFile(Path.of("target", "it-logs"), "open-files", ".log");
        int port = Ports.free();
        String bootstrap = startNode(port);

        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1)
                    .configs(Map.of("segment.bytes", "600")))).all().get(5, TimeUnit.MINUTES);
        }
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "1");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < RECORDS_PER_PARTITION; i++) {
                List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
                for (int q = 0; q < PARTITIONS; q++) {
                    acks.add(producer.send(new ProducerRecord<>(TOPIC, q, null, value(q, i))));
                }
                // one record per partition per round, acknowledged before the next: one batch each
                for (java.util.concurrent.Future<?> ack : acks) {
                    ack.get(2, TimeUnit.MINUTES);
                }
            }
        }
        try (Stream<Path> files = Files.walk(dir.resolve("data"))) {
            long segmentFiles = files.filter(f -> f.toString().contains("/" + TOPIC + "-") && f.toString().endsWith(".log"))
                    .count();
            assertThat(segmentFiles).as("segment files on disk").isGreaterThanOrEqualTo(3L * PARTITIONS);
        }
        assertBounded("after producing");
        assertEverythingRead(consumeAll(bootstrap));
        assertBounded("after consuming");

        stopNode();
        assertThat(Files.readString(output)).doesNotContain("Too many open files");
        bootstrap = startNode(port);
        assertEverythingRead(consumeAll(bootstrap));
        assertBounded("after a restart and consuming everything again");
        assertThat(Files.readString(output)).doesNotContain("goes offline");
    }
}
