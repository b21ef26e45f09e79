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
 * ways, while every process keeps running.
 *
 * <p>Layout, all of it created here and removed by {@link #close} (and by a shutdown hook if the JVM
 * dies first): a hub namespace {@code rn-<id>-hub} holding a bridge; node k in namespace
 * {@code rn-<id>-k} with one veth into that bridge and the address {@code 10.X.Y.k/24}, X.Y picked at random
 * from a range no route of the host uses; and one veth {@code rn<id>h} from the test's own namespace into the
 * bridge with {@code 10.X.Y.254}, through which the test's clients reach every node (clients see both sides
 * of a partition, as Jepsen's do). No traffic leaves those namespaces and that one link.
 *
 * <p>Each namespace being a host of its own, every node takes the same fixed ports there: Kafka
 * {@value #KAFKA_PORT}, Hazelcast {@value #HAZELCAST_PORT}, Raft {@value #RAFT_PORT}. Cutting the link
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

    private final Path dir;
    private final int size;
    private final int voters;
    private final Map<String, String> overrides;
    private final String id = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    private final String subnet;
    private final String hostLink = "rn" + id + "h";
    private final Map<Integer, Process> nodes = new HashMap<>();
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
        this.dir = dir;
        this.size = size;
        this.voters = voters;
        this.overrides = overrides;
        this.logDir = Path.of("target", "it-logs", clusterName);
        Files.createDirectories(logDir);
        this.subnet = pickSubnet();
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            createNetwork();
        } catch (Exception | AssertionError e) {
            close();
            throw e;
        }
    }

    /** A cluster of the broker {@code faults.target} names (only {@code runnel} here). */
    static NetnsCluster create(Path dir, int size, int voters, Map<String, String> overrides) throws Exception {
        String target = System.getProperty("faults.target", "runnel");
        if (!target.equals("runnel")) {
            throw new IllegalArgumentException("faults.target=" + target + " is not a broker this cluster can run");
        }
        return new NetnsCluster(dir, size, voters, overrides);
    }

    /** The node id of the active controller as a running node reports it; -1 if none answers with one. */
    int activeController() {
        for (int k = 1; k <= size; k++) {
            if (running(k)) {
                try {
                    int c = new NodeProbe(address(k)).controller();
                    if (c > 0) {
                        return c;
                    }
                } catch (IOException e) {
                    // no answer from this one: ask the next
                }
            }
        }
        return -1;
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

    /** Starts node {@code k} inside its namespace and waits until its Kafka port accepts connections. */
    void start(int k) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> members = new ArrayList<>();
        List<String> quorum = new ArrayList<>();
        for (int n = 1; n <= size; n++) {
            members.add(ip(n) + ":" + HAZELCAST_PORT);
            if (n <= voters) {
                quorum.add(n + "@" + ip(n) + ":" + RAFT_PORT);
            }
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns(k), java, "-Xmx384m",
                "--add-modules", "java.se", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                "--add-opens", "java.base/java.nio=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                "-jar", Path.of("target", "runnel.jar").toAbsolutePath().toString()));
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
        // `ip netns exec` execs the command in place: the process is the JVM itself, so kill -9 reaches it
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve("node" + k + ".log").toFile())).start();
        nodes.put(k, p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            assertThat(p.isAlive()).as("node %d died at start-up (log in %s)", k, logDir).isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ip(k), KAFKA_PORT), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("node " + k + " did not open its port");
    }

    void startAll() throws Exception {
        for (int k = 1; k <= size; k++) {
            start(k);
        }
    }

    /** kill -9 of node {@code k}. */
    void kill(int k) throws InterruptedException {
        Process p = nodes.remove(k);
        if (p != null) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** SIGSTOP of node {@code k}: the process stays, answering nothing, until {@link #thaw}. */
    void freeze(int k) throws Exception {
        signal(k, "STOP");
    }

    /** SIGCONT of node {@code k}. */
    void thaw(int k) throws Exception {
        signal(k, "CONT");
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
