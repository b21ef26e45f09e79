package io.runnel.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import io.runnel.bridge.BridgeRecordJson.Decoded;
import io.runnel.bridge.BridgeRecordJson.Encoding;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;

class BridgeRecordJsonTest {

    @Test
    void base64IsTheDefaultAndNullsStayNull() {
        Decoded d = BridgeRecordJson.decode(new JsonObject().put("value",
                Base64.getEncoder().encodeToString(new byte[] {0, (byte) 0xff})).putNull("key"), "orders");
        assertThat(d.topic()).isEqualTo("orders");
        assertThat(d.partition()).isNull();
        assertThat(d.timestamp()).isNull();
        assertThat(d.key()).isNull();
        assertThat(d.value()).containsExactly(0, 0xff);
        assertThat(d.headers()).isEmpty();
    }

    @Test
    void textAndJsonEncodingsGiveTheBytesKafkaClientsSee() {
        Decoded d = BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("partition", 3)
                .put("timestamp", 1_700_000_000_000L).put("key", "clé").put("keyEncoding", "text")
                .put("value", new JsonObject().put("n", 1).put("s", "x")).put("valueEncoding", "JSON")
                .put("headers", new JsonArray().add(new JsonObject().put("key", "h").put("value", "AQ=="))
                        .add(new JsonObject().put("key", "n").putNull("value"))), null);
        assertThat(d.partition()).isEqualTo(3);
        assertThat(d.timestamp()).isEqualTo(1_700_000_000_000L);
        assertThat(new String(d.key(), StandardCharsets.UTF_8)).isEqualTo("clé");
        assertThat(new JsonObject(new String(d.value(), StandardCharsets.UTF_8)))
                .isEqualTo(new JsonObject().put("n", 1).put("s", "x"));
        assertThat(d.headers()).extracting(Header::key).containsExactly("h", "n");
        assertThat(d.headers().get(0).value()).containsExactly(1);
        assertThat(d.headers().get(1).value()).isNull();
        // a JSON string value is its JSON text, quotes included, as a JSON serializer would write it
        Decoded s = BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("value", "hi")
                .put("valueEncoding", "json"), null);
        assertThat(new String(s.value(), StandardCharsets.UTF_8)).isEqualTo("\"hi\"");
    }

    @Test
    void badFieldsAreInvalidRequestsNamingTheField() {
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("value", "AA=="), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'topic'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("partition", 1.5), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'partition'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("partition", -1), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'partition'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("value", "not base64!"), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'value'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("value", 5), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'value'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("keyEncoding", "hex"), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'keyEncoding'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("headers", "x"), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'headers'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t")
                .put("headers", new JsonArray().add(new JsonObject().put("key", "k").put("value", "%%"))), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("header 'k'");
        assertThatThrownBy(() -> BridgeRecordJson.decode(new JsonObject().put("topic", "t").put("timestamp", -5), null))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("'timestamp'");
    }

    @Test
    void deliveryWritesTheAskedEncodingOrFallsBackToBase64() {
        byte[] json = "{\"a\":[1,2]}".getBytes(StandardCharsets.UTF_8);
        JsonObject r = BridgeRecordJson.encode("t", 1, 42, 7, "CreateTime", "k".getBytes(StandardCharsets.UTF_8),
                json, new Header[] {new RecordHeader("h", new byte[] {2})}, Encoding.TEXT, Encoding.JSON);
        assertThat(r.getString("topic")).isEqualTo("t");
        assertThat(r.getInteger("partition")).isEqualTo(1);
        assertThat(r.getLong("offset")).isEqualTo(42);
        assertThat(r.getLong("timestamp")).isEqualTo(7);
        assertThat(r.getString("timestampType")).isEqualTo("CreateTime");
        assertThat(r.getString("key")).isEqualTo("k");
        assertThat(r.getString("keyEncoding")).isEqualTo("text");
        assertThat(r.getJsonObject("value")).isEqualTo(new JsonObject().put("a", new JsonArray().add(1).add(2)));
        assertThat(r.getString("valueEncoding")).isEqualTo("json");
        assertThat(r.getJsonArray("headers").getJsonObject(0).getString("value")).isEqualTo("Ag==");

        byte[] notUtf8 = {(byte) 0xc3, 0x28};
        JsonObject b = BridgeRecordJson.encode("t", 0, 0, 0, null, notUtf8, "not json".getBytes(StandardCharsets.UTF_8),
                null, Encoding.TEXT, Encoding.JSON);
        assertThat(b.getString("keyEncoding")).isEqualTo("base64");
        assertThat(Base64.getDecoder().decode(b.getString("key"))).isEqualTo(notUtf8);
        assertThat(b.getString("valueEncoding")).isEqualTo("base64");
        assertThat(new String(Base64.getDecoder().decode(b.getString("value")), StandardCharsets.UTF_8)).isEqualTo("not json");
        assertThat(b.containsKey("timestampType")).isFalse();

        JsonObject trailing = BridgeRecordJson.encode("t", 0, 0, 0, null, null, "1 2".getBytes(StandardCharsets.UTF_8),
                null, Encoding.BASE64, Encoding.JSON);
        assertThat(trailing.getString("valueEncoding")).isEqualTo("base64");
        assertThat(trailing.getValue("key")).isNull();
        assertThat(trailing.getString("keyEncoding")).isEqualTo("base64");
    }

    @Test
    void aDeliveredRecordDecodesBackToTheSameBytes() {
        byte[] key = {1, 2, 3};
        byte[] value = "[true, null, \"x\"]".getBytes(StandardCharsets.UTF_8);
        for (Encoding ke : Encoding.values()) {
            for (Encoding ve : Encoding.values()) {
                JsonObject out = BridgeRecordJson.encode("t", 0, 0, 0, null, key, value, null, ke, ve);
                Decoded back = BridgeRecordJson.decode(out, null);
                assertThat(back.key()).isEqualTo(key);
                if (ve == Encoding.JSON) {
                    // JSON is re-serialized: same value, canonical spacing
                    assertThat(new JsonArray(new String(back.value(), StandardCharsets.UTF_8)))
                            .isEqualTo(new JsonArray(new String(value, StandardCharsets.UTF_8)));
                } else {
                    assertThat(back.value()).isEqualTo(value);
                }
            }
        }
    }
}
