import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Transactional produce for scripts/bench.sh's txn workload: one transactional producer (acks=all, as transactions
 * require; the client's other defaults: batch.size 16 KiB, linger.ms 5) sends RECORDS records of RECORD_SIZE bytes
 * to the PARTITIONS partitions of TOPIC (which exists), round-robin, in transactions of TXN_SIZE records: begin, the
 * sends, commitTransaction (which flushes and waits for the coordinator's answer), then the next. Timed from the
 * first begin to the last commit's return; prints
 * "txn-produce records=N txns=T seconds=S rps=R mbps=M commit_p50_ms=A commit_p99_ms=B" (MB of values, 10^6 bytes;
 * commit = the commitTransaction call alone).
 *
 * <p>Then a read_committed consumer reads the topic from the beginning to its last stable offset and the tool fails
 * unless it read exactly RECORDS records more than before the run: a broker that lost or duplicated committed records does not get a figure.
 * Every PROP=VALUE argument after the six overrides a producer setting, for both systems alike.
 *
 * Usage: java -cp KAFKA_CLIENTS TxnProduce.java BOOTSTRAP TOPIC PARTITIONS RECORDS RECORD_SIZE TXN_SIZE [PROP=VALUE...]
 */
public class TxnProduce {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        int partitions = Integer.parseInt(args[2]);
        int records = Integer.parseInt(args[3]);
        int recordSize = Integer.parseInt(args[4]);
        int txnSize = Integer.parseInt(args[5]);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "bench-txn-" + ProcessHandle.current().pid());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        for (int i = 6; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            p.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        byte[] value = new byte[recordSize];
        new java.util.Random(7).nextBytes(value);
        AtomicReference<Exception> failed = new AtomicReference<>();
        List<Long> commitNanos = new ArrayList<>();
        // what the topic held before (bench.sh's cluster readiness check writes a record to every partition)
        long before = readCommitted(bootstrap, topic, partitions);
        int txns = 0;
        long start;
        long end;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            start = System.nanoTime();
            for (int sent = 0; sent < records; ) {
                producer.beginTransaction();
                int n = Math.min(txnSize, records - sent);
                for (int i = 0; i < n; i++, sent++) {
                    producer.send(new ProducerRecord<>(topic, sent % partitions, null, value), (md, e) -> {
                        if (e != null) {
                            failed.compareAndSet(null, e);
                        }
                    });
                }
                long c = System.nanoTime();
                producer.commitTransaction();
                commitNanos.add(System.nanoTime() - c);
                txns++;
            }
            end = System.nanoTime();
        }
        if (failed.get() != null) {
            throw failed.get();
        }
        double seconds = (end - start) / 1e9;
        long[] sorted = commitNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        long read = readCommitted(bootstrap, topic, partitions);
        if (read != before + records) {
            throw new IllegalStateException("read_committed read " + read + " records: " + before + " before the run and "
                    + records + " committed by it");
        }
        System.out.printf("txn-produce records=%d txns=%d seconds=%.3f rps=%.1f mbps=%.2f commit_p50_ms=%.2f commit_p99_ms=%.2f%n",
                records, txns, seconds, records / seconds, (double) records * recordSize / 1e6 / seconds,
                percentile(sorted, 0.50) / 1e6, percentile(sorted, 0.99) / 1e6);
    }

    private static double percentile(long[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }

    private static long readCommitted(String bootstrap, String topic, int partitions) {
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            tps.add(new TopicPartition(topic, i));
        }
        long read = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> lso = c.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
            while (tps.stream().anyMatch(tp -> c.position(tp) < lso.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("read_committed did not reach " + lso + " within 5 minutes");
                }
                read += c.poll(Duration.ofMillis(500)).count();
            }
        }
        return read;
    }
}
