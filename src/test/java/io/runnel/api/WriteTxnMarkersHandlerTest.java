package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogBatch;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionOwner;
import io.vertx.core.Future;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData.WritableTxnMarker;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData.WritableTxnMarkerTopic;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class WriteTxnMarkersHandlerTest {

    private static final long PID = 4242L;

    @TempDir
    Path dir;
    AdminFixture fx;
    final List<String> hookCalls = new CopyOnWriteArrayList<>();
    volatile boolean hookFails;
    WriteTxnMarkersHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = new WriteTxnMarkersHandler(fx.partitions, (partition, pid, committed, markerOffset) -> {
            hookCalls.add(partition + ":" + pid + ":" + committed + ":" + markerOffset);
            return hookFails ? Future.failedFuture(new IllegalStateException("boom")) : Future.succeededFuture();
        }, 5_000);
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    private PartitionOwner hosted(String topic) {
        TopicInfo t = fx.topic(topic, 1, Map.of());
        return await(fx.partitions.open(new TopicPartition(topic, 0), t.id(), Map.of()));
    }

    private WriteTxnMarkersResponseData write(boolean commit, short epoch, String topic, int... partitions) {
        WritableTxnMarker m = new WritableTxnMarker().setProducerId(PID).setProducerEpoch(epoch)
                .setTransactionResult(commit).setCoordinatorEpoch(1);
        m.topics().add(new WritableTxnMarkerTopic().setName(topic)
                .setPartitionIndexes(java.util.Arrays.stream(partitions).boxed().toList()));
        WriteTxnMarkersRequestData req = new WriteTxnMarkersRequestData();
        req.markers().add(m);
        return await(handler.handle(fx.ctx(ApiKeys.WRITE_TXN_MARKERS, 1), req));
    }

    /** A v2 request, which carries the marker's transaction version (KIP-1228). */
    private WriteTxnMarkersResponseData writeV2(boolean commit, short epoch, byte transactionVersion, String topic) {
        WritableTxnMarker m = new WritableTxnMarker().setProducerId(PID).setProducerEpoch(epoch)
                .setTransactionResult(commit).setCoordinatorEpoch(1).setTransactionVersion(transactionVersion);
        m.topics().add(new WritableTxnMarkerTopic().setName(topic).setPartitionIndexes(List.of(0)));
        WriteTxnMarkersRequestData req = new WriteTxnMarkersRequestData();
        req.markers().add(m);
        return await(handler.handle(fx.ctx(ApiKeys.WRITE_TXN_MARKERS, 2), req));
    }

    private static Errors error(WriteTxnMarkersResponseData resp, int partition) {
        return Errors.forCode(resp.markers().get(0).topics().get(0).partitions().stream()
                .filter(p -> p.partitionIndex() == partition).findFirst().orElseThrow().errorCode());
    }

    @Test
    void markerClosesTheTransactionAndAnswersPerPartition() {
        PartitionOwner owner = hosted("data");
        await(owner.append(RecordSet.builder().transactional(PID, (short) 0, 0)
                .add(LogBatch.NO_TIMESTAMP, "k".getBytes(), "v".getBytes()).build(), (short) -1));
        assertThat(owner.lastStableOffset()).isZero();

        WriteTxnMarkersResponseData resp = write(false, (short) 0, "data", 0, 5);

        assertThat(resp.markers().get(0).producerId()).isEqualTo(PID);
        assertThat(error(resp, 0)).isEqualTo(Errors.NONE);
        assertThat(error(resp, 5)).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
        assertThat(owner.log().logEndOffset()).isEqualTo(2);
        assertThat(owner.lastStableOffset()).isEqualTo(2);
        assertThat(owner.log().collectAbortedTransactions(0, 2)).hasSize(1);
        // not an offsets partition: the group coordinator is not told
        assertThat(hookCalls).isEmpty();
        // a marker of an older producer epoch is fenced
        await(owner.append(RecordSet.builder().transactional(PID, (short) 3, 0)
                .add(LogBatch.NO_TIMESTAMP, "k".getBytes(), "v".getBytes()).build(), (short) -1));
        assertThat(error(write(true, (short) 2, "data", 0), 0)).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
    }

    @Test
    void markerOnAnOffsetsPartitionTellsTheGroupCoordinatorWithItsOffset() {
        PartitionOwner owner = hosted(Topic.GROUP_METADATA_TOPIC_NAME);
        await(owner.append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, "k".getBytes(), "v".getBytes())),
                (short) -1));

        assertThat(error(write(true, (short) 0, Topic.GROUP_METADATA_TOPIC_NAME, 0), 0)).isEqualTo(Errors.NONE);
        assertThat(hookCalls).containsExactly("0:" + PID + ":true:1");

        hookFails = true;
        assertThat(error(write(false, (short) 0, Topic.GROUP_METADATA_TOPIC_NAME, 0), 0))
                .isEqualTo(Errors.UNKNOWN_SERVER_ERROR);
        assertThat(hookCalls).hasSize(2).last().isEqualTo("0:" + PID + ":false:2");
    }

    @Test
    void markerEpochIsCheckedByTheTransactionVersionTheRequestCarries() {
        PartitionOwner owner = hosted("data");
        await(owner.append(RecordSet.builder().transactional(PID, (short) 4, 0)
                .add(LogBatch.NO_TIMESTAMP, "k".getBytes(), "v".getBytes()).build(), (short) -1));

        // version 2: the coordinator bumped the epoch for its markers, so one at the data's epoch is refused
        assertThat(error(writeV2(true, (short) 4, (byte) 2, "data"), 0)).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(owner.lastStableOffset()).isZero();
        assertThat(error(writeV2(true, (short) 5, (byte) 2, "data"), 0)).isEqualTo(Errors.NONE);
        assertThat(owner.log().logEndOffset()).isEqualTo(2);

        // version 0-1 (and every v1 request): a marker at the transaction's own epoch
        await(owner.append(RecordSet.builder().transactional(PID, (short) 5, 0)
                .add(LogBatch.NO_TIMESTAMP, "k".getBytes(), "v".getBytes()).build(), (short) -1));
        assertThat(error(writeV2(false, (short) 5, (byte) 1, "data"), 0)).isEqualTo(Errors.NONE);
        assertThat(owner.log().logEndOffset()).isEqualTo(4);
        assertThat(owner.lastStableOffset()).isEqualTo(4);
    }
}
