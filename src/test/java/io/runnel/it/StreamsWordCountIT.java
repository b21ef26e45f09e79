package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.StoreQueryParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka Streams (at_least_once) word count against Runnel: a state store whose changelog Streams
 * creates compacted, a repartition topic, an output topic. The application is stopped halfway, its local
 * state wiped, and restarted: its counts come back from the changelog (compacted by Runnel's cleaner
 * meanwhile), and the final counts equal the words sent.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StreamsWordCountIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("log.cleaner.backoff.ms", "100");

    @TempDir
    Path stateDir;

    private static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};

    private KafkaStreams start(String appId, String in, String out) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
                .flatMapValues(line -> Arrays.asList(line.split(" ")))
                .groupBy((k, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                        // small changelog segments, so the cleaner has rolled segments to compact
                        .withLoggingEnabled(Map.of(TopicConfig.SEGMENT_BYTES_CONFIG, "65536",
                                TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.01")))
                .toStream().to(out, Produced.with(Serdes.String(), Serdes.Long()));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        KafkaStreams streams = new KafkaStreams(builder.build(), p);
        streams.start();
        return streams;
    }

    private static void send(String in, int from, int to, Map<String, Long> expected) {
        try (KafkaProducer<String, String> producer = node.producer()) {
            for (int i = from; i < to; i++) {
                String line = WORDS[i % WORDS.length] + " " + WORDS[(i * 3) % WORDS.length];
                for (String w : line.split(" ")) {
                    expected.merge(w, 1L, Long::sum);
                }
                producer.send(new ProducerRecord<>(in, Integer.toString(i), line));
            }
            producer.flush();
        }
    }

    /** The last count per word in the output topic. */
    private static Map<String, Long> output(String out) {
        Map<String, Long> counts = new HashMap<>();
        try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new LongDeserializer())) {
            List<org.apache.kafka.common.TopicPartition> parts = consumer.partitionsFor(out).stream()
                    .map(pi -> new org.apache.kafka.common.TopicPartition(out, pi.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<org.apache.kafka.common.TopicPartition, Long> ends = consumer.endOffsets(parts);
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
                for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200))) {
                    counts.put(r.key(), r.value());
                }
            }
        }
        return counts;
    }

    private static Map<String, Long> store(KafkaStreams streams) {
        ReadOnlyKeyValueStore<String, Long> store = streams.store(
                StoreQueryParameters.fromNameAndType("counts", QueryableStoreTypes.keyValueStore()));
        Map<String, Long> out = new HashMap<>();
        try (var it = store.all()) {
            it.forEachRemaining(kv -> out.put(kv.key, kv.value));
        }
        return out;
    }

    @Test
    void wordCountRestoresItsStateFromTheCompactedChangelogAfterARestart() throws Exception {
        String appId = RunnelNode.uniqueName("wordcount");
        String in = RunnelNode.uniqueName("lines");
        String out = RunnelNode.uniqueName("counts");
        node.createTopic(in, 2);
        node.createTopic(out, 2);
        Map<String, Long> expected = new HashMap<>();
        int half = 20_000;

        send(in, 0, half, expected);
        KafkaStreams first = start(appId, in, out);
        try {
            Map<String, Long> firstHalf = new HashMap<>(expected);
            Await.until("the first half is counted", Duration.ofSeconds(60), () -> output(out).equals(firstHalf));
        } finally {
            // a planned stop leaves the group (KIP-1153), so the restart is not held up for the session
            // timeout (45 s) waiting for this member to expire
            first.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(30)));
        }

        // the changelog is compacted: Streams asked for it, and the cleaner keeps one count per word
        String changelog = appId + "-counts-changelog";
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, changelog);
        ConfigEntry policy = node.admin().describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res)
                .get(TopicConfig.CLEANUP_POLICY_CONFIG);
        assertThat(policy.value()).isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
        Await.until("the cleaner compacted the changelog", () -> {
            long cleanings = 0;
            for (int p = 0; p < 2; p++) {
                var stats = node.broker().partitionManager().cleaner().manager()
                        .stats(new org.apache.kafka.common.TopicPartition(changelog, p));
                cleanings += stats == null ? 0 : stats.runs();
            }
            return cleanings > 0;
        });
        long segmentFiles = 0;
        for (int p = 0; p < 2; p++) {
            try (var files = Files.list(node.dataDir().resolve(changelog + "-" + p))) {
                segmentFiles += files.filter(f -> f.toString().endsWith(".log")).count();
            }
        }
        System.out.printf("changelog %s: %d segment files after the first half%n", changelog, segmentFiles);

        // restart with no local state: everything comes back from the changelog
        deleteRecursively(stateDir);
        send(in, half, 2 * half, expected);
        KafkaStreams second = start(appId, in, out);
        try {
            Await.until("the second half is counted on the restored state", Duration.ofSeconds(60),
                    () -> output(out).equals(expected));
            Await.until("the store holds the totals", Duration.ofSeconds(30), () -> store(second).equals(expected));
        } finally {
            second.close(Duration.ofSeconds(30));
        }
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
