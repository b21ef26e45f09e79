package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import io.runnel.testutil.Ports;

/**
 * Three brokers as separate processes of {@code target/runnel.jar} (failsafe runs after package), on free
 * loopback ports, each with its own data directory under {@code dir} and its log file under
 * {@code target/it-logs/<cluster name>}: what a test needs that
 * kills (kill -9) or freezes (SIGSTOP) a broker.
 */
final class ProcessCluster implements AutoCloseable {

    private final Path dir;
    private final Map<String, String> overrides;
    private final Map<Integer, Process> nodes = new HashMap<>();
    private final Map<Integer, Map<String, String>> nodeOverrides = new HashMap<>();
    private final int[] kafkaPorts = new int[3];
    private final int[] hzPorts = new int[3];
    private final int[] raftPorts = new int[3];
    private final String clusterName = "pc-" + UUID.randomUUID();
    private final Path logDir;

    /** @param overrides extra broker settings, the same on every node */
    ProcessCluster(Path dir, Map<String, String> overrides) throws IOException {
        this.dir = dir;
        this.overrides = overrides;
        // node logs outlive the test's temporary directory, for the failure that needs them
        this.logDir = Path.of("target", "it-logs", clusterName);
        java.nio.file.Files.createDirectories(logDir);
        for (int i = 0; i < 3; i++) {
            kafkaPorts[i] = Ports.free();
            hzPorts[i] = Ports.free();
            raftPorts[i] = Ports.free();
        }
    }

    /** Settings of node {@code id} alone (its own log.dirs, say), over the shared ones; set before it starts. */
    void override(int id, Map<String, String> settings) {
        nodeOverrides.put(id, Map.copyOf(settings));
    }

    /** Starts node {@code id} (1 to 3) and waits until its Kafka port accepts connections. */
    void start(int id) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> members = new ArrayList<>();
        for (int p : hzPorts) {
            members.add("127.0.0.1:" + p);
        }
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx384m", "--add-modules", "java.se",
                "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
                "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "-jar", Path.of("target", "runnel.jar").toString()));
        Map<String, String> o = new LinkedHashMap<>();
        o.put("node.id", Integer.toString(id));
        o.put("listeners", "PLAINTEXT://127.0.0.1:" + kafkaPorts[id - 1]);
        o.put("admin.listener", "127.0.0.1:0");
        o.put("log.dirs", dir.resolve("node" + id).toString());
        o.put("cluster.enabled", "true");
        o.put("cluster.name", clusterName);
        o.put("cluster.port", Integer.toString(hzPorts[id - 1]));
        o.put("cluster.port.count", "1");
        o.put("cluster.members", String.join(",", members));
        o.put("controller.quorum.voters", "1@127.0.0.1:" + raftPorts[0] + ",2@127.0.0.1:" + raftPorts[1]
                + ",3@127.0.0.1:" + raftPorts[2]);
        o.put("bridge.enabled", "false");
        o.put("offsets.topic.num.partitions", "2");
        o.putAll(overrides);
        o.putAll(nodeOverrides.getOrDefault(id, Map.of()));
        o.forEach((k, v) -> {
            cmd.add("--override");
            cmd.add(k + "=" + v);
        });
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve("node" + id + ".log").toFile())).start();
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

    void startAll() throws Exception {
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
    }

    /** kill -9 of node {@code id}. */
    void kill(int id) throws InterruptedException {
        nodes.remove(id).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM of node {@code id}: a clean shutdown; waits for the process to end. */
    void stop(int id) throws InterruptedException {
        Process p = nodes.remove(id);
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Whether node {@code id}'s process runs. */
    boolean isAlive(int id) {
        Process p = nodes.get(id);
        return p != null && p.isAlive();
    }

    /** SIGSTOP: the process is frozen, its sockets stay open. */
    void freeze(int id) throws Exception {
        signal(id, "-STOP");
    }

    /** SIGCONT of a frozen node. */
    void thaw(int id) throws Exception {
        signal(id, "-CONT");
    }

    private void signal(int id, String signal) throws Exception {
        long pid = nodes.get(id).pid();
        Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0)
                .as("kill %s %d (node %d)", signal, pid, id).isTrue();
    }

    /** The Hazelcast cluster name the nodes join (an application joins it too to use the event bus). */
    String clusterName() {
        return clusterName;
    }

    /** The nodes' Hazelcast members, host:port each. */
    List<String> hazelcastMembers() {
        List<String> members = new ArrayList<>();
        for (int p : hzPorts) {
            members.add("127.0.0.1:" + p);
        }
        return members;
    }

    /** Node {@code id}'s Kafka listener, host:port. */
    String address(int id) {
        return "127.0.0.1:" + kafkaPorts[id - 1];
    }

    String bootstrap() {
        List<String> all = new ArrayList<>();
        for (int p : kafkaPorts) {
            all.add("127.0.0.1:" + p);
        }
        return String.join(",", all);
    }

    /** Polls {@code condition} every 200 ms until it holds, failing after {@code timeout}. */
    /**
     * Waits until {@code admin} sees all three brokers, then creates {@code topic} with replication factor 3
     * and min.insync.replicas=2, the set-up every process-cluster test starts from.
     */
    static void createReplicatedTopic(Admin admin, String topic, int partitions) throws Exception {
        await("three brokers", Duration.ofSeconds(90), () -> {
            try {
                return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() == 3;
            } catch (Exception e) {
                return false;
            }
        });
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 3)
                .configs(Map.of("min.insync.replicas", "2")))).all().get(30, TimeUnit.SECONDS);
    }

    /** The topic as {@code admin} describes it now, or null while it cannot (the description is retried). */
    static org.apache.kafka.clients.admin.TopicDescription describe(Admin admin, String topic) {
        try {
            return admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS).get(topic);
        } catch (Exception e) {
            return null;
        }
    }

    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        await(what, timeout, condition, () -> "");
    }

    /** As {@link #await(String, Duration, BooleanSupplier)}, naming {@code state} (read at the timeout) in the failure. */
    static void await(String what, Duration timeout, BooleanSupplier condition, java.util.function.Supplier<String> state)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                String now;
                try {
                    now = state.get();
                } catch (RuntimeException e) {
                    now = "(state unavailable: " + e + ")";
                }
                throw new AssertionError("timed out after " + timeout + " waiting for " + what
                        + (now.isEmpty() ? "" : "; " + now));
            }
            Thread.sleep(200);
        }
    }

    /** Where the nodes' logs are, for a failure message. */
    Path logDir() {
        return logDir;
    }

    /**
     * Each partition of {@code topic} as the brokers' metadata has it (leader, replicas, ISR),
     * asked of every live node in turn so that a node with a view of its own shows up: what a test names when
     * it timed out waiting for leaders or ISRs.
     */
    String describeEverywhere(String topic) {
        StringBuilder b = new StringBuilder();
        for (int id = 1; id <= 3; id++) {
            if (!nodes.containsKey(id)) {
                b.append("node ").append(id).append(": down; ");
                continue;
            }
            java.util.Properties p = new java.util.Properties();
            p.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + kafkaPorts[id - 1]);
            try (Admin one = Admin.create(p)) {
                var d = describe(one, topic);
                b.append("node ").append(id).append(": ");
                if (d == null) {
                    b.append("no answer; ");
                    continue;
                }
                for (var pi : d.partitions()) {
                    b.append(topic).append('-').append(pi.partition()).append(" leader ")
                            .append(pi.leader() == null ? "none" : pi.leader().id())
                            .append(" replicas ").append(pi.replicas().stream().map(n -> n.id()).toList())
                            .append(" isr ").append(pi.isr().stream().map(n -> n.id()).toList()).append(", ");
                }
                b.append("; ");
            }
        }
        return b.append("node logs in ").append(logDir.toAbsolutePath()).toString();
    }

    @Override
    public void close() throws Exception {
        for (Map.Entry<Integer, Process> e : nodes.entrySet()) {
            // a frozen process still dies of SIGKILL; thaw first anyway so nothing stays stopped if that fails
            try {
                thaw(e.getKey());
            } catch (Throwable ignored) {
                // already gone
            }
            e.getValue().destroyForcibly();
        }
        for (Process p : nodes.values()) {
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
