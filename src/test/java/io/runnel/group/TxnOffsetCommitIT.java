package io.runnel.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.log.LogBatch;
import io.runnel.log.LogReadResult;
import io.runnel.partition.PartitionOwner;
import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestGroup;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TxnOffsetCommit against a real node, with raw requests standing in for the transactional producer and its
 * coordinator (InitProducerId, EndTxn and the marker sender are other parts of the transactions work): the offsets land in {@code __consumer_offsets} as a
 * transactional batch of the producer, a lower epoch is fenced by the partition, a stable OffsetFetch (and a
 * Java consumer's committed(), which always asks for stable offsets) sees the offset as unstable until the transaction ends, and
 * all of it survives a restart (the replay keeps the transaction open); WriteTxnMarkers COMMIT then makes them
 * the group's offsets, ABORT drops them, and a replay of the log with its markers agrees.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class TxnOffsetCommitIT {

    private static final int PARTITIONS = 4;
    private static final String GROUP = "txn-it-group";
    private static final String TOPIC = "orders";
    private static final long PID = 777_000L;

    @TempDir
    Path dir;
    private Broker broker;

    @AfterEach
    void stop() throws Exception {
        if (broker != null) {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private void start() throws Exception {
        broker = Broker.start(Map.of("log.dirs", dir.toString(), "listeners", "PLAINTEXT://127.0.0.1:0",
                "admin.listener", "127.0.0.1:0", "offsets.topic.num.partitions", Integer.toString(PARTITIONS),
                "group.initial.rebalance.delay.ms", "0",
                // this test plays the transaction coordinator itself (raw TxnOffsetCommit and markers of a producer
                // id the real coordinator never gave out), so the leader must not ask that coordinator (KIP-890)
                "transaction.partition.verification.enable", "false")).toCompletionStage().toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
    }

    private Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        return Admin.create(p);
    }

    /** Waits until the group's coordinator answers (the first search creates {@code __consumer_offsets}). */
    private void awaitCoordinator(Admin admin) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                admin.listConsumerGroupOffsets(GROUP).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                assertThat(System.nanoTime()).as("coordinator of %s available", GROUP).isLessThan(deadline);
                Thread.sleep(100);
            }
        }
    }

    private static Errors txnCommit(RawKafkaClient raw, short version, short epoch, int partition, long offset)
            throws Exception {
        TxnOffsetCommitRequestData request = new TxnOffsetCommitRequestData().setTransactionalId("tx-1")
                .setGroupId(GROUP).setProducerId(PID).setProducerEpoch(epoch)
                .setTopics(List.of(new TxnOffsetCommitRequestTopic().setName(TOPIC).setPartitions(List.of(
                        new TxnOffsetCommitRequestPartition().setPartitionIndex(partition)
                                .setCommittedOffset(offset).setCommittedMetadata("tx")))));
        raw.send(ApiKeys.TXN_OFFSET_COMMIT, version, request);
        ByteBuffer body = raw.receive(ApiKeys.TXN_OFFSET_COMMIT, version);
        TxnOffsetCommitResponseData response = new TxnOffsetCommitResponseData(new ByteBufferAccessor(body), version);
        return Errors.forCode(response.topics().get(0).partitions().get(0).errorCode());
    }

    private static OffsetFetchResponsePartitions fetch(RawKafkaClient raw, int partition, boolean requireStable)
            throws Exception {
        short version = 8;
        OffsetFetchRequestData request = new OffsetFetchRequestData().setRequireStable(requireStable)
                .setGroups(List.of(new OffsetFetchRequestGroup().setGroupId(GROUP).setTopics(List.of(
                        new OffsetFetchRequestTopics().setName(TOPIC).setPartitionIndexes(List.of(partition))))));
        raw.send(ApiKeys.OFFSET_FETCH, version, request);
        ByteBuffer body = raw.receive(ApiKeys.OFFSET_FETCH, version);
        OffsetFetchResponseData response = new OffsetFetchResponseData(new ByteBufferAccessor(body), version);
        assertThat(response.groups().get(0).errorCode()).isEqualTo(Errors.NONE.code());
        return response.groups().get(0).topics().get(0).partitions().get(0);
    }

    /** The producer batches of the group's offsets partition, read from the log. */
    private List<LogBatch> offsetsBatches() throws Exception {
        int p = Utils.abs(GROUP.hashCode()) % PARTITIONS;
        PartitionOwner owner = broker.partitionManager().get(new TopicPartition(Topic.GROUP_METADATA_TOPIC_NAME, p));
        List<LogBatch> out = new ArrayList<>();
        LogReadResult read = owner.readForReplica(owner.log().logStartOffset(), 1024 * 1024, true);
        for (LogBatch b : read.records().toRecordSet().batches()) {
            if (b.hasProducerId()) {
                out.add(b);
            }
        }
        return out;
    }

    private KafkaConsumer<String, String> consumer(String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    @Test
    void transactionalOffsetsArePendingInTheLogAndUnstableForReadCommittedConsumers() throws Exception {
        start();
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
            awaitCoordinator(admin);
        }
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers())) {
            assertThat(txnCommit(raw, (short) 3, (short) 2, 0, 10)).isEqualTo(Errors.NONE);
            // a second commit in the same transaction: the next sequence, accepted by the partition's checks
            // (v4: a v5 commit is a transaction-version-2 client's, whose offsets partition the coordinator adds)
            assertThat(txnCommit(raw, (short) 4, (short) 2, 1, 11)).isEqualTo(Errors.NONE);
            // a zombie with an older epoch is fenced by the partition's producer state
            assertThat(txnCommit(raw, (short) 3, (short) 1, 2, 12)).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);

            List<LogBatch> batches = offsetsBatches();
            assertThat(batches).hasSize(2);
            assertThat(batches).allSatisfy(b -> {
                assertThat(b.isTransactional()).isTrue();
                assertThat(b.producerId()).isEqualTo(PID);
                assertThat(b.producerEpoch()).isEqualTo((short) 2);
            });
            assertThat(batches.get(1).baseSequence()).isEqualTo(batches.get(0).lastSequence() + 1);

            assertThat(fetch(raw, 0, false).committedOffset()).isEqualTo(-1);
            assertThat(Errors.forCode(fetch(raw, 0, true).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
            assertThat(Errors.forCode(fetch(raw, 2, true).errorCode())).isEqualTo(Errors.NONE);
        }
        TopicPartition tp0 = new TopicPartition(TOPIC, 0);
        // the Java consumer always asks for stable offsets (KIP-447, whatever its isolation level) and retries
        // while they are not: committed() cannot settle while the transaction is open
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            try (KafkaConsumer<String, String> c = consumer(isolation)) {
                assertThatThrownBy(() -> c.committed(Set.of(tp0), Duration.ofSeconds(3)))
                        .as(isolation).isInstanceOf(TimeoutException.class);
                TopicPartition tp2 = new TopicPartition(TOPIC, 2);
                Map<TopicPartition, OffsetAndMetadata> other = c.committed(Set.of(tp2), Duration.ofSeconds(10));
                assertThat(other.get(tp2)).as(isolation).isNull();
            }
        }

        // a restart replays the log: the transaction is still open, and its next commit follows on
        broker.closeAndWait(30, TimeUnit.SECONDS);
        broker = null;
        start();
        try (Admin admin = admin()) {
            awaitCoordinator(admin);
        }
        try (RawKafkaClient raw = new RawKafkaClient(broker.bootstrapServers())) {
            assertThat(Errors.forCode(fetch(raw, 0, true).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
            assertThat(txnCommit(raw, (short) 4, (short) 2, 2, 12)).isEqualTo(Errors.NONE);
            assertThat(Errors.forCode(fetch(raw, 2, true).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);

            // the transaction coordinator's COMMIT marker: every offset of the transaction becomes the group's
            assertThat(writeMarker(raw, (short) 2, true)).isEqualTo(Errors.NONE);
            for (int p = 0; p < 3; p++) {
                OffsetFetchResponsePartitions committed = fetch(raw, p, true);
                assertThat(Errors.forCode(committed.errorCode())).isEqualTo(Errors.NONE);
                assertThat(committed.committedOffset()).isEqualTo(10 + p);
                assertThat(committed.metadata()).isEqualTo("tx");
            }
            // the next transaction aborts: its offset is dropped, the committed one stays
            assertThat(txnCommit(raw, (short) 3, (short) 2, 0, 20)).isEqualTo(Errors.NONE);
            assertThat(Errors.forCode(fetch(raw, 0, true).errorCode())).isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
            assertThat(writeMarker(raw, (short) 2, false)).isEqualTo(Errors.NONE);
            assertThat(fetch(raw, 0, true).committedOffset()).isEqualTo(10);
        }
        try (KafkaConsumer<String, String> c = consumer("read_committed")) {
            assertThat(c.committed(Set.of(tp0), Duration.ofSeconds(10)).get(tp0).offset()).isEqualTo(10);
        }
        // and a replay of the log with its markers gives the same
        broker.closeAndWait(30, TimeUnit.SECONDS);
        broker = null;
        start();
        try (Admin admin = admin()) {
            awaitCoordinator(admin);
            Map<TopicPartition, OffsetAndMetadata> all = admin.listConsumerGroupOffsets(GROUP)
                    .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
            assertThat(all).hasSize(3);
            for (int p = 0; p < 3; p++) {
                assertThat(all.get(new TopicPartition(TOPIC, p)).offset()).isEqualTo(10 + p);
            }
        }
    }

    /** WriteTxnMarkers as the transaction coordinator sends it, to the group's offsets partition. */
    private static Errors writeMarker(RawKafkaClient raw, short epoch, boolean commit) throws Exception {
        short version = 1;
        int partition = Utils.abs(GROUP.hashCode()) % PARTITIONS;
        WriteTxnMarkersRequestData request = new WriteTxnMarkersRequestData().setMarkers(List.of(
                new WriteTxnMarkersRequestData.WritableTxnMarker().setProducerId(PID).setProducerEpoch(epoch)
                        .setTransactionResult(commit).setCoordinatorEpoch(0)
                        .setTopics(List.of(new WriteTxnMarkersRequestData.WritableTxnMarkerTopic()
                                .setName(Topic.GROUP_METADATA_TOPIC_NAME).setPartitionIndexes(List.of(partition))))));
        raw.send(ApiKeys.WRITE_TXN_MARKERS, version, request);
        ByteBuffer body = raw.receive(ApiKeys.WRITE_TXN_MARKERS, version);
        WriteTxnMarkersResponseData response = new WriteTxnMarkersResponseData(new ByteBufferAccessor(body), version);
        return Errors.forCode(response.markers().get(0).topics().get(0).partitions().get(0).errorCode());
    }
}
