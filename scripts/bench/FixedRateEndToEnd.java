import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * End-to-end latency at a fixed rate, for scripts/bench.sh: kafka-tools' EndToEndLatency keeps one record in
 * flight (its rate is whatever the latency allows) and prints whole milliseconds, so this sends records on
 * a fixed schedule with the Java producer and times each until the Java consumer (same JVM, same clock)
 * polls it. Latency runs from the record's scheduled send time, so a stalled producer counts against the
 * broker rather than hiding the stall (no coordinated omission). The tool's own garbage collections stall
 * its producer and consumer too and would be counted as the broker's latency: it collects once before
 * the clock starts, should run with a young generation that the run does not fill (bench.sh gives it
 * -Xmn2g for 30 s at 2000 records/s), and reports how many of its collections still fell after the warm-up
 * ({@code client_gc=N client_gc_ms=..}), so a run where some did can be told apart.
 *
 * <p>Run with the Kafka client jars on the class path (the source launcher compiles it):
 * {@code java -cp 'target/kafka-ref/lib/*' scripts/bench/FixedRateEndToEnd.java BOOTSTRAP TOPIC RATE RECORDS
 * WARMUP RECORD_SIZE ACKS}. The topic must exist. Prints one line: {@code e2e records=N p50_ms=.. p99_ms=..
 * p999_ms=.. max_ms=.. client_gc=N client_gc_ms=..} over the records after the warm-up.
 */
public final class FixedRateEndToEnd {

    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: BOOTSTRAP TOPIC RATE RECORDS WARMUP RECORD_SIZE ACKS");
            System.exit(2);
        }
        String bootstrap = args[0];
        String topic = args[1];
        int rate = Integer.parseInt(args[2]);
        int records = Integer.parseInt(args[3]);
        int warmup = Integer.parseInt(args[4]);
        int size = Math.max(16, Integer.parseInt(args[5]));
        String acks = args[6];

        Properties pp = new Properties();
        pp.put("bootstrap.servers", bootstrap);
        pp.put("acks", acks);
        pp.put("linger.ms", "0");
        Properties cp = new Properties();
        cp.put("bootstrap.servers", bootstrap);
        cp.put("enable.auto.commit", "false");
        cp.put("auto.offset.reset", "latest");

        long[] latencyNanos = new long[records];
        Arrays.fill(latencyNanos, -1);
        AtomicInteger received = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLongArray scheduled = new AtomicLongArray(records); // written by the sender, read by the poller
        long[] gcInWindow = new long[2]; // this JVM's collections and their milliseconds after the warm-up

        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
             KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                partitions.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            for (TopicPartition tp : partitions) {
                consumer.position(tp, Duration.ofSeconds(30)); // resolve "end" before the first send
            }
            producer.partitionsFor(topic); // metadata before the clock starts
            // start the clock with an empty young generation, so that (with bench.sh's -Xmn) none of this
            // JVM's own collections falls into the run
            System.gc();

            Thread poller = new Thread(() -> {
                try {
                    while (received.get() < records && failure.get() == null && !Thread.currentThread().isInterrupted()) {
                        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                            long now = System.nanoTime();
                            byte[] v = r.value();
                            int seq = (int) readLong(v, 0);
                            if (seq >= 0 && seq < records && latencyNanos[seq] < 0) {
                                latencyNanos[seq] = now - scheduled.get(seq);
                                received.incrementAndGet();
                            }
                        }
                    }
                } catch (org.apache.kafka.common.errors.WakeupException e) {
                    // asked to stop
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }, "e2e-consumer");
            poller.start();

            long[] gcAtWarmupEnd = null;
            long period = TimeUnit.SECONDS.toNanos(1) / rate;
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            for (int i = 0; i < records && failure.get() == null; i++) {
                if (i == Math.min(warmup, records - 1)) {
                    gcAtWarmupEnd = gcTotals();
                }
                long at = start + i * period;
                long wait;
                while ((wait = at - System.nanoTime()) > 0) {
                    LockSupport.parkNanos(wait);
                }
                byte[] value = new byte[size];
                writeLong(value, 0, i);
                scheduled.set(i, at);
                producer.send(new ProducerRecord<>(topic, value), (md, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (received.get() < records && failure.get() == null && System.nanoTime() < deadline) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            consumer.wakeup();
            poller.join(10_000);
            long[] gcAtEnd = gcTotals();
            if (gcAtWarmupEnd != null) {
                gcInWindow[0] = gcAtEnd[0] - gcAtWarmupEnd[0];
                gcInWindow[1] = gcAtEnd[1] - gcAtWarmupEnd[1];
            }
        }
        if (failure.get() != null) {
            System.err.println("e2e failed: " + failure.get());
            System.exit(1);
        }
        if (received.get() < records) {
            System.err.println("e2e: only " + received.get() + " of " + records + " records arrived within 30 s");
            System.exit(1);
        }
        int from = Math.min(warmup, records - 1);
        int worst = from;
        for (int i = from; i < records; i++) {
            if (latencyNanos[i] > latencyNanos[worst]) {
                worst = i;
            }
        }
        // when the worst record was due (seconds after the first send): stalls show as one window
        System.out.printf("e2e worst record %d, due %.3f s after the first send%n", worst, (double) worst / rate);
        long[] steady = Arrays.copyOfRange(latencyNanos, from, records);
        Arrays.sort(steady);
        System.out.printf("e2e records=%d p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f client_gc=%d client_gc_ms=%d%n",
                steady.length, ms(pct(steady, 0.50)), ms(pct(steady, 0.99)), ms(pct(steady, 0.999)),
                ms(steady[steady.length - 1]), gcInWindow[0], gcInWindow[1]);
    }

    /** Collections so far and their accumulated milliseconds, over every collector of this JVM. */
    private static long[] gcTotals() {
        long count = 0;
        long ms = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, gc.getCollectionCount());
            ms += Math.max(0, gc.getCollectionTime());
        }
        return new long[] {count, ms};
    }

    private static long pct(long[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void writeLong(byte[] b, int at, long v) {
        for (int i = 7; i >= 0; i--) {
            b[at + i] = (byte) v;
            v >>>= 8;
        }
    }

    private static long readLong(byte[] b, int at) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[at + i] & 0xFF);
        }
        return v;
    }
}
