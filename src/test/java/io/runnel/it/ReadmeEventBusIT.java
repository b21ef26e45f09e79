package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.runnel.bridge.BridgeRecord;
import io.runnel.bridge.RunnelEventBusClient;
import io.runnel.bridge.RunnelEventBusClient.Produced;
import io.runnel.bridge.RunnelEventBusClient.SubscribeOptions;
import io.runnel.bridge.RunnelEventBusClient.Subscription;
import io.runnel.cluster.ClusterManagerFactory;
import io.runnel.testutil.Ports;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's event-bus example as a new user runs it: the node started with the command from README.md
 * (read from the file, so the two cannot drift), in a fresh directory where {@code target/runnel.jar} is the
 * built JAR; the application joins with the README's settings and produces and subscribes in the README's
 * code shape. Only the Kafka and admin listeners are moved to free ports (other tests may hold 9092 and
 * 8080); the cluster settings (5701 and 5702) are the README's, so the test is skipped when those ports are
 * taken.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReadmeEventBusIT {

    @TempDir
    Path dir;

    @Test
    void theReadmeEventBusExampleProducesAndConsumesAsWritten() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String section = readme.substring(readme.indexOf("## The event bus"));
        section = section.substring(0, section.indexOf("\n## ", 5));
        List<String> command = startCommand(section);
        assertThat(command).startsWith("java", "-jar", "target/runnel.jar");
        // the application's settings, exactly as the README's code has them
        assertThat(section).contains("new ClusterManagerFactory.Settings(\n"
                + "        \"orders\", \"127.0.0.1\", 5702, 1, List.of(\"127.0.0.1:5701\", \"127.0.0.1:5702\"))");
        assertThat(section).contains("new SubscribeOptions(\"billing\", List.of(\"orders\")).withCredits(100)");
        assumeTrue(free(5701) && free(5702), "the README's Hazelcast ports 5701 and 5702 are in use");

        Files.createDirectories(dir.resolve("target"));
        Files.createSymbolicLink(dir.resolve("target/runnel.jar"), Path.of("target", "runnel.jar").toAbsolutePath());
        List<String> cmd = new ArrayList<>(command);
        cmd.set(0, Path.of(System.getProperty("java.home"), "bin", "java").toString());
        int kafkaPort = Ports.free();
        cmd.addAll(List.of("--override", "listeners=PLAINTEXT://127.0.0.1:" + kafkaPort,
                "--override", "admin.listener=127.0.0.1:0"));
        Path log = dir.resolve("node.log");
        Process node = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        Vertx vertx = null;
        try {
            awaitPort(node, kafkaPort, log);
            vertx = ClusterManagerFactory.startClustered(new VertxOptions(), new ClusterManagerFactory.Settings(
                    "orders", "127.0.0.1", 5702, 1, List.of("127.0.0.1:5701", "127.0.0.1:5702")))
                    .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
            RunnelEventBusClient runnel = new RunnelEventBusClient(vertx);
            // the application is the second member of the Hazelcast cluster, never a broker
            try (Admin admin = Admin.create(java.util.Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    "127.0.0.1:" + kafkaPort))) {
                assertThat(admin.describeCluster().nodes().get(30, TimeUnit.SECONDS)).hasSize(1);
                assertThat(admin.describeCluster().controller().get(30, TimeUnit.SECONDS).id()).isEqualTo(1);
            }
            byte[] key = "order-1".getBytes(StandardCharsets.UTF_8);
            byte[] value = "{\"amount\": 42}".getBytes(StandardCharsets.UTF_8);
            // the first record to a topic that does not exist yet: auto-created, retried until it has a leader
            Produced r = runnel.produce(BridgeRecord.of("orders", key, value,
                    List.of(new RecordHeader("trace", "t-1".getBytes(StandardCharsets.UTF_8)))))
                    .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertThat(r.topic()).isEqualTo("orders");
            assertThat(r.offset()).isZero();

            CompletableFuture<BridgeRecord> billed = new CompletableFuture<>();
            Subscription subscription = runnel.subscribe(new SubscribeOptions("billing", List.of("orders"))
                            .withCredits(100).withAutoOffsetReset("earliest"),
                    record -> {
                        billed.complete(record);
                        return Future.succeededFuture();
                    }).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
            BridgeRecord got = billed.get(60, TimeUnit.SECONDS);
            assertThat(got.key()).isEqualTo(key);
            assertThat(got.value()).isEqualTo(value);
            assertThat(got.partition()).isEqualTo(r.partition());
            assertThat(got.offset()).isEqualTo(r.offset());
            assertThat(new String(got.headers().get(0).value(), StandardCharsets.UTF_8)).isEqualTo("t-1");
            subscription.commit().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            subscription.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } finally {
            if (vertx != null) {
                vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
            node.destroy();
            if (!node.waitFor(30, TimeUnit.SECONDS)) {
                node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The first fenced block of the section that starts with {@code java -jar}, continuation lines joined. */
    static List<String> startCommand(String section) {
        Matcher m = Pattern.compile("```\\n(java -jar [^`]*?)```", Pattern.DOTALL).matcher(section);
        assertThat(m.find()).as("the event-bus section has a java -jar command").isTrue();
        String joined = m.group(1).replace("\\\n", " ").trim();
        return List.of(joined.split("\\s+"));
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void awaitPort(Process node, int port, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            assertThat(node.isAlive()).as("the node died at start-up: %s", readLog(log)).isTrue();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("the node did not open its Kafka port: " + readLog(log));
    }

    private static String readLog(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
