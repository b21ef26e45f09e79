import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Transactional produce, one producer, transactions back to back: creates TOPIC (PARTITIONS partitions, RF
 * REPLICATION) if missing, then runs TXNS transactions of RECORDS records of VALUE_SIZE bytes (round-robin over the
 * partitions, acks=all), each beginTransaction / sends / commitTransaction, and the same data without a transaction
 * (flush per group) for comparison. Prints per-transaction times (mean, p50, p90, max, in ms; the first
 * WARMUP transactions not counted) and the time split between the sends-and-flush and the commit:
 *
 * <pre>txn-produce mode=txn txns=N mean_ms=.. p50_ms=.. p90_ms=.. max_ms=.. flush_mean_ms=.. commit_mean_ms=.. rps=..</pre>
 *
 * Usage: java -cp KAFKA_CLIENTS TxnLatency.java BOOTSTRAP TOPIC PARTITIONS REPLICATION TXNS RECORDS VALUE_SIZE [PROP=VALUE...]
 */
public class TxnLatency {
    private static final int WARMUP = 10;

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int partitions = Integer.parseInt(args[2]);
        short replication = Short.parseShort(args[3]);
        int txns = Integer.parseInt(args[4]);
        int records = Integer.parseInt(args[5]);
        int valueSize = Integer.parseInt(args[6]);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            try {
                admin.createTopics(java.util.List.of(new NewTopic(topic, partitions, replication)))
                        .all().get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
        byte[] value = new byte[valueSize];
        Arrays.fill(value, (byte) 'x');
        for (String mode : new String[]{"plain", "txn"}) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            if (mode.equals("txn")) {
                p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "bench-txn-" + System.nanoTime());
            }
            for (int i = 7; i < args.length; i++) {
                String[] kv = args[i].split("=", 2);
                p.put(kv[0], kv[1]);
            }
            boolean txn = mode.equals("txn");
            long[] total = new long[txns];
            long[] flush = new long[txns];
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
                if (txn) {
                    producer.initTransactions();
                }
                for (int t = 0; t < WARMUP + txns; t++) {
                    long start = System.nanoTime();
                    if (txn) {
                        producer.beginTransaction();
                    }
                    for (int r = 0; r < records; r++) {
                        producer.send(new ProducerRecord<>(topic, r % partitions, null, value));
                    }
                    producer.flush();
                    long flushed = System.nanoTime();
                    if (txn) {
                        producer.commitTransaction();
                    }
                    long end = System.nanoTime();
                    if (t >= WARMUP) {
                        total[t - WARMUP] = end - start;
                        flush[t - WARMUP] = flushed - start;
                    }
                }
            }
            long[] sorted = total.clone();
            Arrays.sort(sorted);
            double sum = Arrays.stream(total).sum() / 1e6;
            double flushSum = Arrays.stream(flush).sum() / 1e6;
            System.out.printf("txn-produce mode=%s txns=%d records=%d mean_ms=%.2f p50_ms=%.2f p90_ms=%.2f "
                            + "max_ms=%.2f flush_mean_ms=%.2f commit_mean_ms=%.2f rps=%.0f%n", mode, txns, records,
                    sum / txns, sorted[txns / 2] / 1e6, sorted[(int) (txns * 0.9)] / 1e6, sorted[txns - 1] / 1e6,
                    flushSum / txns, (sum - flushSum) / txns, txns * (double) records / (sum / 1000));
        }
    }
}
