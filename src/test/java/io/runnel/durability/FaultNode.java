package io.runnel.durability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.testutil.Ports;

/**
 * One broker process that a fault test kills with kill -9 and starts again on the same data: Runnel from
 * {@code target/runnel.jar}, or Apache Kafka 4.4.0 through {@code scripts/kafka-ref.sh} for the comparison
 * ({@code -Dfaults.target=kafka}). Both keep their partitions in {@link #logDir()} in the same layout.
 */
interface FaultNode extends AutoCloseable {

    /** Which broker the fault tests run against: {@code runnel} (default) or {@code kafka}. */
    static String target() {
        return System.getProperty("faults.target", "runnel");
    }

    static FaultNode create(Path dir, Map<String, String> overrides) throws IOException {
        return target().equals("kafka") ? new Kafka(dir, overrides) : new Runnel(dir, overrides);
    }

    /** Starts the node (first time: fresh; then again on its data) and waits until its port accepts. */
    void start() throws Exception;

    /** SIGKILL: no shutdown of any kind. */
    void kill9() throws Exception;

    Path logDir();

    String bootstrap();

    /** The node's own log (stdout and stderr), for what recovery said. */
    Path output();

    String name();

    static void awaitPort(Process process, int port, Path output) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            if (process != null) {
                assertThat(process.isAlive()).as("node died at start-up; see %s", output).isTrue();
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("node did not open port " + port + "; see " + output);
    }

    /** Runnel from target/runnel.jar, one node, its data in {@code dir/data}. */
    final class Runnel implements FaultNode {
        private final Path dir;
        private final Map<String, String> overrides;
        private final int port = Ports.free();
        private final Path output;
        private Process process;

        Runnel(Path dir, Map<String, String> overrides) throws IOException {
            this.dir = dir;
            this.overrides = overrides;
            Path logs = Path.of("target", "it-logs");
            Files.createDirectories(logs);
            this.output = Files.createTempFile(logs, "corrupt-runnel", ".log");
        }

        @Override
        public void start() throws Exception {
            Path jar = Path.of("target", "runnel.jar");
            assertThat(jar).as("the fat JAR is built before integration tests").exists();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx384m", "-jar", jar.toString(),
                    "--override", "listeners=PLAINTEXT://127.0.0.1:" + port,
                    "--override", "admin.listener=127.0.0.1:0",
                    "--override", "bridge.enabled=false",
                    "--override", "log.dirs=" + logDir()));
            overrides.forEach((k, v) -> {
                cmd.add("--override");
                cmd.add(k + "=" + v);
            });
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).start();
            awaitPort(process, port, output);
        }

        @Override
        public void kill9() throws Exception {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            process = null;
        }

        @Override
        public Path logDir() {
            return dir.resolve("data");
        }

        @Override
        public String bootstrap() {
            return "127.0.0.1:" + port;
        }

        @Override
        public Path output() {
            return output;
        }

        @Override
        public String name() {
            return "runnel";
        }

        @Override
        public void close() throws Exception {
            if (process != null) {
                kill9();
            }
        }
    }

    /** Apache Kafka 4.4.0, one KRaft broker+controller, through scripts/kafka-ref.sh (start, then restart). */
    final class Kafka implements FaultNode {
        private final Path dir;
        private final Map<String, String> overrides;
        private final int port = Ports.free();
        private final int controllerPort = Ports.free();
        private boolean started;
        private long pid = -1;

        Kafka(Path dir, Map<String, String> overrides) {
            this.dir = dir.resolve("kafka");
            this.overrides = overrides;
        }

        @Override
        public void start() throws Exception {
            List<String> cmd = new ArrayList<>();
            if (!started) {
                cmd.addAll(List.of("scripts/kafka-ref.sh", "start", "--dir", dir.toString(), "--port",
                        Integer.toString(port), "--controller-port", Integer.toString(controllerPort), "--heap", "512m"));
                overrides.forEach((k, v) -> cmd.addAll(List.of("--override", k + "=" + v)));
            } else {
                cmd.addAll(List.of("scripts/kafka-ref.sh", "restart", dir.toString(), "512m"));
            }
            Process script = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(script.getInputStream().readAllBytes()).trim();
            assertThat(script.waitFor(120, TimeUnit.SECONDS) && script.exitValue() == 0)
                    .as("%s: %s", cmd, out).isTrue();
            started = true;
            pid = Long.parseLong(Files.readString(dir.resolve("kafka.pid")).trim());
            ProcessHandle handle = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("kafka died: " + output()));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                assertThat(handle.isAlive()).as("kafka died at start-up; see %s", output()).isTrue();
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return;
                } catch (IOException e) {
                    Thread.sleep(200);
                }
            }
            throw new AssertionError("kafka did not open its port; see " + output());
        }

        @Override
        public void kill9() throws Exception {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroyForcibly();
                p.onExit().join();
            });
            pid = -1;
        }

        @Override
        public Path logDir() {
            return dir.resolve("data");
        }

        @Override
        public String bootstrap() {
            return "127.0.0.1:" + port;
        }

        @Override
        public Path output() {
            return dir.resolve("kafka.log");
        }

        @Override
        public String name() {
            return "kafka-4.4.0";
        }

        @Override
        public void close() throws Exception {
            if (pid > 0) {
                kill9();
            }
        }
    }
}
