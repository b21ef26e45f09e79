package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Gauge;
import io.runnel.metrics.MeterNames;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Java consumer with incremental fetch sessions (KIP-227): it opens one with its first full fetch, goes on
 * with fetches naming only the partitions that moved, reads every record exactly once and in order, still sees
 * new records on a few partitions of many, and closes its session when it closes (epoch -1).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FetchSessionsIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final int PARTITIONS = 40;

    private static double sessions() {
        Gauge g = node.broker().metrics().registry().find(MeterNames.FETCH_SESSIONS).gauge();
        return g == null ? -1 : g.value();
    }

    @Test
    void aConsumerOfManyPartitionsReadsEverythingThroughASessionAndClosesIt() throws Exception {
        assumeFalse(node.isExternal(), "reads the broker's own meters");
        String topic = RunnelNode.uniqueName("sessions");
        node.createTopic(topic, PARTITIONS);
        double before = sessions();
        assertThat(before).isGreaterThanOrEqualTo(0);

        KafkaProducer<String, String> producer = node.producer();
        Map<Integer, List<String>> sent = new HashMap<>();
        for (int i = 0; i < 4000; i++) {
            int p = i % PARTITIONS;
            String v = "v" + i;
            producer.send(new ProducerRecord<>(topic, p, null, v));
            sent.computeIfAbsent(p, k -> new ArrayList<>()).add(v);
        }
        producer.flush();

        KafkaConsumer<String, String> consumer = node.consumer(Map.of(
                // small answers, so that the session's later fetches carry most of the data
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 2048,
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 16 * 1024), false);
        try {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            consumer.assign(tps);
            Map<Integer, List<String>> read = new HashMap<>();
            int total = 0;
            double during = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (total < 4000 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    read.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                    total++;
                }
                during = Math.max(during, sessions());
            }
            assertThat(read).isEqualTo(sent);
            assertThat(during).as("the consumer fetched in a session").isGreaterThan(before);

            // a few partitions of many get new records: the session's fetches bring exactly those
            producer.send(new ProducerRecord<>(topic, 3, null, "late-3")).get();
            producer.send(new ProducerRecord<>(topic, 17, null, "late-17")).get();
            Map<Integer, List<String>> late = new HashMap<>();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (late.values().stream().mapToInt(List::size).sum() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    late.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
                }
            }
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                late.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
            }
            assertThat(late).isEqualTo(Map.of(3, List.of("late-3"), 17, List.of("late-17")));
        } finally {
            consumer.close(Duration.ofSeconds(10));
        }
        // the Java consumer closes its sessions when it closes (a fetch with epoch -1)
        Await.until("the consumer's fetch session is closed", () -> sessions() <= before);
    }
}
