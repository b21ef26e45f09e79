package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A clean stop and start on the same data directory keeps topics, configs, records, the log start
 * offset, committed offsets and idempotent producer state. Runs against the in-process node, or an
 * external broker only when {@code -Dit.restartCommand} tells the fixture how to restart it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RestartIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final long T = 30;

    @BeforeEach
    void inProcessOnly() {
        assumeTrue(node.canRestart(), "restart needs an in-process Runnel node or -Dit.restartCommand");
    }

    @Test
    void everythingAcknowledgedSurvivesACleanRestart() throws Exception {
        String topic = RunnelNode.uniqueName("restart");
        String group = RunnelNode.uniqueName("restart-group");
        node.createTopics(new NewTopic(topic, 2, (short) 1).configs(Map.of("retention.ms", "86400123")));
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);

        // Kept open across the restart: its producer id and sequences must still be accepted afterwards.
        KafkaProducer<String, String> survivor = node.producer(Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4"));
        List<String> expected = new ArrayList<>();
        sendAndCheckOffsets(survivor, topic, "before", 25, 0, expected);

        node.admin().deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(5))).all().get(T, TimeUnit.SECONDS);
        expected.removeIf(v -> v.startsWith("before-p0-") && Integer.parseInt(v.substring(10)) < 5);
        try (KafkaConsumer<String, String> committer = node.consumer(
                Map.of(ConsumerConfig.GROUP_ID_CONFIG, group), false)) {
            committer.commitSync(Map.of(p0, new OffsetAndMetadata(10, "m0"), p1, new OffsetAndMetadata(20, "m1")));
        }

        node.restart();

        assertThat(node.admin().listTopics().names().get(T, TimeUnit.SECONDS)).contains(topic);
        assertThat(node.admin().describeTopics(Set.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS)
                .get(topic).partitions()).hasSize(2).allSatisfy(p -> assertThat(p.leader()).isNotNull());
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        ConfigEntry retention = node.admin().describeConfigs(List.of(res)).all().get(T, TimeUnit.SECONDS)
                .get(res).get("retention.ms");
        assertThat(retention.value()).isEqualTo("86400123");
        assertThat(retention.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        assertThat(offset(p0, OffsetSpec.earliest())).isEqualTo(5);
        assertThat(offset(p0, OffsetSpec.latest())).isEqualTo(25);
        assertThat(offset(p1, OffsetSpec.earliest())).isZero();
        assertThat(offset(p1, OffsetSpec.latest())).isEqualTo(25);

        Map<TopicPartition, OffsetAndMetadata> committed = node.admin().listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get(T, TimeUnit.SECONDS);
        assertThat(committed).containsOnly(
                Map.entry(p0, new OffsetAndMetadata(10, "m0")), Map.entry(p1, new OffsetAndMetadata(20, "m1")));

        // The same producer continues its sequences; a broker that forgot them would answer
        // OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID here.
        sendAndCheckOffsets(survivor, topic, "survivor", 5, 25, expected);
        KafkaProducer<String, String> fresh = node.producer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true));
        sendAndCheckOffsets(fresh, topic, "fresh", 5, 30, expected);

        KafkaConsumer<String, String> reader = node.consumer();
        reader.assign(List.of(p0, p1));
        reader.seekToBeginning(List.of(p0, p1));
        List<ConsumerRecord<String, String>> all = ProducerConsumerIT.pollUntil(reader, expected.size());
        assertThat(all).extracting(ConsumerRecord::value).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(all.stream().filter(r -> r.partition() == 0).map(ConsumerRecord::offset).toList())
                .containsExactlyElementsOf(LongRange.of(5, 35));

        KafkaConsumer<String, String> resumed = node.consumer(Map.of(ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"));
        resumed.subscribe(List.of(topic));
        List<ConsumerRecord<String, String>> rest = ProducerConsumerIT.pollUntil(resumed, (35 - 10) + (35 - 20));
        Map<Integer, Long> firstOffset = rest.stream().collect(Collectors.toMap(
                ConsumerRecord::partition, ConsumerRecord::offset, Math::min));
        assertThat(firstOffset).containsOnly(Map.entry(0, 10L), Map.entry(1, 20L));
        assertThat(rest).hasSize((35 - 10) + (35 - 20));
    }

    @Test
    void restartTwiceInARowWithNothingWrittenInBetween() throws Exception {
        String topic = RunnelNode.uniqueName("restart-idle");
        node.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        node.producer().send(new ProducerRecord<>(topic, 0, "k", "v")).get(T, TimeUnit.SECONDS);
        node.restart();
        node.restart();
        assertThat(offset(tp, OffsetSpec.latest())).isEqualTo(1);
        RecordMetadata md = node.producer().send(new ProducerRecord<>(topic, 0, "k", "w")).get(T, TimeUnit.SECONDS);
        assertThat(md.offset()).isEqualTo(1);
    }

    /** Sends {@code perPartition} records to each of partitions 0 and 1 and checks their offsets start at {@code from}. */
    private static void sendAndCheckOffsets(KafkaProducer<String, String> producer, String topic, String tag,
            int perPartition, long from, List<String> expected) throws Exception {
        Map<Integer, List<Future<RecordMetadata>>> acks = new HashMap<>();
        for (int i = 0; i < perPartition; i++) {
            for (int p = 0; p < 2; p++) {
                String value = tag + "-p" + p + "-" + i;
                expected.add(value);
                acks.computeIfAbsent(p, x -> new ArrayList<>())
                        .add(producer.send(new ProducerRecord<>(topic, p, "k" + i, value)));
            }
        }
        producer.flush();
        for (Map.Entry<Integer, List<Future<RecordMetadata>>> e : acks.entrySet()) {
            List<Long> offsets = new ArrayList<>();
            for (Future<RecordMetadata> f : e.getValue()) {
                offsets.add(f.get(T, TimeUnit.SECONDS).offset());
            }
            assertThat(offsets).as("partition %d", e.getKey()).containsExactlyElementsOf(LongRange.of(from,
                    from + perPartition));
        }
    }

    private static long offset(TopicPartition tp, OffsetSpec spec) throws Exception {
        return node.admin().listOffsets(Map.of(tp, spec)).partitionResult(tp).get(T, TimeUnit.SECONDS).offset();
    }

    private static final class LongRange {
        static List<Long> of(long fromInclusive, long toExclusive) {
            return IntStream.range(0, (int) (toExclusive - fromInclusive)).mapToObj(i -> fromInclusive + i).toList();
        }
    }
}
