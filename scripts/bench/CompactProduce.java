import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produce to a compacted topic while the log cleaner works, for scripts/bench.sh's compact workload:
 * creates TOPIC (one partition, cleanup.policy=compact, segment.bytes SEGMENT_BYTES,
 * min.cleanable.dirty.ratio 0.01, so rolled segments are cleaned as soon as the cleaner looks), then
 * sends RECORDS records of VALUE_SIZE bytes over KEYS keys at full speed and prints
 * "compact-produce records=N seconds=S rps=R mbps=M" (MB of values and keys, 10^6 bytes).
 *
 * <p>The producer is set up as a user who wants throughput from small records sets it (Kafka's and
 * Confluent's tuning advice: larger batches, some linger, acks=1): batch.size 128 KiB, linger.ms 20,
 * no compression (the values are random bytes). With the defaults (16 KiB batches, linger.ms 5) one
 * partition carries at most five 16 KiB requests in flight: on 2 shared cores neither the client nor
 * either broker was busy (broker 25-40 % of a core, the client's threads 10-25 % each), and the figure
 * was the round-trip time of the machine's scheduler, the same for both brokers. Every PROP=VALUE
 * argument after the six overrides a producer setting, for both systems alike.
 *
 * Usage: java -cp KAFKA_CLIENTS CompactProduce.java BOOTSTRAP TOPIC RECORDS KEYS VALUE_SIZE SEGMENT_BYTES [PROP=VALUE...]
 */
public class CompactProduce {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int records = Integer.parseInt(args[2]);
        int keys = Integer.parseInt(args[3]);
        int valueSize = Integer.parseInt(args[4]);
        String segmentBytes = args[5];
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(java.util.List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of(
                    "cleanup.policy", "compact", "segment.bytes", segmentBytes,
                    "min.cleanable.dirty.ratio", "0.01")))).all().get(60, TimeUnit.SECONDS);
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "1");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "131072");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        for (int i = 6; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            p.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        byte[] value = new byte[valueSize];
        new java.util.Random(7).nextBytes(value);
        byte[][] keyBytes = new byte[keys][];
        long bytes = 0;
        for (int k = 0; k < keys; k++) {
            keyBytes[k] = String.format("key-%08d", k).getBytes();
        }
        AtomicReference<Exception> failed = new AtomicReference<>();
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < records; i++) {
                byte[] key = keyBytes[(int) ((i * 2654435761L) % keys)];
                bytes += key.length + value.length;
                producer.send(new ProducerRecord<>(topic, 0, key, value), (md, e) -> {
                    if (e != null) {
                        failed.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failed.get() != null) {
            throw failed.get();
        }
        System.out.printf("compact-produce records=%d seconds=%.3f rps=%.1f mbps=%.2f%n", records, seconds,
                records / seconds, bytes / 1e6 / seconds);
    }
}
