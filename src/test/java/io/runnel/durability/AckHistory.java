package io.runnel.durability;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * An idempotent acks=all producer writing unique values round-robin over the partitions of one topic, and
 * the record of what it was told: every acknowledgement with its partition, offset, and when the record was
 * sent and acknowledged. A failed or unanswered send is indeterminate (the record may or may not have been
 * written), never a failure of the broker; an acknowledged one must be read back once, at its offset
 * ({@link #check}).
 *
 * <p>Threading: one writer thread; callbacks on the producer's I/O thread; the accessors from any thread.
 */
final class AckHistory implements AutoCloseable {

    /** What the producer was told about one value. Times are {@link System#nanoTime()}. */
    record Ack(int partition, long offset, long sentNanos, long ackedNanos) {
    }

    /** The read-back: counts for the closing note, and the acknowledged values that were not where acknowledged. */
    record Result(long sent, long acked, long failed, long read, long lost, long duplicated, List<String> examples) {
        @Override
        public String toString() {
            return "sent " + sent + ", acknowledged " + acked + ", failed (indeterminate) " + failed + ", read " + read
                    + ", lost " + lost + ", duplicated " + duplicated + (examples.isEmpty() ? "" : ", e.g. " + examples);
        }
    }

    private final String topic;
    private final int partitions;
    private final KafkaProducer<String, String> producer;
    private final Map<String, Ack> acked = new ConcurrentHashMap<>();
    private final Map<String, Integer> errors = new ConcurrentHashMap<>();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicBoolean stop = new AtomicBoolean();
    // bounds the records waiting in the producer while partitions cannot acknowledge
    private final Semaphore inFlight = new Semaphore(3000);
    private final Thread writer;
    /** How long the producer waits for an answer before it gives up on a connection. */
    static final int REQUEST_TIMEOUT_MS = 5000;

    AckHistory(String bootstrap, String topic, int partitions) {
        this.topic = topic;
        this.partitions = partitions;
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "150000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(REQUEST_TIMEOUT_MS));
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "60000");
        producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer());
        writer = new Thread(this::write, "ack-history-writer");
    }

    AckHistory start() {
        writer.start();
        return this;
    }

    private void write() {
        long i = 0;
        while (!stop.get()) {
            try {
                if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                String v = "v-" + i;
                int p = (int) (i % partitions);
                i++;
                long sentAt = System.nanoTime();
                sent.incrementAndGet();
                producer.send(new ProducerRecord<>(topic, p, "k" + p, v), (md, e) -> {
                    inFlight.release();
                    if (e == null) {
                        acked.put(v, new Ack(md.partition(), md.offset(), sentAt, System.nanoTime()));
                    } else {
                        failed.incrementAndGet();
                        errors.merge(e.getClass().getSimpleName(), 1, Integer::sum);
                    }
                });
                Thread.sleep(2);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                failed.incrementAndGet();
                errors.merge(e.getClass().getSimpleName(), 1, Integer::sum);
            }
        }
    }

    int ackedCount() {
        return acked.size();
    }

    /** Every acknowledgement so far, by value. */
    Map<String, Ack> acked() {
        return new HashMap<>(acked);
    }

    Map<String, Integer> errors() {
        return new TreeMap<>(errors);
    }

    /**
     * When partition {@code p} first acknowledged a record sent at or after {@code sentAfterNanos}, in
     * nanoseconds of {@link System#nanoTime()}; -1 if it has not yet.
     */
    long firstAckOfRecordSentAfter(int p, long sentAfterNanos) {
        long first = -1;
        for (Ack a : acked.values()) {
            if (a.partition() == p && a.sentNanos() >= sentAfterNanos && (first < 0 || a.ackedNanos() < first)) {
                first = a.ackedNanos();
            }
        }
        return first;
    }

    /** Waits until {@code n} more records than now are acknowledged. */
    void awaitProgress(String what, int n, Duration timeout) throws InterruptedException {
        int target = acked.size() + n;
        ProcessCluster.await(what + " (" + n + " more acknowledgements)", timeout, () -> acked.size() >= target);
    }

    /** Stops writing and waits for every outstanding send to be answered. */
    void finish() {
        stop.set(true);
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.flush();
    }

    /** Reads the whole topic from the beginning through {@code bootstrap} and compares it with the acknowledgements. */
    Result check(String bootstrap) {
        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        Map<TopicPartition, Map<Long, String>> log = new HashMap<>();
        Map<String, Integer> copies = new HashMap<>();
        long read = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            // read at least past the highest acknowledged offset of each partition: a broker that has not yet
            // caught up after healing may still answer as leader with its old (committed) end, so the end
            // offset the consumer is first told is not enough; a record still missing at the deadline is lost
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(tps, Duration.ofSeconds(60)));
            for (Ack a : acked.values()) {
                end.merge(new TopicPartition(topic, a.partition()), a.offset() + 1, Math::max);
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (tps.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    read++;
                    log.computeIfAbsent(new TopicPartition(r.topic(), r.partition()), k -> new HashMap<>())
                            .put(r.offset(), r.value());
                    copies.merge(r.value(), 1, Integer::sum);
                }
            }
        }
        long lost = 0;
        List<String> examples = new ArrayList<>();
        for (Map.Entry<String, Ack> e : acked.entrySet()) {
            Ack a = e.getValue();
            String there = log.getOrDefault(new TopicPartition(topic, a.partition()), Map.of()).get(a.offset());
            if (!e.getKey().equals(there)) {
                lost++;
                if (examples.size() < 5) {
                    examples.add(e.getKey() + " acknowledged at " + a.partition() + "@" + a.offset() + ", found "
                            + (there == null ? "nothing" : there) + (copies.containsKey(e.getKey()) ? " (it is elsewhere)" : ""));
                }
            }
        }
        long duplicated = copies.values().stream().filter(c -> c > 1).count();
        return new Result(sent.get(), acked.size(), failed.get(), read, lost, duplicated, examples);
    }

    @Override
    public void close() {
        stop.set(true);
        producer.close(Duration.ofSeconds(5));
    }
}
