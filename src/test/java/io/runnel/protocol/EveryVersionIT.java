package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.runnel.Broker;
import io.runnel.log.RecordSet;
import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every version the broker advertises for the data-path APIs is answered with a response that decodes
 * at that version: old clients (kafka-python 2.0.2 sends Metadata v0/v1, ListOffsets v1, Fetch v4)
 * must never see their connection closed because a field does not exist in their version.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EveryVersionIT {

    @TempDir
    static Path dir;
    static Broker broker;
    static Uuid topicId;

    @BeforeAll
    static void start() throws Exception {
        broker = Broker.start(Map.of("log.dirs", dir.toString(), "listeners", "PLAINTEXT://127.0.0.1:0",
                "admin.listener", "127.0.0.1:0"))
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        try (RawKafkaClient c = new RawKafkaClient(broker.bootstrapServers())) {
            MetadataResponseData md = metadata(c, (short) 12);
            topicId = md.topics().find("versions").topicId();
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private static ApiVersionsResponseData.ApiVersion advertised(RawKafkaClient c, ApiKeys key) throws Exception {
        c.send(ApiKeys.API_VERSIONS, (short) 3, new ApiVersionsRequestData());
        return new ApiVersionsResponseData(new ByteBufferAccessor(c.receive(ApiKeys.API_VERSIONS, (short) 3)), (short) 3)
                .apiKeys().find(key.id);
    }

    private static MetadataResponseData metadata(RawKafkaClient c, short v) throws Exception {
        MetadataRequestData req = new MetadataRequestData().setAllowAutoTopicCreation(true)
                .setTopics(List.of(new MetadataRequestData.MetadataRequestTopic().setName("versions")));
        c.send(ApiKeys.METADATA, v, req);
        return new MetadataResponseData(new ByteBufferAccessor(c.receive(ApiKeys.METADATA, v)), v);
    }

    @Test
    void everyMetadataVersion() throws Exception {
        try (RawKafkaClient c = new RawKafkaClient(broker.bootstrapServers())) {
            ApiVersionsResponseData.ApiVersion range = advertised(c, ApiKeys.METADATA);
            assertThat(range.minVersion()).isZero();
            for (short v = range.minVersion(); v <= range.maxVersion(); v++) {
                MetadataResponseData r = metadata(c, v);
                assertThat(r.topics().find("versions").errorCode()).as("v%d", v).isEqualTo(Errors.NONE.code());
                assertThat(r.brokers()).hasSize(1);
            }
        }
    }

    @Test
    void everyProduceFetchAndListOffsetsVersion() throws Exception {
        try (RawKafkaClient c = new RawKafkaClient(broker.bootstrapServers())) {
            ApiVersionsResponseData.ApiVersion produce = advertised(c, ApiKeys.PRODUCE);
            int produced = 0;
            for (short v = ApiKeys.PRODUCE.oldestVersion(); v <= produce.maxVersion(); v++) {
                ProduceRequestData.TopicProduceData td = new ProduceRequestData.TopicProduceData()
                        .setPartitionData(List.of(new ProduceRequestData.PartitionProduceData().setIndex(0)
                                .setRecords(WireRecords.of(RecordSet.of(
                                        new RecordSet.NewRecord(System.currentTimeMillis(), null, ("v" + v).getBytes()))))));
                if (v >= 13) {
                    td.setTopicId(topicId);
                } else {
                    td.setName("versions");
                }
                ProduceRequestData req = new ProduceRequestData().setAcks((short) 1).setTimeoutMs(5000);
                req.topicData().add(td);
                c.send(ApiKeys.PRODUCE, v, req);
                ProduceResponseData r = new ProduceResponseData(new ByteBufferAccessor(c.receive(ApiKeys.PRODUCE, v)), v);
                ProduceResponseData.PartitionProduceResponse pr = r.responses().iterator().next().partitionResponses().get(0);
                assertThat(pr.errorCode()).as("produce v%d", v).isEqualTo(Errors.NONE.code());
                assertThat(pr.baseOffset()).as("produce v%d", v).isEqualTo(produced++);
            }

            ApiVersionsResponseData.ApiVersion fetch = advertised(c, ApiKeys.FETCH);
            for (short v = fetch.minVersion(); v <= fetch.maxVersion(); v++) {
                FetchRequestData.FetchTopic ft = new FetchRequestData.FetchTopic().setPartitions(List.of(
                        new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(0)
                                .setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(-1)));
                if (v >= 13) {
                    ft.setTopicId(topicId);
                } else {
                    ft.setTopic("versions");
                }
                FetchRequestData req = new FetchRequestData().setReplicaId(-1).setMaxWaitMs(0).setMinBytes(1)
                        .setMaxBytes(1 << 20).setSessionEpoch(-1).setTopics(List.of(ft));
                c.send(ApiKeys.FETCH, v, req);
                FetchResponseData r = new FetchResponseData(new ByteBufferAccessor(c.receive(ApiKeys.FETCH, v)), v);
                FetchResponseData.PartitionData pd = r.responses().get(0).partitions().get(0);
                assertThat(pd.errorCode()).as("fetch v%d", v).isEqualTo(Errors.NONE.code());
                assertThat(pd.highWatermark()).as("fetch v%d", v).isEqualTo(produced);
                int count = 0;
                for (var batch : WireRecords.toRecordSet(pd.records()).batches()) {
                    count += (int) (batch.lastOffset() - batch.baseOffset() + 1);
                }
                assertThat(count).as("fetch v%d", v).isEqualTo(produced);
            }

            ApiVersionsResponseData.ApiVersion lo = advertised(c, ApiKeys.LIST_OFFSETS);
            for (short v = lo.minVersion(); v <= lo.maxVersion(); v++) {
                ListOffsetsRequestData req = new ListOffsetsRequestData().setReplicaId(-1);
                req.topics().add(new ListOffsetsRequestData.ListOffsetsTopic().setName("versions").setPartitions(List.of(
                        new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(-1))));
                c.send(ApiKeys.LIST_OFFSETS, v, req);
                ListOffsetsResponseData r = new ListOffsetsResponseData(
                        new ByteBufferAccessor(c.receive(ApiKeys.LIST_OFFSETS, v)), v);
                assertThat(r.topics().get(0).partitions().get(0).offset()).as("list offsets v%d", v).isEqualTo(produced);
            }
        }
    }
}
