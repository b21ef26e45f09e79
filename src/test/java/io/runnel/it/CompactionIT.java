package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.internals.Topic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Compaction seen by the official Java clients: a compacted topic keeps the last value of each key,
 * and __consumer_offsets stays a few segments whatever the number of commits.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CompactionIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("log.cleaner.backoff.ms", "100")
            .withProperty("offsets.topic.segment.bytes", String.valueOf(1024 * 1024));

    private static final int RECORDS = 1_000_000;
    private static final int KEYS = 1_000;

    private static Path partitionDir(String topic, int partition) {
        return node.dataDir().resolve(topic + "-" + partition);
    }

    private static List<Path> segments(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    private static long bytes(Path dir) throws Exception {
        long total = 0;
        for (Path p : segments(dir)) {
            total += Files.size(p);
        }
        return total;
    }

    /** Reads the whole partition: (records read, last value per key). */
    private static Map<String, String> readAll(String topic, AtomicInteger count) {
        Map<String, String> latest = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = node.consumer(Map.of(
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000))) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            while (consumer.position(tp) < end) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    count.incrementAndGet();
                    latest.put(r.key(), r.value());
                }
            }
        }
        return latest;
    }

    @Test
    void aMillionRecordsOverAThousandKeysCompactToTheLastValueOfEachKey() throws Exception {
        String topic = RunnelNode.uniqueName("compacted");
        node.createTopics(new NewTopic(topic, 1, (short) 1).configs(Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.SEGMENT_BYTES_CONFIG, String.valueOf(512 * 1024),
                TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.1")));
        Map<String, String> expected = new HashMap<>();
        long start = System.nanoTime();
        long before;
        try (KafkaProducer<String, String> producer = node.producer(Map.of(
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4"))) {
            AtomicReference<Exception> failed = new AtomicReference<>();
            for (int i = 0; i < RECORDS; i++) {
                String key = "key-" + (i * 7919 % KEYS);
                String value = "value-" + i;
                expected.put(key, value);
                producer.send(new ProducerRecord<>(topic, 0, key, value), (md, e) -> {
                    if (e != null) {
                        failed.compareAndSet(null, e);
                    }
                });
            }
            producer.flush();
            assertThat(failed.get()).isNull();
            // the baseline is what was written, not the directory after production: the cleaner runs meanwhile
            before = producer.metrics().entrySet().stream()
                    .filter(m -> m.getKey().group().equals("producer-topic-metrics") && m.getKey().name().equals("byte-total")
                            && topic.equals(m.getKey().tags().get("topic")))
                    .mapToLong(m -> ((Number) m.getValue().metricValue()).longValue()).sum();
            assertThat(before).as("bytes the producer sent to %s", topic).isPositive();
        }
        System.out.printf("produced %d records in %d ms%n", RECORDS, (System.nanoTime() - start) / 1_000_000);

        Path dir = partitionDir(topic, 0);
        Await.until("the compacted topic is cleaned down to a few segments", Duration.ofSeconds(60), () -> {
            AtomicInteger count = new AtomicInteger();
            readAll(topic, count);
            // the clean section holds one record per key; the active segment is never cleaned
            return count.get() < 100_000;
        });
        AtomicInteger count = new AtomicInteger();
        Map<String, String> latest = readAll(topic, count);
        assertThat(latest).isEqualTo(expected);
        assertThat(count.get()).isLessThan(100_000);
        assertThat(bytes(dir)).isLessThan(before / 4);
        System.out.printf("compacted topic: %d bytes in %d segments after cleaning (%d before), %d records read%n",
                bytes(dir), segments(dir).size(), before, count.get());

        // the admin API and /metrics show the cleaning
        AdminHttp http = new AdminHttp(node.broker().adminPort(), null);
        io.vertx.core.json.JsonObject compaction = http.get("/api/v1/topics/" + topic).json()
                .getJsonArray("partitions").getJsonObject(0).getJsonObject("compaction");
        assertThat(compaction.getLong("cleanings")).isPositive();
        assertThat(compaction.getLong("lastCleanedMs")).isPositive();
        assertThat(compaction.getDouble("cleanableRatio")).isBetween(0.0, 1.0);
        assertThat(compaction.getLong("firstDirtyOffset")).isPositive();
        assertThat(http.get("/api/v1/topics").array().stream().map(o -> (io.vertx.core.json.JsonObject) o)
                .filter(o -> o.getString("name").equals(topic)).findFirst().orElseThrow()
                .getDouble("cleanableRatio")).isBetween(0.0, 1.0);
        String metrics = http.get("/metrics").body();
        assertThat(metrics.lines()).anyMatch(l -> l.startsWith("runnel_log_cleaner_runs_total ") && !l.endsWith(" 0.0"));
        assertThat(metrics.lines()).anyMatch(l -> l.startsWith("runnel_log_cleaner_bytes_read_bytes_total "));
        assertThat(metrics.lines()).anyMatch(l -> l.startsWith("runnel_log_cleaner_dirty_ratio{")
                && l.contains("topic=\"" + topic + "\""));
        assertThat(metrics.lines()).anyMatch(l -> l.startsWith("runnel_log_cleaner_time_since_last_clean_seconds{")
                && l.contains("topic=\"" + topic + "\""));

        // a keyless record is refused, that batch only; the producer carries on
        try (KafkaProducer<String, String> producer = node.producer()) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, 0, null, "no key")).get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidRecordException.class);
            assertThat(producer.send(new ProducerRecord<>(topic, 0, "key-1", "after")).get(30, TimeUnit.SECONDS)
                    .offset()).isGreaterThanOrEqualTo(RECORDS);
        }
    }

    @Test
    // a million commit round trips took 40 to 115 s on the shared two-core machine
    @Timeout(value = 170, unit = TimeUnit.SECONDS)
    void aGroupCommittingAMillionTimesKeepsConsumerOffsetsToAFewSegments() throws Exception {
        String topic = RunnelNode.uniqueName("committed");
        String group = RunnelNode.uniqueName("committer");
        node.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long start = System.nanoTime();
        try (KafkaConsumer<String, String> consumer = node.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false))) {
            consumer.assign(List.of(tp));
            // finds the coordinator (and creates __consumer_offsets) before the commits are pipelined
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(0)));
            AtomicInteger done = new AtomicInteger();
            AtomicReference<Exception> failed = new AtomicReference<>();
            for (int i = 1; i <= RECORDS; i++) {
                consumer.commitAsync(Map.of(tp, new OffsetAndMetadata(i)), (offsets, e) -> {
                    if (e != null) {
                        failed.compareAndSet(null, e);
                    }
                    done.incrementAndGet();
                });
                if (i % 1000 == 0) {
                    // keep a bounded number of commits in flight
                    while (i - done.get() > 5000) {
                        consumer.poll(Duration.ZERO);
                    }
                }
            }
            consumer.commitSync(Map.of(tp, new OffsetAndMetadata(RECORDS)));
            assertThat(failed.get()).isNull();
        }
        System.out.printf("committed %d times in %d ms%n", RECORDS, (System.nanoTime() - start) / 1_000_000);

        Path dir = null;
        for (int p = 0; p < 4; p++) {
            Path d = partitionDir(Topic.GROUP_METADATA_TOPIC_NAME, p);
            if (Files.isDirectory(d) && (dir == null || bytes(d) > bytes(dir))) {
                dir = d;
            }
        }
        Path offsetsDir = dir;
        Await.until("__consumer_offsets is compacted", Duration.ofSeconds(60),
                () -> segments(offsetsDir).size() <= 3);
        System.out.printf("__consumer_offsets partition after %d commits: %d bytes in %d segments%n", RECORDS,
                bytes(offsetsDir), segments(offsetsDir).size());
        assertThat(bytes(offsetsDir)).isLessThan(3L * 1024 * 1024);

        // a coordinator taking over loads the compacted log
        node.restart();
        long restarted = System.nanoTime();
        Await.until("the committed offset is served again", () -> {
            try (KafkaConsumer<String, String> consumer = node.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group))) {
                OffsetAndMetadata committed = consumer.committed(java.util.Set.of(tp), Duration.ofSeconds(10)).get(tp);
                return committed != null && committed.offset() == RECORDS;
            }
        });
        System.out.printf("group offsets served %d ms after the restart completed%n",
                (System.nanoTime() - restarted) / 1_000_000);
    }
}
