package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * auto.create.topics.enable=true: a Metadata request that allows auto-creation (producer, consumer)
 * creates an unknown topic with num.partitions; one that does not (Admin, or a consumer with
 * allow.auto.create.topics=false) leaves it unknown.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AutoCreateIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create();

    private static final long T = 30;

    @BeforeEach
    void brokerHasAutoCreateOn() throws Exception {
        // Only an external broker can have it off; AutoCreateDisabledIT covers that case.
        assumeTrue("true".equals(node.brokerConfig("auto.create.topics.enable")),
                "needs a broker configured with auto.create.topics.enable=true");
    }

    @Test
    void producingToAnUnknownTopicCreatesItWithNumPartitions() throws Exception {
        String topic = RunnelNode.uniqueName("auto-produce");
        KafkaProducer<String, String> producer = node.producer();
        RecordMetadata md = producer.send(new ProducerRecord<>(topic, "k", "v")).get(T, TimeUnit.SECONDS);
        assertThat(md.offset()).isZero();

        int expected = node.defaultPartitions();
        assertThat(producer.partitionsFor(topic)).hasSize(expected);
        TopicDescription d = node.admin().describeTopics(Set.of(topic)).allTopicNames().get(T, TimeUnit.SECONDS)
                .get(topic);
        assertThat(d.partitions()).hasSize(expected)
                .allSatisfy(p -> assertThat(p.leader()).isNotNull());
        assertThat(node.admin().listTopics().names().get(T, TimeUnit.SECONDS)).contains(topic);
    }

    @Test
    void consumerMetadataForAnUnknownTopicCreatesIt() throws Exception {
        String topic = RunnelNode.uniqueName("auto-consume");
        KafkaConsumer<String, String> consumer = node.consumer(
                Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, true));
        // Kafka 4.2 answers this first Metadata request with UNKNOWN_TOPIC_OR_PARTITION while it creates the
        // topic in the background (not LEADER_NOT_AVAILABLE as older brokers did), so the first answer may
        // be empty; the request alone must have created the topic.
        consumer.partitionsFor(topic);
        Await.until("topic created", () -> node.admin().listTopics().names().get().contains(topic));
        int expected = node.defaultPartitions();
        Await.until("consumer sees every partition", () -> consumer.partitionsFor(topic).size() == expected);
        List<PartitionInfo> partitions = consumer.partitionsFor(topic);
        assertThat(partitions).allSatisfy(p -> {
            assertThat(p.topic()).isEqualTo(topic);
            assertThat(p.leader()).isNotNull();
        });
    }

    @Test
    void metadataThatDisallowsAutoCreationLeavesTheTopicUnknown() throws Exception {
        String topic = RunnelNode.uniqueName("auto-off");
        KafkaConsumer<String, String> consumer = node.consumer(
                Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false));
        assertThat(consumer.partitionsFor(topic)).isEmpty();
        assertThatThrownBy(() -> node.admin().describeTopics(Set.of(topic)).allTopicNames()
                .get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
        assertThat(node.admin().listTopics().names().get(T, TimeUnit.SECONDS)).doesNotContain(topic);
    }

    @Test
    void producingToAnInvalidTopicNameFailsInsteadOfCreatingIt() throws Exception {
        KafkaProducer<String, String> producer = node.producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000));
        assertThatThrownBy(() -> producer.send(new ProducerRecord<>("no spaces allowed", "k", "v"))
                .get(T, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidTopicException.class);
        assertThat(node.admin().listTopics().names().get(T, TimeUnit.SECONDS)).doesNotContain("no spaces allowed");
    }
}
