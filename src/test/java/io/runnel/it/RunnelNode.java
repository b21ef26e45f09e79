package io.runnel.it;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.runnel.Broker;
import io.vertx.core.Future;

/**
 * The node an integration-test class talks to. Register it once per class:
 * <pre>{@code @RegisterExtension static final RunnelNode node = RunnelNode.create();}</pre>
 *
 * <p>By default it starts a Runnel {@link Broker} in this JVM on a free loopback port, with a data
 * directory of its own (deleted after the class), {@code group.initial.rebalance.delay.ms=0} and four
 * offsets-topic partitions so groups form fast. {@link #restart()} stops the broker and starts it again
 * on the same directory and the same port, so clients created before the restart reconnect to it.
 *
 * <p>With {@code -Dit.bootstrap=host:port} nothing is started: every test runs against that external
 * broker (this is how the suite is checked against Apache Kafka), and tests that need a restart are
 * skipped through an assumption, unless {@code -Dit.restartCommand=...} says how to restart that
 * broker (used to check RestartIT against Apache Kafka). In that mode the broker must run with the same group settings and
 * {@code num.partitions}; {@link #defaultPartitions()} reads the value it really has.
 *
 * <p>Extra broker properties for the in-process node come from {@link #withProperty} and from system
 * properties named {@code it.broker.<kafka property>}, so a run can be tuned without editing tests.
 *
 * <p>Threading: the fixture itself is driven from the JUnit thread only. Clients it hands out are
 * closed after each test (producers, consumers) or after the class (the shared admin client); a test
 * that polls a consumer on another thread must close it on that thread itself.
 */
public final class RunnelNode implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {

    /** System property naming an external broker to test instead of an in-process one. */
    public static final String EXTERNAL_PROPERTY = "it.bootstrap";
    private static final String BROKER_PROPERTY_PREFIX = "it.broker.";
    private static final long START_TIMEOUT_SECONDS = 60;

    static {
        // Kafka's clients log every request at DEBUG when no logback config is present; that output drowns
        // the broker's own and costs time. -Dit.clientLogLevel=DEBUG brings it back when a test needs it.
        Logger kafkaClients = (Logger) LoggerFactory.getLogger("org.apache.kafka");
        kafkaClients.setLevel(Level.toLevel(System.getProperty("it.clientLogLevel"), Level.WARN));
    }

    private final Map<String, String> overrides = new LinkedHashMap<>();
    private final String external = emptyToNull(System.getProperty(EXTERNAL_PROPERTY));
    private final String restartCommand = emptyToNull(System.getProperty("it.restartCommand"));
    private final List<AutoCloseable> perTest = new ArrayList<>();

    private Path dataDir;
    private Broker broker;
    private String bootstrap;
    private Admin admin;

    private RunnelNode() {
    }

    public static RunnelNode create() {
        return new RunnelNode();
    }

    /** Adds a Kafka-style broker property for the in-process node; ignored against an external broker. */
    public RunnelNode withProperty(String key, String value) {
        overrides.put(key, value);
        return this;
    }

    public boolean isExternal() {
        return external != null;
    }

    public String bootstrapServers() {
        if (bootstrap == null) {
            throw new IllegalStateException("node is not running");
        }
        return bootstrap;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (isExternal()) {
            bootstrap = external;
            return;
        }
        dataDir = Files.createTempDirectory("runnel-it-");
        start();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        closeAll(perTest);
        perTest.clear();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        closeQuietly(admin);
        admin = null;
        if (!isExternal()) {
            try {
                stop();
            } finally {
                deleteRecursively(dataDir);
            }
        }
    }

    /** Starts the in-process broker on {@link #dataDir()}, on the port it had before if it ran already. */
    public void start() throws Exception {
        requireInProcess();
        if (broker != null) {
            throw new IllegalStateException("already running");
        }
        broker = await(Broker.start(brokerProperties()));
        bootstrap = broker.bootstrapServers();
    }

    /** The in-process broker (null while stopped). */
    public Broker broker() {
        return broker;
    }

    /** Closes the in-process broker cleanly; {@link #bootstrapServers()} stays valid for {@link #start()}. */
    public void stop() throws Exception {
        requireInProcess();
        if (broker != null) {
            Broker b = broker;
            broker = null;
            await(b.close());
        }
    }

    /**
     * Stops and starts the broker on the same data directory and port. Against an external broker this
     * runs the shell command given by {@code -Dit.restartCommand} (which must return once the broker
     * listens again), or skips the test when there is none.
     */
    public void restart() throws Exception {
        if (isExternal() && restartCommand != null) {
            restartExternal();
            return;
        }
        stop();
        start();
    }

    /** Whether {@link #restart()} can run here rather than skip the test. */
    public boolean canRestart() {
        return !isExternal() || restartCommand != null;
    }

    private void restartExternal() throws Exception {
        Process process = new ProcessBuilder("bash", "-c", restartCommand).inheritIO().start();
        if (!process.waitFor(START_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("restart command did not finish: " + restartCommand);
        }
        if (process.exitValue() != 0) {
            throw new IllegalStateException("restart command failed (" + process.exitValue() + "): " + restartCommand);
        }
    }

    /** The broker properties the in-process node starts with. */
    public Map<String, String> brokerProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        // Reuse the first port on restart: clients created earlier reconnect as they would to Kafka.
        p.put("listeners", "PLAINTEXT://" + (bootstrap == null ? "127.0.0.1:0" : bootstrap));
        p.put("log.dirs", dataDir.toString());
        // several nodes run in one JVM: never the fixed default port 8080
        p.put("admin.listener", "127.0.0.1:0");
        p.put("num.partitions", "3");
        p.put("auto.create.topics.enable", "true");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("offsets.topic.num.partitions", "4");
        p.put("offsets.topic.replication.factor", "1");
        p.put("default.replication.factor", "1");
        System.getProperties().stringPropertyNames().stream()
                .filter(k -> k.startsWith(BROKER_PROPERTY_PREFIX))
                .forEach(k -> p.put(k.substring(BROKER_PROPERTY_PREFIX.length()), System.getProperty(k)));
        p.putAll(overrides);
        return p;
    }

    /** The broker's {@code num.partitions} as the broker itself reports it (external) or as configured. */
    public int defaultPartitions() throws Exception {
        return Integer.parseInt(brokerConfig("num.partitions"));
    }

    /** A broker setting: as the external broker reports it through DescribeConfigs, or as configured here. */
    public String brokerConfig(String name) throws Exception {
        if (!isExternal()) {
            return brokerProperties().get(name);
        }
        String nodeId = String.valueOf(admin().describeCluster().nodes().get(30, TimeUnit.SECONDS)
                .iterator().next().id());
        ConfigResource res = new ConfigResource(ConfigResource.Type.BROKER, nodeId);
        Config config = admin().describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res);
        return config.get(name).value();
    }

    /** A shared admin client for the class (closed after it). */
    public Admin admin() {
        if (admin == null) {
            admin = Admin.create(Map.of(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000",
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000"));
        }
        return admin;
    }

    /** A String producer closed after the test; overrides win over the defaults (idempotent, acks=all). */
    public KafkaProducer<String, String> producer(Map<String, Object> overrides) {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
        p.putAll(overrides);
        return track(new KafkaProducer<>(p));
    }

    public KafkaProducer<String, String> producer() {
        return producer(Map.of());
    }

    /**
     * A String consumer; closed after the test unless {@code track} is false (then the caller closes it,
     * for example on the thread that polls it). Defaults: no auto commit, reset to earliest.
     */
    public KafkaConsumer<String, String> consumer(Map<String, Object> overrides, boolean track) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        p.putAll(overrides);
        KafkaConsumer<String, String> c = new KafkaConsumer<>(p);
        return track ? track(c) : c;
    }

    public KafkaConsumer<String, String> consumer(Map<String, Object> overrides) {
        return consumer(overrides, true);
    }

    public KafkaConsumer<String, String> consumer() {
        return consumer(Map.of(), true);
    }

    /**
     * Creates topics and waits until every partition's leader serves requests. Metadata can name a
     * leader before that leader acts as one (Kafka answers NOT_LEADER_OR_FOLLOWER for a moment), and
     * an idempotent producer whose first batch is refused while later in-flight batches land then
     * loops on OUT_OF_ORDER_SEQUENCE_NUMBER until its delivery timeout: a test must not start there.
     */
    public void createTopics(NewTopic... topics) throws Exception {
        admin().createTopics(List.of(topics)).all().get(30, TimeUnit.SECONDS);
        for (NewTopic t : topics) {
            Await.until("leaders of " + t.name(), () -> admin().describeTopics(Set.of(t.name()))
                    .allTopicNames().get(10, TimeUnit.SECONDS).get(t.name()).partitions().stream()
                    .allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
            int partitions = admin().describeTopics(Set.of(t.name())).allTopicNames().get(10, TimeUnit.SECONDS)
                    .get(t.name()).partitions().size();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(t.name(), p), OffsetSpec.latest());
            }
            // ListOffsets is answered by the leader itself, and the Admin client retries it while the
            // leader is not ready yet.
            admin().listOffsets(latest).all().get(30, TimeUnit.SECONDS);
        }
    }

    public void createTopic(String name, int partitions) throws Exception {
        createTopics(new NewTopic(name, partitions, (short) 1));
    }

    /** A topic or group name no other test uses, even across runs against one external broker. */
    public static String uniqueName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private <T extends AutoCloseable> T track(T closeable) {
        perTest.add(closeable);
        return closeable;
    }

    private void requireInProcess() {
        assumeFalse(isExternal(), "needs an in-process Runnel node, not the external broker " + external);
    }

    private static <T> T await(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static void closeAll(Collection<? extends AutoCloseable> closeables) {
        closeables.forEach(RunnelNode::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // A client that failed to close must not hide the test's own outcome.
        }
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String emptyToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
