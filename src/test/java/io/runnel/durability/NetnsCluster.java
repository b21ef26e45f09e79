package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Brokers as separate processes of {@code target/runnel.jar}, each in a network namespace of its own, so
 * that a test can cut the network between them as a real partition does: packets silently dropped, both
 * ways, while every process keeps running. The same cluster runs Apache Kafka 4.4.0 nodes instead
 * ({@link #kafka}, or {@link #create} under {@code -Dfaults.target=kafka}; {@link KafkaNodes} says how they
 * are configured), so that the fault suite puts the reference broker through the same faults with the same
 * calls.
 *
 * <p>Layout, all of it created here and removed by {@link #close} (and by a shutdown hook if the JVM
 * dies first): a hub namespace {@code rn-<id>-hub} holding a bridge; node k in namespace
 * {@code rn-<id>-k} with one veth into that bridge and the address {@code 10.X.Y.k/24}, X.Y picked at random
 * from a range no route of the host uses; and one veth {@code rn<id>h} from the test's own namespace into the
 * bridge with {@code 10.X.Y.254}, through which the test's clients reach every node (clients see both sides
 * of a partition, as Jepsen's do). No traffic leaves those namespaces and that one link.
 *
 * <p>Each namespace being a host of its own, every node takes the same fixed ports there: Kafka
 * {@value #KAFKA_PORT}, Hazelcast {@value #HAZELCAST_PORT}, Raft {@value #RAFT_PORT} (a Kafka node: its broker
 * {@value #KAFKA_PORT}, its controller {@value KafkaNodes#CONTROLLER_PORT}). Cutting the link
 * between nodes a and b adds, in each of the two namespaces, a DROP rule for the other's address on INPUT
 * and OUTPUT; {@link #heal} flushes them.
 *
 * <p>Needs root, {@code ip netns} and {@code iptables} ({@code scripts/install-test-deps.sh}); otherwise
 * {@link #assumeSupported} skips the test with the reason.
 */
final class NetnsCluster implements AutoCloseable {

    static final int KAFKA_PORT = 9092;
    static final int HAZELCAST_PORT = 5701;
    static final int RAFT_PORT = 7701;

    /** Which broker the nodes run. */
    enum Target {
        RUNNEL, KAFKA
    }

    /** The system property {@link #create} reads: {@code runnel} (the default) or {@code kafka}. */
    static final String TARGET_PROPERTY = "faults.target";

    private final Path dir;
    private final int size;
    private final int voters;
    private final Map<String, String> overrides;
    private final Target target;
    /** Set for Target.KAFKA only. */
    private final KafkaNodes kafka;
    private final String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    private final String subnet;
    private final String hostLink = "rn" + id + "h";
    private final Map<Integer, Process> nodes = new HashMap<>();
    /** Nodes stopped by {@link #freeze} and not thawed or killed since: {@link #activeController} asks none of them. */
    private final Set<Integer> frozen = new TreeSet<>();
    private final Set<Integer> namespaces = new TreeSet<>();
    private final String clusterName = "nc-" + UUID.randomUUID();
    private final Path logDir;
    private final Thread hook = new Thread(this::destroy, "netns-cluster-cleanup");
    private boolean hubCreated;
    private boolean destroyed;

    /**
     * Skips the calling test (a JUnit assumption) unless this process can create a network namespace and
     * run iptables in it: root, iproute2 with netns support, iptables installed.
     */
    static void assumeSupported() {
        String probe = "rn-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL) + "-probe";
        String why = null;
        try {
            Process idu = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            String uid = new String(idu.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            idu.waitFor(5, TimeUnit.SECONDS);
            if (!uid.equals("0")) {
                why = "network partition tests need root (uid is " + uid + ")";
            } else if (exec("ip", "netns", "add", probe).exit() != 0) {
                why = "'ip netns add' does not work here";
            } else {
                Result r = exec("ip", "netns", "exec", probe, "iptables", "-w", "-L", "-n");
                if (r.exit() != 0) {
                    why = "iptables does not work inside a network namespace (scripts/install-test-deps.sh installs it): "
                            + r.output().trim();
                }
            }
        } catch (IOException | InterruptedException e) {
            why = "cannot run ip/iptables: " + e.getMessage();
        } finally {
            try {
                exec("ip", "netns", "del", probe);
            } catch (IOException | InterruptedException ignored) {
                // the probe was never made
            }
        }
        if (why != null) {
            Assumptions.abort(why);
        }
    }

    /**
     * @param size      number of brokers (node ids 1 to size)
     * @param voters    the first {@code voters} nodes are controller voters; the others run process.roles=broker
     * @param overrides extra broker settings, the same on every node
     */
    NetnsCluster(Path dir, int size, int voters, Map<String, String> overrides) throws Exception {
        this(Target.RUNNEL, dir, size, voters, overrides);
    }

    private NetnsCluster(Target target, Path dir, int size, int voters, Map<String, String> overrides) throws Exception {
        this.dir = dir;
        this.size = size;
        this.voters = voters;
        this.overrides = overrides;
        this.target = target;
        this.logDir = Path.of("target", "it-logs", clusterName);
        Files.createDirectories(logDir);
        this.kafka = target == Target.KAFKA ? new KafkaNodes(dir, logDir, size, voters, overrides, this::ip) : null;
        this.subnet = pickSubnet();
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            createNetwork();
        } catch (Exception | AssertionError e) {
            close();
            throw e;
        }
    }

    /**
     * A cluster of Apache Kafka 4.4.0 nodes, every one a combined broker+controller (a quorum of {@code size}
     * voters); {@code overrides} are Kafka settings, the same on every node.
     */
    static NetnsCluster kafka(Path dir, int size, Map<String, String> overrides) throws Exception {
        return kafka(dir, size, size, overrides);
    }

    /** As {@link #kafka(Path, int, Map)}, with only the first {@code voters} nodes controllers, the others brokers alone. */
    static NetnsCluster kafka(Path dir, int size, int voters, Map<String, String> overrides) throws Exception {
        return new NetnsCluster(Target.KAFKA, dir, size, voters, overrides);
    }

    /**
     * The cluster the fault suite runs: Runnel nodes, or Apache Kafka's under {@code -Dfaults.target=kafka}
     * ({@value #TARGET_PROPERTY}); the arguments mean the same for both.
     */
    static NetnsCluster create(Path dir, int size, int voters, Map<String, String> overrides) throws Exception {
        return new NetnsCluster(target(System.getProperty(TARGET_PROPERTY, "runnel")), dir, size, voters, overrides);
    }

    static Target target(String name) {
        return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "runnel" -> Target.RUNNEL;
            case "kafka" -> Target.KAFKA;
            default -> throw new IllegalArgumentException(TARGET_PROPERTY + " must be runnel or kafka, not '" + name + "'");
        };
    }

    Target target() {
        return target;
    }

    /** 10.X.Y (X from 200 to 249) that no address or route of this host's namespace mentions. */
    private static String pickSubnet() throws Exception {
        String routes = exec("ip", "-4", "route", "show", "table", "all").output()
                + exec("ip", "-4", "addr", "show").output();
        for (int i = 0; i < 100; i++) {
            String s = "10." + (200 + ThreadLocalRandom.current().nextInt(50)) + "." + ThreadLocalRandom.current().nextInt(256);
            if (!routes.contains(s + ".")) {
                return s;
            }
        }
        throw new AssertionError("no free 10.x.y.0/24 for the test network");
    }

    String ip(int node) {
        return subnet + "." + node;
    }

    private String ns(int node) {
        return "rn-" + id + "-" + node;
    }

    private String hub() {
        return "rn-" + id + "-hub";
    }

    private void createNetwork() throws Exception {
        run("ip", "netns", "add", hub());
        hubCreated = true;
        run("ip", "-n", hub(), "link", "set", "lo", "up");
        run("ip", "-n", hub(), "link", "add", "br0", "type", "bridge");
        run("ip", "-n", hub(), "link", "set", "br0", "up");
        // the test's own way in: created in this JVM's namespace, its far end moved into the hub
        run("ip", "link", "add", hostLink, "type", "veth", "peer", "name", "uplink", "netns", hub());
        run("ip", "-n", hub(), "link", "set", "uplink", "master", "br0", "up");
        run("ip", "addr", "add", subnet + ".254/24", "dev", hostLink);
        run("ip", "link", "set", hostLink, "up");
        for (int k = 1; k <= size; k++) {
            run("ip", "netns", "add", ns(k));
            namespaces.add(k);
            run("ip", "-n", ns(k), "link", "set", "lo", "up");
            run("ip", "-n", hub(), "link", "add", "n" + k, "type", "veth", "peer", "name", "eth0", "netns", ns(k));
            run("ip", "-n", hub(), "link", "set", "n" + k, "master", "br0", "up");
            run("ip", "-n", ns(k), "addr", "add", ip(k) + "/24", "dev", "eth0");
            run("ip", "-n", ns(k), "link", "set", "eth0", "up");
        }
    }

    /**
     * Starts node {@code k} inside its namespace and waits until it listens: a Runnel node's Kafka port, a Kafka
     * voter's controller port. A Kafka broker opens its Kafka port only once it has caught up with a metadata
     * quorum (and a broker-only Kafka node is waited for until then), so that a voter can be started while the
     * other voters are down, as a Runnel node can; {@link #startAll} waits for the brokers to serve.
     */
    void start(int k) throws Exception {
        startTogether(List.of(k));
    }

    /**
     * Launches the given nodes one right after the other, in that order, without waiting for any, then waits
     * for each as {@link #start} does: how an operator restarts several nodes at once.
     */
    void startTogether(List<Integer> order) throws Exception {
        Map<Integer, Process> launched = new LinkedHashMap<>();
        if (target == Target.KAFKA) {
            kafka.prepare(order);
        }
        for (int k : order) {
            launched.put(k, spawn(k, target == Target.KAFKA ? kafka.command(k) : runnelCommand(k)));
        }
        for (Map.Entry<Integer, Process> e : launched.entrySet()) {
            int k = e.getKey();
            if (target == Target.KAFKA) {
                // a Kafka JVM takes several times a Runnel node's start-up, tens of seconds on a busy machine
                awaitPort(k, e.getValue(), kafka.firstPort(k), 120);
            } else {
                awaitPort(k, e.getValue(), KAFKA_PORT, 60);
            }
        }
    }

    private List<String> runnelCommand(int k) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> members = new ArrayList<>();
        List<String> quorum = new ArrayList<>();
        for (int n = 1; n <= size; n++) {
            members.add(ip(n) + ":" + HAZELCAST_PORT);
            if (n <= voters) {
                quorum.add(n + "@" + ip(n) + ":" + RAFT_PORT);
            }
        }
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx384m",
                "--add-modules", "java.se", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED"));
        // e.g. -Dnetns.node.jvm.options=-Dlogback.configurationFile=/path/debug.xml to read a failure in the nodes' logs
        String extra = System.getProperty("netns.node.jvm.options", "").trim();
        if (!extra.isEmpty()) {
            cmd.addAll(List.of(extra.split("\\s+")));
        }
        cmd.addAll(List.of("-jar", Path.of("target", "runnel.jar").toAbsolutePath().toString()));
        Map<String, String> o = new LinkedHashMap<>();
        o.put("node.id", Integer.toString(k));
        o.put("listeners", "PLAINTEXT://" + ip(k) + ":" + KAFKA_PORT);
        o.put("admin.listener", "127.0.0.1:0");
        o.put("log.dirs", dir.resolve("node" + k).toAbsolutePath().toString());
        o.put("cluster.enabled", "true");
        o.put("cluster.name", clusterName);
        o.put("cluster.host", ip(k));
        o.put("cluster.port", Integer.toString(HAZELCAST_PORT));
        o.put("cluster.port.count", "1");
        o.put("cluster.members", String.join(",", members));
        o.put("controller.quorum.voters", String.join(",", quorum));
        o.put("process.roles", k <= voters ? "broker,controller" : "broker");
        o.put("bridge.enabled", "false");
        o.put("offsets.topic.num.partitions", "2");
        o.putAll(overrides);
        o.forEach((key, v) -> {
            cmd.add("--override");
            cmd.add(key + "=" + v);
        });
        return cmd;
    }

    /** Runs {@code jvm} in node k's namespace, its output appended to the node's log. */
    private Process spawn(int k, List<String> jvm) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns(k)));
        cmd.addAll(jvm);
        // `ip netns exec` execs the command in place: the process is the JVM itself, so kill -9 reaches it
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(nodeLog(k).toFile())).start();
        nodes.put(k, p);
        frozen.remove(k);
        return p;
    }

    private void awaitPort(int k, Process p, int port, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            assertThat(p.isAlive()).as("node %d died at start-up (log in %s)", k, logDir).isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ip(k), port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("node " + k + " did not open its port");
    }

    private Path nodeLog(int k) {
        return logDir.resolve("node" + k + ".log");
    }

    /**
     * Starts every node. Runnel's in turn, each waited for as {@link #start} does; Kafka's all at once (a Kafka
     * broker serves only once a majority of voters runs, and each JVM takes seconds to start), then waits up to
     * three minutes until every broker has logged {@value KafkaNodes#STARTED} since this launch and accepts
     * connections on its Kafka port.
     */
    void startAll() throws Exception {
        if (target == Target.KAFKA) {
            List<Integer> all = new ArrayList<>();
            Map<Integer, Long> logFrom = new HashMap<>();
            for (int k = 1; k <= size; k++) {
                all.add(k);
                logFrom.put(k, Files.exists(nodeLog(k)) ? Files.size(nodeLog(k)) : 0L);
            }
            kafka.prepare(all);
            for (int k : all) {
                spawn(k, kafka.command(k));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            for (int k : all) {
                while (!serving(k, logFrom.get(k))) {
                    assertThat(running(k)).as("node %d died at start-up (log in %s)", k, logDir).isTrue();
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("Kafka node " + k + " did not start serving within 180 s (log in " + logDir + ")");
                    }
                    Thread.sleep(200);
                }
            }
            return;
        }
        for (int k = 1; k <= size; k++) {
            start(k);
        }
    }

    /** Whether Kafka node k has logged that it started, after byte {@code from} of its log, and accepts connections. */
    private boolean serving(int k, long from) throws IOException {
        String log;
        try (var in = Files.newInputStream(nodeLog(k))) {
            in.skipNBytes(from);
            log = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        if (!log.contains(KafkaNodes.STARTED)) {
            return false;
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(ip(k), KAFKA_PORT), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** kill -9 of node {@code k}. */
    void kill(int k) throws InterruptedException {
        Process p = nodes.remove(k);
        frozen.remove(k);
        if (p != null) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** SIGSTOP of node {@code k}: the process stays, answering nothing, until {@link #thaw}. */
    void freeze(int k) throws Exception {
        signal(k, "STOP");
        frozen.add(k);
    }

    /** SIGCONT of node {@code k}. */
    void thaw(int k) throws Exception {
        signal(k, "CONT");
        frozen.remove(k);
    }

    private void signal(int k, String signal) throws Exception {
        Process p = nodes.get(k);
        if (p == null) {
            throw new IllegalStateException("node " + k + " is not running");
        }
        run("kill", "-" + signal, Long.toString(p.pid()));
    }

    /** Whether node {@code k} was started and has not been killed or exited. */
    boolean running(int k) {
        Process p = nodes.get(k);
        return p != null && p.isAlive();
    }

    int size() {
        return size;
    }

    /**
     * The node id of the active controller, or -1 if none is known: the first answer naming one, from the running
     * nodes not frozen, asked in turn (a frozen node would only time out). A Runnel node answers with the controller
     * id of its DescribeCluster (-1 until it has caught up with the metadata log). Kafka's DescribeCluster names a
     * random broker instead, so each Kafka voter's controller is asked with DescribeQuorum, the request of
     * {@code Admin.describeMetadataQuorum()}, which only the quorum leader answers ({@link KafkaNodes#quorumLeader}
     * says why not through a broker). A node cut off from the others may still name the controller it last knew,
     * a Kafka leader itself until it resigns for want of fetches from a majority (about 3 s).
     */
    int activeController() {
        for (int k = 1; k <= size; k++) {
            if (!running(k) || frozen.contains(k)) {
                continue;
            }
            int c;
            if (target == Target.KAFKA) {
                c = kafka.isVoter(k) ? KafkaNodes.quorumLeader(kafka.controllerAddress(k)) : -1;
            } else {
                try {
                    c = new NodeProbe(address(k)).controller();
                } catch (IOException e) {
                    c = -1;
                }
            }
            if (c >= 0) {
                return c;
            }
        }
        return -1;
    }

    String address(int k) {
        return ip(k) + ":" + KAFKA_PORT;
    }

    String bootstrap() {
        List<String> all = new ArrayList<>();
        for (int k = 1; k <= size; k++) {
            all.add(address(k));
        }
        return String.join(",", all);
    }

    Path logDir() {
        return logDir;
    }

    /** Cuts node {@code k} off from every other node (the test's clients still reach every node). */
    void isolate(int k) throws Exception {
        List<Integer> others = new ArrayList<>();
        for (int n = 1; n <= size; n++) {
            if (n != k) {
                others.add(n);
            }
        }
        cut(List.of(k), others);
    }

    /** Drops every packet between a node of {@code a} and a node of {@code b}, both ways. */
    void cut(Collection<Integer> a, Collection<Integer> b) throws Exception {
        for (int x : a) {
            for (int y : b) {
                drop(x, y);
                drop(y, x);
            }
        }
    }

    private void drop(int in, int peer) throws Exception {
        run("ip", "netns", "exec", ns(in), "iptables", "-w", "-A", "INPUT", "-s", ip(peer), "-j", "DROP");
        run("ip", "netns", "exec", ns(in), "iptables", "-w", "-A", "OUTPUT", "-d", ip(peer), "-j", "DROP");
    }

    /** Removes every cut. */
    void heal() throws Exception {
        for (int k : namespaces) {
            run("ip", "netns", "exec", ns(k), "iptables", "-w", "-F");
        }
    }

    @Override
    public void close() throws Exception {
        destroy();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // the JVM is already shutting down and runs the hook itself
        }
    }

    /** Kills every node, then removes the namespaces (their veths go with them), the bridge and the host link. */
    private synchronized void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        for (Process p : nodes.values()) {
            p.destroyForcibly();
        }
        for (Process p : nodes.values()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        nodes.clear();
        frozen.clear();
        for (int k : namespaces) {
            quietly("ip", "netns", "exec", ns(k), "iptables", "-w", "-F");
            quietly("ip", "netns", "del", ns(k));
        }
        namespaces.clear();
        if (hubCreated) {
            quietly("ip", "netns", "del", hub());
        }
        // normally gone with its peer in the hub; removed here in case the hub was never fully made
        quietly("ip", "link", "del", hostLink);
    }

    private static void quietly(String... cmd) {
        try {
            exec(cmd);
        } catch (IOException | InterruptedException ignored) {
            // best effort: cleanup carries on with the next item
        }
    }

    record Result(int exit, String output) {
    }

    static Result exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out: " + String.join(" ", cmd));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static void run(String... cmd) throws Exception {
        Result r = exec(cmd);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.output().trim());
        }
    }
}
