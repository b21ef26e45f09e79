package io.runnel.durability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import org.apache.kafka.common.Uuid;

/**
 * The Apache Kafka 4.4.0 side of {@link NetnsCluster}: what the cluster needs to run KRaft nodes of the
 * reference broker ({@code scripts/kafka-ref.sh}) where it would run Runnel nodes, so that the fault suite
 * puts both through the same faults.
 *
 * <p>Node k is a combined broker+controller ({@code process.roles=broker,controller}) when k is at most the
 * number of voters, a broker alone otherwise; the voters form a fixed quorum ({@code controller.quorum.voters},
 * as {@code kafka-ref.sh start-cluster} does), so that formatting needs nothing but the shared cluster id.
 * Node k listens on {@code ip(k):9092} (PLAINTEXT, the clients' and the replicas' listener) and, as a voter,
 * {@code ip(k):9093} (CONTROLLER). Replication is the suite's setting: {@code min.insync.replicas=2},
 * {@code default.replication.factor=3}, the offsets, transaction and share-state topics at replication
 * factor 3 and min ISR 2, {@code group.initial.rebalance.delay.ms=0}, and {@code offsets.topic.num.partitions=2}
 * as the Runnel nodes get it; the caller's overrides come last and win.
 *
 * <p>Files: node k's data (and KRaft metadata log) in {@code dir/nodek}, as Runnel's; its
 * {@code server.properties} as {@code logDir/nodek.properties}, the storage format's output as
 * {@code logDir/nodek-format.log}, one {@code logDir/log4j2.properties} for every node (Kafka logs to stdout,
 * which the cluster appends to {@code logDir/nodek.log}).
 *
 * <p>The jars are those {@code scripts/kafka-ref.sh classpath} fetches into {@code target/kafka-ref/lib};
 * the broker JVM gets kafka-ref.sh's flags (1 GiB heap, G1 as {@code kafka-server-start.sh} sets it).
 *
 * <p>Not thread-safe: the cluster calls it from the test's thread.
 */
final class KafkaNodes {

    static final int CONTROLLER_PORT = 9093;
    /** Logged by {@code kafka.Kafka} once the broker has caught up with the metadata log and serves requests. */
    static final String STARTED = "Kafka Server started";

    private static String classpath;

    private final Path dir;
    private final Path logDir;
    private final int size;
    private final int voters;
    private final Map<String, String> overrides;
    private final IntFunction<String> ip;
    private final String clusterId = Uuid.randomUuid().toString();

    KafkaNodes(Path dir, Path logDir, int size, int voters, Map<String, String> overrides, IntFunction<String> ip) {
        this.dir = dir;
        this.logDir = logDir;
        this.size = size;
        this.voters = voters;
        this.overrides = overrides;
        this.ip = ip;
    }

    /** The Kafka jars' classpath from {@code scripts/kafka-ref.sh classpath} (which fetches them on first use). */
    private static synchronized String classpath() throws Exception {
        if (classpath == null) {
            Path script = Path.of("scripts", "kafka-ref.sh").toAbsolutePath();
            Process p = new ProcessBuilder(script.toString(), "classpath").redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0 || out.isEmpty()) {
                p.destroyForcibly();
                throw new IOException(script + " classpath failed: " + out);
            }
            String[] lines = out.split("\n");
            classpath = lines[lines.length - 1].trim();
        }
        return classpath;
    }

    boolean isVoter(int k) {
        return k <= voters;
    }

    /** The port node k binds first, before it has a metadata quorum: the controller's for a voter. */
    int firstPort(int k) {
        return isVoter(k) ? CONTROLLER_PORT : NetnsCluster.KAFKA_PORT;
    }

    private Path dataDir(int k) {
        return dir.resolve("node" + k).toAbsolutePath();
    }

    private Path properties(int k) {
        return logDir.resolve("node" + k + ".properties").toAbsolutePath();
    }

    private Path log4j() {
        return logDir.resolve("log4j2.properties").toAbsolutePath();
    }

    Map<String, String> settings(int k) {
        List<String> quorum = new ArrayList<>();
        for (int n = 1; n <= voters; n++) {
            quorum.add(n + "@" + ip.apply(n) + ":" + CONTROLLER_PORT);
        }
        int rf = Math.min(3, size);
        int minIsr = Math.min(2, rf);
        Map<String, String> s = new LinkedHashMap<>();
        s.put("process.roles", isVoter(k) ? "broker,controller" : "broker");
        s.put("node.id", Integer.toString(k));
        s.put("controller.quorum.voters", String.join(",", quorum));
        s.put("listeners", "PLAINTEXT://" + ip.apply(k) + ":" + NetnsCluster.KAFKA_PORT
                + (isVoter(k) ? ",CONTROLLER://" + ip.apply(k) + ":" + CONTROLLER_PORT : ""));
        s.put("advertised.listeners", "PLAINTEXT://" + ip.apply(k) + ":" + NetnsCluster.KAFKA_PORT);
        s.put("controller.listener.names", "CONTROLLER");
        s.put("inter.broker.listener.name", "PLAINTEXT");
        s.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        s.put("log.dirs", dataDir(k).toString());
        s.put("min.insync.replicas", Integer.toString(minIsr));
        s.put("default.replication.factor", Integer.toString(rf));
        s.put("offsets.topic.replication.factor", Integer.toString(rf));
        s.put("offsets.topic.num.partitions", "2");
        s.put("transaction.state.log.replication.factor", Integer.toString(rf));
        s.put("transaction.state.log.min.isr", Integer.toString(minIsr));
        s.put("share.coordinator.state.topic.replication.factor", Integer.toString(rf));
        s.put("share.coordinator.state.topic.min.isr", Integer.toString(minIsr));
        s.put("group.initial.rebalance.delay.ms", "0");
        s.putAll(overrides);
        return s;
    }

    private void writeConfig(int k) throws IOException {
        Properties p = new Properties();
        p.putAll(settings(k));
        try (var out = Files.newBufferedWriter(properties(k))) {
            p.store(out, "node " + k + " of a NetnsCluster of Apache Kafka");
        }
        if (!Files.exists(log4j())) {
            Files.writeString(log4j(), String.join("\n",
                    "status = warn",
                    "appender.out.type = Console",
                    "appender.out.name = OUT",
                    "appender.out.layout.type = PatternLayout",
                    "appender.out.layout.pattern = [%d] %p %m (%c)%n",
                    "rootLogger.level = INFO",
                    "rootLogger.appenderRef.out.ref = OUT",
                    "logger.state.name = state.change.logger",
                    "logger.state.level = WARN", ""));
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * Writes the configuration of the given nodes and formats the storage of those not yet formatted (no
     * {@code meta.properties} in their data directory), all with this cluster's id; the formats run in parallel,
     * each a JVM of Kafka's StorageTool, outside the namespaces (formatting binds nothing).
     */
    void prepare(List<Integer> nodes) throws Exception {
        Map<Integer, Process> formats = new LinkedHashMap<>();
        for (int k : nodes) {
            writeConfig(k);
            if (Files.exists(dataDir(k).resolve("meta.properties"))) {
                continue;
            }
            // the id may begin with '-', so it goes as --cluster-id=ID, never as an argument of its own
            // a short-lived JVM: C1 and the serial collector start it sooner on a busy machine
            formats.put(k, new ProcessBuilder(java(), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
                    "-cp", classpath(), "-Dlog4j2.configurationFile=" + log4j(),
                    "kafka.tools.StorageTool", "format", "--cluster-id=" + clusterId, "-c", properties(k).toString())
                    .redirectErrorStream(true)
                    .redirectOutput(logDir.resolve("node" + k + "-format.log").toFile()).start());
        }
        for (Map.Entry<Integer, Process> e : formats.entrySet()) {
            Process p = e.getValue();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("storage format of node " + e.getKey() + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IOException("storage format of node " + e.getKey() + " failed: "
                        + Files.readString(logDir.resolve("node" + e.getKey() + "-format.log")));
            }
        }
    }

    /** The broker JVM's command line for node k (to run after {@code ip netns exec NS}), as kafka-ref.sh runs it. */
    List<String> command(int k) throws Exception {
        return List.of(java(), "-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
                "-Dlog4j2.configurationFile=" + log4j(), "-cp", classpath(), "kafka.Kafka", properties(k).toString());
    }

    /** Where node k's controller listens (voters only). */
    String controllerAddress(int k) {
        return ip.apply(k) + ":" + CONTROLLER_PORT;
    }

    /**
     * The quorum leader as the controller at {@code controllerAddress} names it, when that controller is the leader
     * itself (DescribeQuorum, the request of {@code Admin.describeMetadataQuorum()}, which a KRaft controller answers
     * only as the leader, NOT_LEADER_OR_FOLLOWER otherwise); -1 when it is not, or gives no answer within 5 s.
     *
     * <p>The controller is asked on its own listener rather than through a broker, which forwards DescribeQuorum
     * on a channel of its own: a broker that last forwarded to a controller since cut off holds the request (and
     * those queued behind it) until its 30 s controller socket timeout, and an admin client picks its broker
     * itself, a frozen or cut-off one too.
     */
    static int quorumLeader(String controllerAddress) {
        try {
            return new NodeProbe(controllerAddress).quorumLeader(5000);
        } catch (IOException e) {
            return -1;
        }
    }
}
