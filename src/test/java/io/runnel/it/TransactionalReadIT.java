package io.runnel.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The log side of transactions through the wire, with the official consumer and admin client: transactional
 * batches written with raw Produce requests, ended with WriteTxnMarkers as a transaction coordinator sends
 * them, and read back with read_committed (committed records only, stopping at the last stable offset) and
 * read_uncommitted (everything but the markers).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TransactionalReadIT {

    @RegisterExtension
    // the batches are written as a coordinator would let them in, without one: as Kafka with
    // transaction.partition.verification.enable=false, the leader takes them unchecked (produce v11)
    static final RunnelNode node = RunnelNode.create().withProperty("transaction.partition.verification.enable", "false");

    private static final short PRODUCE_VERSION = 11;
    private static final short MARKERS_VERSION = 1;

    @Test
    void readCommittedSeesOnlyCommittedRecordsUpToTheLastStableOffset() throws Exception {
        String topic = RunnelNode.uniqueName("txn-read");
        node.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        String[] hostPort = {node.bootstrapServers().split(",")[0]};
        Admin admin = node.admin();
        try (RawKafkaClient client = new RawKafkaClient(hostPort[0])) {
            long pid = client.initProducerId();
            short epoch = 0;
            assertThat(produce(client, topic, pid, epoch, 0, "c1", "c2")).isEqualTo(Errors.NONE);
            assertThat(markers(client, topic, pid, epoch, true, 0)).isEqualTo(Errors.NONE);
            assertThat(produce(client, topic, pid, epoch, 2, "a1")).isEqualTo(Errors.NONE);
            assertThat(markers(client, topic, pid, epoch, false, 0)).isEqualTo(Errors.NONE);
            assertThat(produce(client, topic, pid, epoch, 3, "c3")).isEqualTo(Errors.NONE);
            assertThat(markers(client, topic, pid, epoch, true, 0)).isEqualTo(Errors.NONE);
            // offsets: c1 0, c2 1, COMMIT 2, a1 3, ABORT 4, c3 5, COMMIT 6, open 7
            assertThat(produce(client, topic, pid, epoch, 4, "open")).isEqualTo(Errors.NONE);

            assertThat(latest(admin, tp, IsolationLevel.READ_UNCOMMITTED)).isEqualTo(8);
            assertThat(latest(admin, tp, IsolationLevel.READ_COMMITTED)).isEqualTo(7);
            ProducerState state = admin.describeProducers(List.of(tp)).partitionResult(tp).get(10, TimeUnit.SECONDS)
                    .activeProducers().get(0);
            assertThat(state.producerId()).isEqualTo(pid);
            assertThat(state.currentTransactionStartOffset()).hasValue(7);

            try (KafkaConsumer<String, String> committed = consumer(IsolationLevel.READ_COMMITTED, tp);
                 KafkaConsumer<String, String> uncommitted = consumer(IsolationLevel.READ_UNCOMMITTED, tp)) {
                assertThat(readUntil(committed, tp, 7)).containsExactly("c1", "c2", "c3");
                assertThat(readUntil(uncommitted, tp, 8)).containsExactly("c1", "c2", "a1", "c3", "open");
                // a read_committed consumer stops at the last stable offset: nothing more while it is open
                assertThat(committed.poll(Duration.ofMillis(500))).isEmpty();
                assertThat(committed.position(tp)).isEqualTo(7);

                // a zombie coordinator's marker (lower producer epoch) is refused; the bumped one ends the txn
                assertThat(markers(client, topic, pid, (short) 1, false, 0)).isEqualTo(Errors.NONE);
                assertThat(produce(client, topic, pid, epoch, 5, "zombie")).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
                assertThat(markers(client, topic, pid, epoch, false, 0)).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
                assertThat(latest(admin, tp, IsolationLevel.READ_COMMITTED)).isEqualTo(9);
                assertThat(readUntil(committed, tp, 9)).isEmpty();
            }
            assertThat(markersTo(client, topic, 7, pid, (short) 1, true))
                    .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
        }
    }

    @Test
    void longPollOfAReadCommittedConsumerWakesWhenTheTransactionCommits() throws Exception {
        String topic = RunnelNode.uniqueName("txn-poll");
        node.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        try (RawKafkaClient client = new RawKafkaClient(node.bootstrapServers().split(",")[0]);
             KafkaConsumer<String, String> committed = consumer(IsolationLevel.READ_COMMITTED, tp)) {
            long pid = client.initProducerId();
            assertThat(produce(client, topic, pid, (short) 0, 0, "x", "y")).isEqualTo(Errors.NONE);
            assertThat(committed.poll(Duration.ofMillis(300))).isEmpty();
            Thread committer = new Thread(() -> {
                try {
                    Thread.sleep(300);
                    markers(client, topic, pid, (short) 0, true, 0);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            committer.start();
            List<String> got = readUntil(committed, tp, 3);
            committer.join();
            assertThat(got).containsExactly("x", "y");
        }
    }

    @Test
    void anOpenTransactionSurvivesARestartAndItsAbortIsStillFiltered() throws Exception {
        assumeTrue(node.canRestart(), "needs a broker this test can restart");
        String topic = RunnelNode.uniqueName("txn-restart");
        node.createTopic(topic, 1);
        TopicPartition tp = new TopicPartition(topic, 0);
        long pid;
        try (RawKafkaClient client = new RawKafkaClient(node.bootstrapServers().split(",")[0])) {
            pid = client.initProducerId();
            assertThat(produce(client, topic, pid, (short) 0, 0, "kept")).isEqualTo(Errors.NONE);
            assertThat(markers(client, topic, pid, (short) 0, true, 0)).isEqualTo(Errors.NONE);
            // offsets: kept 0, COMMIT 1, dropped 2-3 (open across the restart)
            assertThat(produce(client, topic, pid, (short) 0, 1, "dropped", "dropped-too")).isEqualTo(Errors.NONE);
        }
        node.restart();
        // clients opened once the broker is back
        try (RawKafkaClient client = new RawKafkaClient(node.bootstrapServers().split(",")[0]);
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers()))) {
            long deadline = System.currentTimeMillis() + 30_000;
            while (latest(admin, tp, IsolationLevel.READ_UNCOMMITTED) < 4) {
                assertThat(System.currentTimeMillis()).as("partition back after the restart").isLessThan(deadline);
                Thread.sleep(100);
            }
            assertThat(latest(admin, tp, IsolationLevel.READ_COMMITTED)).isEqualTo(2);
            assertThat(markers(client, topic, pid, (short) 0, false, 0)).isEqualTo(Errors.NONE);
            assertThat(latest(admin, tp, IsolationLevel.READ_COMMITTED)).isEqualTo(5);
            try (KafkaConsumer<String, String> committed = consumer(IsolationLevel.READ_COMMITTED, tp)) {
                assertThat(readUntil(committed, tp, 5)).containsExactly("kept");
            }
        }
        // nothing open now: after another restart the replayed, closed transactions hold nothing back
        node.restart();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrapServers()))) {
            long deadline = System.currentTimeMillis() + 30_000;
            while (latest(admin, tp, IsolationLevel.READ_UNCOMMITTED) < 5) {
                assertThat(System.currentTimeMillis()).as("partition back after the restart").isLessThan(deadline);
                Thread.sleep(100);
            }
            assertThat(latest(admin, tp, IsolationLevel.READ_COMMITTED)).isEqualTo(5);
        }
    }

    private static KafkaConsumer<String, String> consumer(IsolationLevel level, TopicPartition tp) {
        KafkaConsumer<String, String> c = node.consumer(Map.of(
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, level.toString(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 2000));
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        return c;
    }

    /** Polls until the consumer's position reaches {@code position}; the values read. */
    private static List<String> readUntil(KafkaConsumer<String, String> c, TopicPartition tp, long position) {
        List<String> out = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 30_000;
        while (c.position(tp) < position) {
            assertThat(System.currentTimeMillis()).as("position %d reached", position).isLessThan(deadline);
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                out.add(r.value());
            }
        }
        return out;
    }

    private static long latest(Admin admin, TopicPartition tp, IsolationLevel level) throws Exception {
        return admin.listOffsets(Map.of(tp, OffsetSpec.latest()), new ListOffsetsOptions(level))
                .partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
    }

    private static Errors produce(RawKafkaClient client, String topic, long pid, short epoch, int seq,
                                  String... values) throws Exception {
        SimpleRecord[] records = new SimpleRecord[values.length];
        for (int i = 0; i < values.length; i++) {
            records[i] = new SimpleRecord(System.currentTimeMillis(), ("k" + i).getBytes(StandardCharsets.UTF_8),
                    values[i].getBytes(StandardCharsets.UTF_8));
        }
        MemoryRecords batch = MemoryRecords.withTransactionalRecords(Compression.NONE, pid, epoch, seq, records);
        ProduceRequestData req = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000)
                .setTransactionalId("txn-read-it");
        ProduceRequestData.TopicProduceData td = new ProduceRequestData.TopicProduceData().setName(topic);
        td.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(batch));
        req.topicData().add(td);
        client.send(ApiKeys.PRODUCE, PRODUCE_VERSION, req);
        ByteBuffer body = client.receive(ApiKeys.PRODUCE, PRODUCE_VERSION);
        ProduceResponseData resp = new ProduceResponseData(new ByteBufferAccessor(body), PRODUCE_VERSION);
        return Errors.forCode(resp.responses().iterator().next().partitionResponses().get(0).errorCode());
    }

    private static Errors markers(RawKafkaClient client, String topic, long pid, short epoch, boolean commit,
                                  int coordinatorEpoch) throws Exception {
        return markersTo(client, topic, 0, pid, epoch, commit);
    }

    private static Errors markersTo(RawKafkaClient client, String topic, int partition, long pid, short epoch,
                                    boolean commit) throws Exception {
        WriteTxnMarkersRequestData req = new WriteTxnMarkersRequestData();
        WriteTxnMarkersRequestData.WritableTxnMarker m = new WriteTxnMarkersRequestData.WritableTxnMarker()
                .setProducerId(pid).setProducerEpoch(epoch).setTransactionResult(commit).setCoordinatorEpoch(0);
        m.topics().add(new WriteTxnMarkersRequestData.WritableTxnMarkerTopic().setName(topic)
                .setPartitionIndexes(List.of(partition)));
        req.markers().add(m);
        client.send(ApiKeys.WRITE_TXN_MARKERS, MARKERS_VERSION, req);
        ByteBuffer body = client.receive(ApiKeys.WRITE_TXN_MARKERS, MARKERS_VERSION);
        WriteTxnMarkersResponseData resp = new WriteTxnMarkersResponseData(new ByteBufferAccessor(body),
                MARKERS_VERSION);
        assertThat(resp.markers()).hasSize(1);
        assertThat(resp.markers().get(0).producerId()).isEqualTo(pid);
        return Errors.forCode(resp.markers().get(0).topics().get(0).partitions().get(0).errorCode());
    }
}
