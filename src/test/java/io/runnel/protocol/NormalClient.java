package io.runnel.protocol;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;

/**
 * The well-behaved neighbour of the hostile clients: an idempotent acks=all producer that sends one record every
 * {@code intervalMs} and a consumer that reads them back, both with the official Java clients, recording each
 * record's produce latency (send to acknowledgement) and end-to-end latency (send to the consumer's poll), which
 * covers the fetch path. Statistics are taken per phase ({@link #startPhase}, {@link #endPhase}).
 *
 * <p>Threading: one producer thread and one consumer thread of its own; the rest is thread-safe.
 */
final class NormalClient implements AutoCloseable {

    /** One phase's numbers: records sent, acknowledged and read back, failed sends, latencies in ms. */
    record Stats(long sent, long acked, long read, long failed, int missing, int stalled, double produceP50, double produceP99,
                 double e2eP50, double e2eP99, String firstError) {
        String line() {
            return String.format("normal sent=%d acked=%d read=%d failed=%d missing=%d stalled=%d"
                    + " produce p50/p99=%.1f/%.1f ms e2e p50/p99=%.1f/%.1f ms", sent, acked, read, failed, missing,
                    stalled, produceP50, produceP99, e2eP50, e2eP99);
        }
    }

    private static final long STALLED_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final String topic;
    private final long intervalMs;
    private final KafkaProducer<Long, Long> producer;
    private final KafkaConsumer<Long, Long> consumer;
    private final Thread producerThread;
    private final Thread consumerThread;
    private volatile boolean stop;
    /** Send time (nanoTime) of each record not yet read back, by sequence number (the record's key). */
    private final ConcurrentHashMap<Long, Long> unread = new ConcurrentHashMap<>();
    /** Send time (nanoTime) of each record whose send has not completed yet. */
    private final ConcurrentHashMap<Long, Long> unacked = new ConcurrentHashMap<>();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong read = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private final List<Double> produceMs = Collections.synchronizedList(new ArrayList<>());
    private final List<Double> e2eMs = Collections.synchronizedList(new ArrayList<>());
    /** Keys acknowledged and keys read back: every acknowledged one must be read (in either order). */
    private final java.util.Set<Long> ackedKeys = ConcurrentHashMap.newKeySet();
    private final java.util.Set<Long> readKeys = ConcurrentHashMap.newKeySet();

    NormalClient(String bootstrap, String topic, long intervalMs) {
        this.topic = topic;
        this.intervalMs = intervalMs;
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
        producer = new KafkaProducer<>(pp, new LongSerializer(), new LongSerializer());
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        consumer = new KafkaConsumer<>(cp, new LongDeserializer(), new LongDeserializer());
        consumer.assign(List.of(new TopicPartition(topic, 0)));
        producerThread = new Thread(this::produce, "normal-producer");
        consumerThread = new Thread(this::consume, "normal-consumer");
        producerThread.setDaemon(true);
        consumerThread.setDaemon(true);
        producerThread.start();
        consumerThread.start();
    }

    private void produce() {
        while (!stop) {
            long key = seq.incrementAndGet();
            long started = System.nanoTime();
            unread.put(key, started);
            unacked.put(key, started);
            sent.incrementAndGet();
            try {
                producer.send(new ProducerRecord<>(topic, 0, key, started), (md, e) -> {
                    unacked.remove(key);
                    if (e != null) {
                        failed.incrementAndGet();
                        firstError.compareAndSet(null, e.toString());
                        unread.remove(key);
                    } else {
                        acked.incrementAndGet();
                        ackedKeys.add(key);
                        produceMs.add((System.nanoTime() - started) / 1e6);
                    }
                });
            } catch (RuntimeException e) {
                failed.incrementAndGet();
                firstError.compareAndSet(null, e.toString());
                unread.remove(key);
                unacked.remove(key);
            }
            try {
                Thread.sleep(intervalMs);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void consume() {
        while (!stop) {
            try {
                for (ConsumerRecord<Long, Long> r : consumer.poll(Duration.ofMillis(100))) {
                    Long started = unread.remove(r.key());
                    if (started != null) {
                        read.incrementAndGet();
                        readKeys.add(r.key());
                        e2eMs.add((System.nanoTime() - started) / 1e6);
                    }
                }
            } catch (org.apache.kafka.common.errors.WakeupException e) {
                return;
            } catch (RuntimeException e) {
                firstError.compareAndSet(null, "consumer: " + e);
            }
        }
    }

    /** Forgets the latencies so far: the next {@link #endPhase} covers what follows. */
    void startPhase() {
        produceMs.clear();
        e2eMs.clear();
        sent.set(0);
        acked.set(0);
        read.set(0);
        failed.set(0);
        firstError.set(null);
    }

    /**
     * Waits up to {@code timeout} until every acknowledged record has been read back, then returns the phase's
     * numbers ({@code missing}: records acknowledged since the start and not read back in time; {@code stalled}:
     * records sent more than 10 s ago and neither acknowledged nor failed).
     */
    Stats endPhase(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        // counted once, where the wait ends: the producer goes on sending, so a count taken again below could
        // take in a record acknowledged after this check and not read yet (a race, not a lost record)
        int missing;
        while ((missing = unreadAcked()) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        double[] p;
        double[] e;
        synchronized (produceMs) {
            p = produceMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        }
        synchronized (e2eMs) {
            e = e2eMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        }
        long stalledBefore = System.nanoTime() - STALLED_NANOS;
        int stalled = (int) unacked.values().stream().filter(t -> t < stalledBefore).count();
        return new Stats(sent.get(), acked.get(), read.get(), failed.get(), missing, stalled, pct(p, 0.5), pct(p, 0.99), pct(e, 0.5),
                pct(e, 0.99), firstError.get());
    }

    /** Acknowledged records not read back yet. */
    int unreadAcked() {
        int n = 0;
        for (Long k : ackedKeys) {
            if (!readKeys.contains(k)) {
                n++;
            }
        }
        return n;
    }

    static double pct(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        producerThread.interrupt();
        producerThread.join(TimeUnit.SECONDS.toMillis(10));
        consumer.wakeup();
        consumerThread.join(TimeUnit.SECONDS.toMillis(10));
        producer.close(Duration.ofSeconds(10));
        consumer.close(Duration.ofSeconds(10));
    }
}
