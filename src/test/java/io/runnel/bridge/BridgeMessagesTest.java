package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;

class BridgeMessagesTest {

    @Test
    void recordHeadersKeepOrderCaseDuplicatesAndNullValues() {
        List<Header> headers = List.of(new RecordHeader("a", new byte[] {0, (byte) 0xff}),
                new RecordHeader("A", new byte[0]), new RecordHeader("a", (byte[]) null));
        List<Header> decoded = BridgeMessages.decodeHeaders(BridgeMessages.encodeHeaders(headers));
        assertThat(decoded).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(decoded.get(i).key()).isEqualTo(headers.get(i).key());
            assertThat(decoded.get(i).value()).isEqualTo(headers.get(i).value());
        }
    }

    @Test
    void deliveryHeadersDecodeIntoTheRecord() {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().add("topic", "t").add("partition", "2").add("offset", "7")
                .add("timestamp", "5").add("timestamp-type", "CreateTime").add("key", BridgeMessages.encodeBytes(new byte[] {1}));
        BridgeRecord r = BridgeMessages.fromDelivery(h, Buffer.buffer(new byte[] {9}));
        assertThat(r).extracting(BridgeRecord::topic, BridgeRecord::partition, BridgeRecord::offset,
                BridgeRecord::timestamp).containsExactly("t", 2, 7L, 5L);
        assertThat(r.key()).containsExactly(1);
        assertThat(r.value()).containsExactly(9);
        assertThat(r.headers()).isEmpty();
    }

    @Test
    void malformedFieldsAreInvalidRequestsNamingTheField() {
        assertThatThrownBy(() -> BridgeMessages.decodeBytes("key", "%%%"))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'key'");
        assertThatThrownBy(() -> BridgeMessages.decodeHeaders("{\"a\":1}"))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'headers'");
        assertThatThrownBy(() -> BridgeMessages.decodeHeaders("[{\"key\":1}]"))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'headers'");
        assertThatThrownBy(() -> BridgeMessages.valueOf(42))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("Buffer");
        assertThatThrownBy(() -> BridgeMessages.longHeader(MultiMap.caseInsensitiveMultiMap().add("partition", "x"),
                "partition")).isInstanceOf(InvalidRequestException.class).hasMessageContaining("'partition'");
    }
}
