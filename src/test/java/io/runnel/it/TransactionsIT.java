package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Transactions with the official Java producer on one node: interleaved commits and aborts over several
 * partitions (a read_committed consumer sees exactly the committed records, in order, a read_uncommitted one sees
 * all), a zombie producer fenced by its successor, a hung transaction aborted by its timeout, and the transaction
 * admin APIs (kafka-transactions.sh's).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransactionsIT {

    @RegisterExtension
    static final RunnelNode node = RunnelNode.create()
            .withProperty("transaction.abort.timed.out.transaction.cleanup.interval.ms", "500")
            .withProperty("transaction.state.log.num.partitions", "5");

    private static final int PARTITIONS = 3;

    private KafkaProducer<String, String> transactional(String id, Map<String, Object> extra) {
        Map<String, Object> p = new HashMap<>(extra);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return node.producer(p);
    }

    private List<String> readAll(String topic, String isolation, int expected) throws Exception {
        KafkaConsumer<String, String> c = node.consumer(Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation));
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            tps.add(new TopicPartition(topic, p));
        }
        c.assign(tps);
        List<String> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (out.size() < expected && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                out.add(r.partition() + ":" + r.value());
            }
        }
        // and nothing more arrives
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
            out.add(r.partition() + ":" + r.value());
        }
        return out;
    }

    @Test
    void interleavedCommitsAndAbortsAreSeenAsWholes() throws Exception {
        String topic = RunnelNode.uniqueName("txn");
        String id = RunnelNode.uniqueName("tid");
        node.createTopic(topic, PARTITIONS);
        KafkaProducer<String, String> producer = transactional(id, Map.of());
        producer.initTransactions();
        List<String> committed = new ArrayList<>();
        int total = 0;
        for (int t = 0; t < 6; t++) {
            producer.beginTransaction();
            List<String> sent = new ArrayList<>();
            for (int i = 0; i < 3 * PARTITIONS; i++) {
                int partition = i % PARTITIONS;
                String value = "t" + t + "-" + i;
                producer.send(new ProducerRecord<>(topic, partition, null, value));
                sent.add(partition + ":" + value);
                total++;
            }
            if (t % 2 == 0) {
                producer.commitTransaction();
                committed.addAll(sent);
            } else {
                // sent first: an abort drops the batches the producer has not sent yet
                producer.flush();
                producer.abortTransaction();
            }
        }
        List<String> readCommitted = readAll(topic, "read_committed", committed.size());
        assertThat(readCommitted).containsExactlyInAnyOrderElementsOf(committed);
        for (int p = 0; p < PARTITIONS; p++) {
            String prefix = p + ":";
            assertThat(readCommitted.stream().filter(s -> s.startsWith(prefix)).toList()).as("order in " + p)
                    .isEqualTo(committed.stream().filter(s -> s.startsWith(prefix)).toList());
        }
        assertThat(readAll(topic, "read_uncommitted", total)).hasSize(total);

        // EndTxn is answered once the decision is written; the markers complete it a moment later
        Await.until("the last abort completed", () -> node.admin().describeTransactions(Set.of(id)).description(id)
                .get(10, TimeUnit.SECONDS).state() == org.apache.kafka.clients.admin.TransactionState.COMPLETE_ABORT);
        TransactionDescription d = node.admin().describeTransactions(Set.of(id)).description(id)
                .get(10, TimeUnit.SECONDS);
        // transaction version 2 (finalized in ApiVersions, as Kafka 4.4 does): every end bumped the epoch, and
        // the partitions joined the transactions through the produce path (the client sent no AddPartitionsToTxn)
        assertThat(d.producerEpoch()).isEqualTo(6);
        assertThat(d.topicPartitions()).isEmpty();
        List<TransactionListing> listed = new ArrayList<>(node.admin().listTransactions().all()
                .get(10, TimeUnit.SECONDS));
        assertThat(listed).extracting(TransactionListing::transactionalId).contains(id);
    }

    @Test
    void offsetsSentToACommittedTransactionBecomeTheGroupsAndToAnAbortedOneDoNot() throws Exception {
        String topic = RunnelNode.uniqueName("offsets");
        String group = RunnelNode.uniqueName("group");
        node.createTopic(topic, PARTITIONS);
        TopicPartition tp = new TopicPartition(topic, 0);
        KafkaProducer<String, String> producer = transactional(RunnelNode.uniqueName("tid"), Map.of());
        producer.initTransactions();
        // a version-2 client sends no AddOffsetsToTxn: the group coordinator adds the offsets partition
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, 0, null, "x"));
        producer.sendOffsetsToTransaction(Map.of(tp, new org.apache.kafka.clients.consumer.OffsetAndMetadata(5)),
                new org.apache.kafka.clients.consumer.ConsumerGroupMetadata(group));
        producer.commitTransaction();
        Await.until("the committed offset", () -> {
            var o = node.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(10, TimeUnit.SECONDS).get(tp);
            return o != null && o.offset() == 5;
        });
        producer.beginTransaction();
        producer.sendOffsetsToTransaction(Map.of(tp, new org.apache.kafka.clients.consumer.OffsetAndMetadata(9)),
                new org.apache.kafka.clients.consumer.ConsumerGroupMetadata(group));
        producer.abortTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, 1, null, "y"));
        producer.commitTransaction();
        assertThat(node.admin().listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                .get(10, TimeUnit.SECONDS).get(tp).offset()).isEqualTo(5);
    }

    @Test
    void aZombieIsFencedAndItsTransactionAborted() throws Exception {
        String topic = RunnelNode.uniqueName("zombie");
        String id = RunnelNode.uniqueName("tid");
        node.createTopic(topic, PARTITIONS);
        KafkaProducer<String, String> zombie = transactional(id, Map.of());
        zombie.initTransactions();
        zombie.beginTransaction();
        zombie.send(new ProducerRecord<>(topic, 0, null, "zombie")).get(10, TimeUnit.SECONDS);

        KafkaProducer<String, String> successor = transactional(id, Map.of());
        successor.initTransactions(); // aborts the zombie's transaction first
        successor.beginTransaction();
        successor.send(new ProducerRecord<>(topic, 0, null, "successor"));
        successor.commitTransaction();

        assertThatThrownBy(() -> {
            zombie.send(new ProducerRecord<>(topic, 0, null, "late")).get(10, TimeUnit.SECONDS);
            zombie.commitTransaction();
        }).satisfiesAnyOf(
                e -> assertThat(e).hasCauseInstanceOf(ProducerFencedException.class),
                e -> assertThat(e).isInstanceOf(ProducerFencedException.class),
                e -> assertThat(e).hasCauseInstanceOf(InvalidProducerEpochException.class),
                e -> assertThat(e).isInstanceOf(KafkaException.class));
        assertThat(readAll(topic, "read_committed", 1)).containsExactly("0:successor");
    }

    @Test
    void aHungTransactionIsAbortedByItsTimeout() throws Exception {
        String topic = RunnelNode.uniqueName("hung");
        String id = RunnelNode.uniqueName("tid");
        node.createTopic(topic, PARTITIONS);
        KafkaProducer<String, String> hung = transactional(id, Map.of(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                2000));
        hung.initTransactions();
        hung.beginTransaction();
        hung.send(new ProducerRecord<>(topic, 1, null, "never-committed")).get(10, TimeUnit.SECONDS);
        // the coordinator aborts it on its own
        Await.until("the hung transaction aborted", () -> {
            TransactionDescription d = node.admin().describeTransactions(Set.of(id)).description(id)
                    .get(10, TimeUnit.SECONDS);
            return d.state() == org.apache.kafka.clients.admin.TransactionState.COMPLETE_ABORT;
        });
        // a read_committed consumer reads past it: later committed data is visible
        KafkaProducer<String, String> other = transactional(RunnelNode.uniqueName("tid"), Map.of());
        other.initTransactions();
        other.beginTransaction();
        other.send(new ProducerRecord<>(topic, 1, null, "after"));
        other.commitTransaction();
        assertThat(readAll(topic, "read_committed", 1)).containsExactly("1:after");
        assertThatThrownBy(hung::commitTransaction).isInstanceOf(KafkaException.class);
    }
}
