package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * auto.create.topics.enable=false on the broker wins over what clients allow. Needs its own broker
 * configuration: it runs against the in-process node, or an external broker that reports the setting off.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AutoCreateDisabledIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create().withProperty("auto.create.topics.enable", "false");

    @BeforeEach
    void brokerHasAutoCreateOff() throws Exception {
        assumeTrue("false".equals(node.brokerConfig("auto.create.topics.enable")),
                "needs a broker configured with auto.create.topics.enable=false");
    }

    @Test
    void unknownTopicStaysUnknownForProducersAndConsumers() throws Exception {
        String topic = RunnelNode.uniqueName("noauto");
        KafkaProducer<String, String> producer = node.producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 2_000));
        // Kafka's producer waits max.block.ms for metadata that never names the topic, then times out.
        assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);
        assertThat(node.consumer(Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, true))
                .partitionsFor(topic)).isEmpty();
        assertThat(node.admin().listTopics().names().get(30, TimeUnit.SECONDS)).doesNotContain(topic);
    }
}
