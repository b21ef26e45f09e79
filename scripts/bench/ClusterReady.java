import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Readiness of a three-node cluster, for scripts/bench.sh --cluster: waits until every broker of the
 * bootstrap list answers Metadata itself (one Admin client per broker, bootstrapped from that broker
 * alone, must see all of them), then creates the given topics with replication factor 3 and
 * min.insync.replicas=2, waits until every partition has a leader and a full ISR, and finally produces one
 * record with acks=all to every partition and waits for the acknowledgements. Only then is a topic
 * produceable in the sense the benchmark needs.
 *
 * <p>The clock starts just before the first CreateTopics request, after the tool's own start-up and the
 * broker check, so its figure is the cluster's time from "create" to "produceable", not the JVM's.
 *
 * <p>Run with the Kafka client jars on the class path:
 * {@code java -cp 'target/kafka-ref/lib/*' scripts/bench/ClusterReady.java BOOTSTRAP_LIST TIMEOUT_S
 * TOPIC:PARTITIONS...}. Prints one line: {@code ready brokers=3 create_to_produceable_ms=..}; exits 1 with
 * the reason on stderr when the timeout passes first.
 */
public final class ClusterReady {

    private static final int REPLICATION_FACTOR = 3;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: BOOTSTRAP_LIST TIMEOUT_S TOPIC:PARTITIONS...");
            System.exit(2);
        }
        String bootstrap = args[0];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        Map<String, Integer> topics = new java.util.LinkedHashMap<>();
        for (int i = 2; i < args.length; i++) {
            String[] tp = args[i].split(":");
            topics.put(tp[0], Integer.parseInt(tp[1]));
        }
        String[] brokers = bootstrap.split(",");

        for (String broker : brokers) {
            awaitBrokers(broker, brokers.length, deadline);
        }

        try (Admin admin = Admin.create(adminProps(bootstrap))) {
            long start = System.nanoTime();
            createTopics(admin, topics, deadline);
            awaitFullIsr(admin, topics, deadline);
            long isrAt = System.nanoTime();
            produceToEveryPartition(bootstrap, topics, deadline);
            long end = System.nanoTime();
            System.out.printf("ready brokers=%d create_to_full_isr_ms=%.1f create_to_produceable_ms=%.1f%n",
                    brokers.length, (isrAt - start) / 1e6, (end - start) / 1e6);
        }
    }

    private static Properties adminProps(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "20");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "20");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "100");
        return p;
    }

    /** Until the broker itself, asked alone, lists {@code expected} live brokers. */
    private static void awaitBrokers(String broker, int expected, long deadline) throws InterruptedException {
        try (Admin admin = Admin.create(adminProps(broker))) {
            String last = "no answer";
            while (true) {
                try {
                    java.util.Collection<Node> nodes = admin.describeCluster().nodes().get(2, TimeUnit.SECONDS);
                    if (nodes.size() >= expected) {
                        return;
                    }
                    last = nodes.size() + " broker(s) listed";
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    last = String.valueOf(e.getCause() != null ? e.getCause() : e);
                }
                giveUpAfter(deadline, "broker " + broker + " does not list " + expected + " brokers: " + last);
                Thread.sleep(20);
            }
        }
    }

    private static void createTopics(Admin admin, Map<String, Integer> topics, long deadline) throws Exception {
        Set<String> pending = new HashSet<>(topics.keySet());
        while (!pending.isEmpty()) {
            List<NewTopic> create = new ArrayList<>();
            for (String t : pending) {
                create.add(new NewTopic(t, topics.get(t), (short) REPLICATION_FACTOR)
                        .configs(Map.of("min.insync.replicas", "2")));
            }
            var result = admin.createTopics(create).values();
            String last = "";
            for (var e : result.entrySet()) {
                try {
                    e.getValue().get(10, TimeUnit.SECONDS);
                    pending.remove(e.getKey());
                } catch (ExecutionException ex) {
                    if (ex.getCause() instanceof TopicExistsException) {
                        pending.remove(e.getKey());
                    } else {
                        last = e.getKey() + ": " + ex.getCause();
                    }
                }
            }
            if (!pending.isEmpty()) {
                giveUpAfter(deadline, "cannot create " + pending + ": " + last);
                Thread.sleep(20);
            }
        }
    }

    private static void awaitFullIsr(Admin admin, Map<String, Integer> topics, long deadline) throws Exception {
        String last = "";
        while (true) {
            try {
                Map<String, TopicDescription> d = admin.describeTopics(topics.keySet()).allTopicNames()
                        .get(5, TimeUnit.SECONDS);
                last = "";
                for (var e : d.entrySet()) {
                    List<TopicPartitionInfo> ps = e.getValue().partitions();
                    if (ps.size() != topics.get(e.getKey())) {
                        last = e.getKey() + " has " + ps.size() + " partitions";
                    }
                    for (TopicPartitionInfo p : ps) {
                        if (p.leader() == null || p.leader().isEmpty() || p.isr().size() < REPLICATION_FACTOR
                                || p.replicas().size() != REPLICATION_FACTOR) {
                            last = e.getKey() + "-" + p.partition() + " leader " + p.leader() + " isr " + p.isr();
                        }
                    }
                }
                if (last.isEmpty()) {
                    return;
                }
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                last = String.valueOf(e.getCause() != null ? e.getCause() : e);
            }
            giveUpAfter(deadline, "no full ISR: " + last);
            Thread.sleep(10);
        }
    }

    private static void produceToEveryPartition(String bootstrap, Map<String, Integer> topics, long deadline)
            throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "20");
        long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(left, 1000)));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.min(Math.max(left, 1000), 30000)));
        try (KafkaProducer<byte[], byte[]> producer =
                     new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (var t : topics.entrySet()) {
                for (int partition = 0; partition < t.getValue(); partition++) {
                    acks.add(producer.send(new ProducerRecord<>(t.getKey(), partition, null, new byte[]{1})));
                }
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) + 1000,
                        TimeUnit.MILLISECONDS);
            }
        }
    }

    private static void giveUpAfter(long deadline, String why) {
        if (System.nanoTime() > deadline) {
            System.err.println("ClusterReady: " + why);
            System.exit(1);
        }
    }
}
