package io.runnel.api;

import static io.runnel.api.AdminFixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.cluster.TopicInfo;
import io.runnel.log.LogBatch;
import io.runnel.log.LogDirCheckpoints;
import io.runnel.log.RecordSet;
import io.runnel.partition.PartitionOwner;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsPartition;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsTopic;
import org.apache.kafka.common.message.DeleteRecordsResponseData;
import org.apache.kafka.common.message.DeleteRecordsResponseData.DeleteRecordsPartitionResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class DeleteRecordsHandlerTest {

    @TempDir
    Path dir;
    AdminFixture fx;
    DeleteRecordsHandler handler;

    @BeforeEach
    void setUp() {
        fx = new AdminFixture(dir);
        handler = new DeleteRecordsHandler(fx.config, fx.topics, fx.partitions);
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    private DeleteRecordsPartitionResult delete(String topic, int partition, long offset) {
        DeleteRecordsRequestData req = new DeleteRecordsRequestData().setTimeoutMs(1000);
        DeleteRecordsTopic t = new DeleteRecordsTopic().setName(topic);
        t.partitions().add(new DeleteRecordsPartition().setPartitionIndex(partition).setOffset(offset));
        req.topics().add(t);
        DeleteRecordsResponseData resp = await(handler.handle(fx.ctx(ApiKeys.DELETE_RECORDS, 2), req));
        return resp.topics().find(topic).partitions().find(partition);
    }

    /** A hosted partition holding {@code records} records at offsets 0 to records-1. */
    private PartitionOwner hosted(String topic, Map<String, String> configs, int records) {
        TopicInfo t = fx.topic(topic, 1, configs);
        PartitionOwner owner = await(fx.partitions.open(new TopicPartition(topic, 0), t.id(), configs));
        for (int i = 0; i < records; i++) {
            await(owner.append(RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, ("k" + i).getBytes(), ("v" + i).getBytes())),
                    (short) -1));
        }
        return owner;
    }

    @Test
    void unknownTopicsAndPartitionsAreUnknownTopicOrPartition() {
        fx.topic("known", 2, Map.of());

        DeleteRecordsPartitionResult missing = delete("missing", 0, 0);
        DeleteRecordsPartitionResult beyond = delete("known", 2, 0);

        assertThat(missing.errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(missing.lowWatermark()).isEqualTo(-1);
        assertThat(beyond.errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
    }

    @Test
    void internalTopicsAreRefused() {
        fx.topic("__consumer_offsets", 1, Map.of());

        assertThat(delete("__consumer_offsets", 0, 0).errorCode()).isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
    }

    @Test
    void aPartitionNotHostedHereIsNotLeader() throws Exception {
        fx.topicElsewhere("elsewhere", 1);

        assertThat(delete("elsewhere", 0, 0).errorCode()).isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER.code());
    }

    @Test
    void movesTheLogStartOffsetAndAnswersTheLowWatermark() {
        PartitionOwner owner = hosted("data", Map.of(), 5);

        DeleteRecordsPartitionResult r = delete("data", 0, 3);

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.lowWatermark()).isEqualTo(3);
        assertThat(owner.log().logStartOffset()).isEqualTo(3);
    }

    @Test
    void theNewLogStartIsCheckpointedSoonAfterAndAtShutdown() throws Exception {
        hosted("kept", Map.of(), 5);
        Path checkpoint = dir.resolve("logs").resolve(LogDirCheckpoints.LOG_START_OFFSET_FILE);

        assertThat(delete("kept", 0, 3).errorCode()).isEqualTo(Errors.NONE.code());

        // not only every log.flush.start.offset.checkpoint.interval.ms: a crash now keeps the deletion
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(Files.exists(checkpoint) && Files.readAllLines(checkpoint).contains("kept 0 3"))) {
            assertThat(System.nanoTime()).as("log-start-offset-checkpoint with kept 0 3").isLessThan(deadline);
            Thread.sleep(20);
        }
        fx.close();
        fx = null;
        assertThat(Files.readAllLines(checkpoint)).contains("kept 0 3");
        assertThat(Files.readAllLines(dir.resolve("logs").resolve(LogDirCheckpoints.RECOVERY_POINT_FILE)))
                .contains("kept 0 5");
    }

    @Test
    void minusOneMeansTheHighWatermark() {
        PartitionOwner owner = hosted("all", Map.of(), 4);

        DeleteRecordsPartitionResult r = delete("all", 0, -1);

        assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(r.lowWatermark()).isEqualTo(owner.highWatermark()).isEqualTo(4);
    }

    @Test
    void offsetsBeyondTheHighWatermarkOrNegativeAreOutOfRange() {
        PartitionOwner owner = hosted("range", Map.of(), 2);

        assertThat(delete("range", 0, 3).errorCode()).isEqualTo(Errors.OFFSET_OUT_OF_RANGE.code());
        assertThat(delete("range", 0, -2).errorCode()).isEqualTo(Errors.OFFSET_OUT_OF_RANGE.code());
        assertThat(owner.log().logStartOffset()).isZero();
    }

    @Test
    void compactedTopicsViolateThePolicy() {
        hosted("compacted", Map.of("cleanup.policy", "compact"), 1);

        DeleteRecordsPartitionResult r = delete("compacted", 0, 1);

        assertThat(r.errorCode()).isEqualTo(Errors.POLICY_VIOLATION.code());
        assertThat(r.lowWatermark()).isEqualTo(-1);
    }
}
