package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import io.runnel.Broker;
import io.runnel.metrics.MeterNames;
import io.runnel.testutil.Ports;
import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that try to exhaust a node: frames declared large and trickled hold only the bytes sent, all frames
 * together stay within queued.max.request.bytes while a normal client keeps producing and consuming, and
 * max.connections, max.connections.per.ip and connections.max.idle.ms close what they should.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HostileClientsIT {

    private static final int MiB = 1024 * 1024;
    /** One socket read at most (Vert.x reads into buffers of socket.receive.buffer.bytes, 256 KiB by default). */
    private static final int READ = 256 * 1024;

    @TempDir
    Path dir;

    private Broker start(Map<String, String> props) throws Exception {
        Map<String, String> all = new HashMap<>(props);
        all.put("log.dirs", dir.resolve("data-" + System.nanoTime()).toString());
        all.put("listeners", "PLAINTEXT://127.0.0.1:" + Ports.free());
        all.put("admin.listener", "127.0.0.1:0");
        return Broker.start(all).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    private static long memoryUsed(Broker b) {
        return (long) b.metrics().registry().get(MeterNames.REQUEST_MEMORY_USED).gauge().value();
    }

    private static double evictions(Broker b) {
        return b.metrics().registry().get(MeterNames.CONNECTIONS_EVICTED).functionCounter().count();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    private static Socket connect(Broker b) throws IOException {
        String hp = b.bootstrapServers();
        int colon = hp.lastIndexOf(':');
        Socket s = new Socket();
        s.connect(new InetSocketAddress(hp.substring(0, colon), Integer.parseInt(hp.substring(colon + 1))), 5000);
        return s;
    }

    /** The size prefix of a frame and the first bytes of its header: a Produce v9 request, never completed. */
    private static byte[] prefix(int declaredSize) {
        return ByteBuffer.allocate(12).putInt(declaredSize).putShort((short) 0).putShort((short) 9).putInt(1).array();
    }

    private static void assertServes(RawKafkaClient c) throws IOException {
        c.send(ApiKeys.API_VERSIONS, (short) 3, new ApiVersionsRequestData());
        ApiVersionsResponseData r = new ApiVersionsResponseData(
                new ByteBufferAccessor(c.receive(ApiKeys.API_VERSIONS, (short) 3)), (short) 3);
        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
    }

    @Test
    void aFrameDeclaredLargeAndTrickledHoldsOnlyWhatWasSent() throws Exception {
        Broker broker = start(Map.of("socket.request.max.bytes", Integer.toString(64 * MiB)));
        try (Socket s = connect(broker)) {
            OutputStream out = s.getOutputStream();
            out.write(prefix(60 * MiB));
            out.write(new byte[100 * 1024]);
            out.flush();
            await("the first bytes are held", () -> memoryUsed(broker) >= 100 * 1024);
            Thread.sleep(200);
            // the frame grows by doubling from 64 KiB or the read: never more than twice what arrived
            assertThat(memoryUsed(broker)).isBetween(100 * 1024L, 2 * 100 * 1024L + 64 * 1024);
            for (int i = 0; i < 16; i++) {
                out.write(new byte[64 * 1024]);
            }
            out.flush();
            long sent = 100 * 1024 + 8 + MiB;
            await("a further MiB is held", () -> memoryUsed(broker) >= sent);
            Thread.sleep(200);
            assertThat(memoryUsed(broker)).isBetween(sent, 2 * sent);
        } finally {
            try {
                // a closed connection gives back everything its frame held
                await("the memory is released", () -> memoryUsed(broker) == 0);
            } finally {
                broker.closeAndWait(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void tricklersStayWithinTheBoundAndANormalClientStillProducesAndConsumes() throws Exception {
        long limit = 8 * MiB;
        Broker broker = start(Map.of("socket.request.max.bytes", Integer.toString(4 * MiB),
                "queued.max.request.bytes", Long.toString(limit)));
        int hostiles = 12;
        ExecutorService pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "hostile");
            t.setDaemon(true);
            return t;
        });
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger closedByBroker = new AtomicInteger();
        AtomicLong peak = new AtomicLong();
        List<Socket> sockets = new ArrayList<>();
        Thread sampler = new Thread(() -> {
            while (!stop.get()) {
                peak.accumulateAndGet(memoryUsed(broker), Math::max);
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-sampler");
        sampler.setDaemon(true);
        sampler.start();
        try {
            for (int i = 0; i < hostiles; i++) {
                Socket s = connect(broker);
                sockets.add(s);
                pool.submit(() -> {
                    try {
                        OutputStream out = s.getOutputStream();
                        // 1 MiB of a declared 4 MiB at once, then a byte every 50 ms: it never completes
                        out.write(prefix(4 * MiB));
                        out.write(new byte[MiB]);
                        out.flush();
                        while (!stop.get()) {
                            out.write(0);
                            out.flush();
                            Thread.sleep(50);
                        }
                    } catch (IOException e) {
                        closedByBroker.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                });
            }
            await("the hostile clients fill the budget", () -> peak.get() >= limit - 2 * MiB);

            String topic = "hostile-neighbours";
            int n = 1000;
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    acks.add(producer.send(new ProducerRecord<>(topic, 0, "k" + i, "v" + i)));
                }
                producer.flush();
                for (java.util.concurrent.Future<?> f : acks) {
                    f.get(60, TimeUnit.SECONDS);
                }
            }
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            Set<String> read = new HashSet<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.assign(List.of(new TopicPartition(topic, 0)));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (read.size() < n && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        read.add(r.value());
                    }
                }
            }
            assertThat(read).hasSize(n);
            // the explicit bound: the limit plus at most one socket read per connection that had to wait
            assertThat(peak.get()).isLessThanOrEqualTo(limit + (hostiles + 4L) * READ);
            // 12 MiB offered (and 24 MiB of doubled frames wanted) against 8 MiB: the slowest readers were evicted
            assertThat(evictions(broker)).isPositive();
            await("the evicted clients see their connections closed", () -> closedByBroker.get() > 0);
        } finally {
            stop.set(true);
            for (Socket s : sockets) {
                s.close();
            }
            pool.shutdownNow();
            try {
                // every frame's memory comes back: the accounting is exact
                await("the memory is released", () -> memoryUsed(broker) == 0);
            } finally {
                broker.closeAndWait(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aFetchLeftWaitingPastItsConnectionHoldsNoRequestMemory() throws Exception {
        Broker broker = start(Map.of());
        try {
            Properties ap = new Properties();
            ap.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(ap)) {
                admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("parked", 1, (short) 1)))
                        .all().get(30, TimeUnit.SECONDS);
            }
            // an empty partition and a max wait of 24 days: the fetch waits for records that never come
            FetchRequestData fetch = new FetchRequestData().setReplicaId(-1).setMaxWaitMs(Integer.MAX_VALUE)
                    .setMinBytes(1).setMaxBytes(1 << 20).setTopics(List.of(new FetchRequestData.FetchTopic()
                            .setTopic("parked").setPartitions(List.of(new FetchRequestData.FetchPartition()
                                    .setPartition(0).setFetchOffset(0).setPartitionMaxBytes(1 << 20)))));
            try (RawKafkaClient c = new RawKafkaClient(broker.bootstrapServers())) {
                for (int i = 0; i < 4; i++) {
                    c.send(ApiKeys.FETCH, (short) 12, fetch);
                }
                Thread.sleep(500);
                // parsed, the waiting fetches keep nothing of the budget, which is for frames being read or logged
                assertThat(memoryUsed(broker)).isZero();
            }
            Thread.sleep(200);
            assertThat(memoryUsed(broker)).as("after the connection closed").isZero();
        } finally {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void maxConnectionsAndMaxConnectionsPerIpRefuseTheExtraConnection() throws Exception {
        Broker broker = start(Map.of("max.connections", "3", "max.connections.per.ip", "2"));
        List<RawKafkaClient> open = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                RawKafkaClient c = new RawKafkaClient(broker.bootstrapServers());
                open.add(c);
                assertServes(c);
            }
            try (RawKafkaClient third = new RawKafkaClient(broker.bootstrapServers())) {
                assertThat(third.closedByPeer()).as("a third connection from 127.0.0.1").isTrue();
            }
            // another address still has its own allowance, up to max.connections
            RawKafkaClient other = new RawKafkaClient(broker.bootstrapServers(), InetAddress.getByName("127.0.0.2"));
            open.add(other);
            assertServes(other);
            try (RawKafkaClient fourth = new RawKafkaClient(broker.bootstrapServers(), InetAddress.getByName("127.0.0.3"))) {
                assertThat(fourth.closedByPeer()).as("a fourth connection to the node").isTrue();
            }
            assertThat(broker.metrics().registry().get(MeterNames.CONNECTIONS_REFUSED).counter().count()).isEqualTo(2);
            // a closed connection frees its place
            open.remove(0).close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                RawKafkaClient again = new RawKafkaClient(broker.bootstrapServers());
                try {
                    assertServes(again);
                    open.add(again);
                    break;
                } catch (IOException e) {
                    again.close();
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        } finally {
            for (RawKafkaClient c : open) {
                c.close();
            }
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void anIdleConnectionIsClosedAfterConnectionsMaxIdleMs() throws Exception {
        Broker broker = start(Map.of("connections.max.idle.ms", "500"));
        try (RawKafkaClient c = new RawKafkaClient(broker.bootstrapServers())) {
            assertServes(c);
            long idleFrom = System.nanoTime();
            assertThat(c.closedByPeer()).isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - idleFrom)).isBetween(300L, 9_000L);
        } finally {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }
}
