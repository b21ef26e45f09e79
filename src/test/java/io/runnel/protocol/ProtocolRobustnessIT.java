package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import io.runnel.Broker;
import io.runnel.log.RecordSet;
import io.runnel.testutil.RawKafkaClient;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
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
 * Bad input on the Kafka port: a bad frame closes only its own connection, before anything is
 * allocated for its declared size; a bad batch fails only its partition with Kafka's error code and
 * appends nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProtocolRobustnessIT {

    private static final int MAX_FRAME = 1024 * 1024;
    private static final short PRODUCE_V = 9;
    private static final short METADATA_V = 9;

    @TempDir
    static Path dir;
    static Broker broker;

    @BeforeAll
    static void start() throws Exception {
        broker = Broker.start(Map.of("log.dirs", dir.toString(), "listeners", "PLAINTEXT://127.0.0.1:0", "admin.listener", "127.0.0.1:0",
                        "socket.request.max.bytes", Integer.toString(MAX_FRAME), "message.max.bytes", "10000"))
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (broker != null) {
            broker.closeAndWait(30, TimeUnit.SECONDS);
        }
    }

    private static RawKafkaClient client() throws Exception {
        return new RawKafkaClient(broker.bootstrapServers());
    }

    /** Another connection still gets answers after a bad one was closed. */
    private static void assertBrokerStillServes() throws Exception {
        try (RawKafkaClient c = client()) {
            c.send(ApiKeys.API_VERSIONS, (short) 3, new ApiVersionsRequestData());
            ApiVersionsResponseData r = new ApiVersionsResponseData(
                    new ByteBufferAccessor(c.receive(ApiKeys.API_VERSIONS, (short) 3)), (short) 3);
            assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
        }
    }

    private static byte[] frame(int declaredSize, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(4 + body.length);
        b.putInt(declaredSize).put(body);
        return b.array();
    }

    @Test
    void rejectsFrameLargerThanLimitBeforeAllocating() throws Exception {
        try (RawKafkaClient c = client()) {
            // declares 2 GB - 1 but sends only a few bytes: the connection must close at once
            c.sendRaw(frame(Integer.MAX_VALUE, new byte[] {0, 18, 0, 3}));
            assertThat(c.closedByPeer()).isTrue();
        }
        try (RawKafkaClient c = client()) {
            c.sendRaw(frame(MAX_FRAME + 1, new byte[16]));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertBrokerStillServes();
    }

    /** An ApiVersions v3 request frame (size prefix included) with the given correlation id. */
    private static byte[] apiVersionsFrame(int correlationId) {
        org.apache.kafka.common.message.RequestHeaderData header = new org.apache.kafka.common.message.RequestHeaderData()
                .setRequestApiKey(ApiKeys.API_VERSIONS.id).setRequestApiVersion((short) 3)
                .setCorrelationId(correlationId).setClientId("split-test");
        ApiVersionsRequestData body = new ApiVersionsRequestData().setClientSoftwareName("t").setClientSoftwareVersion("1");
        org.apache.kafka.common.protocol.ObjectSerializationCache cache = new org.apache.kafka.common.protocol.ObjectSerializationCache();
        short headerVersion = ApiKeys.API_VERSIONS.requestHeaderVersion((short) 3);
        int size = header.size(cache, headerVersion) + body.size(cache, (short) 3);
        ByteBuffer buf = ByteBuffer.allocate(4 + size).putInt(size);
        ByteBufferAccessor acc = new ByteBufferAccessor(buf);
        header.write(acc, cache, headerVersion);
        body.write(acc, cache, (short) 3);
        return buf.array();
    }

    @Test
    void servesFramesSplitAnywhereAndSeveralInOneRead() throws Exception {
        byte[] a = apiVersionsFrame(1);
        byte[] b = apiVersionsFrame(2);
        byte[] c3 = apiVersionsFrame(3);
        try (RawKafkaClient c = client()) {
            // two whole frames and the first bytes of a third (inside its size prefix) in one write
            byte[] first = new byte[a.length + b.length + 2];
            System.arraycopy(a, 0, first, 0, a.length);
            System.arraycopy(b, 0, first, a.length, b.length);
            System.arraycopy(c3, 0, first, a.length + b.length, 2);
            c.sendRaw(first);
            for (int i = 2; i < c3.length; i++) {
                c.sendRaw(new byte[] {c3[i]});
            }
            for (int i = 0; i < 3; i++) {
                ApiVersionsResponseData r = new ApiVersionsResponseData(
                        new ByteBufferAccessor(c.receive(ApiKeys.API_VERSIONS, (short) 3)), (short) 3);
                assertThat(r.errorCode()).isEqualTo(Errors.NONE.code());
            }
        }
    }

    @Test
    void closesOnNegativeFrameSize() throws Exception {
        try (RawKafkaClient c = client()) {
            c.sendRaw(frame(-5, new byte[8]));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertBrokerStillServes();
    }

    @Test
    void closesOnHttpRequest() throws Exception {
        try (RawKafkaClient c = client()) {
            c.sendRaw("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertBrokerStillServes();
    }

    @Test
    void closesOnTruncatedHeader() throws Exception {
        try (RawKafkaClient c = client()) {
            c.sendRaw(frame(3, new byte[] {0, 3, 0}));
            assertThat(c.closedByPeer()).isTrue();
        }
        try (RawKafkaClient c = client()) {
            // api key, version, correlation id, then a client id length pointing past the frame
            ByteBuffer body = ByteBuffer.allocate(10).putShort((short) 3).putShort((short) 1).putInt(7).putShort((short) 500);
            c.sendRaw(frame(10, body.array()));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertBrokerStillServes();
    }

    @Test
    void closesOnUnknownApiKey() throws Exception {
        try (RawKafkaClient c = client()) {
            ByteBuffer body = ByteBuffer.allocate(10).putShort((short) 999).putShort((short) 0).putInt(1).putShort((short) -1);
            c.sendRaw(frame(10, body.array()));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertBrokerStillServes();
    }

    @Test
    void closesOnStringLengthPastFrameEnd() throws Exception {
        try (RawKafkaClient c = client()) {
            // Metadata v1: header (key 3, v1, corr, client id null), topics array of 1, topic name length 1000
            ByteBuffer body = ByteBuffer.allocate(18).putShort((short) 3).putShort((short) 1).putInt(1)
                    .putShort((short) -1).putInt(1).putShort((short) 1000).put(new byte[] {'a', 'b'});
            c.sendRaw(frame(18, body.array()));
            assertThat(c.closedByPeer()).isTrue();
        }
        assertBrokerStillServes();
    }

    @Test
    void answersUnknownApiVersionsVersionWithV0Error() throws Exception {
        try (RawKafkaClient c = client()) {
            ByteBuffer body = ByteBuffer.allocate(10).putShort((short) 18).putShort((short) 99).putInt(42).putShort((short) -1);
            c.sendRaw(frame(10, body.array()));
            ApiVersionsResponseData r = new ApiVersionsResponseData(
                    new ByteBufferAccessor(c.receive(ApiKeys.API_VERSIONS, (short) 0)), (short) 0);
            assertThat(r.errorCode()).isEqualTo(Errors.UNSUPPORTED_VERSION.code());
            assertThat(r.apiKeys().find(ApiKeys.PRODUCE.id).minVersion()).isEqualTo((short) 0);
            assertThat(r.apiKeys().find(ApiKeys.METADATA.id).minVersion()).isEqualTo((short) 0);
        }
    }

    @Test
    void answersApiVersionsV5WithTheRangesItServes() throws Exception {
        // v5 (KIP-1242) asks for a cluster and node id check this broker does not make yet: a kafka-clients
        // 4.4 client gets UNSUPPORTED_VERSION with the ranges, as from Kafka, and falls back to v4
        try (RawKafkaClient c = client()) {
            c.send(ApiKeys.API_VERSIONS, (short) 5, new ApiVersionsRequestData().setClusterId("other").setNodeId(7));
            ApiVersionsResponseData r = new ApiVersionsResponseData(
                    new ByteBufferAccessor(c.receive(ApiKeys.API_VERSIONS, (short) 0)), (short) 0);
            assertThat(r.errorCode()).isEqualTo(Errors.UNSUPPORTED_VERSION.code());
            assertThat(r.apiKeys().find(ApiKeys.API_VERSIONS.id).maxVersion()).isEqualTo((short) 4);
        }
    }

    // ---- bad record batches: that partition fails, nothing is appended, the connection stays usable

    private static void createTopic(RawKafkaClient c, String topic) throws Exception {
        MetadataRequestData req = new MetadataRequestData().setAllowAutoTopicCreation(true)
                .setTopics(List.of(new MetadataRequestData.MetadataRequestTopic().setName(topic)));
        c.send(ApiKeys.METADATA, METADATA_V, req);
        MetadataResponseData r = new MetadataResponseData(new ByteBufferAccessor(c.receive(ApiKeys.METADATA, METADATA_V)), METADATA_V);
        assertThat(r.topics().find(topic).errorCode()).isEqualTo(Errors.NONE.code());
    }

    private static ProduceResponseData.PartitionProduceResponse produce(RawKafkaClient c, String topic, short acks,
                                                                      RecordSet records) throws Exception {
        ProduceRequestData req = new ProduceRequestData().setAcks(acks).setTimeoutMs(5000);
        req.topicData().add(new ProduceRequestData.TopicProduceData().setName(topic).setPartitionData(List.of(
                new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(WireRecords.of(records)))));
        c.send(ApiKeys.PRODUCE, PRODUCE_V, req);
        ProduceResponseData r = new ProduceResponseData(new ByteBufferAccessor(c.receive(ApiKeys.PRODUCE, PRODUCE_V)), PRODUCE_V);
        return r.responses().iterator().next().partitionResponses().get(0);
    }

    private static long latestOffset(RawKafkaClient c, String topic) throws Exception {
        ListOffsetsRequestData req = new ListOffsetsRequestData().setReplicaId(-1);
        req.topics().add(new ListOffsetsRequestData.ListOffsetsTopic().setName(topic).setPartitions(List.of(
                new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(-1))));
        c.send(ApiKeys.LIST_OFFSETS, (short) 7, req);
        ListOffsetsResponseData r = new ListOffsetsResponseData(new ByteBufferAccessor(c.receive(ApiKeys.LIST_OFFSETS, (short) 7)), (short) 7);
        return r.topics().get(0).partitions().get(0).offset();
    }

    private static RecordSet batch(int count) {
        RecordSet.NewRecord[] recs = new RecordSet.NewRecord[count];
        for (int i = 0; i < count; i++) {
            recs[i] = new RecordSet.NewRecord(System.currentTimeMillis(), ("k" + i).getBytes(), ("v" + i).getBytes());
        }
        return RecordSet.of(recs);
    }

    /** Rewrites the v2 batch CRC after a test changed covered fields on purpose. */
    private static RecordSet withFixedCrc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(b.position() + 21));
        b.putInt(17, (int) crc.getValue());
        return RecordSet.wrap(b);
    }

    private static void assertBadBatch(String topic, RecordSet bad, Errors... expected) throws Exception {
        try (RawKafkaClient c = client()) {
            createTopic(c, topic);
            long before = latestOffset(c, topic);
            ProduceResponseData.PartitionProduceResponse r = produce(c, topic, (short) 1, bad);
            assertThat(Errors.forCode(r.errorCode())).isIn((Object[]) expected);
            assertThat(latestOffset(c, topic)).isEqualTo(before);
            // the same connection still works
            assertThat(produce(c, topic, (short) 1, batch(2)).errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(latestOffset(c, topic)).isEqualTo(before + 2);
        }
    }

    @Test
    void rejectsBatchWithBadCrc() throws Exception {
        ByteBuffer b = batch(3).buffer().duplicate();
        b.put(b.limit() - 1, (byte) (b.get(b.limit() - 1) ^ 0x5a));
        assertBadBatch("bad-crc", RecordSet.wrap(b), Errors.CORRUPT_MESSAGE);
    }

    @Test
    void rejectsBatchWithOldMagic() throws Exception {
        RecordSet v1 = RecordSet.builder().magic((byte) 1).add(1L, "k".getBytes(), "v".getBytes()).build();
        assertBadBatch("bad-magic", v1, Errors.INVALID_RECORD, Errors.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }

    @Test
    void rejectsBatchWhoseRecordCountDisagrees() throws Exception {
        ByteBuffer b = batch(3).buffer().duplicate();
        b.putInt(57, 5);
        assertBadBatch("bad-count", withFixedCrc(b), Errors.CORRUPT_MESSAGE, Errors.INVALID_RECORD);
    }

    @Test
    void rejectsBatchWithUnknownCodec() throws Exception {
        ByteBuffer b = batch(3).buffer().duplicate();
        b.putShort(21, (short) (b.getShort(21) | 0x07));
        assertBadBatch("bad-codec", withFixedCrc(b), Errors.CORRUPT_MESSAGE, Errors.INVALID_RECORD,
                Errors.UNSUPPORTED_COMPRESSION_TYPE);
    }

    @Test
    void rejectsRecordOverMaxMessageBytes() throws Exception {
        RecordSet big = RecordSet.of(new RecordSet.NewRecord(System.currentTimeMillis(), null, new byte[20_000]));
        assertBadBatch("too-large", big, Errors.MESSAGE_TOO_LARGE, Errors.RECORD_LIST_TOO_LARGE);
    }

    @Test
    void rejectsInvalidTopicNameAndAcks() throws Exception {
        try (RawKafkaClient c = client()) {
            assertThat(produce(c, "bad/topic", (short) 1, batch(1)).errorCode())
                    .isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
            createTopic(c, "acks-test");
            assertThat(produce(c, "acks-test", (short) 5, batch(1)).errorCode())
                    .isEqualTo(Errors.INVALID_REQUIRED_ACKS.code());
            assertThat(latestOffset(c, "acks-test")).isZero();
            assertThat(produce(c, "acks-test", (short) -1, batch(1)).errorCode()).isEqualTo(Errors.NONE.code());
        }
    }
}
