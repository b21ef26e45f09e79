package io.runnel.bridge;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * A record as one JSON object, for clients whose messages are JSON: the TCP and SockJS bridges, and
 * any event-bus client that would rather not carry bytes in headers. The fields:
 *
 * <pre>
 * {"topic": str, "partition": int, "offset": long (delivery only), "timestamp": long,
 *  "timestampType": "CreateTime" | "LogAppendTime" (delivery only), "key": ..., "value": ...,
 *  "keyEncoding": "base64" | "text" | "json", "valueEncoding": "base64" | "text" | "json",
 *  "headers": [{"key": str, "value": base64 or null}]}
 * </pre>
 *
 * An encoding says how the bytes Kafka clients see are written in the JSON: {@code base64} (standard
 * alphabet, the default when a produced record names none), {@code text} (the bytes are UTF-8 text) or
 * {@code json} (the bytes are the UTF-8 JSON text of the field's value, which may be any JSON value). A
 * null key or value is JSON null. On delivery, a key or value asked for as text or JSON that is not
 * valid UTF-8 (or not valid JSON) is written as base64 and its encoding field says so: receivers
 * always read the encoding fields. Every decode failure is an INVALID_REQUEST naming the field.
 */
public final class BridgeRecordJson {

    /** How bytes are written as a JSON field. */
    public enum Encoding {
        BASE64, TEXT, JSON;

        /** The encoding a request field names; null means the default, base64. */
        public static Encoding parse(String field, String value) {
            if (value == null) {
                return BASE64;
            }
            switch (value.toLowerCase(Locale.ROOT)) {
                case "base64":
                    return BASE64;
                case "text":
                    return TEXT;
                case "json":
                    return JSON;
                default:
                    throw BridgeException.invalid("'" + field + "' must be \"base64\", \"text\" or \"json\", not \""
                            + value + "\"");
            }
        }

        /** The name used in JSON: base64, text, json. */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A record to produce, decoded from its JSON object. Absent fields are null. */
    public record Decoded(String topic, Integer partition, byte[] key, byte[] value, List<Header> headers,
                          Long timestamp) {
    }

    private BridgeRecordJson() {
    }

    /**
     * Decodes a record to produce. {@code defaultTopic} (for example from a message header) is used when
     * the record names no topic; one of the two is required.
     */
    public static Decoded decode(JsonObject record, String defaultTopic) {
        if (record == null) {
            throw BridgeException.invalid("a record must be a JSON object");
        }
        Object topicField = record.getValue("topic");
        if (topicField != null && !(topicField instanceof String)) {
            throw BridgeException.invalid("'topic' must be a string");
        }
        String topic = topicField != null ? (String) topicField : defaultTopic;
        if (topic == null || topic.isEmpty()) {
            throw BridgeException.invalid("'topic' is required");
        }
        Integer partition = null;
        Object p = record.getValue("partition");
        if (p != null) {
            if (!(p instanceof Number n) || n.doubleValue() != n.intValue()) {
                throw BridgeException.invalid("'partition' must be an integer");
            }
            partition = n.intValue();
            if (partition < 0) {
                throw BridgeException.invalid("'partition' must not be negative");
            }
        }
        Long timestamp = null;
        Object t = record.getValue("timestamp");
        if (t != null) {
            if (!(t instanceof Number n) || n.doubleValue() != n.longValue()) {
                throw BridgeException.invalid("'timestamp' must be an integer (epoch milliseconds)");
            }
            timestamp = n.longValue();
            if (timestamp < 0) {
                throw BridgeException.invalid("'timestamp' must not be negative");
            }
        }
        Encoding keyEncoding = Encoding.parse("keyEncoding", stringField(record, "keyEncoding"));
        Encoding valueEncoding = Encoding.parse("valueEncoding", stringField(record, "valueEncoding"));
        byte[] key = bytesOf("key", record.getValue("key"), keyEncoding);
        byte[] value = bytesOf("value", record.getValue("value"), valueEncoding);
        return new Decoded(topic, partition, key, value, headersOf(record.getValue("headers")), timestamp);
    }

    /** Encodes a delivered record. */
    public static JsonObject encode(String topic, int partition, long offset, long timestamp, String timestampType,
                                    byte[] key, byte[] value, Header[] headers, Encoding keyEncoding,
                                    Encoding valueEncoding) {
        JsonObject out = new JsonObject().put("topic", topic).put("partition", partition).put("offset", offset)
                .put("timestamp", timestamp);
        if (timestampType != null) {
            out.put("timestampType", timestampType);
        }
        put(out, "key", key, keyEncoding);
        put(out, "value", value, valueEncoding);
        JsonArray hs = new JsonArray();
        if (headers != null) {
            for (Header h : headers) {
                hs.add(new JsonObject().put("key", h.key()).put("value", BridgeMessages.encodeBytes(h.value())));
            }
        }
        return out.put("headers", hs);
    }

    private static void put(JsonObject out, String field, byte[] bytes, Encoding wanted) {
        Encoding used = wanted == null ? Encoding.BASE64 : wanted;
        Object v = null;
        if (bytes != null) {
            if (used != Encoding.BASE64) {
                String text = utf8(bytes);
                if (text == null) {
                    used = Encoding.BASE64;
                } else if (used == Encoding.TEXT) {
                    v = text;
                } else {
                    try {
                        v = Json.decodeValue(text);
                    } catch (DecodeException e) {
                        used = Encoding.BASE64;
                    }
                }
            }
            if (used == Encoding.BASE64) {
                v = Base64.getEncoder().encodeToString(bytes);
            }
        }
        out.put(field, v).put(field + "Encoding", used.wireName());
    }

    private static byte[] bytesOf(String field, Object v, Encoding encoding) {
        if (v == null) {
            return null;
        }
        switch (encoding) {
            case BASE64:
                if (!(v instanceof String s)) {
                    throw BridgeException.invalid("'" + field + "' must be a base64 string or null (or set '"
                            + field + "Encoding' to \"text\" or \"json\")");
                }
                try {
                    return Base64.getDecoder().decode(s);
                } catch (IllegalArgumentException e) {
                    throw BridgeException.invalid("'" + field + "' is not valid base64: " + e.getMessage());
                }
            case TEXT:
                if (!(v instanceof String s)) {
                    throw BridgeException.invalid("'" + field + "' must be a string when '" + field
                            + "Encoding' is \"text\"");
                }
                return s.getBytes(StandardCharsets.UTF_8);
            default:
                // any JSON value; JsonObject/JsonArray/String/Number/Boolean encode to their JSON text
                Buffer b = Json.encodeToBuffer(v);
                return b.getBytes();
        }
    }

    private static String stringField(JsonObject o, String field) {
        Object v = o.getValue(field);
        if (v != null && !(v instanceof String)) {
            throw BridgeException.invalid("'" + field + "' must be a string");
        }
        return (String) v;
    }

    private static List<Header> headersOf(Object v) {
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof JsonArray array)) {
            throw BridgeException.invalid("'headers' must be an array of {\"key\": string, \"value\": base64 or null}");
        }
        List<Header> out = new ArrayList<>(array.size());
        for (Object o : array) {
            if (!(o instanceof JsonObject h) || !(h.getValue("key") instanceof String key)
                    || !(h.getValue("value") == null || h.getValue("value") instanceof String)) {
                throw BridgeException.invalid("'headers' entries must be {\"key\": string, \"value\": base64 string or null}");
            }
            byte[] value;
            try {
                value = h.getString("value") == null ? null : Base64.getDecoder().decode(h.getString("value"));
            } catch (IllegalArgumentException e) {
                throw BridgeException.invalid("the value of header '" + key + "' is not valid base64: " + e.getMessage());
            }
            out.add(new RecordHeader(key, value));
        }
        return out;
    }

    /** The bytes as a string if they are valid UTF-8, else null. */
    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
