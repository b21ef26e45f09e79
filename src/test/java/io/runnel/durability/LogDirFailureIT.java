package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.KafkaStorageException;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk on one of node 1's two log directories (a 20 MiB tmpfs, mostly taken by a filler file), as
 * Kafka's JBOD handles it: while an idempotent acks=all producer writes to a topic with RF=3 and
 * min.insync.replicas=2, the write that finds no space takes that directory offline on node 1; the
 * partitions node 1 led there move to other in-sync replicas and keep taking writes, node 1 leaves their
 * ISRs, and it keeps leading and serving the partitions in its other directory (which holds the metadata
 * log). DescribeLogDirs shows the directory offline. Every acknowledged record is read back once, at its
 * offset. Then node 1 stops, the filler is removed, and after a restart its replicas there recover, catch
 * up and rejoin every ISR.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LogDirFailureIT {

    private static final int PARTITIONS = 12;
    private static final int VALUE_BYTES = 10 * 1024;
    private static final long FREE_BYTES = 4L << 20;

    @TempDir
    Path dir;
    private ProcessCluster cluster;
    private Path tmpfs;

    @AfterEach
    void stop() throws Exception {
        try {
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            if (tmpfs != null) {
                run("umount", tmpfs.toString());
            }
        }
    }

    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        if (p.exitValue() != 0) {
            System.err.println(String.join(" ", cmd) + ": " + out.trim());
        }
        return p.exitValue();
    }

    private static Map<String, LogDirDescription> logDirsOf(Admin admin, int node) {
        try {
            return admin.describeLogDirs(List.of(node)).allDescriptions().get(10, TimeUnit.SECONDS).get(node);
        } catch (Exception e) {
            return null;
        }
    }

    private static TopicDescription describe(Admin admin, String topic) {
        return ProcessCluster.describe(admin, topic);
    }

    @Test
    void aFullLogDirGoesOfflineItsLeadershipsMoveAndItRejoinsAfterARestartWithSpace() throws Exception {
        Path node1a = dir.resolve("node1a");
        tmpfs = dir.resolve("node1b");
        Files.createDirectories(node1a);
        Files.createDirectories(tmpfs);
        int mounted = run("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", tmpfs.toString());
        if (mounted != 0) {
            tmpfs = null;
            Assumptions.abort("mounting a tmpfs is not permitted here (mount -t tmpfs exited " + mounted
                    + "), so a full log directory cannot be made");
        }
        Path filler = tmpfs.resolve("filler");
        long fillerBytes = Files.getFileStore(tmpfs).getUsableSpace() - FREE_BYTES;
        try (OutputStream out = Files.newOutputStream(filler)) {
            byte[] mb = new byte[1 << 20];
            for (long written = 0; written < fillerBytes; written += mb.length) {
                out.write(mb, 0, (int) Math.min(mb.length, fillerBytes - written));
            }
        }

        cluster = new ProcessCluster(dir, Map.of("replica.lag.time.max.ms", "5000"));
        // node 1: the metadata log on its first directory (the default), a small tmpfs as its second
        cluster.override(1, Map.of("log.dirs", node1a + "," + tmpfs));
        cluster.startAll();
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        try (Admin admin = Admin.create(ap)) {
            // the topic must have partitions that node 1 leads in each directory: placement is random, so
            // a topic where it does not is replaced by another
            String topic = null;
            Set<Integer> onTmpfs = new HashSet<>();
            for (int attempt = 0; attempt < 5 && topic == null; attempt++) {
                String name = "jbod" + attempt;
                if (attempt == 0) {
                    ProcessCluster.createReplicatedTopic(admin, name, PARTITIONS);
                } else {
                    admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(name, PARTITIONS, (short) 3)
                            .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
                }
                // a new partition's ISR is its whole replica set from the start, before a follower has opened its
                // replica: node 1 must also hold every partition's directory before the tmpfs is looked at, or a
                // replica it opens later lands there unseen
                ProcessCluster.await("full ISRs of " + name + ", every replica of node 1 opened", Duration.ofSeconds(60), () -> {
                    TopicDescription d = describe(admin, name);
                    return d != null && d.partitions().size() == PARTITIONS
                            && d.partitions().stream().allMatch(p -> p.leader() != null && p.isr().size() == 3)
                            && java.util.stream.IntStream.range(0, PARTITIONS).allMatch(p ->
                                    Files.isDirectory(tmpfs.resolve(name + "-" + p))
                                            || Files.isDirectory(node1a.resolve(name + "-" + p)));
                }, () -> cluster.describeEverywhere(name));
                Set<Integer> there = new HashSet<>();
                for (int p = 0; p < PARTITIONS; p++) {
                    if (Files.isDirectory(tmpfs.resolve(name + "-" + p))) {
                        there.add(p);
                    }
                }
                TopicDescription d = describe(admin, name);
                boolean ledOnTmpfs = d.partitions().stream().anyMatch(p -> p.leader().id() == 1 && there.contains(p.partition()));
                boolean ledElsewhere = d.partitions().stream().anyMatch(p -> p.leader().id() == 1 && !there.contains(p.partition()));
                if (ledOnTmpfs && ledElsewhere) {
                    topic = name;
                    onTmpfs = there;
                }
            }
            assertThat(topic).as("a topic with partitions led by node 1 in both of its directories").isNotNull();
            String t = topic;
            Set<Integer> failing = onTmpfs;
            TopicDescription before = describe(admin, t);
            Set<Integer> ledOnTmpfs = new HashSet<>();
            Set<Integer> ledOnOtherDir = new HashSet<>();
            for (TopicPartitionInfo p : before.partitions()) {
                if (p.leader().id() == 1) {
                    (failing.contains(p.partition()) ? ledOnTmpfs : ledOnOtherDir).add(p.partition());
                }
            }

            // ---- write until the tmpfs is full, then on
            Map<String, Long> acked = new ConcurrentHashMap<>();
            Map<Integer, AtomicInteger> ackedAfterFailure = new ConcurrentHashMap<>();
            AtomicInteger failedSends = new AtomicInteger();
            AtomicLong failedAt = new AtomicLong(Long.MAX_VALUE);
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
            pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "2");
            Random random = new Random(42);
            long startedNs = System.nanoTime();
            long offlineAfterMs = -1;
            int sent = 0;
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                Semaphore inFlight = new Semaphore(64);
                int afterOffline = -1;
                while (sent < 4000 && (afterOffline < 0 || sent < afterOffline + 600)) {
                    int partition = sent % PARTITIONS;
                    StringBuilder v = new StringBuilder("v-").append(sent).append('-');
                    while (v.length() < VALUE_BYTES) {
                        v.append((char) ('a' + random.nextInt(26)));
                    }
                    String value = v.toString();
                    inFlight.acquire();
                    producer.send(new ProducerRecord<>(t, partition, null, value), (md, e) -> {
                        inFlight.release();
                        if (e != null) {
                            failedSends.incrementAndGet();
                            return;
                        }
                        acked.put(value.substring(0, value.indexOf('-', 2)), ((long) md.partition() << 48) | md.offset());
                        if (System.nanoTime() > failedAt.get()) {
                            ackedAfterFailure.computeIfAbsent(md.partition(), k -> new AtomicInteger()).incrementAndGet();
                        }
                    });
                    sent++;
                    if (afterOffline < 0 && sent % 50 == 0) {
                        Map<String, LogDirDescription> dirs = logDirsOf(admin, 1);
                        LogDirDescription tmp = dirs == null ? null : dirs.get(tmpfs.toString());
                        if (tmp != null && tmp.error() != null) {
                            failedAt.set(System.nanoTime());
                            offlineAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNs);
                            afterOffline = sent;
                        }
                    }
                }
                producer.flush();
                assertThat(afterOffline).as("the tmpfs log directory went offline within %d records", sent)
                        .isPositive();
            }
            System.out.printf("log dir offline after %d ms of writing; %d sent, %d acknowledged, %d failed%n",
                    offlineAfterMs, sent, acked.size(), failedSends.get());
            assertThat(cluster.isAlive(1)).as("node 1 stays up for its other directory").isTrue();

            // ---- the controller moved what node 1 had there; node 1 still serves its other directory
            ProcessCluster.await("leaderships and ISRs moved off node 1's offline directory", Duration.ofSeconds(30), () -> {
                TopicDescription d = describe(admin, t);
                return d != null && d.partitions().stream().filter(p -> failing.contains(p.partition()))
                        .allMatch(p -> p.leader() != null && p.leader().id() != 1
                                && p.isr().stream().noneMatch(n -> n.id() == 1) && p.isr().size() == 2);
            }, () -> cluster.describeEverywhere(t));
            TopicDescription after = describe(admin, t);
            for (TopicPartitionInfo p : after.partitions()) {
                if (ledOnOtherDir.contains(p.partition())) {
                    assertThat(p.leader().id()).as("node 1 still leads %s-%d in its other directory", t, p.partition())
                            .isEqualTo(1);
                    assertThat(p.isr()).hasSize(3);
                }
            }
            for (int p : ledOnTmpfs) {
                assertThat(ackedAfterFailure.getOrDefault(p, new AtomicInteger()).get())
                        .as("writes to %s-%d acknowledged by its new leader", t, p).isPositive();
            }
            for (int p : ledOnOtherDir) {
                assertThat(ackedAfterFailure.getOrDefault(p, new AtomicInteger()).get())
                        .as("writes to %s-%d still acknowledged by node 1", t, p).isPositive();
            }
            // node 1 answers for its offline replicas as Kafka does, and serves the others
            NodeProbe node1 = new NodeProbe(cluster.address(1));
            for (int p : failing) {
                assertThat(node1.latestOffset(t, p).error()).as("ListOffsets of %s-%d on node 1", t, p)
                        .isEqualTo(Errors.KAFKA_STORAGE_ERROR);
            }
            for (int p : ledOnOtherDir) {
                assertThat(node1.latestOffset(t, p).error()).isEqualTo(Errors.NONE);
            }
            Map<String, LogDirDescription> dirs = logDirsOf(admin, 1);
            assertThat(dirs).containsKeys(node1a.toString(), tmpfs.toString());
            assertThat(dirs.get(tmpfs.toString()).error()).isInstanceOf(KafkaStorageException.class);
            assertThat(dirs.get(node1a.toString()).error()).isNull();
            assertThat(dirs.get(node1a.toString()).replicaInfos().keySet().stream()
                    .filter(tp -> tp.topic().equals(t)).map(TopicPartition::partition).toList())
                    .doesNotContainAnyElementsOf(failing).isNotEmpty();

            // ---- nothing acknowledged is lost, nothing is duplicated
            assertThat(acked).isNotEmpty();
            Map<String, Long> seen = readAll(t);
            acked.forEach((v, pos) -> assertThat(seen.get(v)).as("acknowledged %s at its offset", v).isEqualTo(pos));

            // ---- stop node 1, free the tmpfs, restart: the directory's replicas recover and rejoin
            cluster.stop(1);
            Files.delete(filler);
            long restartNs = System.nanoTime();
            cluster.start(1);
            ProcessCluster.await("node 1 back in every ISR", Duration.ofSeconds(60), () -> {
                TopicDescription d = describe(admin, t);
                return d != null && d.partitions().stream().allMatch(p -> p.isr().size() == 3);
            }, () -> cluster.describeEverywhere(t));
            System.out.printf("node 1 back in every ISR %d ms after its restart began%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartNs));
            ProcessCluster.await("both directories of node 1 online", Duration.ofSeconds(30), () -> {
                Map<String, LogDirDescription> d = logDirsOf(admin, 1);
                return d != null && d.get(tmpfs.toString()) != null && d.get(tmpfs.toString()).error() == null
                        && d.get(node1a.toString()).error() == null;
            });
            Map<String, LogDirDescription> back = logDirsOf(admin, 1);
            assertThat(back.get(tmpfs.toString()).replicaInfos().keySet().stream()
                    .filter(tp -> tp.topic().equals(t)).map(TopicPartition::partition).toList())
                    .containsExactlyInAnyOrderElementsOf(failing);
        }
    }

    /**
     * A broker whose only log directory fills (its metadata log elsewhere) has nothing left to serve: it
     * halts with a message naming why, as Kafka's broker does, rather than staying up serving nothing.
     */
    @Test
    void aBrokerWhoseEveryLogDirFailedHalts() throws Exception {
        tmpfs = dir.resolve("only");
        Files.createDirectories(tmpfs);
        int mounted = run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", tmpfs.toString());
        if (mounted != 0) {
            tmpfs = null;
            Assumptions.abort("mounting a tmpfs is not permitted here (mount -t tmpfs exited " + mounted
                    + "), so a full log directory cannot be made");
        }
        Files.write(tmpfs.resolve("filler"), new byte[(int) (Files.getFileStore(tmpfs).getUsableSpace() - (2L << 20))]);
        int port = io.runnel.testutil.Ports.free();
        Path log = Path.of("target", "it-logs", "jbod-single-" + System.nanoTime() + ".log");
        Files.createDirectories(log.getParent());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process node = new ProcessBuilder(java, "-Xmx256m", "--add-modules", "java.se",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-jar", Path.of("target", "runnel.jar").toString(),
                "--override", "listeners=PLAINTEXT://127.0.0.1:" + port, "--override", "admin.listener=127.0.0.1:0",
                "--override", "log.dirs=" + tmpfs, "--override", "metadata.log.dir=" + dir.resolve("meta"),
                "--override", "bridge.enabled=false")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port);
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "5000");
            pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
            pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "3000");
            String value = "x".repeat(VALUE_BYTES);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 2000 && node.isAlive(); i++) {
                    try {
                        producer.send(new ProducerRecord<>("full", value)).get(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        // the node is going, or not up yet
                        Thread.sleep(50);
                    }
                }
            }
            assertThat(node.waitFor(30, TimeUnit.SECONDS)).as("the node halted (log in %s)", log).isTrue();
            assertThat(node.exitValue()).isEqualTo(1);
            assertThat(Files.readString(log)).contains("Shutting down: every log directory of this broker has failed");
        } finally {
            node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Every record of {@code topic}, value prefix to (partition, offset); fails on a value read twice. */
    private Map<String, Long> readAll(String topic) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap());
        cp.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "1048576");
        Map<String, Long> seen = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline && !tps.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp))) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    String key = r.value().substring(0, r.value().indexOf('-', 2));
                    assertThat(seen.put(key, ((long) r.partition() << 48) | r.offset())).as("%s read twice", key).isNull();
                }
            }
        }
        return seen;
    }
}
