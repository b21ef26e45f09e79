package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.runnel.log.RecordSet;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BridgeReadsTest {

    private static final TopicPartition TP = new TopicPartition("t", 3);

    private static byte[] bytes(RecordSet... sets) {
        int size = 0;
        for (RecordSet s : sets) {
            size += s.sizeInBytes();
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        for (RecordSet s : sets) {
            out.put(s.buffer().duplicate());
        }
        return out.array();
    }

    /** The records as a read hands them over (a reply's Buffer wrapped as Read.of does). */
    private static RecordSet records(byte[] bytes) {
        return RecordSet.wrap(ByteBuffer.wrap(bytes));
    }

    @Test
    void aReadReplyYieldsTheRecordsFromTheOffsetAskedForAndTheNextOffset() {
        RecordSet first = RecordSet.builder().baseOffset(10).add(1000L, "a".getBytes(StandardCharsets.UTF_8),
                        "v10".getBytes(StandardCharsets.UTF_8), new RecordHeader("h", new byte[] {1}))
                .add(1001L, null, "v11".getBytes(StandardCharsets.UTF_8)).add(1002L, null, null).build();
        RecordSet second = RecordSet.builder().baseOffset(13).add(1003L, null, "v13".getBytes(StandardCharsets.UTF_8))
                .build();
        // the leader answers whole batches: the first starts before the offset asked for
        BridgeReads.Batch batch = BridgeReads.parse(TP, records(bytes(first, second)), 11);
        assertThat(batch.records()).extracting(BridgeRecord::offset).containsExactly(11L, 12L, 13L);
        assertThat(batch.next()).isEqualTo(14);
        BridgeRecord r = batch.records().get(0);
        assertThat(r.topic()).isEqualTo("t");
        assertThat(r.partition()).isEqualTo(3);
        assertThat(r.timestamp()).isEqualTo(1001L);
        assertThat(r.timestampType()).isEqualTo("CreateTime");
        assertThat(r.key()).isNull();
        assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("v11");
        assertThat(batch.records().get(1).value()).isNull();

        BridgeReads.Batch all = BridgeReads.parse(TP, records(bytes(first)), 10);
        assertThat(all.records().get(0).headers()).hasSize(1);
        assertThat(new String(all.records().get(0).key(), StandardCharsets.UTF_8)).isEqualTo("a");
    }

    @Test
    void anEmptyReplyKeepsThePosition() {
        BridgeReads.Batch batch = BridgeReads.parse(TP, records(new byte[0]), 42);
        assertThat(batch.records()).isEmpty();
        assertThat(batch.next()).isEqualTo(42);
    }
}
