package io.runnel.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.runnel.log.LogBatch;
import io.runnel.log.LogSlice;
import io.runnel.log.RecordSet;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.requests.RequestUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResponseEncoderTest {

    private final PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);

    @Test
    void fetchRecordsGoOutAsRegionsBetweenSlicesOfOneExactBuffer(@TempDir Path dir) throws Exception {
        RecordSet a = RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, "a".repeat(300).getBytes()));
        RecordSet b = RecordSet.of(new RecordSet.NewRecord(LogBatch.NO_TIMESTAMP, null, "b".repeat(500).getBytes()));
        Path file = dir.resolve("00000000000000000000.log");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[17])); // the slices do not start at 0
            ch.write(a.buffer().duplicate());
            ch.write(b.buffer().duplicate());
            LogSlice sliceA = new LogSlice(ch, 17, a.sizeInBytes());
            LogSlice sliceB = new LogSlice(ch, 17 + a.sizeInBytes(), b.sizeInBytes());
            for (short version : new short[] {4, 11, 12, 16}) {
                FetchResponseData withSlices = fetch(sliceA, RecordSet.EMPTY, sliceB);
                FetchResponseData inMemory = fetch(a, RecordSet.EMPTY, b);

                List<Object> parts = ResponseEncoder.encode(alloc, 42, ApiKeys.FETCH.responseHeaderVersion(version),
                        withSlices, version);

                // non-flexible versions end with the last records; flexible ones have tagged fields after them
                int expectedParts = version >= 12 ? 5 : 4;
                assertThat(parts).hasSize(expectedParts);
                for (int i = 0; i < expectedParts; i++) {
                    assertThat(parts.get(i)).isInstanceOf(i % 2 == 0 ? ByteBuf.class : SliceRegion.class);
                }
                // the buffer the parts are slices of; Netty's leak detector, which samples allocations at
                // random, may wrap a slice once more, so unwrap down to the root
                ByteBuf shared = (ByteBuf) parts.get(0);
                while (shared.unwrap() != null) {
                    shared = shared.unwrap();
                }
                assertThat(shared.isDirect()).isTrue();
                // exactly the encoded fields, nothing for the records that go by zero copy
                int encoded = parts.stream().filter(p -> p instanceof ByteBuf).mapToInt(p -> ((ByteBuf) p).readableBytes()).sum();
                assertThat(shared.capacity()).isEqualTo(encoded);
                assertThat(drain(parts)).isEqualTo(expected(42, version, inMemory));
                assertThat(shared.refCnt()).isZero(); // released with the last part
            }
        }
    }

    @Test
    void aResponseWithoutFileSlicesIsOneBuffer() throws Exception {
        MetadataResponseData body = new MetadataResponseData().setClusterId("c").setControllerId(1);
        body.brokers().add(new MetadataResponseData.MetadataResponseBroker().setNodeId(1).setHost("127.0.0.1").setPort(9092));
        short version = 12;
        List<Object> parts = ResponseEncoder.encode(alloc, 7, ApiKeys.METADATA.responseHeaderVersion(version), body, version);
        assertThat(parts).hasSize(1);
        assertThat(drain(parts)).isEqualTo(expected(7, version, body));
    }

    /** Each of {@code records} is a LogSlice (sent by zero copy) or a RecordSet (in memory). */
    private static FetchResponseData fetch(Object... records) {
        FetchResponseData resp = new FetchResponseData().setSessionId(0);
        FetchResponseData.FetchableTopicResponse t = new FetchResponseData.FetchableTopicResponse()
                .setTopic("t").setTopicId(Uuid.fromString("AAAAAAAAAAAAAAAAAAAAAQ"));
        int i = 0;
        for (Object r : records) {
            t.partitions().add(new FetchResponseData.PartitionData().setPartitionIndex(i++).setHighWatermark(5)
                    .setLastStableOffset(5).setLogStartOffset(0)
                    .setRecords(r instanceof LogSlice s ? WireRecords.of(s) : WireRecords.of((RecordSet) r)));
        }
        resp.responses().add(t);
        return resp;
    }

    /** What kafka-clients itself serialises, with the size prefix. */
    private static byte[] expected(int correlationId, short version, ApiMessage body) {
        ApiKeys key = ApiKeys.forId(body.apiKey());
        ByteBuffer buf = RequestUtils.serialize(new ResponseHeaderData().setCorrelationId(correlationId),
                key.responseHeaderVersion(version), body, version);
        byte[] out = new byte[4 + buf.remaining()];
        ByteBuffer.wrap(out).putInt(buf.remaining()).put(buf);
        return out;
    }

    /** Concatenates the parts as the socket would see them, releasing each. */
    private static byte[] drain(List<Object> parts) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof ByteBuf b) {
                byte[] bytes = new byte[b.readableBytes()];
                b.getBytes(b.readerIndex(), bytes);
                out.write(bytes);
                assertThat(b.release()).isTrue(); // each part holds its own reference
            } else {
                SliceRegion r = (SliceRegion) p;
                long done = 0;
                while (done < r.count()) {
                    done += r.transferTo(Channels.newChannel(out), done);
                }
                r.release();
            }
        }
        return out.toByteArray();
    }
}
