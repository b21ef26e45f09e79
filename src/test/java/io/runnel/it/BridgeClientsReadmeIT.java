package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.vertx.core.json.JsonObject;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The README's TCP and SockJS bridge examples, run as written: the broker gets the README's
 * {@code --override} settings (ports 0 instead of 7000 and 7001, so runs never collide), the Python program
 * runs under /usr/bin/python3 with only the standard library, and the browser page is served by
 * {@code python3 -m http.server} and opened in headless Chromium (skipped without Debian's chromium and
 * chromium-driver, see scripts/install-test-deps.sh). Only the environment variables and query parameters
 * the examples document point them at this broker.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BridgeClientsReadmeIT {

    private static final Path README = Path.of("README.md");
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Map<String, String> README_SETTINGS = brokerSettings();

    @RegisterExtension
    static final RunnelNode node = withSettings(RunnelNode.create());

    @BeforeAll
    static void inProcess() {
        assumeFalse(node.isExternal(), "the bridges need the in-process node");
    }

    private static RunnelNode withSettings(RunnelNode n) {
        README_SETTINGS.forEach(n::withProperty);
        return n;
    }

    /** The README's broker command, its listeners on port 0. */
    static Map<String, String> brokerSettings() {
        String command = block("bridge-broker");
        Map<String, String> settings = new LinkedHashMap<>();
        Matcher m = Pattern.compile("--override\\s+([\\w.]+)=(\\S+)").matcher(command);
        while (m.find()) {
            String value = m.group(1).endsWith(".listener") ? m.group(2).replaceAll(":\\d+$", ":0") : m.group(2);
            settings.put(m.group(1), value);
        }
        assertThat(settings).containsKeys("bridge.tcp.listener", "bridge.sockjs.listener", "bridge.auth.token");
        return settings;
    }

    /** The fenced block after {@code <!-- name -->} in the README. */
    static String block(String name) {
        try {
            String readme = Files.readString(README);
            int marker = readme.indexOf("<!-- " + name + " -->");
            assertThat(marker).as("README marker " + name).isGreaterThanOrEqualTo(0);
            int open = readme.indexOf("```", marker);
            int start = readme.indexOf('\n', open) + 1;
            int end = readme.indexOf("\n```", start);
            return readme.substring(start, end + 1);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    record Run(int exit, String output, long millis) {
    }

    private static Run python(Path dir, Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString()));
        command.addAll(List.of(args));
        // to a file: a pipe nobody reads while the program runs would stall it once full
        Path log = Files.createTempFile(dir, "python", ".log");
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        long start = System.nanoTime();
        Process p = pb.start();
        boolean finished = p.waitFor(120, TimeUnit.SECONDS);
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (!finished) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("python did not finish in 120 s:\n" + tail(Files.readString(log)));
        }
        return new Run(p.exitValue(), Files.readString(log), millis);
    }

    @Test
    void thePythonClientProducesAndConsumesWithAcknowledgements() throws Exception {
        assumeTrue(Files.isExecutable(PYTHON), "no /usr/bin/python3");
        String topic = RunnelNode.uniqueName("py-orders");
        node.createTopic(topic, 3);
        Path dir = Files.createTempDirectory("runnel-py");
        Files.writeString(dir.resolve("runnel_bridge.py"), block("bridge-python"));
        Map<String, String> env = new HashMap<>(Map.of("RUNNEL_TCP_PORT",
                Integer.toString(node.broker().tcpBridgePort()), "RUNNEL_TOPIC", topic));
        Run run = python(dir, env, "runnel_bridge.py");
        assertThat(run.exit()).as(tail(run.output())).isZero();
        assertThat(run.output()).contains("produced and consumed 10 records");

        // what Kafka clients see: ten records whose key and value are the JSON the program sent
        List<ConsumerRecord<String, String>> records = new ArrayList<>();
        try (KafkaConsumer<String, String> c = node.consumer(Map.of("group.id", "check-" + topic,
                "auto.offset.reset", "earliest"))) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            while (records.size() < 10 && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        assertThat(records).hasSize(10);
        for (ConsumerRecord<String, String> r : records) {
            int i = Integer.parseInt(r.key().substring("order-".length()));
            assertThat(new JsonObject(r.value())).isEqualTo(new JsonObject().put("order", i).put("amount", 10 * i));
        }
        // every acknowledged record committed for the program's group
        Map<TopicPartition, OffsetAndMetadata> committed = node.admin().listConsumerGroupOffsets("python-billing")
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        long sum = 0;
        for (int p = 0; p < 3; p++) {
            TopicPartition tp = new TopicPartition(topic, p);
            long end = node.admin().listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp)
                    .get(30, TimeUnit.SECONDS).offset();
            OffsetAndMetadata o = committed.get(tp);
            assertThat(o == null ? 0 : o.offset()).as("committed " + tp).isEqualTo(end);
            sum += end;
        }
        assertThat(sum).isEqualTo(10);

        // throughput of the same program, one request at a time (reported, never asserted)
        String bigTopic = RunnelNode.uniqueName("py-rate");
        node.createTopic(bigTopic, 3);
        env.put("RUNNEL_TOPIC", bigTopic);
        env.put("RUNNEL_COUNT", "2000");
        Run big = python(dir, env, "runnel_bridge.py");
        assertThat(big.exit()).as(tail(big.output())).isZero();
        assertThat(big.output()).contains("produced and consumed 2000 records");
        System.out.printf("BRIDGE-PYTHON: 2000 records produced and consumed with acks in %d ms (%.0f records/s)%n",
                big.millis(), 2000 * 1000.0 / big.millis());
    }

    @Test
    void theBrowserPageReceivesRecordsOverSockJs() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER) && Files.isExecutable(PYTHON),
                "browser test skipped: install Debian chromium and chromium-driver (scripts/install-test-deps.sh)");
        String topic = RunnelNode.uniqueName("browser-orders");
        node.createTopic(topic, 2);
        Path dir = Files.createTempDirectory("runnel-page");
        Files.writeString(dir.resolve("orders.html"), block("bridge-browser"));
        int httpPort = freePort();
        Process http = new ProcessBuilder(PYTHON.toString(), "-m", "http.server", Integer.toString(httpPort),
                "--bind", "127.0.0.1").directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("http.log").toFile()).start();
        Path profile = Files.createTempDirectory("runnel-chromium");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toString()).addArguments("--headless",
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1000,800",
                "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        WebDriver driver = null;
        try {
            waitForPort(httpPort);
            driver = new ChromeDriver(service, options);
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
            String bridge = "http://127.0.0.1:" + node.broker().sockJsBridgePort() + "/eventbus";
            driver.get("http://127.0.0.1:" + httpPort + "/orders.html?bridge=" + URLEncoder.encode(bridge,
                    StandardCharsets.UTF_8) + "&topic=" + topic + "&token="
                    + URLEncoder.encode(README_SETTINGS.get("bridge.auth.token"), StandardCharsets.UTF_8));
            wait.until(d -> d.findElement(By.id("status")).getText().equals("subscribed to " + topic));
            List<String> expected = new ArrayList<>();
            try (KafkaProducer<String, String> p = node.producer()) {
                for (int i = 0; i < 5; i++) {
                    String value = new JsonObject().put("order", i).put("item", "book-" + i).encode();
                    expected.add(value);
                    p.send(new ProducerRecord<>(topic, i % 2, "k" + i, value)).get(30, TimeUnit.SECONDS);
                }
            }
            wait.until(d -> d.findElements(By.cssSelector("#records li.record")).size() >= 5);
            List<String> shown = driver.findElements(By.cssSelector("#records li.record")).stream()
                    .map(e -> e.getText()).toList();
            assertThat(shown.stream().map(JsonObject::new).toList())
                    .containsExactlyInAnyOrderElementsOf(expected.stream().map(JsonObject::new).toList());
            screenshot(driver, "bridge-browser.png");
        } finally {
            if (driver != null) {
                driver.quit();
            }
            http.destroy();
            http.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String tail(String s) {
        return s.length() <= 4000 ? s : s.substring(s.length() - 4000);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void waitForPort(int port) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        while (true) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private static void screenshot(WebDriver driver, String name) throws Exception {
        Path out = Path.of("target", name);
        Files.createDirectories(out.getParent());
        Files.write(out, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
    }
}
