package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ListOffsets by earliest, latest, max timestamp and timestamp, through both the Admin client and the
 * consumer. Timestamps deliberately go out of order so "first offset at or after T" and "offset of
 * the largest timestamp" differ from "last offset".
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ListOffsetsIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final long T = 30;
    private static final long[] DELTAS = {1000, 2000, 5000, 3000, 4000};

    @Test
    void offsetsByTimeAndMaxTimestampAcrossSeparateBatchesAndWithinOneBatch() throws Exception {
        String topic = RunnelNode.uniqueName("lo-times");
        node.createTopic(topic, 3);
        long base = System.currentTimeMillis() - 3_600_000;
        TopicPartition separate = new TopicPartition(topic, 0);
        TopicPartition oneBatch = new TopicPartition(topic, 1);
        TopicPartition empty = new TopicPartition(topic, 2);

        KafkaProducer<String, String> producer = node.producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 0));
        for (long d : DELTAS) {
            producer.send(new ProducerRecord<>(topic, 0, base + d, "k", "v" + d)).get(T, TimeUnit.SECONDS);
        }
        KafkaProducer<String, String> batching = node.producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 10_000));
        List<Future<RecordMetadata>> acks = new ArrayList<>();
        for (long d : DELTAS) {
            acks.add(batching.send(new ProducerRecord<>(topic, 1, base + d, "k", "v" + d)));
        }
        batching.flush();
        for (Future<RecordMetadata> f : acks) {
            f.get(T, TimeUnit.SECONDS);
        }

        for (TopicPartition tp : List.of(separate, oneBatch)) {
            assertOffset(tp, OffsetSpec.earliest(), 0, -1);
            assertOffset(tp, OffsetSpec.latest(), 5, -1);
            assertOffset(tp, OffsetSpec.maxTimestamp(), 2, base + 5000);
            assertOffset(tp, OffsetSpec.forTimestamp(base), 0, base + 1000);
            assertOffset(tp, OffsetSpec.forTimestamp(base + 1000), 0, base + 1000);
            assertOffset(tp, OffsetSpec.forTimestamp(base + 1500), 1, base + 2000);
            // The first offset whose timestamp is >= the target, not the closest timestamp.
            assertOffset(tp, OffsetSpec.forTimestamp(base + 2500), 2, base + 5000);
            assertOffset(tp, OffsetSpec.forTimestamp(base + 3500), 2, base + 5000);
            assertOffset(tp, OffsetSpec.forTimestamp(base + 5000), 2, base + 5000);
            assertOffset(tp, OffsetSpec.forTimestamp(base + 5001), -1, -1);
        }
        assertOffset(empty, OffsetSpec.earliest(), 0, -1);
        assertOffset(empty, OffsetSpec.latest(), 0, -1);
        assertOffset(empty, OffsetSpec.maxTimestamp(), -1, -1);
        assertOffset(empty, OffsetSpec.forTimestamp(base), -1, -1);

        KafkaConsumer<String, String> consumer = node.consumer();
        List<TopicPartition> all = List.of(separate, oneBatch, empty);
        assertThat(consumer.beginningOffsets(all)).containsOnly(
                Map.entry(separate, 0L), Map.entry(oneBatch, 0L), Map.entry(empty, 0L));
        assertThat(consumer.endOffsets(all)).containsOnly(
                Map.entry(separate, 5L), Map.entry(oneBatch, 5L), Map.entry(empty, 0L));
        Map<TopicPartition, Long> query = new HashMap<>();
        query.put(separate, base + 3500);
        query.put(oneBatch, base + 1500);
        query.put(empty, base);
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query);
        // A new topic's leader epoch is 0, and ListOffsets reports it with the offset.
        assertThat(found.get(separate)).isEqualTo(new OffsetAndTimestamp(2, base + 5000, Optional.of(0)));
        assertThat(found.get(oneBatch)).isEqualTo(new OffsetAndTimestamp(1, base + 2000, Optional.of(0)));
        // The consumer maps "no such offset" to null.
        assertThat(found).containsEntry(empty, null);
        assertThat(consumer.offsetsForTimes(Map.of(separate, base + 9999))).containsEntry(separate, null);

        // Seeking to the found offset reads from inside the batch, not from its start.
        consumer.assign(List.of(oneBatch));
        consumer.seek(oneBatch, found.get(oneBatch).offset());
        List<ConsumerRecord<String, String>> read = ProducerConsumerIT.pollUntil(consumer, 4);
        assertThat(read).extracting(ConsumerRecord::offset).containsExactly(1L, 2L, 3L, 4L);
        assertThat(read).extracting(ConsumerRecord::timestamp)
                .containsExactly(base + 2000, base + 5000, base + 3000, base + 4000);
    }

    @Test
    void logAppendTimeTopicStampsRecordsWithTheBrokerClock() throws Exception {
        String topic = RunnelNode.uniqueName("lo-appendtime");
        node.createTopics(new NewTopic(topic, 1, (short) 1)
                .configs(Map.of("message.timestamp.type", "LogAppendTime")));
        TopicPartition tp = new TopicPartition(topic, 0);
        long clientTime = System.currentTimeMillis() - 3_600_000;
        long before = System.currentTimeMillis();
        RecordMetadata md = node.producer().send(new ProducerRecord<>(topic, 0, clientTime, "k", "v"))
                .get(T, TimeUnit.SECONDS);
        long after = System.currentTimeMillis();
        // The produce response carries the append time, and the client reports it instead of its own.
        assertThat(md.timestamp()).isBetween(before - 1000, after + 1000);

        KafkaConsumer<String, String> consumer = node.consumer();
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        ConsumerRecord<String, String> r = ProducerConsumerIT.pollUntil(consumer, 1).get(0);
        assertThat(r.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(r.timestamp()).isEqualTo(md.timestamp());
        assertOffset(tp, OffsetSpec.forTimestamp(clientTime), 0, md.timestamp());
        assertOffset(tp, OffsetSpec.maxTimestamp(), 0, md.timestamp());
    }

    private static void assertOffset(TopicPartition tp, OffsetSpec spec, long offset, long timestamp)
            throws Exception {
        ListOffsetsResultInfo info = node.admin().listOffsets(Map.of(tp, spec)).partitionResult(tp)
                .get(T, TimeUnit.SECONDS);
        assertThat(info.offset()).as("offset of %s for %s", tp, spec).isEqualTo(offset);
        assertThat(info.timestamp()).as("timestamp of %s for %s", tp, spec).isEqualTo(timestamp);
        assertThat(info.leaderEpoch()).as("leader epoch of %s for %s", tp, spec)
                .isEqualTo(offset < 0 ? Optional.empty() : Optional.of(0));
    }
}
