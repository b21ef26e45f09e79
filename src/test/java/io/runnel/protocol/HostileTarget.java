package io.runnel.protocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.runnel.testutil.Ports;

/**
 * The node under hostile load, as a separate process with a fixed heap: Runnel from {@code target/runnel.jar}
 * (as users run it: {@code java -Xmx512m -jar}, direct memory left at its default), or Apache Kafka 4.4.0 from
 * {@code scripts/kafka-ref.sh start} for comparison. Both get a raised open-file limit ({@code ulimit -n} in the
 * launching shell) for the thousands of connections. A sampler thread records the high-water marks of the
 * node's memory between {@link #resetHighWater} calls: for Runnel its heap and direct buffer pool as its
 * {@code /metrics} endpoint reports them (the admin listener), and the bytes held by request frames; for both
 * the process's resident set (VmRSS), and for Kafka its heap from {@code jcmd GC.heap_info} every few seconds.
 */
abstract class HostileTarget implements AutoCloseable {

    static final int HEAP_MB = 512;
    static final int OPEN_FILES = 65_536;
    static final double MiB = 1024.0 * 1024.0;

    /** High-water marks in bytes; -1 where not measured. */
    record Memory(long heap, long direct, long requestMemory, long rss) {
        String line() {
            return String.format("heap-hw=%s direct-hw=%s request-memory-hw=%s rss-hw=%s", mb(heap), mb(direct),
                    mb(requestMemory), mb(rss));
        }

        private static String mb(long bytes) {
            return bytes < 0 ? "n/a" : String.format("%.0fMB", bytes / MiB);
        }
    }

    protected final Path dir;
    protected Process process;
    protected long pid;
    private final AtomicLong heapHw = new AtomicLong(-1);
    private final AtomicLong directHw = new AtomicLong(-1);
    private final AtomicLong requestHw = new AtomicLong(-1);
    private final AtomicLong rssHw = new AtomicLong(-1);
    private volatile boolean sampling;
    private Thread sampler;

    HostileTarget(Path dir) {
        this.dir = dir;
    }

    abstract String name();

    abstract InetSocketAddress bootstrap();

    abstract Path logFile();

    /** Starts the node and waits until it serves. */
    abstract void start() throws Exception;

    /** Takes one sample of what {@link #rss} does not cover into the high-water marks. */
    protected abstract void sample(long tick);

    String bootstrapServers() {
        return bootstrap().getHostString() + ":" + bootstrap().getPort();
    }

    boolean alive() {
        return process != null ? process.isAlive() : pid > 0 && Files.exists(Path.of("/proc", Long.toString(pid)));
    }

    /** A test JVM stopped by its timeout leaves no node behind. */
    protected void killOnExit() {
        long p = pid;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly)));
    }

    void startSampling() {
        sampling = true;
        sampler = new Thread(() -> {
            long tick = 0;
            while (sampling) {
                try {
                    rssHw.accumulateAndGet(rss(), Math::max);
                    sample(tick++);
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    // a sample that failed (the node busy or gone) is skipped; the checks say whether it serves
                }
            }
        }, "memory-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    void resetHighWater() {
        heapHw.set(-1);
        directHw.set(-1);
        requestHw.set(-1);
        rssHw.set(-1);
    }

    Memory highWater() {
        return new Memory(heapHw.get(), directHw.get(), requestHw.get(), rssHw.get());
    }

    protected void recordHeap(long bytes) {
        heapHw.accumulateAndGet(bytes, Math::max);
    }

    protected void recordDirect(long bytes) {
        directHw.accumulateAndGet(bytes, Math::max);
    }

    protected void recordRequestMemory(long bytes) {
        requestHw.accumulateAndGet(bytes, Math::max);
    }

    /** The node's open-file limit (soft), or -1. */
    long openFileLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone
        }
        return -1;
    }

    /** The process's resident set in bytes, or -1. */
    long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone
        }
        return -1;
    }

    /** The node's log lines that say it ran out of memory or let an exception escape. */
    List<String> fatalLogLines() throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.exists(logFile())) {
            return out;
        }
        for (String line : Files.readAllLines(logFile(), StandardCharsets.UTF_8)) {
            if (line.contains("OutOfMemoryError") || line.contains("Exception in thread")
                    || line.toLowerCase(java.util.Locale.ROOT).contains("uncaught")) {
                out.add(line);
            }
        }
        return out;
    }

    /** Log lines at ERROR level (the first {@code limit}) and their count. */
    List<String> errorLogLines() throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.exists(logFile())) {
            return out;
        }
        for (String line : Files.readAllLines(logFile(), StandardCharsets.UTF_8)) {
            if (line.contains(" ERROR ")) {
                out.add(line);
            }
        }
        return out;
    }

    /**
     * Launches {@code command} under a shell that first raises the open-file limit to {@link #OPEN_FILES}, or where
     * that is not permitted (a container without CAP_SYS_RESOURCE) to the hard limit; the shell execs it.
     */
    protected static ProcessBuilder withOpenFiles(List<String> command) {
        StringBuilder sh = new StringBuilder("{ ulimit -n " + OPEN_FILES + " 2>/dev/null || ulimit -n $(ulimit -Hn); } && exec");
        for (String arg : command) {
            sh.append(" '").append(arg.replace("'", "'\\''")).append('\'');
        }
        return new ProcessBuilder("bash", "-c", sh.toString());
    }

    @Override
    public void close() throws Exception {
        sampling = false;
        if (sampler != null) {
            sampler.interrupt();
            sampler.join(5000);
        }
    }

    /** Runnel from target/runnel.jar. */
    static final class Runnel extends HostileTarget {
        private static final Pattern METRIC = Pattern.compile("^(jvm_memory_used_bytes\\{area=\"heap\"[^}]*\\}"
                + "|jvm_buffer_memory_used_bytes\\{id=\"direct\"\\}|runnel_request_memory_used_bytes) (\\S+)$",
                Pattern.MULTILINE);
        private final int kafkaPort = Ports.free();
        private final int adminPort = Ports.free();
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

        Runnel(Path dir) {
            super(dir);
        }

        @Override
        String name() {
            return "runnel";
        }

        @Override
        InetSocketAddress bootstrap() {
            return new InetSocketAddress("127.0.0.1", kafkaPort);
        }

        @Override
        Path logFile() {
            return dir.resolve("node.log");
        }

        @Override
        void start() throws Exception {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + HEAP_MB + "m", "-jar",
                    Path.of("target", "runnel.jar").toAbsolutePath().toString(),
                    "--override", "listeners=PLAINTEXT://127.0.0.1:" + kafkaPort,
                    "--override", "admin.listener=127.0.0.1:" + adminPort,
                    "--override", "log.dirs=" + dir.resolve("data").toAbsolutePath(),
                    "--override", "bridge.enabled=false",
                    // mutated Metadata requests would otherwise create topics of random names
                    "--override", "auto.create.topics.enable=false"));
            Files.createDirectories(dir);
            process = withOpenFiles(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile())).start();
            pid = process.pid();
            killOnExit();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                if (!process.isAlive()) {
                    throw new AssertionError("runnel exited at start-up; log: " + logFile());
                }
                try {
                    if (scrape().contains("runnel_request_memory_limit_bytes")) {
                        return;
                    }
                } catch (IOException e) {
                    // not up yet
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("runnel did not start; log: " + logFile());
                }
                Thread.sleep(200);
            }
        }

        String scrape() throws IOException, InterruptedException {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                    + "/metrics")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.body();
        }

        /** The value of the gauge {@code name} (exact, labels included) on the node's /metrics, or -1. */
        double gauge(String name) throws IOException, InterruptedException {
            for (String line : scrape().split("\n")) {
                if (line.startsWith(name + " ")) {
                    return Double.parseDouble(line.substring(name.length() + 1).trim());
                }
            }
            return -1;
        }

        @Override
        protected void sample(long tick) {
            String text;
            try {
                text = scrape();
            } catch (IOException e) {
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long heap = 0;
            Matcher m = METRIC.matcher(text);
            while (m.find()) {
                long v = (long) Double.parseDouble(m.group(2));
                if (m.group(1).startsWith("jvm_memory_used_bytes")) {
                    heap += v;
                } else if (m.group(1).startsWith("jvm_buffer")) {
                    recordDirect(v);
                } else {
                    recordRequestMemory(v);
                }
            }
            recordHeap(heap);
        }

        @Override
        public void close() throws Exception {
            super.close();
            if (process != null) {
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** Apache Kafka 4.4.0 from scripts/kafka-ref.sh, single-node KRaft. */
    static final class Kafka extends HostileTarget {
        private static final Pattern HEAP_USED = Pattern.compile("garbage-first heap\\s+total \\d+K, used (\\d+)K");
        private final int port = Ports.free();
        private final int controllerPort = Ports.free();

        Kafka(Path dir) {
            super(dir);
        }

        @Override
        String name() {
            return "kafka";
        }

        @Override
        InetSocketAddress bootstrap() {
            return new InetSocketAddress("127.0.0.1", port);
        }

        @Override
        Path logFile() {
            return dir.resolve("kafka.log");
        }

        @Override
        void start() throws Exception {
            Process p = withOpenFiles(List.of("scripts/kafka-ref.sh", "start", "--port", Integer.toString(port),
                    "--controller-port", Integer.toString(controllerPort), "--dir", dir.toString(),
                    "--heap", HEAP_MB + "m", "--timeout", "120",
                    "--override", "auto.create.topics.enable=false"))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError("scripts/kafka-ref.sh start failed: " + out);
            }
            String[] lines = out.split("\n");
            pid = Long.parseLong(lines[lines.length - 1].trim());
            killOnExit();
        }

        @Override
        protected void sample(long tick) {
            if (tick % 10 != 0) {
                return; // jcmd attaches to the JVM: every two seconds is enough
            }
            try {
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        Long.toString(pid), "GC.heap_info").redirectErrorStream(true)
                        .start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(10, TimeUnit.SECONDS);
                Matcher m = HEAP_USED.matcher(out);
                if (m.find()) {
                    recordHeap(Long.parseLong(m.group(1)) * 1024);
                }
            } catch (IOException e) {
                // jcmd missing or the JVM not answering: no heap sample
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() throws Exception {
            super.close();
            Process p = new ProcessBuilder("scripts/kafka-ref.sh", "stop", dir.toString()).inheritIO().start();
            p.waitFor(60, TimeUnit.SECONDS);
        }
    }
}
