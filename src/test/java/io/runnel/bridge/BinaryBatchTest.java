package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.vertx.core.buffer.Buffer;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The binary batch form of a produce ({@code format: records}): length-prefixed keys and values. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BinaryBatchTest {

    @Test
    void recordsRoundTripWithNullAndEmptyKeysAndValues() {
        List<byte[][]> records = new ArrayList<>();
        records.add(new byte[][] {null, {1, 2, 3}});
        records.add(new byte[][] {{}, null});
        records.add(new byte[][] {{(byte) 0xff}, {}});
        Buffer encoded = BridgeProducer.encodeBinaryBatch(records);
        assertThat(encoded.getInt(0)).isEqualTo(-1);
        assertThat(encoded.getInt(4)).isEqualTo(3);
        List<byte[][]> decoded = BridgeProducer.decodeBinaryBatch(encoded);
        assertThat(decoded).hasSize(3);
        assertThat(decoded.get(0)[0]).isNull();
        assertThat(decoded.get(0)[1]).containsExactly(1, 2, 3);
        assertThat(decoded.get(1)[0]).isEmpty();
        assertThat(decoded.get(1)[1]).isNull();
        assertThat(decoded.get(2)[0]).containsExactly((byte) 0xff);
        assertThat(decoded.get(2)[1]).isEmpty();
    }

    @Test
    void truncatedOrInconsistentBatchesAreInvalidRequestsNamingTheRecord() {
        Buffer ok = BridgeProducer.encodeBinaryBatch(List.<byte[][]>of(new byte[][] {{1}, {2, 3}}));
        assertThatThrownBy(() -> BridgeProducer.decodeBinaryBatch(ok.getBuffer(0, ok.length() - 1)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("record 0");
        assertThatThrownBy(() -> BridgeProducer.decodeBinaryBatch(Buffer.buffer().appendInt(-2).appendInt(0)))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("key length of -2");
        Buffer twoThenTruncated = ok.copy().appendBytes(new byte[] {0, 0});
        assertThatThrownBy(() -> BridgeProducer.decodeBinaryBatch(twoThenTruncated))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("record 1");
        assertThatThrownBy(() -> BridgeProducer.decodeBinaryBatch(Buffer.buffer()))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("at least one record");
    }
}
