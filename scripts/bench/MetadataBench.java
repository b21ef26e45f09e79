import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;

/**
 * Metadata timings for scripts/bench.sh, the same against Runnel and Apache Kafka:
 * <ul>
 * <li>{@code create BOOTSTRAP TIMEOUT_S TOPIC PARTITIONS RF}: from the CreateTopics request until every
 *     partition has a leader as Metadata reports it; prints {@code create_to_led_ms=..}. The partitions are
 *     created {@value #MAX_PARTITIONS_PER_REQUEST} at a time, by CreateTopics and then CreatePartitions
 *     requests one after the other: Apache Kafka's controller refuses an operation of more than 10,000
 *     metadata records (QuorumController.MAX_RECORDS_PER_USER_OP; a topic of 10,000 partitions is 10,001
 *     records: PolicyViolationException "Unable to perform excessively large batch operation").</li>
 * <li>{@code led BOOTSTRAP TIMEOUT_S TOPIC PARTITIONS}: polls from the start of the tool until every
 *     partition of an existing topic has a leader (a node that restarts with its partitions); prints
 *     {@code led_after_ms=..} counted from the tool's first request and {@code led_at_epoch_ms=..}, the
 *     wall-clock instant, for timing from the broker's launch.</li>
 * <li>{@code failover BOOTSTRAP TIMEOUT_S TOPIC NODE_ID PID}: notes the partitions NODE_ID leads, kills PID
 *     (kill -9), and measures until every one of them has another leader; prints
 *     {@code moved=N failover_ms=..}. Bootstrap from the surviving brokers only.</li>
 * </ul>
 * Run with the Kafka client jars on the class path, like the other tools of scripts/bench/.
 */
public final class MetadataBench {

    static final int MAX_PARTITIONS_PER_REQUEST = 5000;

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: create|led|failover BOOTSTRAP TIMEOUT_S TOPIC ...");
            System.exit(2);
        }
        String mode = args[0];
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "60000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "120000");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[2]));
        String topic = args[3];
        try (Admin admin = Admin.create(p)) {
            switch (mode) {
                case "create" -> {
                    int partitions = Integer.parseInt(args[4]);
                    short rf = Short.parseShort(args[5]);
                    long start = System.nanoTime();
                    int created = Math.min(partitions, MAX_PARTITIONS_PER_REQUEST);
                    int requests = 1;
                    admin.createTopics(List.of(new NewTopic(topic, created, rf))).all().get(300, TimeUnit.SECONDS);
                    while (created < partitions) {
                        created = Math.min(partitions, created + MAX_PARTITIONS_PER_REQUEST);
                        requests++;
                        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(created))).all()
                                .get(300, TimeUnit.SECONDS);
                    }
                    awaitLed(admin, topic, partitions, Set.of(), deadline);
                    System.out.printf("created partitions=%d rf=%d requests=%d create_to_led_ms=%.1f%n", partitions, rf,
                            requests, (System.nanoTime() - start) / 1e6);
                }
                case "led" -> {
                    int partitions = Integer.parseInt(args[4]);
                    long start = System.nanoTime();
                    awaitLed(admin, topic, partitions, Set.of(), deadline);
                    System.out.printf("led partitions=%d led_after_ms=%.1f led_at_epoch_ms=%d%n", partitions,
                            (System.nanoTime() - start) / 1e6, System.currentTimeMillis());
                }
                case "failover" -> {
                    int node = Integer.parseInt(args[4]);
                    long pid = Long.parseLong(args[5]);
                    TopicDescription d = describe(admin, topic);
                    Set<Integer> victims = new HashSet<>();
                    for (TopicPartitionInfo info : d.partitions()) {
                        if (info.leader() != null && info.leader().id() == node) {
                            victims.add(info.partition());
                        }
                    }
                    long start = System.nanoTime();
                    ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no process " + pid))
                            .destroyForcibly();
                    awaitLed(admin, topic, d.partitions().size(), Set.of(node), deadline);
                    System.out.printf("moved=%d failover_ms=%.1f%n", victims.size(), (System.nanoTime() - start) / 1e6);
                }
                default -> {
                    System.err.println("unknown mode " + mode);
                    System.exit(2);
                }
            }
        }
    }

    private static TopicDescription describe(Admin admin, String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get(120, TimeUnit.SECONDS).get(topic);
    }

    /** Until the topic has {@code partitions} partitions, each led by a node not in {@code excluded}. */
    private static void awaitLed(Admin admin, String topic, int partitions, Set<Integer> excluded, long deadline)
            throws Exception {
        String last = "nothing yet";
        while (System.nanoTime() < deadline) {
            try {
                TopicDescription d = describe(admin, topic);
                long led = d.partitions().stream().filter(i -> i.leader() != null && !excluded.contains(i.leader().id()))
                        .count();
                if (d.partitions().size() == partitions && led == partitions) {
                    return;
                }
                last = led + " of " + partitions + " led";
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(50);
        }
        System.err.println("timed out: " + last);
        System.exit(1);
    }
}
