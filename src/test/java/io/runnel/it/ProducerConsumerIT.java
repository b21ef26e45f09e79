package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Produce and fetch with the official Java clients: offsets, record contents, compression and acks. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProducerConsumerIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final long T = 30;

    @ParameterizedTest(name = "compression.type={0}")
    @ValueSource(strings = {"zstd", "gzip", "lz4", "snappy", "none"})
    void idempotentProducerGetsContiguousOffsetsAndEveryRecordReadsBackIntact(String compression)
            throws Exception {
        String topic = RunnelNode.uniqueName("pc-" + compression);
        node.createTopic(topic, 3);
        KafkaProducer<String, String> producer = node.producer(Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.COMPRESSION_TYPE_CONFIG, compression,
                // Small batches so one partition gets several batches in flight at once.
                ProducerConfig.BATCH_SIZE_CONFIG, 4096,
                ProducerConfig.LINGER_MS_CONFIG, 5));

        int n = 600;
        long baseTimestamp = System.currentTimeMillis() - 60_000;
        List<ProducerRecord<String, String>> sent = new ArrayList<>();
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<Header> headers = List.of(
                    new RecordHeader("seq", Integer.toString(i).getBytes(StandardCharsets.UTF_8)),
                    new RecordHeader("empty", new byte[0]),
                    new RecordHeader("null", null));
            ProducerRecord<String, String> r = new ProducerRecord<>(topic, null, baseTimestamp + i,
                    "key-" + (i % 40), "value-" + i + "-" + "compressible ".repeat(i % 20), headers);
            sent.add(r);
            acks.add(producer.send(r));
        }
        // A record with neither key nor value (a tombstone without a key) is legal on a delete-policy topic.
        ProducerRecord<String, String> nulls = new ProducerRecord<>(topic, 1, baseTimestamp + n, (String) null, (String) null);
        sent.add(nulls);
        acks.add(producer.send(nulls));
        producer.flush();

        Map<Integer, List<Long>> offsetsByPartition = new TreeMap<>();
        Map<Integer, Map<Long, ProducerRecord<String, String>>> expected = new HashMap<>();
        Map<String, Integer> partitionOfKey = new HashMap<>();
        for (int i = 0; i < sent.size(); i++) {
            RecordMetadata md = acks.get(i).get(T, TimeUnit.SECONDS);
            assertThat(md.topic()).isEqualTo(topic);
            assertThat(md.timestamp()).isEqualTo(sent.get(i).timestamp());
            offsetsByPartition.computeIfAbsent(md.partition(), p -> new ArrayList<>()).add(md.offset());
            expected.computeIfAbsent(md.partition(), p -> new HashMap<>()).put(md.offset(), sent.get(i));
            if (sent.get(i).key() != null) {
                Integer before = partitionOfKey.putIfAbsent(sent.get(i).key(), md.partition());
                assertThat(before == null || before == md.partition()).as("one partition per key").isTrue();
            }
        }
        assertThat(offsetsByPartition).hasSize(3);
        offsetsByPartition.forEach((p, offsets) -> assertThat(offsets).as("offsets of partition %d", p)
                .containsExactlyElementsOf(IntStream.range(0, offsets.size()).mapToObj(Long::valueOf).toList()));

        KafkaConsumer<String, String> consumer = node.consumer();
        List<TopicPartition> tps = IntStream.range(0, 3).mapToObj(p -> new TopicPartition(topic, p)).toList();
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        List<ConsumerRecord<String, String>> received = pollUntil(consumer, sent.size());
        assertThat(received).hasSize(sent.size());
        for (ConsumerRecord<String, String> r : received) {
            ProducerRecord<String, String> want = expected.get(r.partition()).get(r.offset());
            assertThat(want).as("record at %d/%d was acknowledged", r.partition(), r.offset()).isNotNull();
            assertThat(r.key()).isEqualTo(want.key());
            assertThat(r.value()).isEqualTo(want.value());
            assertThat(r.timestamp()).isEqualTo(want.timestamp());
            assertThat(r.timestampType()).isEqualTo(TimestampType.CREATE_TIME);
            assertThat(r.headers().toArray()).containsExactly(want.headers().toArray());
        }
        Map<TopicPartition, Long> end = consumer.endOffsets(tps);
        tps.forEach(tp -> assertThat(end.get(tp)).isEqualTo(offsetsByPartition.get(tp.partition()).size()));
    }

    @ParameterizedTest(name = "acks={0}")
    @ValueSource(strings = {"0", "1"})
    void producersWithWeakerAcksWork(String acks) throws Exception {
        String topic = RunnelNode.uniqueName("pc-acks" + acks);
        node.createTopic(topic, 2);
        KafkaProducer<String, String> producer = node.producer(Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false,
                ProducerConfig.ACKS_CONFIG, acks));
        int n = 100;
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            futures.add(producer.send(new ProducerRecord<>(topic, i % 2, "k" + i, "v" + i)));
        }
        producer.flush();
        for (Future<RecordMetadata> f : futures) {
            RecordMetadata md = f.get(T, TimeUnit.SECONDS);
            if (acks.equals("0")) {
                // No response at all for acks=0, so the client cannot know the offset.
                assertThat(md.offset()).isEqualTo(-1);
            } else {
                assertThat(md.offset()).isBetween(0L, n / 2 - 1L);
            }
        }
        KafkaConsumer<String, String> consumer = node.consumer();
        List<TopicPartition> tps = List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1));
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        List<ConsumerRecord<String, String>> received = pollUntil(consumer, n);
        assertThat(received).extracting(ConsumerRecord::value)
                .containsExactlyInAnyOrderElementsOf(IntStream.range(0, n).mapToObj(i -> "v" + i).toList());
        // Per partition, order is send order.
        for (int p = 0; p < 2; p++) {
            int partition = p;
            assertThat(received.stream().filter(r -> r.partition() == partition).map(ConsumerRecord::value).toList())
                    .containsExactlyElementsOf(IntStream.range(0, n).filter(i -> i % 2 == partition)
                            .mapToObj(i -> "v" + i).toList());
        }
    }

    @Test
    void recordAboveMaxMessageBytesIsRejectedAndProducerStaysUsable() throws Exception {
        String topic = RunnelNode.uniqueName("pc-toolarge");
        node.createTopics(new NewTopic(topic, 1, (short) 1).configs(Map.of("max.message.bytes", "4096")));
        KafkaProducer<String, String> producer = node.producer(Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "none",
                ProducerConfig.LINGER_MS_CONFIG, 0));

        RecordMetadata first = producer.send(new ProducerRecord<>(topic, "k", "small")).get(T, TimeUnit.SECONDS);
        assertThat(first.offset()).isZero();

        String big = "x".repeat(10_000);
        assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, "k", big)).get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(RecordTooLargeException.class);

        // The idempotent producer recovers (Kafka's client bumps its epoch) and its next records land next.
        RecordMetadata after = producer.send(new ProducerRecord<>(topic, "k", "after")).get(T, TimeUnit.SECONDS);
        assertThat(after.offset()).isEqualTo(1);
        assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, "k", big)).get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(RecordTooLargeException.class);
        assertThat(producer.send(new ProducerRecord<>(topic, "k", "again")).get(T, TimeUnit.SECONDS).offset())
                .isEqualTo(2);

        KafkaConsumer<String, String> consumer = node.consumer();
        TopicPartition tp = new TopicPartition(topic, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        assertThat(pollUntil(consumer, 3)).extracting(ConsumerRecord::value)
                .containsExactly("small", "after", "again");
    }

    /** Polls until at least {@code n} records came back or 30 s passed; then polls once more for extras. */
    static List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> consumer, int n) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (out.size() < n && System.nanoTime() < deadline) {
            consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        }
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
        return out;
    }
}
