package io.runnel;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The training run behind the class-data-sharing archive that {@code scripts/runnel.sh} maps
 * ({@code target/runnel.jsa}, written by the build with {@code -XX:ArchiveClassesAtExit}). Loading and
 * linking the node's classes is most of its start-up; an archive of the classes a real run loads lets the
 * JVM map them instead. Java 17 can only archive what a run loaded, so this run starts three clustered
 * nodes in one JVM (Hazelcast joining members, the event bus, a Raft quorum of three electing a leader and
 * brokers registering over its transport, followers replicating: the classes a cluster member needs beyond
 * a single node's) in a temporary directory on free loopback ports, and serves what clients ask first: a
 * topic with replication factor 3, idempotent acks=all produce, a consumer group's fetches and commits, the
 * admin API and {@code /metrics}. It then stops the nodes and exits; the JVM writes the archive at exit.
 *
 * <p>Run by the build after the JAR is made, as {@code java -jar} with {@value #PROPERTY}{@code =true}; its failure costs only the archive (the start script then
 * writes one when a node first exits).
 */
public final class ClassDataTraining {

    /** The system property that makes {@link Main} run this instead of a node (the build sets it). */
    static final String PROPERTY = "runnel.classDataTraining";

    private static final String TOPIC = "training";
    private static final int RECORDS = 2_000;
    private static final int NODES = 3;

    private ClassDataTraining() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("runnel-cds-training");
        int[] hazelcast = {freePort(), freePort(), freePort()};
        int[] raft = {freePort(), freePort(), freePort()};
        String members = "127.0.0.1:" + hazelcast[0] + ",127.0.0.1:" + hazelcast[1] + ",127.0.0.1:" + hazelcast[2];
        String voters = "1@127.0.0.1:" + raft[0] + ",2@127.0.0.1:" + raft[1] + ",3@127.0.0.1:" + raft[2];
        List<Broker> brokers = new ArrayList<>();
        try {
            List<CompletableFuture<Broker>> starts = new ArrayList<>();
            for (int id = 1; id <= NODES; id++) {
                starts.add(Broker.start(Map.ofEntries(
                        Map.entry("node.id", Integer.toString(id)),
                        Map.entry("log.dirs", dir.resolve("node-" + id).toString()),
                        Map.entry("listeners", "PLAINTEXT://127.0.0.1:0"),
                        Map.entry("admin.listener", "127.0.0.1:0"),
                        Map.entry("cluster.enabled", "true"),
                        Map.entry("cluster.host", "127.0.0.1"),
                        Map.entry("cluster.port", Integer.toString(hazelcast[id - 1])),
                        Map.entry("cluster.port.count", "1"),
                        Map.entry("cluster.members", members),
                        Map.entry("controller.quorum.voters", voters),
                        Map.entry("default.replication.factor", Integer.toString(NODES)),
                        Map.entry("min.insync.replicas", "2"),
                        Map.entry("group.initial.rebalance.delay.ms", "0"),
                        Map.entry("offsets.topic.num.partitions", "3")))
                        .toCompletionStage().toCompletableFuture());
            }
            for (CompletableFuture<Broker> start : starts) {
                brokers.add(start.get(60, TimeUnit.SECONDS));
            }
            exercise(brokers);
        } finally {
            for (Broker broker : brokers) {
                broker.closeAndWait(30, TimeUnit.SECONDS);
            }
            deleteTree(dir);
        }
        System.exit(0);
    }

    private static void exercise(List<Broker> brokers) throws Exception {
        Broker broker = brokers.get(0);
        Properties common = new Properties();
        common.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                String.join(",", brokers.stream().map(Broker::bootstrapServers).toList()));
        try (Admin admin = Admin.create(common)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size() < NODES) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the training cluster did not form");
                }
                Thread.sleep(50);
            }
            admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) NODES))).all().get(30, TimeUnit.SECONDS);
            admin.describeTopics(List.of(TOPIC)).allTopicNames().get(30, TimeUnit.SECONDS);
        }
        Properties producerProps = new Properties();
        producerProps.putAll(common);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < RECORDS; i++) {
                producer.send(new ProducerRecord<>(TOPIC, Integer.toString(i).getBytes(), new byte[100]));
            }
            producer.flush();
        }
        Properties consumerProps = new Properties();
        consumerProps.putAll(common);
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "training");
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerProps.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(TOPIC));
            int read = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (read < RECORDS && System.nanoTime() < deadline) {
                read += consumer.poll(Duration.ofMillis(200)).count();
            }
            consumer.commitSync();
        }
        HttpClient http = HttpClient.newHttpClient();
        for (String path : List.of("/metrics", "/ready", "/api/v1/cluster", "/api/v1/topics", "/")) {
            http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + broker.adminPort() + path)).build(),
                    HttpResponse.BodyHandlers.discarding());
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
